"""DG13 of the Vietnamese CCCD: the citizen's personal data in Vietnamese (tag 0x6D).

ICAO leaves DG13 to the issuer ("optional details", ICAO 9303-10 §4.7.13). Real CCCD chips
(public dumps, ``/work/shared/data/cccd/README.md`` "DG13 layout") write::

    6D L                                           DG13
       30 L                                        SEQUENCE
          02 01 01                                 INTEGER 1 (a version)
          06 06 28 D3 16 01 00 08                  OID 1.0.10646.1.0.8 (ISO/IEC 10646, UTF-8)
          31 L                                     SET, in field-number order (not DER-sorted)
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
             30 03 02 01 0E  | 30 L 02 01 0E 30 L {0C spouse}      14 spouse (bare number: none)
             30 03 02 01 0F  | 30 L 02 01 0F 13 09 "123456789"     15 old ID number (CMND)
             30 L  02 01 10  13 10 "0123456789ABCDEF"      16 not identified (looks like a chip serial)

Parsing accepts the elements of the SET in any order, every field optional, a field that is
a number with no value (absent), long-form lengths, and unknown field numbers (kept raw in
``unknown``). It also accepts the flat layout chipid's emulator wrote before (``6D { 30 { fields } }``
or ``6D { fields }``, no version and no OID). A field number that appears twice, a field
with more values than its layout allows, or a value of the wrong type is a :class:`ParseError`:
two readers must never show different data for the same signed bytes. Sizes and counts are
bounded (:data:`MAX_DG13_BYTES`, :data:`MAX_FIELDS`); hostile input ends in a project error.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from verifier.errors import InputError, LimitExceededError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.files import open_file
from verifier.text import fold

DG13_TAG = 0x6D
SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OBJECT_IDENTIFIER = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x1A: "ascii", 0x04: "utf-8", 0x1E: "utf-16-be"}
#: OID 1.0.10646.1.0.8: ISO/IEC 10646 (UCS), UTF-8 transformation format, as DER contents.
UTF8_OID = bytes.fromhex("28D316010008")
UTF8_OID_TEXT = "1.0.10646.1.0.8"
DG13_VERSION = 1
#: Limits for hostile input: real DG13s are 500-900 bytes with 16 fields.
MAX_DG13_BYTES = 32 * 1024
MAX_FIELDS = 64

NO_EXPIRY_TEXT = "Không thời hạn"
SEX_MALE = "Nam"
SEX_FEMALE = "Nữ"

#: field number -> attribute name (13 is the parents' pair, 16 is not identified)
FIELD_NAMES = {
    1: "id_number", 2: "full_name", 3: "date_of_birth", 4: "sex", 5: "nationality", 6: "ethnicity",
    7: "religion", 8: "place_of_origin", 9: "place_of_residence", 10: "personal_identification",
    11: "date_of_issue", 12: "date_of_expiry", 13: "parents", 14: "spouse_name", 15: "old_id_number",
    16: "field_16",
}
LAST_FIELD = 16
_DATE_FIELDS = {3, 11, 12}
_PRINTABLE_FIELDS = {1, 3, 11, 15, 16}
_NAME_FIELDS = {13: 2, 14: 1}  # fields holding names in one-string SEQUENCEs -> most names allowed
_PRINTABLE_CHARS = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")  # X.680 §41.4 PrintableString


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
    #: Field 16: not identified. Real chips hold 16 upper-case hex characters there (it looks like
    #: a chip serial number); kept as text, never interpreted.
    field_16: str | None = None
    version: int | None = None  # the leading INTEGER (1 on real chips); None in the old flat layout
    charset: str | None = None  # the OID after it (UTF-8: 1.0.10646.1.0.8); None in the old flat layout
    unknown: dict = field(default_factory=dict)  # field number -> raw TLV bytes of the field
    texts: dict = field(default_factory=dict)  # field number -> text exactly as stored (dates included)

    def __repr__(self) -> str:  # personal data stays out of logs
        present = set(self.texts) | {n for n, v in ((13, self.father_name or self.mother_name),
                                                     (14, self.spouse_name)) if v}
        return f"DG13(version={self.version}, fields={sorted(present)}, unknown={sorted(self.unknown)}, <redacted>)"

    @property
    def sex_code(self) -> str | None:
        """"M" / "F" (ICAO letters) from the Vietnamese word, None when absent or unrecognised."""
        return sex_code(self.sex)

    @property
    def no_expiry(self) -> bool:
        """True when field 12 says the card does not expire ("Không thời hạn")."""
        return is_no_expiry(self.texts.get(12))

    @property
    def chip_serial_text(self) -> str | None:
        """Another name for :attr:`field_16` (not identified; looks like a chip serial)."""
        return self.field_16


def is_no_expiry(text: str | None) -> bool:
    """True for "Không thời hạn" (any case, with or without diacritics, NFC or NFD)."""
    return bool(text) and fold(text) == fold(NO_EXPIRY_TEXT)


def sex_code(text: str | None) -> str | None:
    if not text:
        return None
    t = unicodedata.normalize("NFC", text.strip().casefold())
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
        if len(y) != 4 or not (d.isascii() and m.isascii() and y.isascii()):
            return None
        return _dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def format_date(d: _dt.date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


# --------------------------------------------------------------------------- parsing

def _text(node: tlv.TLV, where: str) -> str:
    encoding = _STRING_TAGS.get(node.tag)
    if encoding is None:
        raise ParseError(f"DG13 {where}: expected a string (UTF8String 0C, PrintableString 13), found tag {node.tag:X}")
    try:
        return node.value.decode(encoding)
    except UnicodeDecodeError as e:
        raise ParseError(f"DG13 {where}: value is not valid {encoding}: {node.value[:16].hex()}") from e


def _small_int(node: tlv.TLV, what: str) -> int:
    """A non-negative INTEGER of at most 2 content bytes (a version or a field number)."""
    if node.tag != INTEGER:
        raise ParseError(f"DG13 {what}: expected an INTEGER (02), found tag {node.tag:X}")
    if not 1 <= len(node.value) <= 2 or node.value[0] & 0x80:
        raise ParseError(f"DG13 {what}: expected a small non-negative INTEGER, found {node.value[:4].hex() or 'no bytes'}")
    return int.from_bytes(node.value, "big")


def _is_field(node: tlv.TLV) -> bool:
    """A SEQUENCE whose first element is an INTEGER: what one numbered field looks like."""
    if node.tag != SEQUENCE or not node.value:
        return False
    return node.value[0] == INTEGER


def _containers(outer: tlv.TLV) -> tuple[list[tlv.TLV], int | None, str | None]:
    """(field SEQUENCEs, version, charset OID) from the 6D's contents, in either layout."""
    top = outer.children()
    if len(top) == 1 and top[0].tag == SEQUENCE:
        inner = top[0].children()
        if inner and inner[0].tag == INTEGER and len(inner) >= 2 and inner[1].tag == OBJECT_IDENTIFIER:
            # the real layout: version, charset OID, SET of fields
            version = _small_int(inner[0], "version")
            if version != DG13_VERSION:
                raise ParseError(f"DG13: expected version {DG13_VERSION}, found {version}")
            if inner[1].value != UTF8_OID:
                raise ParseError(f"DG13: expected the UTF-8 OID {UTF8_OID_TEXT} (06 06 28D316010008), "
                                 f"found 06 {inner[1].value[:16].hex().upper()}")
            if len(inner) < 3 or inner[2].tag != SET:
                found = f"tag {inner[2].tag:X}" if len(inner) > 2 else "nothing"
                raise ParseError(f"DG13: expected a SET (31) of fields after the OID, found {found}")
            if len(inner) > 3:
                raise ParseError(f"DG13: expected nothing after the SET of fields, found {len(inner) - 3} elements")
            return _bounded(inner[2]), version, UTF8_OID_TEXT
        if inner and all(_is_field(n) for n in inner):
            return inner, None, None  # old flat layout inside one SEQUENCE
    if top and all(_is_field(n) for n in top):
        return top, None, None  # old flat layout without a container
    raise ParseError("DG13: expected SEQUENCE { INTEGER 1, OID 1.0.10646.1.0.8, SET { fields } } "
                     "(or the flat SEQUENCE of numbered fields), found another structure")


