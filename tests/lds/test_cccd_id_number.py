"""The 12-digit personal ID number (Circular 07/2016/TT-BCA, 59/2021/TT-BCA)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.cccd.id_number import (
    PROVINCES,
    bac_document_number,
    can_from_id,
    century_sex_digit,
    validate_id_number,
)
from verifier.errors import AccessKeyError


def test_decodes_the_demo_number():
    info = validate_id_number("079090001234")
    assert (info.province_code, info.province_name, info.sex, info.birth_year) == ("079", "Hồ Chí Minh", "M", 1990)
    assert info.warnings == ()


@pytest.mark.parametrize("digit, sex, year", [
    ("0", "M", 1995), ("1", "F", 1995), ("2", "M", 2095), ("3", "F", 2095), ("4", "M", 2195), ("5", "F", 2195),
    ("6", "M", 2295), ("7", "F", 2295), ("8", "M", 2395), ("9", "F", 2395),
])
def test_century_and_sex(digit, sex, year):
    info = validate_id_number(f"001{digit}95123456")
    assert (info.sex, info.birth_year) == (sex, year)
    assert century_sex_digit(year, sex) == int(digit)


def test_province_table_is_the_official_one():
    assert len(PROVINCES) == 63
    assert PROVINCES["001"] == "Hà Nội" and PROVINCES["096"] == "Cà Mau" and PROVINCES["048"] == "Đà Nẵng"
    assert all(len(code) == 3 and code.isdigit() and "001" <= code <= "096" for code in PROVINCES)


def test_inconsistencies_are_warnings():
    info = validate_id_number("003090001234", dt.date(1991, 1, 1), "F")
    assert info.province_name is None
    assert len(info.warnings) == 3
    assert any("province code 003" in w for w in info.warnings)
    assert any("1990" in w and "1991" in w for w in info.warnings)
    assert any("sex M" in w for w in info.warnings)


def test_vietnamese_sex_words_and_year_ints():
    assert validate_id_number("079190001234", 1990, "Nữ").warnings == ()
    assert validate_id_number("079090001234", 1990, "Nam").warnings == ()
    assert validate_id_number("079090001234", sex="?").warnings


@pytest.mark.parametrize("bad", ["", "07909000123", "0790900012345", "07909000123A", "079 090 001 23", None, 79090001234,
                                 "０７９０９０００１２３４"])
def test_malformed_raises_access_key_error(bad):
    with pytest.raises(AccessKeyError, match="12 digits"):
        validate_id_number(bad)


def test_whitespace_around_is_tolerated():
    assert validate_id_number(" 079090001234\n").birth_year == 1990


def test_bac_and_can():
    assert bac_document_number("079090001234") == "090001234"
    assert can_from_id("079090001234") == "001234"


@given(st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_any_12_digits_decodes(id12):
    info = validate_id_number(id12)
    assert info.birth_year % 100 == int(id12[4:6])
    assert info.sex == ("M" if int(id12[3]) % 2 == 0 else "F")
