"""The 12-digit personal identification number (số định danh cá nhân).

Structure (Decree 137/2015/NĐ-CP Art. 7; Circular 07/2016/TT-BCA Art. 7, replaced by
Circular 59/2021/TT-BCA Art. 7 and its appendix of codes)::

    PPP  G  YY  NNNNNN
    |    |  |   6 random digits
    |    |  last two digits of the birth year
    |    century and sex: 0/1 = 20th century male/female, 2/3 = 21st, 4/5 = 22nd, 6/7 = 23rd, 8/9 = 24th
    province (or city) of birth registration, 001-096

Since 1 July 2024 (Law on Identification 26/2023/QH15) only "12 digits" is guaranteed;
numbers already issued keep this structure. Inconsistencies are therefore warnings, never
refusals; only a number that is not 12 digits is refused (:class:`AccessKeyError`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from verifier.errors import AccessKeyError

#: Province / centrally-run city codes (appendix to Circular 07/2016/TT-BCA and 59/2021/TT-BCA).
PROVINCES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}


@dataclass(frozen=True)
class IdNumberInfo:
    province_code: str
    province_name: str | None  # None when the code is not in the table
    sex: str  # "M" or "F"
    birth_year: int
    warnings: tuple[str, ...] = ()


def check_format(id12: str) -> str:
    """The ID number with surrounding whitespace removed; :class:`AccessKeyError` unless 12 digits."""
    if not isinstance(id12, str):
        raise AccessKeyError(f"ID number: expected 12 digits, found {type(id12).__name__}")
    text = id12.strip()
    if len(text) != 12 or not text.isascii() or not text.isdigit():
        shown = f"{len(text)} characters" if len(text) != 12 else "non-digit characters"
        raise AccessKeyError(f"ID number: expected 12 digits, found {shown}")
    return text


def _sex_letter(sex) -> str | None:
    if sex is None:
        return None
    t = str(sex).strip().casefold()
    if t in ("m", "male", "nam"):
        return "M"
    if t in ("f", "female", "nữ", "nu"):
        return "F"
    return None


def validate_id_number(id12: str, date_of_birth: _dt.date | int | None = None, sex: str | None = None) -> IdNumberInfo:
    """Decode and cross-check an ID number. Malformed -> :class:`AccessKeyError`; inconsistent -> warnings.

    ``date_of_birth`` may be a date or a year; ``sex`` "M"/"F" (or "Nam"/"Nữ").
    """
    text = check_format(id12)
    warnings: list[str] = []
    province = text[:3]
    name = PROVINCES.get(province)
    if name is None:
        warnings.append(f"province code {province} is not in the official list (001-096)")
    g = int(text[3])
    century = 1900 + 100 * (g // 2)
    id_sex = "M" if g % 2 == 0 else "F"
    birth_year = century + int(text[4:6])
    if date_of_birth is not None:
        year = date_of_birth if isinstance(date_of_birth, int) else date_of_birth.year
        if year != birth_year:
            warnings.append(f"ID number encodes birth year {birth_year} but the date of birth is in {year}")
    if sex is not None:
        letter = _sex_letter(sex)
        if letter is None:
            warnings.append(f"sex {sex!r} is neither M/Nam nor F/Nữ")
        elif letter != id_sex:
            warnings.append(f"ID number encodes sex {id_sex} but the card says {letter}")
    return IdNumberInfo(province_code=province, province_name=name, sex=id_sex, birth_year=birth_year,
                        warnings=tuple(warnings))


def bac_document_number(id12: str) -> str:
    """The BAC document number of a CCCD: the last 9 digits of the ID number."""
    return check_format(id12)[-9:]


def can_from_id(id12: str) -> str:
    """The PACE CAN of a CCCD: the last 6 digits of the ID number."""
    return check_format(id12)[-6:]


def century_sex_digit(birth_year: int, sex: str) -> int:
    """The 4th digit for a birth year and sex ("M"/"F"), for building synthetic numbers."""
    letter = _sex_letter(sex)
    if letter is None or not 1900 <= birth_year <= 2399:
        raise AccessKeyError(f"cannot encode sex {sex!r} / birth year {birth_year} in an ID number")
    return 2 * ((birth_year - 1900) // 100) + (0 if letter == "M" else 1)