def _bounded(node: tlv.TLV) -> list[tlv.TLV]:
    kids = node.children()
    if len(kids) > MAX_FIELDS:
        raise LimitExceededError(f"DG13: {len(kids)} fields, at most {MAX_FIELDS} allowed")
    return kids


def _names(values: list[tlv.TLV], number: int) -> list[str | None]:
    """Names in field 13 (father, mother) or 14 (spouse): each a SEQUENCE of one string (empty:
    none), or a bare string; positional."""
    where = f"field {number}"
    most = _NAME_FIELDS[number]
    if len(values) > most:
        raise ParseError(f"DG13 {where}: expected at most {most} name(s), found {len(values)} values")
    names: list[str | None] = []
    for v in values:
        if v.tag == SEQUENCE:
            inner = v.children()
            if len(inner) > 1:
                raise ParseError(f"DG13 {where}: expected one name per SEQUENCE, found {len(inner)} elements")
            names.append((_text(inner[0], where) or None) if inner else None)
        else:
            names.append(_text(v, where) or None)
    return names


def parse_dg13(raw: bytes) -> DG13:
    """Parse the CCCD DG13 (either layout, see the module docstring).

    Raises :class:`ParseError` (:class:`LimitExceededError` for hostile sizes and counts)
    when it is not a DG13 this module can read without guessing.

    The real layout in one-byte tags and definite lengths, as every chip writes it, is read in place
    (:func:`_parse_real_layout`); any other input, and every refusal, goes through the TLV reading below.
    """
    raw = bytes(raw)
    if len(raw) > MAX_DG13_BYTES:
        raise LimitExceededError(f"DG13: {len(raw)} bytes, at most {MAX_DG13_BYTES} allowed")
    fast = _parse_real_layout(raw)
    if fast is not None:
        return fast
    try:
        outer = open_file(raw, "DG13")
        nodes, version, charset = _containers(outer)
        if len(nodes) > MAX_FIELDS:
            raise LimitExceededError(f"DG13: {len(nodes)} fields, at most {MAX_FIELDS} allowed")
        values: dict = {}
        texts: dict = {}
        unknown: dict = {}
        seen: set[int] = set()
        for i, node in enumerate(nodes, 1):
            if not _is_field(node):
                raise ParseError(f"DG13 element {i}: expected SEQUENCE {{ INTEGER field number, value }}, "
                                 f"found tag {node.tag:X}")
            kids = node.children()
            number = _small_int(kids[0], f"element {i} field number")
            if number in seen:
                raise ParseError(f"DG13: field {number} appears twice")
            seen.add(number)
            rest = kids[1:]
            where = f"field {number}"
            if number == 13:
                names = _names(rest, 13)
                values["father_name"] = names[0] if names else None
                values["mother_name"] = names[1] if len(names) > 1 else None
                continue
            if number == 14:
                names = _names(rest, 14)
                values["spouse_name"] = names[0] if names else None
                continue
            if number not in FIELD_NAMES:
                unknown[number] = node.raw
                continue
            if not rest:
                continue  # the number with no value: the field is empty (e.g. no old ID number)
            if len(rest) > 1:
                raise ParseError(f"DG13 {where}: expected one value, found {len(rest)}")
            text = _text(rest[0], where)
            texts[number] = text
            name = FIELD_NAMES[number]
            values[name] = parse_date(text) if number in _DATE_FIELDS else (text if text != "" else None)
        return DG13(raw=outer.raw, version=version, charset=charset, unknown=unknown, texts=texts, **values)
    except TLVError as e:
        raise ParseError(f"DG13 is not valid BER-TLV: {e}") from e


