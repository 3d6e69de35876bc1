"""The 34 provincial-level units since 1 July 2025 (Resolution 202/2025/QH15) and the 63 before."""

from __future__ import annotations

import pytest

from sync.backend.provinces import OLD_PROVINCES, PROVINCES, find_province, province_from_address, province_from_code


def test_34_units_take_in_all_63_old_provinces_once():
    assert len(PROVINCES) == 34 and sum(p.city for p in PROVINCES.values()) == 6 and len(OLD_PROVINCES) == 63
    taken = [c for p in PROVINCES.values() for c in p.old_codes]
    assert sorted(taken) == sorted(OLD_PROVINCES) and len(set(taken)) == 63
    for old in OLD_PROVINCES.values():
        assert old.new.code in PROVINCES and province_from_code(old.cccd_prefix) is old.new
        assert province_from_address(f"Thôn 1, xã Bình Minh, {old.name}") is old.new, old.name
    # a new unit's code is the old code of a province it took in
    assert all(p.code in p.old_codes for p in PROVINCES.values())


@pytest.mark.parametrize("old, new", [
    ("Hà Giang", "Tuyên Quang"), ("Bình Dương", "Thành phố Hồ Chí Minh"), ("Bà Rịa - Vũng Tàu", "Thành phố Hồ Chí Minh"),
    ("Quảng Nam", "Đà Nẵng"), ("Yên Bái", "Lào Cai"), ("Bắc Giang", "Bắc Ninh"), ("Hải Dương", "Hải Phòng"),
    ("Kon Tum", "Quảng Ngãi"), ("Bình Định", "Gia Lai"), ("Long An", "Tây Ninh"), ("Kiên Giang", "An Giang"),
    ("Sóc Trăng", "Cần Thơ"), ("Thừa Thiên Huế", "Huế"), ("Đắk Nông", "Lâm Đồng"), ("Hà Nội", "Hà Nội")])
def test_well_known_mergers(old, new):
    [code] = [c for c, o in OLD_PROVINCES.items() if o.name == old]
    assert OLD_PROVINCES[code].new.name == new and province_from_code(code).name == new


def test_addresses_with_or_without_accents_and_the_province_named_last():
    assert province_from_address("Phường 5, TP. Thủ Dầu Một, Bình Dương").name == "Thành phố Hồ Chí Minh"
    assert province_from_address("thon 3, xa Minh Tan, ha giang").name == "Tuyên Quang"
    assert province_from_address("12 Đường Hòa Bình, Quận 1, TP.HCM").name == "Thành phố Hồ Chí Minh"  # not Hòa Bình
    assert province_from_address("Phú Vang, Thừa Thiên - Huế").name == "Huế"
    assert province_from_address("Vũng Tàu, Bà Rịa–Vũng Tàu").code == "79"
    assert province_from_address("Số 1 Đường Láng") is None and province_from_address("") is None


def test_codes_and_cccd_numbers():
    assert province_from_code("002").name == "Tuyên Quang" and province_from_code("074").code == "79"
    assert province_from_code("049088000123").name == "Đà Nẵng" and province_from_code("79").city
    assert province_from_code("03") is None and province_from_code("123") is None and province_from_code("x") is None
    assert province_from_code("1").name == "Hà Nội"  # a code written without its leading zero
    assert find_province("77").name == "Thành phố Hồ Chí Minh" and find_province("Quảng Bình").name == "Quảng Trị"
    assert PROVINCES["79"].name_en == "Ho Chi Minh City" and PROVINCES["08"].name_en == "Tuyen Quang Province"
