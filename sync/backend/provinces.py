"""Vietnam's 34 provincial-level units in force since 1 July 2025, and the 63 they replaced.

Source: Resolution 202/2025/QH15 of the National Assembly (12 June 2025) on the arrangement of
provincial-level administrative units: 28 provinces and 6 centrally-run cities, the new local
governments in office from 1 July 2025. Eleven units are unchanged (Hà Nội, Huế, Lai Châu, Điện Biên,
Sơn La, Lạng Sơn, Quảng Ninh, Thanh Hóa, Nghệ An, Hà Tĩnh, Cao Bằng); the other 52 were merged into 23.

Codes: the old two-digit codes are those of the national list of administrative units (Decision
124/2004/QĐ-TTg and its amendments: 01 Hà Nội ... 96 Cà Mau). A CCCD number's first three digits
are the holder's birth (registration) province: ``"0" + old code`` (Circular 59/2021/TT-BCA,
art. 7: 001 Hà Nội, 079 Thành phố Hồ Chí Minh); cards keep their number after 2025, so older cards
carry old codes and old province names in their addresses. A new unit's code is the old code of
the province where its seat is (Decision 19/2025/QĐ-TTg: Lào Cai 15 (seat Yên Bái), Bắc Ninh 24
(seat Bắc Giang), Gia Lai 52 (seat Quy Nhơn), Tây Ninh 80 (seat Tân An), Đồng Tháp 82 (seat Mỹ
Tho), An Giang 91 (seat Rạch Giá), Quảng Trị 44 (seat Đồng Hới)), so every old code and every new
code leads to one new unit. Written from those texts as published; check the codes against the
official list before relying on them for a report to the Ministry.

Names match with or without diacritics (:func:`verifier.text.fold`); an address names its province
last, so :func:`province_from_address` takes the last province name in the text ("Phường Hòa Bình,
Quận 1, TP. Hồ Chí Minh" is Thành phố Hồ Chí Minh, not Hòa Bình).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from verifier.text import fold


@dataclass(frozen=True)
class Province:
    """A provincial-level unit in force since 1 July 2025."""

    code: str  # two digits
    name: str  # official name, "Thành phố Hồ Chí Minh", "Tỉnh Tuyên Quang" without "Tỉnh"
    city: bool  # a centrally-run city (thành phố trực thuộc trung ương)
    old_codes: tuple[str, ...]  # the old provinces it took in (itself included when unchanged)

    @property
    def name_en(self) -> str:
        """The name as English texts write it: "Ho Chi Minh City", "Tuyen Quang Province"."""
        plain = fold(self.name.removeprefix("Thành phố ")).title()
        return f"{plain} City" if self.city else f"{plain} Province"

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "city": self.city,
                "old_codes": list(self.old_codes), "old_names": [OLD_PROVINCES[c].name for c in self.old_codes]}


@dataclass(frozen=True)
class OldProvince:
    """One of the 63 provincial-level units before 1 July 2025."""

    code: str  # old two-digit code; the CCCD prefix is "0" + code
    name: str
    new_code: str  # the unit it belongs to since 1 July 2025

    @property
    def cccd_prefix(self) -> str:
        return "0" + self.code

    @property
    def new(self) -> Province:
        return PROVINCES[self.new_code]


# old code, name, other spellings (folded), new unit's code
_OLD: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("01", "Hà Nội", ("ha noi", "hanoi", "tp ha noi"), "01"),
    ("02", "Hà Giang", (), "08"),
    ("04", "Cao Bằng", (), "04"),
    ("06", "Bắc Kạn", ("bac can",), "19"),
    ("08", "Tuyên Quang", (), "08"),
    ("10", "Lào Cai", (), "15"),
    ("11", "Điện Biên", (), "11"),
    ("12", "Lai Châu", (), "12"),
    ("14", "Sơn La", (), "14"),
    ("15", "Yên Bái", (), "15"),
    ("17", "Hòa Bình", (), "25"),
    ("19", "Thái Nguyên", (), "19"),
    ("20", "Lạng Sơn", (), "20"),
    ("22", "Quảng Ninh", (), "22"),
    ("24", "Bắc Giang", (), "24"),
    ("25", "Phú Thọ", (), "25"),
    ("26", "Vĩnh Phúc", (), "25"),
    ("27", "Bắc Ninh", (), "24"),
    ("30", "Hải Dương", (), "31"),
    ("31", "Hải Phòng", (), "31"),
    ("33", "Hưng Yên", (), "33"),
    ("34", "Thái Bình", (), "33"),
    ("35", "Hà Nam", (), "37"),
    ("36", "Nam Định", (), "37"),
    ("37", "Ninh Bình", (), "37"),
    ("38", "Thanh Hóa", (), "38"),
    ("40", "Nghệ An", (), "40"),
    ("42", "Hà Tĩnh", (), "42"),
    ("44", "Quảng Bình", (), "44"),
    ("45", "Quảng Trị", (), "44"),
    ("46", "Thừa Thiên Huế", ("hue",), "46"),
    ("48", "Đà Nẵng", ("da nang",), "48"),
    ("49", "Quảng Nam", (), "48"),
    ("51", "Quảng Ngãi", (), "51"),
    ("52", "Bình Định", (), "52"),
    ("54", "Phú Yên", (), "66"),
    ("56", "Khánh Hòa", (), "56"),
    ("58", "Ninh Thuận", (), "56"),
    ("60", "Bình Thuận", (), "68"),
    ("62", "Kon Tum", ("kontum",), "51"),
    ("64", "Gia Lai", (), "52"),
    ("66", "Đắk Lắk", ("dac lac", "daklak"), "66"),
    ("67", "Đắk Nông", ("dac nong", "daknong"), "68"),
    ("68", "Lâm Đồng", (), "68"),
    ("70", "Bình Phước", (), "75"),
    ("72", "Tây Ninh", (), "80"),
    ("74", "Bình Dương", (), "79"),
    ("75", "Đồng Nai", (), "75"),
    ("77", "Bà Rịa - Vũng Tàu", ("ba ria vung tau", "brvt", "vung tau"), "79"),
    ("79", "Thành phố Hồ Chí Minh", ("ho chi minh", "tp hcm", "tp.hcm", "tphcm", "hcm", "sai gon"), "79"),
    ("80", "Long An", (), "80"),
    ("82", "Tiền Giang", (), "82"),
    ("83", "Bến Tre", (), "86"),
    ("84", "Trà Vinh", (), "86"),
    ("86", "Vĩnh Long", (), "86"),
    ("87", "Đồng Tháp", (), "82"),
    ("89", "An Giang", (), "91"),
    ("91", "Kiên Giang", (), "91"),
    ("92", "Cần Thơ", (), "92"),
    ("93", "Hậu Giang", (), "92"),
    ("94", "Sóc Trăng", (), "92"),
    ("95", "Bạc Liêu", (), "96"),
    ("96", "Cà Mau", (), "96"),
)

# new code, name, centrally-run city
_NEW: tuple[tuple[str, str, bool], ...] = (
    ("01", "Hà Nội", True), ("04", "Cao Bằng", False), ("08", "Tuyên Quang", False), ("11", "Điện Biên", False),
    ("12", "Lai Châu", False), ("14", "Sơn La", False), ("15", "Lào Cai", False), ("19", "Thái Nguyên", False),
    ("20", "Lạng Sơn", False), ("22", "Quảng Ninh", False), ("24", "Bắc Ninh", False), ("25", "Phú Thọ", False),
    ("31", "Hải Phòng", True), ("33", "Hưng Yên", False), ("37", "Ninh Bình", False), ("38", "Thanh Hóa", False),
    ("40", "Nghệ An", False), ("42", "Hà Tĩnh", False), ("44", "Quảng Trị", False), ("46", "Huế", True),
    ("48", "Đà Nẵng", True), ("51", "Quảng Ngãi", False), ("52", "Gia Lai", False), ("56", "Khánh Hòa", False),
    ("66", "Đắk Lắk", False), ("68", "Lâm Đồng", False), ("75", "Đồng Nai", False), ("79", "Thành phố Hồ Chí Minh", True),
    ("80", "Tây Ninh", False), ("82", "Đồng Tháp", False), ("86", "Vĩnh Long", False), ("91", "An Giang", False),
    ("92", "Cần Thơ", True), ("96", "Cà Mau", False),
)

OLD_PROVINCES: dict[str, OldProvince] = {code: OldProvince(code, name, new) for code, name, _, new in _OLD}
PROVINCES: dict[str, Province] = {
    code: Province(code, name, city, tuple(c for c, o in OLD_PROVINCES.items() if o.new_code == code))
    for code, name, city in _NEW
}

_SEPARATORS = re.compile(r"[.,;:()/\\\-\u2013\u2014]+")
# folded name -> new code: every old name (and spelling), every new name
_NAMES: dict[str, str] = {}
for _code, _name, _also, _new in _OLD:
    for _n in (_name, *_also):
        _NAMES[fold(_SEPARATORS.sub(" ", _n))] = _new
for _p in PROVINCES.values():
    _NAMES.setdefault(fold(_p.name), _p.code)
    _NAMES.setdefault("thanh pho " + fold(_p.name.removeprefix("Thành phố ")), _p.code)
    _NAMES.setdefault("tinh " + fold(_p.name), _p.code)
# longest first so "thua thien hue" wins over "hue" where both end at the same place
_NAME_RE = re.compile(r"(?<![0-9a-z])(" + "|".join(re.escape(n) for n in sorted(_NAMES, key=len, reverse=True)) + r")(?![0-9a-z])")


def province_from_code(code: Any) -> Province | None:
    """The unit since 2025 for a code: a new or old two-digit code ("79", "74" -> Thành phố Hồ Chí
    Minh), a CCCD's three-digit prefix ("002" -> Tuyên Quang) or a whole 12-digit CCCD number.
    None for anything else."""
    s = str(code or "").strip()
    if not s.isdigit():
        return None
    if len(s) == 12 or len(s) == 3:  # a CCCD number or its prefix: "0" + old code
        if s[0] != "0":
            return None
        s = s[1:3]
    elif len(s) == 1:
        s = "0" + s
    if len(s) != 2:
        return None
    if s in PROVINCES:
        return PROVINCES[s]
    old = OLD_PROVINCES.get(s)
    return old.new if old else None


def province_from_address(address: Any) -> Province | None:
    """The unit since 2025 named last in an address, by old or new name, with or without
    diacritics ("Phường 5, TP. Thủ Dầu Một, Bình Dương" -> Thành phố Hồ Chí Minh). None when
    no province is named."""
    if not address:
        return None
    folded = fold(_SEPARATORS.sub(" ", str(address)[:2000]))
    best: tuple[int, int, str] | None = None
    for m in _NAME_RE.finditer(folded):
        key = (m.end(), len(m.group(1)), _NAMES[m.group(1)])
        if best is None or key[:2] > best[:2]:
            best = key
    return PROVINCES[best[2]] if best else None


def find_province(value: Any) -> Province | None:
    """:func:`province_from_code` for digits, else :func:`province_from_address`; a new unit's
    code or name, an old one's, a CCCD number."""
    s = str(value or "").strip()
    return province_from_code(s) if s.isdigit() else province_from_address(s)
