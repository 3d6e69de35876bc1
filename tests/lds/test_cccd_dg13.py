"""CCCD DG13: numbered UTF-8 fields (layout observed by public CCCD readers)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.cccd.dg13 import encode_dg13, format_date, parse_date, parse_dg13, sex_code
from verifier.errors import LimitExceededError, ParseError
from verifier.icao import tlv

FULL = dict(
    id_number="079090001234", full_name="Nguyễn Văn An", date_of_birth=dt.date(1990, 3, 15), sex="Nam",
    nationality="Việt Nam", ethnicity="Kinh", religion="Không", place_of_origin="Xã Tân Phú, Đức Hòa, Long An",
    place_of_residence="123 Lê Lợi, Bến Thành, Quận 1, TP. Hồ Chí Minh",
    personal_identification="Nốt ruồi C:1cm trên sau đuôi mắt trái", date_of_issue=dt.date(2021, 4, 20),
    date_of_expiry=dt.date(2030, 3, 15), father_name="Nguyễn Văn Bình", mother_name="Trần Thị Cúc",
    spouse_name="Lê Thị Dung", old_id_number="025123456",
)


def _field(n: int, *values: bytes) -> bytes:
    return tlv.encode(0x30, tlv.encode(0x02, bytes([n])) + b"".join(values))


def _utf8(s: str) -> bytes:
    return tlv.encode(0x0C, s.encode())


def _ps(s: str) -> bytes:
    return tlv.encode(0x13, s.encode())


def test_full_round_trip():
    raw = encode_dg13(FULL)
    dg13 = parse_dg13(raw)
    assert dg13.raw == raw
    for name, value in FULL.items():
        assert getattr(dg13, name) == value, name
    assert dg13.sex_code == "M"
    assert not dg13.no_expiry
    assert dg13.unknown == {}
    assert dg13.texts[3] == "15/03/1990"


def test_layout_matches_public_readers():
    raw = encode_dg13(FULL)
    # ID number: SEQUENCE { INTEGER 1, PrintableString(12) }: readers match 30 11 02 01 01 13 0C
    assert bytes([0x30, 0x11, 0x02, 0x01, 0x01, 0x13, 0x0C]) + b"079090001234" in raw
    # date of birth PrintableString, sex UTF8String "Nam"
    assert bytes([0x30, 0x0F, 0x02, 0x01, 0x03, 0x13, 0x0A]) + b"15/03/1990" in raw
    assert bytes([0x30, 0x08, 0x02, 0x01, 0x04, 0x0C, 0x03]) + b"Nam" in raw
    # parents: INTEGER 13 then SEQUENCE { UTF8 father } SEQUENCE { UTF8 mother }
    father = "Nguyễn Văn Bình".encode()
    assert bytes([0x02, 0x01, 0x0D, 0x30, len(father) + 2, 0x0C, len(father)]) + father in raw


def test_hand_built_dg13_without_container_and_unknown_field():
    body = (_field(1, _ps("001195012345")) + _field(2, _utf8("Trần Thị Bé")) + _field(3, _ps("01/07/1995"))
            + _field(4, _utf8("Nữ")) + _field(12, _utf8("Không thời hạn"))
            + _field(16, _ps("ABCDEF0123456789")) + _field(42, _utf8("x")))
    dg13 = parse_dg13(tlv.encode(0x6D, body))
    assert dg13.id_number == "001195012345"
    assert dg13.date_of_birth == dt.date(1995, 7, 1)
    assert dg13.sex == "Nữ" and dg13.sex_code == "F"
    assert dg13.date_of_expiry is None and dg13.no_expiry
    assert set(dg13.unknown) == {16, 42}
    assert dg13.unknown[16] == _field(16, _ps("ABCDEF0123456789"))
    assert dg13.father_name is None and dg13.spouse_name is None and dg13.religion is None


def test_unknown_fields_survive_re_encoding():
    raw = encode_dg13({**FULL, "unknown": {16: _field(16, _ps("X" * 16))}})
    assert parse_dg13(raw).unknown == {16: _field(16, _ps("X" * 16))}


@pytest.mark.parametrize("parents, expected", [
    (_field(13, tlv.encode(0x30, _utf8("Cha")), tlv.encode(0x30, _utf8("Mẹ"))), ("Cha", "Mẹ")),
    (_field(13, tlv.encode(0x30, _utf8("Cha"))), ("Cha", None)),
    (_field(13, tlv.encode(0x30, b""), tlv.encode(0x30, _utf8("Mẹ"))), (None, "Mẹ")),
    (_field(13, tlv.encode(0x30, _utf8("Cha") + _utf8("Mẹ"))), ("Cha", "Mẹ")),
    (_field(13, _utf8("Cha"), _utf8("Mẹ")), ("Cha", "Mẹ")),
    (_field(13), (None, None)),
])
def test_one_or_two_parents(parents, expected):
    dg13 = parse_dg13(tlv.encode(0x6D, tlv.encode(0x30, _field(1, _ps("079090001234")) + parents)))
    assert (dg13.father_name, dg13.mother_name) == expected


def test_encoder_with_only_the_mother():
    dg13 = parse_dg13(encode_dg13({"id_number": "079090001234", "mother_name": "Trần Thị Cúc"}))
    assert (dg13.father_name, dg13.mother_name) == (None, "Trần Thị Cúc")


def test_spouse_empty_and_present():
    empty = parse_dg13(tlv.encode(0x6D, _field(14)))
    assert empty.spouse_name is None
    present = parse_dg13(tlv.encode(0x6D, _field(14, tlv.encode(0x30, _utf8("Lê Thị Dung")))))
    assert present.spouse_name == "Lê Thị Dung"
    assert parse_dg13(encode_dg13({"spouse_name": None, "write_empty_spouse": True})).spouse_name is None


def test_all_fields_absent():
    dg13 = parse_dg13(encode_dg13({}))
    assert dg13.id_number is None and dg13.texts == {} and dg13.unknown == {}


def test_unparseable_date_keeps_text():
    dg13 = parse_dg13(tlv.encode(0x6D, _field(11, _ps("31/02/2021"))))
    assert dg13.date_of_issue is None and dg13.texts[11] == "31/02/2021"


def test_first_occurrence_wins():
    dg13 = parse_dg13(tlv.encode(0x6D, _field(2, _utf8("A")) + _field(2, _utf8("B"))))
    assert dg13.full_name == "A"


@pytest.mark.parametrize("raw, exc, message", [
    (b"", ParseError, "BER-TLV"),
    (tlv.encode(0x6E, b""), ParseError, "expected tag 6D"),
    (b"\x6D\x05\x30\x03\x02\x01", ParseError, "BER-TLV"),
    (tlv.encode(0x6D, _field(2, tlv.encode(0x0C, b"\xff\xfe"))), ParseError, "not valid utf-8"),
    (tlv.encode(0x6D, _field(2, tlv.encode(0x04 | 0x80, b"x"))), ParseError, "expected a string"),
    (tlv.encode(0x6D, b"".join(_field(1, _ps("1")) for _ in range(70))), LimitExceededError, "more than"),
])
def test_malformed(raw, exc, message):
    with pytest.raises(exc, match=message):
        parse_dg13(raw)


def test_dates_and_sex_helpers():
    assert parse_date("15/03/1990") == dt.date(1990, 3, 15)
    assert parse_date("15-03-1990") == dt.date(1990, 3, 15)
    assert parse_date("15031990") == dt.date(1990, 3, 15)
    assert parse_date("Không thời hạn") is None
    assert parse_date("1/2/90") is None
    assert format_date(dt.date(2030, 1, 2)) == "02/01/2030"
    assert (sex_code("Nam"), sex_code("Nữ"), sex_code("?")) == ("M", "F", None)


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
_opt = st.none() | _text


@settings(max_examples=80, deadline=None)
@given(st.fixed_dictionaries({
    "id_number": st.none() | st.from_regex(r"[0-9]{12}", fullmatch=True),
    "full_name": _opt, "date_of_birth": st.none() | st.dates(dt.date(1000, 1, 1)), "sex": st.none() | st.sampled_from(["Nam", "Nữ"]),
    "nationality": _opt, "ethnicity": _opt, "religion": _opt, "place_of_origin": _opt, "place_of_residence": _opt,
    "personal_identification": _opt, "date_of_issue": st.none() | st.dates(dt.date(1000, 1, 1)),
    "date_of_expiry": st.none() | st.dates(dt.date(1000, 1, 1)), "father_name": _opt, "mother_name": _opt,
    "spouse_name": _opt, "old_id_number": st.none() | st.from_regex(r"[0-9]{9}", fullmatch=True),
}))
def test_round_trip(fields):
    dg13 = parse_dg13(encode_dg13(fields))
    for name, value in fields.items():
        assert getattr(dg13, name) == value, name


def test_container_with_a_leading_version_integer_and_nesting():
    inner = tlv.encode(0x30, tlv.encode(0x02, b"\x00") + _field(1, _ps("079090001234")) + _field(2, _utf8("An")))
    dg13 = parse_dg13(tlv.encode(0x6D, tlv.encode(0x30, inner) + _field(4, _utf8("Nam"))))
    assert (dg13.id_number, dg13.full_name, dg13.sex) == ("079090001234", "An", "Nam")


def test_repr_hides_personal_data():
    assert "Nguyễn" not in repr(parse_dg13(encode_dg13(FULL)))
