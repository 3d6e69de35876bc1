"""Compare what the chip says (DG1, DG13's ID number) with the access data that opened it.

ICAO 9303-11 §4.2 / §4.3 (inspection procedure): the MRZ information used to derive the
access key must match the MRZ the chip returns in DG1; a chip opened with one card's key
that carries another person's (validly signed) DG1 is a substituted or cloned chip, not
that person's card. Without this check a chip opened with card A's MRZ key or CAN whose
DG1 and DG13 describe person B came out ``authentic``, showing B (issue 15 item 1).

What is compared, field by field (only what was known at access time; a guess is not data):

* :class:`AccessData`, what the clerk typed or scanned (``AccessCandidates.data``), completed
  from the candidate keys by :func:`with_keys`: the MRZ information of ICAO 9303-11 §4.3.2
  (document number, date of birth, date of expiry: the last only when it was given, not
  derived from a QR's renewal ages) against DG1's fields and the document number against the
  last nine digits of DG13's ID number; the 12-digit ID number (QR, typed ID, a CCCD MRZ's
  optional data) against DG1's optional data and DG13 field 1; the CAN against the last six
  digits of both (on a CCCD the CAN is the ID number's last six digits, ICAO 9303-11 §9.7.3);
  the QR's full birth date and issue date against DG13 fields 3 and 11;
* the key that actually opened the chip, when the caller knows it (``key``): a
  :class:`~verifier.icao.keys.BACKey` or :class:`~verifier.icao.keys.CANKey`, the same way.
  When it is known, only that key and the QR's data are compared (:func:`_claims`): typed data
  that did not open the chip may hold a typo, and a typo is never evidence against the card.

The ID number DG1 carries is in the TD1 optional data (ICAO 9303-5 §4.2.2; CCCD: the 12
digits, ``<``, a check digit): :func:`id_number_from_mrz`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace

from verifier import verdict as V
from verifier.cccd.dg13 import DG13
from verifier.icao.keys import NO_EXPIRY, BACKey, CANKey
from verifier.icao.mrz import MRZ

#: Vietnamese names of the compared fields, for the clerk's reason.
_FIELD_VI = {
    "document_number": "số giấy tờ", "date_of_birth": "ngày sinh", "date_of_expiry": "ngày hết hạn",
    "id_number": "số định danh", "can": "số CAN", "date_of_issue": "ngày cấp",
}


@dataclass(frozen=True)
class AccessData:
    """What the clerk gave to open the chip. Dates are MRZ ``YYMMDD`` (expiry ``<<<<<<`` for a
    card without one); ``date_of_expiry`` is None when it was only derived (the QR has none);
    ``birth_date``/``date_of_issue`` are full dates when known (QR)."""

    source: str  # "qr", "mrz", "id", "document", "can", "keys"
    id_number: str | None = None
    document_number: str | None = None
    date_of_birth: str | None = None
    date_of_expiry: str | None = None
    can: str | None = None
    birth_date: _dt.date | None = None
    date_of_issue: _dt.date | None = None

    def __repr__(self) -> str:  # personal data stays out of logs
        given = [k for k in ("id_number", "document_number", "date_of_birth", "date_of_expiry", "can",
                             "date_of_issue") if getattr(self, k)]
        return f"AccessData(source={self.source!r}, given={given}, <redacted>)"


def _one(values) -> str | None:
    """The value every candidate key agrees on, None when they differ (a derived guess) or there is none."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def with_keys(data: AccessData | None, keys) -> AccessData | None:
    """``data`` completed from the candidate keys: the document number, date of birth and
    date of expiry every :class:`BACKey` shares, and the CAN. Expiry dates that differ between
    candidates (derived from a QR's renewal ages) are guesses, not access data: left out."""
    bac = [k for k in keys or () if isinstance(k, BACKey)]
    cans = [k.can for k in keys or () if isinstance(k, CANKey)]
    if data is None and not bac and not cans:
        return None
    data = data or AccessData("keys")
    return replace(
        data,
        document_number=data.document_number or _one(k.document_number for k in bac),
        date_of_birth=data.date_of_birth or _one(k.date_of_birth for k in bac),
        date_of_expiry=data.date_of_expiry or _one(k.date_of_expiry for k in bac),
        can=data.can or _one(cans),
    )


def id_number_from_mrz(mrz: MRZ | None) -> str | None:
    """The 12-digit ID number in a CCCD's TD1 optional data, None when there is none."""
    if mrz is None or mrz.format != "TD1":
        return None
    candidate = mrz.optional_data[:12]
    return candidate if len(candidate) == 12 and candidate.isascii() and candidate.isdigit() else None


def _docno(text: str) -> str:
    return text.replace("<", "").upper()


