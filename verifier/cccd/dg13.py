"""DG13 of the Vietnamese CCCD: the citizen's personal data in Vietnamese (tag 0x6D).

Not specified by ICAO (DG13 is "optional details", issuer-defined, ICAO 9303-10 §4.7.13).
The layout below is the one observed by public CCCD readers: a SEQUENCE of numbered
fields, each a SEQUENCE of an INTEGER field number and the value::

    6D L
       30 L                                  (container; readers tolerate its absence)
          30 L  02 01 01  13 0C "079090001234"          1  personal ID number
          30 L  02 01 02  0C L  "Nguyễn Văn An"         2  full name
          30 L  02 01 03  13 0A "15/03/1990"            3  date of birth dd/mm/yyyy
          30 L  02 01 04  0C L  "Nam" | "Nữ"            4  sex
          30 L  02 01 05  0C L  "Việt Nam"              5  nationality
          30 L  02 01 06  0C L  "Kinh"                  6  ethnicity
          30 L  02 01 07  0C L  "Không"                 7  religion
          30 L  02 01 08  0C L  ...                     8  place of origin (quê quán)
          30 L  02 01 09  0C L  ...                     9  place of residence (nơi thường trú)
          30 L  02 01 0A  0C L  ...                     10 personal identification (đặc điểm nhận dạng)
          30 L  02 01 0B  13 0A "01/02/2021"            11 date of issue
          30 L  02 01 0C  0C L  "15/03/2030" | "Không thời hạn"   12 date of expiry
          30 L  02 01 0D  30 L {0C father}  30 L {0C mother}     13 parents
          30 L  02 01 0E [30 L {0C spouse}]             14 spouse (empty when none)
          30 L  02 01 0F  13 09 "123456789"             15 old ID number (CMND)
          30 L  02 01 10  13 L  ...                     16 not identified: kept raw

Fields may be absent; unknown field numbers are kept raw in ``unknown``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from verifier.errors import LimitExceededError, ParseError, TLVError
from verifier.icao import tlv

DG13_TAG = 0x6D
SEQUENCE = 0x30
INTEGER = 0x02
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x1A: "ascii", 0x04: "utf-8", 0x1E: "utf-16-be"}
MAX_FIELDS = 64

NO_EXPIRY_TEXT = "Không thời hạn"
SEX_MALE = "Nam"
SEX_FEMALE = "Nữ"

#: field number -> attribute name (13 is the parents' pair, 14 the spouse)
FIELD_NAMES = {
    1: "id_number", 2: "full_name", 3: "date_of_birth", 4: "sex", 5: "nationality", 6: "ethnicity",
    7: "religion", 8: "place_of_origin", 9: "place_of_residence", 10: "personal_identification",
    11: "date_of_issue", 12: "date_of_expiry", 13: "parents", 14: "spouse_name", 15: "old_id_number",
}
_DATE_FIELDS = {3, 11, 12}
_PRINTABLE_FIELDS = {1, 3, 11, 15}


@dataclass(frozen=True)
class DG13:
    raw: bytes
    id_number: str | None = None
    full_name: str | None = None
    date_of_birth: _dt.date | None = None
    sex: str | None = None  # "Nam" / "Nữ" as written on the chip
    nationality: str | None = None
    ethnicity: str | None = None
    religion: str | None = None
    place_of_origin: str | None = None
    place_of_residence: str | None = None
    personal_identification: str | None = None
    date_of_issue: _dt.date | None = None
    date_of_expiry: _dt.date | None = None  # None also when the card has no expiry: see ``no_expiry``
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    old_id_number: str | None = None
    unknown: dict = field(default_factory=dict)  # field number -> raw TLV bytes of the field
    texts: dict = field(default_factory=dict)  # field number -> text exactly as stored (dates included)

    def __repr__(self) -> str:  # personal data stays out of logs
        present = sorted(self.texts) + [n for n, v in ((13, self.father_name or self.mother_name), (14, self.spouse_name)) if v]
        return f"DG13(fields={sorted(present)}, unknown={sorted(self.unknown)}, <redacted>)"

    @property
    def sex_code(self) -> str | None:
        """"M" / "F" (ICAO letters) from the Vietnamese word, None when absent or unrecognised."""
        return sex_code(self.sex)

    @property
    def no_expiry(self) -> bool:
        """True when field 12 is present but holds no date ("Không thời hạn")."""
        return 12 in self.texts and self.date_of_expiry is None


def sex_code(text: str | None) -> str | None:
    if not text:
        return None
    t = text.strip().casefold()
    if t in ("nam", "male", "m"):
        return "M"
    if t in ("nữ", "nu", "nư", "female", "f"):
        return "F"
    return None


def parse_date(text: str | None) -> _dt.date | None:
    """``dd/mm/yyyy`` (also ``dd-mm-yyyy``, ``ddmmyyyy``) -> date; None when it is not a date."""
    if not text:
        return None
    t = text.strip().replace("-", "/").replace(".", "/")
    try:
        if "/" in t:
            d, m, y = t.split("/")
        elif len(t) == 8 and t.isdigit():
            d, m, y = t[:2], t[2:4], t[4:]
        else:
            return None
        if len(y) != 4:
            return None
        return _dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def format_date(d: _dt.date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def _text(node: tlv.TLV, where: str) -> str:
    encoding = _STRING_TAGS.get(node.tag)
    if encoding is None:
        raise ParseError(f"DG13 {where}: expected a string (UTF8String 0C, PrintableString 13), found tag {node.tag:X}")
    try:
        return node.value.decode(encoding)
    except UnicodeDecodeError as e:
        raise ParseError(f"DG13 {where}: value is not valid {encoding}: {node.value[:16].hex()}") from e


def _field_number(kids: list[tlv.TLV]) -> int | None:
    """The field number when ``kids`` (a SEQUENCE's children) start with a small INTEGER, else None."""
    if not kids or kids[0].tag != INTEGER or not 1 <= len(kids[0].value) <= 4:
        return None
    return int.from_bytes(kids[0].value, "big")


def _collect_fields(node: tlv.TLV, out: list, depth: int = 0) -> None:
    """Append (number, node, children) for every field under ``node``; descend into containers."""
    if depth > 4:
        raise LimitExceededError("DG13: field containers nested deeper than 4")
    for child in node.children():
        if child.tag != SEQUENCE:
            continue
        kids = child.children()
        number = _field_number(kids)
        if number is None or any(k.tag == SEQUENCE and _field_number(k.children()) is not None for k in kids[1:2]):
            # a container: a SEQUENCE of fields (possibly after a leading version INTEGER)
            if any(k.tag == SEQUENCE for k in kids):
                _collect_fields(child, out, depth + 1)
            continue
        out.append((number, child, kids))
        if len(out) > MAX_FIELDS:
            raise LimitExceededError(f"DG13: more than {MAX_FIELDS} fields")


def _names(values: list[tlv.TLV], where: str) -> list[str | None]:
    """Names in a parents/spouse field: bare strings or SEQUENCEs of strings, positional."""
    names: list[str | None] = []
    for v in values:
        if v.tag == SEQUENCE:
            inner = [c for c in v.children() if c.tag in _STRING_TAGS]
            if not inner:
                names.append(None)
            elif len(values) == 1:  # one SEQUENCE holding every name
                names.extend(_text(c, where) or None for c in inner)
            else:
                names.append(_text(inner[0], where) or None)
        elif v.tag in _STRING_TAGS:
            names.append(_text(v, where) or None)
    return names


def parse_dg13(raw: bytes) -> DG13:
    """Parse the CCCD DG13. Raises :class:`ParseError` when it is not a DG13 at all."""
    raw = bytes(raw)
    try:
        outer = tlv.decode_first(raw)
        if outer.tag != DG13_TAG:
            raise ParseError(f"DG13: expected tag 6D, found {outer.tag:X}")
        fields: list = []
        _collect_fields(outer, fields)
        values: dict = {}
        texts: dict = {}
        unknown: dict = {}
        for number, node, kids in fields:
            rest = kids[1:]
            where = f"field {number}"
            if number in values or number in texts or number in unknown:
                continue  # first occurrence wins
            if number == 13:
                names = _names(rest, where)
                values["father_name"] = names[0] if names else None
                values["mother_name"] = names[1] if len(names) > 1 else None
                continue
            if number == 14:
                names = _names(rest, where)
                values["spouse_name"] = names[0] if names else None
                continue
            if number not in FIELD_NAMES:
                unknown[number] = node.raw
                continue
            strings = [c for c in rest if c.tag in _STRING_TAGS]
            if not strings:
                if rest:
                    raise ParseError(f"DG13 {where}: expected a string value, found tag {rest[0].tag:X}")
                continue  # empty field
            text = _text(strings[0], where)
            texts[number] = text
            name = FIELD_NAMES[number]
            values[name] = parse_date(text) if number in _DATE_FIELDS else (text if text != "" else None)
        return DG13(raw=outer.raw, unknown=unknown, texts=texts, **values)
    except TLVError as e:
        raise ParseError(f"DG13 is not valid BER-TLV: {e}") from e


# --------------------------------------------------------------------------- encoding

def _get(profile, name: str):
    if isinstance(profile, Mapping):
        return profile.get(name)
    return getattr(profile, name, None)


def _string(number: int, text: str) -> bytes:
    tag = PRINTABLE_STRING if number in _PRINTABLE_FIELDS and text.isascii() else UTF8_STRING
    return tlv.encode(tag, text.encode("utf-8"))


def _field(number: int, *values: bytes) -> bytes:
    return tlv.encode(SEQUENCE, tlv.encode(INTEGER, bytes([number])) + b"".join(values))


def encode_dg13(profile) -> bytes:
    """Encode DG13 from a profile: any object or mapping with the :class:`DG13` attribute names.

    Dates may be :class:`datetime.date` or text; ``date_of_expiry`` None with ``no_expiry`` true
    (or the text "Không thời hạn") writes "Không thời hạn". Absent (None) fields are left out;
    ``unknown`` (number -> raw field TLV) is appended as is.
    """
    parts: list[bytes] = []
    for number in range(1, 16):
        name = FIELD_NAMES[number]
        if number == 13:
            father, mother = _get(profile, "father_name"), _get(profile, "mother_name")
            if father is None and mother is None:
                continue
            parts.append(_field(13, *(tlv.encode(SEQUENCE, tlv.encode(UTF8_STRING, n.encode("utf-8")) if n else b"")
                                      for n in (father, mother))))
            continue
        if number == 14:
            spouse = _get(profile, "spouse_name")
            if spouse is None and not _get(profile, "write_empty_spouse"):
                continue
            parts.append(_field(14, tlv.encode(SEQUENCE, tlv.encode(UTF8_STRING, spouse.encode("utf-8")))
                                if spouse else b""))
            continue
        value = _get(profile, name)
        if number == 12 and value is None and _get(profile, "no_expiry"):
            value = NO_EXPIRY_TEXT
        if number == 4 and value in ("M", "F"):
            value = SEX_MALE if value == "M" else SEX_FEMALE
        if value is None:
            continue
        if isinstance(value, _dt.date):
            value = format_date(value)
        parts.append(_field(number, _string(number, str(value))))
    unknown = _get(profile, "unknown") or {}
    for number in sorted(unknown):
        parts.append(bytes(unknown[number]))
    return tlv.encode(DG13_TAG, tlv.encode(SEQUENCE, b"".join(parts)))
