"""Inspect what was read from a chip: parse the LDS files, run the checks, grade the verdict.

Pure (no I/O): the caller supplies the raw files exactly as read, the trust store, and the
outcomes of the protocols run during the session (chip access, chip and active
authentication). The result holds the holder's data, the checks and the verdict; the
holder's data counts as verified only when the verdict is ``authentic``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field

from verifier import verdict as V
from verifier.cccd.access_match import AccessData, access_data_check, id_number_from_mrz
from verifier.cccd.dg13 import DG13, parse_dg13
from verifier.errors import ChipidError, ParseError
from verifier.icao.lds.com import COM, parse_com
from verifier.icao.lds.dg1 import parse_dg1
from verifier.icao.lds.dg14 import DG14, parse_dg14
from verifier.icao.lds.dg2 import parse_dg2
from verifier.icao.keys import BACKey, CANKey
from verifier.trust.sod import SOD, parse_sod
from verifier.icao.mrz import MRZ
from verifier.trust.passive import PAPolicy, verify_passive

_SEX_VI = {"M": "Nam", "F": "Nữ"}


@dataclass(frozen=True)
class Inspection:
    checks: tuple[V.Check, ...]
    verdict: V.Outcome
    mrz: MRZ | None
    dg13: DG13 | None
    holder: dict
    face_image: dict | None
    portrait: bytes | None
    warnings: tuple[str, ...] = field(default=())
    #: holder field -> "DG13" or "DG1" (the MRZ): where each value in ``holder`` came from
    holder_source: dict = field(default_factory=dict)
    #: when DG13 was read but could not be parsed: ``reason``, ``reason_vi``, ``fields_from_mrz``
    dg13_error: dict | None = None


#: The files parsed before inspection, once: EF.SOD (which data groups to read), EF.COM, DG14
#: (chip authentication, ICAO 9303-11 §6.2; the PACE offer of the access-protocol check).
PARSED_ONCE = {"SOD": parse_sod, "COM": parse_com, "DG14": parse_dg14}


@dataclass(frozen=True)
class ParsedLds:
    """EF.SOD, EF.COM and DG14 parsed once from the bytes read, handed from reading to
    inspection (:func:`verifier.scan.read_and_verify`). A file absent is None; one that could
    not be parsed is None too, with its error in ``errors`` (file name -> :class:`ChipidError`)."""

    sod: SOD | None = None
    com: COM | None = None
    dg14: DG14 | None = None
    errors: dict = field(default_factory=dict, compare=False)

    def parse(self, files: dict[str, bytes], names=tuple(PARSED_ONCE)) -> "ParsedLds":
        """This, with the files ``names`` (of :data:`PARSED_ONCE`) found in ``files`` and not parsed yet parsed."""
        found = {"SOD": self.sod, "COM": self.com, "DG14": self.dg14}
        errors = dict(self.errors)
        for name in names:
            parser = PARSED_ONCE[name]
            if name in files and found[name] is None and name not in errors:
                try:
                    found[name] = parser(files[name])
                except ChipidError as e:
                    errors[name] = e
        return ParsedLds(found["SOD"], found["COM"], found["DG14"], errors)


def _yymmdd_to_date(text: str, *, future: bool) -> _dt.date | None:
    """MRZ dates carry two-digit years: birth dates lie in the past, expiry dates in the future window."""
    if not text or not text.isdigit() or len(text) != 6:
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:6])
    this_year = _dt.date.today().year
    century = this_year // 100 * 100
    year = century + yy
    if future:
        if year < this_year - 50:
            year += 100
    elif year > this_year:
        year -= 100
    try:
        return _dt.date(year, mm, dd)
    except ValueError:
        return None


def _iso(d: _dt.date | None) -> str | None:
    return d.isoformat() if d else None


def holder_fields(mrz: MRZ | None, dg13: DG13 | None) -> dict:
    """The holder's data from DG13, falling back to DG1's MRZ field by field."""
    return _holder(mrz, dg13)[0]


def _holder(mrz: MRZ | None, dg13: DG13 | None) -> tuple[dict, dict]:
    """(holder fields, field -> "DG13" / "DG1"): DG13 first, DG1's MRZ for what DG13 lacks."""
    out: dict = {}
    if mrz is not None:
        # CCCD TD1 optional data: the 12-digit ID, "<<", its check digit (verifier.icao.mrz.cccd_optional_data)
        out.update(
            id_number=id_number_from_mrz(mrz) or mrz.document_number,
            full_name=" ".join(p for p in (mrz.primary_identifier, mrz.secondary_identifier) if p),
            date_of_birth=_iso(_yymmdd_to_date(mrz.date_of_birth, future=False)),
            sex=_SEX_VI.get(mrz.sex, mrz.sex),
            nationality=mrz.nationality,
            expiry_date=_iso(_yymmdd_to_date(mrz.date_of_expiry, future=True)),
            document_number=mrz.document_number,
            issuing_state=mrz.issuing_state,
        )
    source = {k: "DG1" for k, v in out.items() if v not in (None, "")}
    if dg13 is not None:
        values = {
            "id_number": dg13.id_number,
            "full_name": dg13.full_name,
            "date_of_birth": _iso(dg13.date_of_birth),
            "sex": dg13.sex,
            "nationality": dg13.nationality,
            "ethnicity": dg13.ethnicity,
            "religion": dg13.religion,
            "place_of_origin": dg13.place_of_origin,
            "place_of_residence": dg13.place_of_residence,
            "personal_identification": dg13.personal_identification,
            "issue_date": _iso(dg13.date_of_issue),
            "expiry_date": _iso(dg13.date_of_expiry),
            "father_name": dg13.father_name,
            "mother_name": dg13.mother_name,
            "spouse_name": dg13.spouse_name,
            "old_id_number": dg13.old_id_number,
        }
        found = {k: v for k, v in values.items() if v not in (None, "")}
        out.update(found)
        source.update(dict.fromkeys(found, "DG13"))
    return out, source