# --------------------------------------------------------------------------- the real layout, read in place

def _span(data: bytes, pos: int, limit: int) -> tuple[int, int, int, int] | None:
    """(tag, value start, value end = end, start) of the TLV at ``pos`` when its tag is one byte and its
    length definite, as :mod:`verifier.icao.tlv` reads it; None for anything else (the TLV reader decides)."""
    if pos + 2 > limit:
        return None
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        return None
    first = data[pos + 1]
    if first < 0x80:
        vstart, length = pos + 2, first
    else:
        n = first & 0x7F
        if n == 0 or n > tlv.MAX_LENGTH_BYTES or pos + 2 + n > limit:
            return None
        vstart, length = pos + 2 + n, int.from_bytes(data[pos + 2:pos + 2 + n], "big")
    end = vstart + length
    return (tag, vstart, end, pos) if end <= limit else None


def _spans(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]] | None:
    """The TLVs of ``data[start:end]`` (:func:`_span` each), None when one is not of that form."""
    out = []
    while start < end:
        node = _span(data, start, end)
        if node is None:
            return None
        out.append(node)
        start = node[2]
    return out


def _text_at(data: bytes, node: tuple[int, int, int, int]) -> str | None:
    """:func:`_text` of a value read in place; None where :func:`_text` refuses."""
    encoding = _STRING_TAGS.get(node[0])
    if encoding is None:
        return None
    try:
        return data[node[1]:node[2]].decode(encoding)
    except UnicodeDecodeError:
        return None


