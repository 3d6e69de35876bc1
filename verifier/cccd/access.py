"""Turn what the clerk has (MRZ, ID number + dates, the card's QR, the CAN) into access keys.

CCCD facts used (public readers, see ``/work/shared/data/README.md``):

* BAC document number = the last 9 digits of the 12-digit ID number (ICAO 9303-11 §4.3.2
  MRZ information: document number, date of birth, date of expiry);
* PACE CAN = the last 6 digits of the ID number (ICAO 9303-11 §9.7.3);
* the QR carries no expiry: it is derived from the renewal ages
  (:func:`verifier.cccd.qr.expiry_candidates`), one :class:`BACKey` per candidate;
* a card without expiry: when the derived expiry fails, BAC is tried with the MRZ filler
  ``<<<<<<`` and then with year 2099 and the day and month of birth (``99MMDD``)
  (:func:`no_expiry_keys`). The session logs every attempt with the key's description
  (:meth:`BACKey.describe`), never the key or the date of birth.

Every function returns :class:`AccessCandidates`, keys best first; input that cannot
yield any key raises :class:`AccessKeyError`.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

from verifier.cccd.access_match import AccessData
from verifier.cccd.id_number import check_format, validate_id_number
from verifier.cccd.qr import NO_EXPIRY, expiry_candidates, parse_card_qr
from verifier.errors import AccessKeyError, MRZError, ParseError
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.mrz import parse_mrz


@dataclass(frozen=True)
class AccessCandidates:
    keys: list = field(default_factory=list)  # BACKey / CANKey, best first
    warnings: list = field(default_factory=list)  # English, no personal data
    data: AccessData | None = None  # what the access data says, compared with DG1 after reading


def _yymmdd(value, what: str) -> str:
    if value is NO_EXPIRY:
        return NO_EXPIRY.mrz
    if isinstance(value, _dt.date):
        return value.strftime("%y%m%d")
    text = str(value).strip()
    if text.lower() in ("none", "<<<<<<", "không thời hạn"):
        return NO_EXPIRY.mrz
    if re.fullmatch(r"[0-9]{8}", text):  # YYYYMMDD
        text = text[2:]
    elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        text = text[2:4] + text[5:7] + text[8:10]
    if not re.fullmatch(r"[0-9]{6}", text):
        raise AccessKeyError(f"{what}: expected YYMMDD (6 digits), found {len(text)} characters")
    return text


def _bac(document_number: str, birth: str, expiry: str) -> BACKey:
    try:
        return BACKey(document_number, birth, expiry)
    except AccessKeyError as e:
        raise AccessKeyError(f"cannot build a BAC key: {e.message}") from e


def no_expiry_keys(document_number: str, birth: str) -> list[BACKey]:
    """BAC keys for a card that does not expire, in the order tried: the MRZ filler ``<<<<<<``
    (check digit 0, ICAO 9303-3 §4.9), then year 2099 with the day and month of birth
    (``99MMDD``), the two ways an issuing system can write "no expiry" into the MRZ information
    that keys BAC (ICAO 9303-11 §4.3.2)."""
    return [_bac(document_number, birth, NO_EXPIRY.mrz), _bac(document_number, birth, "99" + birth[2:])]


def _with_fallbacks(bac_keys: list, fallbacks: list) -> list:
    return bac_keys + [k for k in fallbacks if k not in bac_keys]


def keys_from_mrz(text: str) -> AccessCandidates:
    """Keys from a typed or scanned MRZ (TD1 or TD3). Check-digit failures are warnings:
    the chip is the judge. A CCCD MRZ (optional data = 12-digit ID) also yields the CAN."""
    try:
        mrz = parse_mrz(text, strict=False)
    except MRZError as e:
        raise AccessKeyError(f"MRZ unusable: {e.message}") from e
    warnings = [f"MRZ check digit wrong for {name}" for name, ok in mrz.check_digits_ok.items() if not ok]
    keys: list = [_bac(mrz.document_number, mrz.date_of_birth, mrz.date_of_expiry)]
    candidate_id = mrz.optional_data[:12]
    if mrz.issuing_state == "VNM" and re.fullmatch(r"[0-9]{12}", candidate_id):
        if candidate_id[-9:] != mrz.document_number:
            warnings.append("the ID number in the MRZ optional data does not end with the document number")
        keys.append(CANKey(candidate_id[-6:]))
    data = AccessData("mrz", id_number=candidate_id if len(keys) > 1 else None, document_number=mrz.document_number,
                      date_of_birth=mrz.date_of_birth, date_of_expiry=mrz.date_of_expiry or NO_EXPIRY.mrz)
    return AccessCandidates(keys=keys, warnings=warnings, data=data)


def keys_from_id(id12: str, birth, expiry) -> AccessCandidates:
    """Keys from the 12-digit ID number, the birth date and the expiry date (YYMMDD, a date,
    or :data:`NO_EXPIRY` / None for a card without expiry): BAC key, then the CAN. Without
    expiry the ``99MMDD`` key follows (:func:`no_expiry_keys`)."""
    id12 = check_format(id12)
    birth_s = _yymmdd(birth, "date of birth")
    expiry_s = _yymmdd(NO_EXPIRY if expiry is None else expiry, "date of expiry")
    info = validate_id_number(id12)
    warnings = list(info.warnings)
    if birth_s[:2] != f"{info.birth_year % 100:02d}":
        warnings.append(f"ID number encodes birth year {info.birth_year} but the date of birth is in year ..{birth_s[:2]}")
    keys: list = [_bac(id12[-9:], birth_s, expiry_s)]
    keys.append(CANKey(id12[-6:]))
    if expiry_s == NO_EXPIRY.mrz:
        keys += no_expiry_keys(id12[-9:], birth_s)[1:]
    data = AccessData("id", id_number=id12, date_of_birth=birth_s, date_of_expiry=expiry_s)
    return AccessCandidates(keys=keys, warnings=warnings, data=data)


def keys_from_document(document_number: str, birth, expiry) -> AccessCandidates:
    """The BAC key from any document number with the birth and expiry dates (passports, TD3)."""
    key = _bac(document_number, _yymmdd(birth, "date of birth"),
               _yymmdd(NO_EXPIRY if expiry is None else expiry, "date of expiry"))
    return AccessCandidates(keys=[key], warnings=[], data=AccessData(
        "document", document_number=key.document_number, date_of_birth=key.date_of_birth,
        date_of_expiry=key.date_of_expiry))


def keys_from_qr(text: str | bytes) -> AccessCandidates:
    """Keys from the card's QR text: the BAC key for the most likely expiry, the CAN, then
    BAC keys for the neighbouring expiry candidates, then the no-expiry keys
    (:func:`no_expiry_keys`: ``<<<<<<``, then ``99MMDD``)."""
    try:
        qr = parse_card_qr(text)
    except ParseError as e:
        raise AccessKeyError(f"card QR unusable: {e.message}") from e
    info = validate_id_number(qr.id_number, qr.date_of_birth, qr.sex_code or qr.sex)
    warnings = list(info.warnings)
    if qr.date_of_issue is None:
        warnings.append("QR has no issue date: trying every renewal age as expiry")
    birth = qr.date_of_birth.strftime("%y%m%d")
    bac_keys = []
    for candidate in expiry_candidates(qr.date_of_birth, qr.date_of_issue):
        key = _bac(qr.id_number[-9:], birth, _yymmdd(candidate, "date of expiry"))
        if key not in bac_keys:
            bac_keys.append(key)
    bac_keys = _with_fallbacks(bac_keys, no_expiry_keys(qr.id_number[-9:], birth))
    keys = bac_keys[:1] + [CANKey(qr.id_number[-6:])] + bac_keys[1:]
    data = AccessData("qr", id_number=qr.id_number, date_of_birth=birth, birth_date=qr.date_of_birth,
                      date_of_issue=qr.date_of_issue)  # no expiry: the candidates are derived guesses
    return AccessCandidates(keys=keys, warnings=warnings, data=data)


def keys_from_can(can: str) -> AccessCandidates:
    """The CAN (6 digits) as the only candidate (PACE only)."""
    key = CANKey(can)
    return AccessCandidates(keys=[key], warnings=[], data=AccessData("can", can=key.can))


def keys_from_text(text: str) -> AccessCandidates:
    """Guess what was typed or scanned: 6 digits -> CAN, '|' -> QR, else an MRZ."""
    if not isinstance(text, str) or not text.strip():
        raise AccessKeyError("access input is empty: expected an MRZ, the card's QR text or a 6-digit CAN")
    t = text.strip().lstrip("\ufeff")
    if re.fullmatch(r"[0-9]{6}", t):
        return keys_from_can(t)
    if "|" in t:
        return keys_from_qr(t)
    return keys_from_mrz(t)