#: Vietnamese names of the holder fields, for the clerk's warning.
_HOLDER_VI = {
    "id_number": "số định danh", "full_name": "họ tên", "date_of_birth": "ngày sinh", "sex": "giới tính",
    "nationality": "quốc tịch", "expiry_date": "ngày hết hạn",
}


def _dg13_error(error: ParseError, source: dict) -> dict:
    """What the clerk and the contract must know when DG13 could not be parsed: which holder
    fields came from the MRZ instead, and that the rest (address, parents...) is missing."""
    from_mrz = [k for k in _HOLDER_VI if source.get(k) == "DG1"]
    return {
        "reason": f"DG13 (personal data) could not be parsed: {error.message}; "
                  + (f"{', '.join(from_mrz)} come from the MRZ (DG1)" if from_mrz else "no holder data from the MRZ either")
                  + "; address, origin and parents are missing",
        "reason_vi": "Không đọc được DG13 (thông tin cá nhân); "
                     + (f"{', '.join(_HOLDER_VI[k] for k in from_mrz)} lấy từ vùng MRZ (DG1)" if from_mrz
                        else "cũng không có dữ liệu từ vùng MRZ")
                     + "; thiếu nơi thường trú, quê quán, cha mẹ",
        "fields_from_mrz": from_mrz,
    }


def _mrz_consistency(mrz: MRZ | None, dg13: DG13 | None) -> V.Check:
    if mrz is None:
        return V.not_performed(V.MRZ_CONSISTENCY, "DG1 (the MRZ) was not read", "Không đọc được DG1 (vùng MRZ)")
    problems = [name for name, ok in mrz.check_digits_ok.items() if not ok]
    if problems:
        return V.failed(V.MRZ_CONSISTENCY, f"MRZ check digits wrong: {', '.join(problems)}",
                        "Chữ số kiểm tra của MRZ sai", fields=problems)
    if dg13 is None:
        return V.passed(V.MRZ_CONSISTENCY, "MRZ check digits are correct (no DG13 to compare)",
                        "Chữ số kiểm tra của MRZ đúng")
    mismatches = []
    if dg13.id_number and not dg13.id_number.endswith(mrz.document_number.replace("<", "")):
        mismatches.append("id_number")
    if dg13.date_of_birth and _yymmdd_to_date(mrz.date_of_birth, future=False) != dg13.date_of_birth:
        mismatches.append("date_of_birth")
    if dg13.date_of_expiry and _yymmdd_to_date(mrz.date_of_expiry, future=True) != dg13.date_of_expiry:
        mismatches.append("date_of_expiry")
    if mismatches:
        return V.failed(V.MRZ_CONSISTENCY, f"DG1 (MRZ) and DG13 disagree on: {', '.join(mismatches)}",
                        "Dữ liệu DG1 (MRZ) và DG13 không khớp nhau", fields=mismatches)
    return V.passed(V.MRZ_CONSISTENCY, "MRZ check digits are correct and DG1 agrees with DG13",
                    "MRZ hợp lệ và khớp với DG13")


def _card_expiry(mrz: MRZ | None, dg13: DG13 | None, today: _dt.date) -> V.Check:
    expiry = dg13.date_of_expiry if dg13 is not None and dg13.date_of_expiry else None
    if expiry is None and mrz is not None:
        if mrz.date_of_expiry.strip("<") == "":
            return V.passed(V.CARD_EXPIRY, "the card has no expiry date", "Thẻ không thời hạn")
        expiry = _yymmdd_to_date(mrz.date_of_expiry, future=True)
    if expiry is None:
        return V.not_performed(V.CARD_EXPIRY, "no expiry date could be read", "Không đọc được ngày hết hạn")
    if expiry < today:
        return V.failed(V.CARD_EXPIRY, f"the card expired on {expiry.isoformat()}",
                        f"Thẻ đã hết hạn từ ngày {expiry.strftime('%d/%m/%Y')}", expiry=expiry.isoformat())
    return V.passed(V.CARD_EXPIRY, f"the card is valid until {expiry.isoformat()}",
                    f"Thẻ còn hạn đến ngày {expiry.strftime('%d/%m/%Y')}", expiry=expiry.isoformat())