def _names_at(data: bytes, values: list[tuple[int, int, int, int]], number: int) -> list[str | None] | None:
    """:func:`_names` of values read in place; None where :func:`_names` refuses."""
    if len(values) > _NAME_FIELDS[number]:
        return None
    names: list[str | None] = []
    for v in values:
        if v[0] == SEQUENCE:
            inner = _spans(data, v[1], v[2])
            if inner is None or len(inner) > 1:
                return None
            text = _text_at(data, inner[0]) if inner else ""
        else:
            text = _text_at(data, v)
        if text is None:
            return None
        names.append(text or None)
    return names


def _parse_real_layout(raw: bytes) -> DG13 | None:
    """What :func:`parse_dg13` gives for the real layout (``6D { 30 { 02 01 01, 06 UTF-8 OID, 31 { fields } } }``)
    in one-byte tags and definite lengths, read by offsets into ``raw`` (no TLV objects, no copies); None
    for another layout or form and for anything :func:`parse_dg13` refuses (its TLV reading then refuses
    it, with its message). Tests hold the two readings together on generated and mutated DG13s."""
    outer = _span(raw, 0, len(raw))
    if outer is None or outer[0] != DG13_TAG:
        return None
    top = _spans(raw, outer[1], outer[2])
    if top is None or len(top) != 1 or top[0][0] != SEQUENCE:
        return None
    inner = _spans(raw, top[0][1], top[0][2])
    if (inner is None or len(inner) != 3 or inner[0][0] != INTEGER or raw[inner[0][1]:inner[0][2]] != b"\x01"
            or inner[1][0] != OBJECT_IDENTIFIER or raw[inner[1][1]:inner[1][2]] != UTF8_OID or inner[2][0] != SET):
        return None
    nodes = _spans(raw, inner[2][1], inner[2][2])
    if nodes is None or len(nodes) > MAX_FIELDS:
        return None
    values: dict = {}
    texts: dict = {}
    unknown: dict = {}
    seen: set[int] = set()
    for tag, start, end, at in nodes:
        if tag != SEQUENCE or start == end or raw[start] != INTEGER:
            return None
        rest = _spans(raw, start + 3, end) if start + 3 <= end and raw[start + 1] == 1 else None
        if rest is not None and not raw[start + 2] & 0x80:
            number = raw[start + 2]  # "02 01 NN", as every field number is written: read here, not as a span
        else:
            kids = _spans(raw, start, end)
            if kids is None:
                return None
            (_, nstart, nend, _), rest = kids[0], kids[1:]
            if not 1 <= nend - nstart <= 2 or raw[nstart] & 0x80:
                return None
            number = int.from_bytes(raw[nstart:nend], "big")
        if number in seen:
            return None
        seen.add(number)
        if number in _NAME_FIELDS:
            names = _names_at(raw, rest, number)
            if names is None:
                return None
            if number == 13:
                values["father_name"] = names[0] if names else None
                values["mother_name"] = names[1] if len(names) > 1 else None
            else:
                values["spouse_name"] = names[0] if names else None
            continue
        if number not in FIELD_NAMES:
            unknown[number] = raw[at:end]
            continue
        if not rest:
            continue
        if len(rest) > 1:
            return None
        text = _text_at(raw, rest[0])
        if text is None:
            return None
        texts[number] = text
        values[FIELD_NAMES[number]] = parse_date(text) if number in _DATE_FIELDS else (text if text != "" else None)
    return DG13(raw=raw[:outer[2]], version=DG13_VERSION, charset=UTF8_OID_TEXT, unknown=unknown, texts=texts,
                **values)