def _yymmdd(d: _dt.date) -> str:
    return d.strftime("%y%m%d")


def _claims(data: AccessData | None, key: BACKey | CANKey | None) -> list[AccessData]:
    """What the chip is held to. With the key that opened it known: that key's fields (the chip
    accepted them, so a contradiction in its data is a substituted chip), plus what the card's QR
    code says (machine-read from the card's face: no typing). Typed data that did NOT open the chip
    is not held against it: with a typo in the expiry date the CAN opens the chip, and the typo is
    the clerk's, not the card's (a genuine card is never called fake for it). Without the key (a
    caller that does not know it): everything given."""
    if key is None:
        return [data] if data is not None else []
    if isinstance(key, BACKey):
        claims = [AccessData("key", document_number=key.document_number, date_of_birth=key.date_of_birth,
                             date_of_expiry=key.date_of_expiry)]
    else:
        claims = [AccessData("key", can=key.can)]
    if data is not None and data.source == "qr":
        claims.append(AccessData("qr", id_number=data.id_number, birth_date=data.birth_date,
                                 date_of_issue=data.date_of_issue))
    return claims


def compare_access(mrz: MRZ | None, dg13: DG13 | None, data: AccessData | None, *,
                   key: BACKey | CANKey | None = None) -> list[str]:
    """Names of the fields where the chip contradicts the access data or the key that opened it
    (empty: none). Fields the chip does not carry (no DG1, no DG13) are not compared."""
    mismatches: list[str] = []

    def differs(name: str, expected, found) -> None:
        if expected is not None and found is not None and expected != found and name not in mismatches:
            mismatches.append(name)

    dg1_id = id_number_from_mrz(mrz)
    dg13_id = dg13.id_number if dg13 is not None else None
    claims = _claims(data, key)
    for claim in claims:
        docno = _docno(claim.document_number) if claim.document_number else None
        if mrz is not None:
            differs("document_number", docno, _docno(mrz.document_number))
            differs("date_of_birth", claim.date_of_birth, mrz.date_of_birth)
            differs("date_of_expiry", claim.date_of_expiry, mrz.date_of_expiry or NO_EXPIRY)
        if docno and len(docno) == 9 and docno.isdigit():  # a CCCD: the last 9 digits of the ID number
            differs("document_number", docno, dg13_id[-9:] if dg13_id else None)
        differs("id_number", claim.id_number, dg1_id)
        differs("id_number", claim.id_number, dg13_id)
        differs("can", claim.can, dg1_id[-6:] if dg1_id else None)
        differs("can", claim.can, dg13_id[-6:] if dg13_id else None)
        if dg13 is not None:
            differs("date_of_birth", claim.birth_date, dg13.date_of_birth)
            differs("date_of_issue", claim.date_of_issue, dg13.date_of_issue)
    return mismatches


def access_data_check(mrz: MRZ | None, dg13: DG13 | None, data: AccessData | None, *,
                      key: BACKey | CANKey | None = None) -> V.Check:
    """The ``access_data_match`` check (decisive): failed when DG1 / DG13 contradict the access
    data (ICAO 9303-11 §4.3); not performed when neither the access data nor DG1 is known."""
    if data is None and key is None:
        return V.not_performed(V.ACCESS_DATA_MATCH, "the access data used is not known to the inspection",
                               "Không có thông tin dùng để mở chip để đối chiếu")
    if mrz is None and (dg13 is None or dg13.id_number is None):
        return V.not_performed(V.ACCESS_DATA_MATCH, "DG1 was not read: the access data cannot be compared",
                               "Không đọc được DG1: không đối chiếu được với thông tin dùng để mở chip")
    mismatches = compare_access(mrz, dg13, data, key=key)
    source = {"qr": "the card's QR code", "mrz": "the MRZ", "id": "the ID number and dates",
              "document": "the document number and dates", "can": "the CAN"}.get(data.source if data else "",
                                                                                 "the access key")
    if mismatches:
        return V.failed(
            V.ACCESS_DATA_MATCH,
            f"the chip's data (DG1/DG13) contradicts the access data used to open it ({source}) on: "
            f"{', '.join(mismatches)}: the chip does not belong to this card (ICAO 9303-11 §4.3)",
            "Dữ liệu trong chip (DG1/DG13) không khớp với thông tin dùng để mở chip ("
            + ", ".join(_FIELD_VI[m] for m in mismatches) + "): chip không thuộc về thẻ này, nghi thẻ giả",
            fields=mismatches,
        )
    return V.passed(V.ACCESS_DATA_MATCH, f"DG1 and DG13 agree with the access data used to open the chip ({source})",
                    "Dữ liệu trong chip khớp với thông tin dùng để mở chip")