def _face(files: dict[str, bytes], warnings: list[str]) -> tuple[dict | None, bytes | None]:
    if "DG2" not in files:
        return None, None
    try:
        dg2 = parse_dg2(files["DG2"])
    except ParseError as e:
        warnings.append(f"DG2 could not be parsed: {e}")
        return None, None
    if not dg2.faces:
        warnings.append("DG2 holds no face image")
        return None, None
    face = dg2.faces[0]
    info = {
        "format": face.format,
        "width": face.width,
        "height": face.height,
        "sha256": hashlib.sha256(face.image).hexdigest(),
        "standard": face.standard,
    }
    return info, face.image


#: Data groups every inspection reads; one the SOD signs but the chip withholds is a red flag.
#: (DG14 and DG15 are judged by chip and active authentication.)
_READ_GROUPS = (1, 2, 13)


def _withheld_groups(sod: SOD | None, files: dict[str, bytes]) -> list[V.Check]:
    if sod is None:
        return []  # passive authentication already failed the unusable SOD
    listed = sod.dg_hashes
    return [
        V.failed(f"dg_hash_{n}", f"the SOD signs DG{n} but the chip did not return it",
                 f"SOD có DG{n} nhưng chip không trả về DG{n} (dữ liệu bị che giấu)")
        for n in _READ_GROUPS if n in listed and f"DG{n}" not in files
    ]


def inspect_document(
    files: dict[str, bytes],
    store,
    *,
    access_check: V.Check,
    chip_auth_check: V.Check | None = None,
    active_auth_check: V.Check | None = None,
    now: _dt.datetime | None = None,
    policy: PAPolicy | None = None,
    access_data: AccessData | None = None,
    access_key: BACKey | CANKey | None = None,
    lds: ParsedLds | None = None,
) -> Inspection:
    """Run every check over the files read and grade the verdict (README "Verdict policy").

    ``lds``: EF.SOD, EF.COM and DG14 as the reader already parsed them (parsed here when not given).

    ``access_data`` (what the clerk typed or scanned, completed from the candidate keys by
    :func:`verifier.cccd.access_match.with_keys`) and ``access_key`` (the key that opened the
    chip, when known) are compared with DG1 and DG13 (ICAO 9303-11 §4.3): ``access_data_match``.
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    warnings: list[str] = []
    checks: list[V.Check] = [access_check]

    mrz = None
    if "DG1" in files:
        try:
            mrz = parse_dg1(files["DG1"]).mrz
        except ParseError as e:
            warnings.append(f"DG1 could not be parsed: {e}")
    dg13 = None
    dg13_failure: ParseError | None = None
    if "DG13" in files:
        try:
            dg13 = parse_dg13(files["DG13"])
        except ParseError as e:
            dg13_failure = e
    lds = (lds or ParsedLds()).parse(files, ("COM", "SOD"))
    com_dgs = list(lds.com.dg_numbers) if lds.com is not None else None
    if "COM" in lds.errors:
        warnings.append(f"EF.COM could not be parsed: {lds.errors['COM']}")

    if "SOD" in files:
        # never raises for bad card data: an unusable EF.SOD is a failed sod_signature check
        pa = verify_passive(files["SOD"], files, store, at=now, mrz_issuing_state=mrz.issuing_state if mrz else None,
                            com_dgs=com_dgs, policy=policy or PAPolicy(), parsed=lds.sod)
        checks += pa.checks
        checks += _withheld_groups(pa.sod, files)
    else:
        checks.append(V.not_performed(V.SOD_SIGNATURE, "the chip has no EF.SOD: nothing proves who wrote the data",
                                      "Chip không có EF.SOD: không chứng minh được nguồn gốc dữ liệu"))

    checks.append(chip_auth_check or V.not_performed(
        V.CHIP_AUTHENTICATION, "the chip offers no chip authentication (no DG14)", "Chip không hỗ trợ xác thực chip (không có DG14)"))
    checks.append(active_auth_check or V.not_performed(
        V.ACTIVE_AUTHENTICATION, "the chip offers no active authentication (no DG15)", "Chip không hỗ trợ xác thực chủ động (không có DG15)"))
    checks.append(_mrz_consistency(mrz, dg13))
    checks.append(access_data_check(mrz, dg13, access_data, key=access_key))
    checks.append(_card_expiry(mrz, dg13, now.date()))

    holder, holder_source = _holder(mrz, dg13)
    dg13_error = _dg13_error(dg13_failure, holder_source) if dg13_failure is not None else None
    if dg13_error:
        warnings.append(f"{dg13_error['reason']} / {dg13_error['reason_vi']}")
    face_image, portrait = _face(files, warnings)
    return Inspection(
        checks=tuple(checks),
        verdict=V.decide(checks),
        mrz=mrz,
        dg13=dg13,
        holder=holder,
        face_image=face_image,
        portrait=portrait,
        warnings=tuple(warnings),
        holder_source=holder_source,
        dg13_error=dg13_error,
    )
