"""Machine-readable zones: TD1 (3 x 30, ID cards such as the CCCD) and TD3 (2 x 44, passports).

ICAO 9303-3 §4.9 (check digits), 9303-5 §4.2 (TD1), 9303-4 §4.2 (TD3).

Vietnamese CCCD (TD1): document code "ID", issuing state "VNM", document number =
the last 9 digits of the 12-digit personal ID number, optional data (line 1,
positions 16-30) = the 12-digit ID number, "<<", and the ID number's check digit,
e.g. ``IDVNM0930470641001093047064<<2``. :func:`format_cccd_td1` builds that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from verifier.errors import MRZError
from verifier.text import strip_marks

_WEIGHTS = (7, 3, 1)
_MRZ_CHARS = re.compile(r"^[0-9A-Z<]*$")


def _char_value(c: str) -> int:
    if c == "<":
        return 0
    if "0" <= c <= "9":
        return ord(c) - 48
    if "A" <= c <= "Z":
        return ord(c) - 55
    raise MRZError(f"character {c!r} is not allowed in an MRZ: expected 0-9, A-Z or '<'")


#: :func:`_char_value` of every allowed character, looked up once per character.
_CHAR_VALUES = {c: _char_value(c) for c in "<0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
#: The same values as a ``bytes.translate`` table over ASCII; 0xFF marks every character not allowed.
_VALUE_BYTES = bytes(_CHAR_VALUES.get(chr(i), 0xFF) for i in range(256))


def check_digit(s: str) -> str:
    """ICAO 9303-3 §4.9: weights 7, 3, 1; '<' = 0, A-Z = 10-35; sum modulo 10."""
    if type(s) is str and s.isascii():
        # all the values at once; weights 7, 3, 1 fall on every third value from positions 0, 1, 2
        values = s.encode("ascii").translate(_VALUE_BYTES)
        if 0xFF not in values:
            return str((7 * sum(values[0::3]) + 3 * sum(values[1::3]) + sum(values[2::3])) % 10)
    # a character that is not allowed (or not text): read one by one, refused with its message
    total = 0
    for i, c in enumerate(s):
        value = _CHAR_VALUES.get(c)
        if value is None:
            value = _char_value(c)  # refuses the character, with its message
        total += value * _WEIGHTS[i % 3]
    return str(total % 10)


@dataclass(frozen=True)
class MRZ:
    format: str  # "TD1" or "TD3"
    document_code: str
    issuing_state: str
    document_number: str
    date_of_birth: str  # YYMMDD
    sex: str  # "M", "F" or "<"
    date_of_expiry: str  # YYMMDD
    nationality: str
    optional_data: str
    optional_data_2: str
    primary_identifier: str
    secondary_identifier: str
    raw: str = field(repr=False)
    check_digits_ok: dict[str, bool] = field(default_factory=dict, hash=False)

    def __repr__(self) -> str:  # personal data stays out of logs
        return f"MRZ(format={self.format!r}, document_code={self.document_code!r}, issuing_state={self.issuing_state!r}, <redacted>)"

    @property
    def valid(self) -> bool:
        return all(self.check_digits_ok.values())

    @property
    def lines(self) -> list[str]:
        return self.raw.split("\n")


def _strip(s: str) -> str:
    return s.rstrip("<")


def _names(field_: str) -> tuple[str, str]:
    primary, _, secondary = field_.partition("<<")
    return (primary.replace("<", " ").strip(), secondary.rstrip("<").replace("<", " ").strip())


def _digit_ok(data: str, cd: str, *, empty_may_be_filler: bool = False) -> bool:
    if empty_may_be_filler and cd == "<" and set(data) <= {"<"}:
        return True
    try:
        return check_digit(data) == cd
    except MRZError:
        return False


def _normalise(text: str) -> str:
    if not isinstance(text, str):
        raise MRZError(f"expected MRZ text, found {type(text).__name__}")
    if len(text) > 1000:
        raise MRZError(f"MRZ text of {len(text)} characters: expected 88 or 90")
    flat = "".join(text.split()).upper()
    if not _MRZ_CHARS.match(flat):
        bad = sorted({c for c in flat if not re.match(r"[0-9A-Z<]", c)})
        raise MRZError(f"MRZ may only contain 0-9, A-Z and '<', found {''.join(bad)!r}")
    return flat


def parse_mrz(text: str, strict: bool = True) -> MRZ:
    """Parse a TD1 (90 characters) or TD3 (88 characters) MRZ, with or without line breaks.

    ``strict``: a failing check digit raises :class:`MRZError` naming the field;
    otherwise the result reports it in ``check_digits_ok``.
    """
    flat = _normalise(text)
    if len(flat) == 90:
        mrz = _parse_td1(flat)
    elif len(flat) == 88:
        mrz = _parse_td3(flat)
    else:
        raise MRZError(f"expected a TD1 MRZ (3 x 30 = 90 characters) or TD3 (2 x 44 = 88), found {len(flat)} characters")
    if strict:
        bad = [name for name, ok in mrz.check_digits_ok.items() if not ok]
        if bad:
            raise MRZError(f"check digit wrong for: {', '.join(bad)}")
    return mrz


def _parse_td1(flat: str) -> MRZ:
    l1, l2, l3 = flat[0:30], flat[30:60], flat[60:90]
    docno, docno_cd, opt1 = l1[5:14], l1[14], l1[15:30]
    ok: dict[str, bool] = {}
    if docno_cd == "<" and _strip(opt1):
        # Long document number (ICAO 9303-5 §4.2.4): continues in the optional data,
        # its check digit is the last character before the first filler.
        ext = opt1.split("<", 1)[0]
        if len(ext) < 2:
            docno_full, ok["document_number"] = docno, False
        else:
            docno_full = docno + ext[:-1]
            ok["document_number"] = _digit_ok(docno_full, ext[-1])
            opt1 = opt1[len(ext):].lstrip("<")
        document_number = _strip(docno_full)
    else:
        document_number = _strip(docno)
        ok["document_number"] = _digit_ok(docno, docno_cd)
    ok["date_of_birth"] = _digit_ok(l2[0:6], l2[6])
    ok["date_of_expiry"] = _digit_ok(l2[8:14], l2[14])
    ok["composite"] = _digit_ok(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    primary, secondary = _names(l3)
    return MRZ(
        format="TD1", document_code=_strip(l1[0:2]), issuing_state=_strip(l1[2:5]),
        document_number=document_number, date_of_birth=l2[0:6], sex=l2[7], date_of_expiry=l2[8:14],
        nationality=_strip(l2[15:18]), optional_data=_strip(opt1), optional_data_2=_strip(l2[18:29]),
        primary_identifier=primary, secondary_identifier=secondary, raw="\n".join((l1, l2, l3)), check_digits_ok=ok,
    )


def _parse_td3(flat: str) -> MRZ:
    l1, l2 = flat[0:44], flat[44:88]
    ok = {
        "document_number": _digit_ok(l2[0:9], l2[9]),
        "date_of_birth": _digit_ok(l2[13:19], l2[19]),
        "date_of_expiry": _digit_ok(l2[21:27], l2[27]),
        "personal_number": _digit_ok(l2[28:42], l2[42], empty_may_be_filler=True),
        "composite": _digit_ok(l2[0:10] + l2[13:20] + l2[21:43], l2[43]),
    }
    primary, secondary = _names(l1[5:44])
    return MRZ(
        format="TD3", document_code=_strip(l1[0:2]), issuing_state=_strip(l1[2:5]),
        document_number=_strip(l2[0:9]), date_of_birth=l2[13:19], sex=l2[20], date_of_expiry=l2[21:27],
        nationality=_strip(l2[10:13]), optional_data=_strip(l2[28:42]), optional_data_2="",
        primary_identifier=primary, secondary_identifier=secondary, raw="\n".join((l1, l2)), check_digits_ok=ok,
    )


# --- formatting (personalisation of test cards) ------------------------------------------

def _transliterate(s: str) -> str:
    """Upper-case Latin letters only: diacritics dropped (Đ -> D), anything else -> '<'."""
    return re.sub(r"[^0-9A-Z<]", "<", strip_marks(s).upper())


def _field(value: str, width: int, name: str, *, truncate: bool = False) -> str:
    value = _transliterate(value) if value else ""
    if len(value) > width:
        if not truncate:
            raise MRZError(f"{name} is {len(value)} characters: at most {width} fit")
        value = value[:width]
    return value.ljust(width, "<")


def _date(value: str, name: str) -> str:
    if not re.fullmatch(r"[0-9]{6}", value or ""):
        raise MRZError(f"{name} must be YYMMDD (6 digits), found {value!r}")
    return value


def _sex(value: str) -> str:
    value = (value or "<").upper()
    if value not in ("M", "F", "<", "X"):
        raise MRZError(f"sex must be M, F or '<', found {value!r}")
    return "<" if value == "X" else value


def _name_field(primary: str, secondary: str, width: int) -> str:
    p = "<".join(_transliterate(primary).replace("<", " ").split())
    s = "<".join(_transliterate(secondary).replace("<", " ").split())
    return (p + ("<<" + s if s else "")).ljust(width, "<")[:width]


def format_td1(document_number: str, date_of_birth: str, sex: str, date_of_expiry: str, nationality: str,
               primary_identifier: str, secondary_identifier: str = "", *, document_code: str = "ID",
               issuing_state: str = "VNM", optional_data: str = "", optional_data_2: str = "") -> str:
    """Build a TD1 MRZ (three lines joined by "\\n") with all check digits (ICAO 9303-5 §4.2).

    Document numbers are at most 9 characters (the CCCD's are 9 digits).
    """
    docno = _field(document_number, 9, "document number")
    dob, doe = _date(date_of_birth, "date of birth"), _date(date_of_expiry, "date of expiry")
    l1 = _field(document_code, 2, "document code") + _field(issuing_state, 3, "issuing state") + docno \
        + check_digit(docno) + _field(optional_data, 15, "optional data")
    l2 = dob + check_digit(dob) + _sex(sex) + doe + check_digit(doe) + _field(nationality, 3, "nationality") \
        + _field(optional_data_2, 11, "optional data 2")
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    l3 = _name_field(primary_identifier, secondary_identifier, 30)
    return "\n".join((l1, l2, l3))


def format_td3(document_number: str, date_of_birth: str, sex: str, date_of_expiry: str, nationality: str,
               primary_identifier: str, secondary_identifier: str = "", *, document_code: str = "P",
               issuing_state: str = "VNM", optional_data: str = "") -> str:
    """Build a TD3 passport MRZ (two lines joined by "\\n") with all check digits (ICAO 9303-4 §4.2)."""
    docno = _field(document_number, 9, "document number")
    dob, doe = _date(date_of_birth, "date of birth"), _date(date_of_expiry, "date of expiry")
    personal = _field(optional_data, 14, "personal number")
    personal_cd = "<" if not optional_data else check_digit(personal)
    l1 = _field(document_code, 2, "document code") + _field(issuing_state, 3, "issuing state") \
        + _name_field(primary_identifier, secondary_identifier, 39)
    l2 = docno + check_digit(docno) + _field(nationality, 3, "nationality") + dob + check_digit(dob) + _sex(sex) \
        + doe + check_digit(doe) + personal + personal_cd
    l2 += check_digit(l2[0:10] + l2[13:20] + l2[21:43])
    return "\n".join((l1, l2))


def cccd_optional_data(id_number: str) -> str:
    """Line-1 optional data of a CCCD: the 12-digit ID, "<<", its check digit (15 characters)."""
    if not re.fullmatch(r"[0-9]{12}", id_number or ""):
        raise MRZError(f"a CCCD ID number is 12 digits, found {len(id_number or '')} characters")
    return id_number + "<<" + check_digit(id_number)


def format_cccd_td1(id_number: str, date_of_birth: str, sex: str, date_of_expiry: str,
                    primary_identifier: str, secondary_identifier: str = "") -> str:
    """TD1 MRZ of a Vietnamese CCCD: "ID", "VNM", last 9 digits of the ID as document number."""
    return format_td1(id_number[-9:], date_of_birth, sex, date_of_expiry, "VNM", primary_identifier,
                      secondary_identifier, document_code="ID", issuing_state="VNM",
                      optional_data=cccd_optional_data(id_number))