# --------------------------------------------------------------------------- encoding

def _get(profile, name: str):
    if isinstance(profile, Mapping):
        return profile.get(name)
    return getattr(profile, name, None)


def _string(number: int, text: str) -> bytes:
    printable = number in _PRINTABLE_FIELDS and _PRINTABLE_CHARS.fullmatch(text) is not None
    return tlv.encode(PRINTABLE_STRING if printable else UTF8_STRING, text.encode("utf-8"))


def _field(number: int, *values: bytes) -> bytes:
    return tlv.encode(SEQUENCE, tlv.encode(INTEGER, bytes([number])) + b"".join(values))


def _name(text: str | None) -> bytes:
    """One name as real chips hold it in fields 13 and 14: SEQUENCE { UTF8String }; empty when absent."""
    return tlv.encode(SEQUENCE, tlv.encode(UTF8_STRING, text.encode("utf-8")) if text else b"")


def _value(profile, number: int) -> bytes | None:
    """The encoded value of field ``number`` (1-12, 15, 16), None when the profile has none."""
    value = _get(profile, FIELD_NAMES[number])
    if number == 16 and value is None:
        value = _get(profile, "chip_serial_text")
    if number == 12 and value is None and _get(profile, "no_expiry"):
        value = NO_EXPIRY_TEXT
    if number == 4 and value in ("M", "F"):
        value = SEX_MALE if value == "M" else SEX_FEMALE
    if value is None:
        return None
    if isinstance(value, _dt.date):
        value = format_date(value)
    if number == 12:
        return tlv.encode(UTF8_STRING, str(value).encode("utf-8"))  # text is possible here: UTF8String
    return _string(number, str(value))


def encode_dg13(profile) -> bytes:
    """DG13 in the layout of real CCCD chips (module docstring), from a profile: any object or
    mapping with the :class:`DG13` attribute names.

    All 16 fields are written in field-number order, as real cards do; an absent field is its
    bare number (``30 03 02 01 0E`` for no spouse). Dates may be :class:`datetime.date` or
    text; ``date_of_expiry`` None with ``no_expiry`` true writes "Không thời hạn". Sex "M"/"F"
    becomes "Nam"/"Nữ". ``field_16`` (or ``chip_serial_text``) is written as text when given.
    ``unknown`` (number -> raw field TLV, numbers above 16) is placed in number order. The
    old ``write_empty_spouse`` option is accepted and has no effect (no spouse is always the
    bare number).
    """
    parts: dict[int, bytes] = {}
    for number in range(1, LAST_FIELD + 1):
        if number == 13:
            father, mother = _get(profile, "father_name"), _get(profile, "mother_name")
            parts[13] = _field(13, _name(father), _name(mother)) if father or mother else _field(13)
        elif number == 14:
            spouse = _get(profile, "spouse_name")
            parts[14] = _field(14, _name(spouse)) if spouse else _field(14)
        else:
            value = _value(profile, number)
            parts[number] = _field(number) if value is None else _field(number, value)
    unknown = _get(profile, "unknown") or {}
    for number, node in unknown.items():
        if not isinstance(number, int) or number in parts or not 0 <= number <= 0xFF:
            raise InputError(f"DG13 encoder: unknown field number must be 17-255 (or 0) and not a known field, "
                             f"found {number!r}")
        parts[number] = bytes(node)
    body = (tlv.encode(INTEGER, bytes([DG13_VERSION])) + tlv.encode(OBJECT_IDENTIFIER, UTF8_OID)
            + tlv.encode(SET, b"".join(parts[n] for n in sorted(parts))))
    return tlv.encode(DG13_TAG, tlv.encode(SEQUENCE, body))
