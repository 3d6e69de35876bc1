"""CCCD DG13 in the layout real chips write (``/work/shared/data/cccd/README.md`` "DG13 layout").

The vectors are built by this file's own DER builder (``_der``), never by ``encode_dg13``, so
the encoder and the parser cannot share a mistake. Values are invented.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.cccd.dg13 import (
    MAX_DG13_BYTES,
    NO_EXPIRY_TEXT,
    encode_dg13,
    format_date,
    is_no_expiry,
    parse_date,
    parse_dg13,
    sex_code,
)
from verifier.errors import ChipidError, InputError, LimitExceededError, ParseError


# --------------------------------------------------------------------------- the tests' own DER builder

def _len(n: int, *, long: bool = False) -> bytes:
    """DER length (X.690 §8.1.3); ``long`` forces the 82 LL LL form real chips use on containers."""
    if long:
        return bytes([0x82, n >> 8, n & 0xFF])
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])


def _der(tag: int, value: bytes, *, long: bool = False) -> bytes:
    return bytes([tag]) + _len(len(value), long=long) + value


def _f(n: int, *values: bytes) -> bytes:
    """One field: SEQUENCE { INTEGER n, values... }."""
    return _der(0x30, bytes([0x02, 0x01, n]) + b"".join(values))


def _utf8(s: str) -> bytes:
    return _der(0x0C, s.encode("utf-8"))


def _ps(s: str) -> bytes:
    return _der(0x13, s.encode("ascii"))


def _name(s: str) -> bytes:
    return _der(0x30, _utf8(s))


OID_UTF8 = bytes.fromhex("06 06 28 D3 16 01 00 08")


def _dg13(fields: list[bytes], *, version: bytes = b"\x02\x01\x01", oid: bytes = OID_UTF8, tail: bytes = b"") -> bytes:
    """6D 82 { 30 82 { version, OID, 31 82 { fields } } } with the long lengths real chips use."""
    the_set = _der(0x31, b"".join(fields), long=True)
    return _der(0x6D, _der(0x30, version + oid + the_set + tail, long=True), long=True)


NAME = "Nguyễn Văn An"
ADDRESS = "123 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh"
SERIAL = "0A1B2C3D4E5F6071"


def _all_fields(*, old_id: bytes | None = None, spouse: bytes | None = None, expiry: str = "15/03/2030",
                address: str = ADDRESS) -> list[bytes]:
    return [
        _f(1, _ps("079090001234")), _f(2, _utf8(NAME)), _f(3, _ps("15/03/1990")), _f(4, _utf8("Nam")),
        _f(5, _utf8("Việt Nam")), _f(6, _utf8("Kinh")), _f(7, _utf8("Không")),
        _f(8, _utf8("Xã Tân Phú, Đức Hòa, Long An")), _f(9, _utf8(address)),
        _f(10, _utf8("Nốt ruồi C:1cm trên sau đuôi mắt trái")), _f(11, _ps("20/04/2021")), _f(12, _utf8(expiry)),
        _f(13, _name("Nguyễn Văn Bình"), _name("Trần Thị Cúc")),
        spouse if spouse is not None else _f(14),
        old_id if old_id is not None else _f(15, _ps("025123456")),
        _f(16, _ps(SERIAL)),
    ]


FULL_PROFILE = dict(
    id_number="079090001234", full_name=NAME, date_of_birth=dt.date(1990, 3, 15), sex="Nam",
    nationality="Việt Nam", ethnicity="Kinh", religion="Không", place_of_origin="Xã Tân Phú, Đức Hòa, Long An",
    place_of_residence=ADDRESS, personal_identification="Nốt ruồi C:1cm trên sau đuôi mắt trái",
    date_of_issue=dt.date(2021, 4, 20), date_of_expiry=dt.date(2030, 3, 15), father_name="Nguyễn Văn Bình",
    mother_name="Trần Thị Cúc", spouse_name="Lê Thị Dung", old_id_number="025123456", field_16=SERIAL,
)


# --------------------------------------------------------------------------- real layout

def test_all_fields_real_layout():
    raw = _dg13(_all_fields())
    dg13 = parse_dg13(raw)
    assert dg13.raw == raw
    assert (dg13.version, dg13.charset) == (1, "1.0.10646.1.0.8")
    assert dg13.id_number == "079090001234" and dg13.full_name == NAME
    assert dg13.date_of_birth == dt.date(1990, 3, 15) and dg13.sex == "Nam" and dg13.sex_code == "M"
    assert (dg13.nationality, dg13.ethnicity, dg13.religion) == ("Việt Nam", "Kinh", "Không")
    assert dg13.place_of_origin == "Xã Tân Phú, Đức Hòa, Long An" and dg13.place_of_residence == ADDRESS
    assert dg13.personal_identification.startswith("Nốt ruồi")
    assert dg13.date_of_issue == dt.date(2021, 4, 20) and dg13.date_of_expiry == dt.date(2030, 3, 15)
    assert not dg13.no_expiry
    assert (dg13.father_name, dg13.mother_name, dg13.spouse_name) == ("Nguyễn Văn Bình", "Trần Thị Cúc", None)
    assert dg13.old_id_number == "025123456"
    assert dg13.field_16 == SERIAL and dg13.chip_serial_text == SERIAL and dg13.texts[16] == SERIAL
    assert dg13.unknown == {}
    assert dg13.texts[3] == "15/03/1990"


def test_the_version_integer_is_not_taken_for_field_1():
    """The bug real cards hit: "field 1: expected a string value" from the container's INTEGER 1."""
    dg13 = parse_dg13(_dg13([_f(1, _ps("079090001234"))]))
    assert dg13.id_number == "079090001234"


def test_field_15_empty():
    dg13 = parse_dg13(_dg13(_all_fields(old_id=bytes.fromhex("30 03 02 01 0F"))))
    assert dg13.old_id_number is None and 15 not in dg13.texts
    assert dg13.id_number == "079090001234"


def test_spouse_present_and_no_expiry():
    dg13 = parse_dg13(_dg13(_all_fields(spouse=_f(14, _name("Lê Thị Dung")), expiry="Không thời hạn")))
    assert dg13.spouse_name == "Lê Thị Dung"
    assert dg13.date_of_expiry is None and dg13.no_expiry and dg13.texts[12] == NO_EXPIRY_TEXT


def test_fields_out_of_order():
    fields = _all_fields()
    order = [9, 16, 1, 13, 3, 2, 15, 4, 12, 5, 11, 6, 14, 7, 10, 8]
    shuffled = parse_dg13(_dg13([fields[n - 1] for n in order]))
    in_order = parse_dg13(_dg13(fields))
    assert replace(shuffled, raw=in_order.raw) == in_order
    assert shuffled.full_name == NAME and shuffled.field_16 == SERIAL


def test_200_byte_address_uses_long_form_lengths():
    address = ("Số 12 ngõ 34 " * 20)[:200]
    assert len(address.encode()) >= 200
    raw = _dg13(_all_fields(address=address))
    assert bytes([0x0C, 0x81]) in raw  # the UTF8String's length needs the long form
    assert parse_dg13(raw).place_of_residence == address


def test_bare_numbers_for_every_field():
    dg13 = parse_dg13(_dg13([bytes([0x30, 0x03, 0x02, 0x01, n]) for n in range(1, 17)]))
    assert dg13.texts == {} and dg13.id_number is None and dg13.father_name is None and dg13.field_16 is None


def test_unknown_field_numbers_are_kept_raw():
    extra = _f(42, _utf8("x"))
    dg13 = parse_dg13(_dg13([_f(1, _ps("079090001234")), extra]))
    assert dg13.unknown == {42: extra}


@pytest.mark.parametrize("parents, expected", [
    (_f(13, _name("Cha"), _name("Mẹ")), ("Cha", "Mẹ")),
    (_f(13, _name("Cha")), ("Cha", None)),
    (_f(13, _der(0x30, b""), _name("Mẹ")), (None, "Mẹ")),
    (_f(13, _utf8("Cha"), _utf8("Mẹ")), ("Cha", "Mẹ")),
    (_f(13), (None, None)),
])
def test_one_or_two_parents(parents, expected):
    dg13 = parse_dg13(_dg13([_f(1, _ps("079090001234")), parents]))
    assert (dg13.father_name, dg13.mother_name) == expected


def test_unparseable_date_keeps_text():
    dg13 = parse_dg13(_dg13([_f(11, _ps("31/02/2021")), _f(12, _utf8("không rõ"))]))
    assert dg13.date_of_issue is None and dg13.texts[11] == "31/02/2021"
    assert dg13.date_of_expiry is None and not dg13.no_expiry


# --------------------------------------------------------------------------- the old flat layout

def test_old_flat_layout_in_a_container():
    raw = _der(0x6D, _der(0x30, _f(1, _ps("079090001234")) + _f(2, _utf8("An")) + _f(14)))
    dg13 = parse_dg13(raw)
    assert (dg13.id_number, dg13.full_name, dg13.spouse_name, dg13.version) == ("079090001234", "An", None, None)


def test_old_flat_layout_without_a_container():
    raw = _der(0x6D, _f(1, _ps("001195012345")) + _f(12, _utf8("Không thời hạn")) + _f(16, _ps(SERIAL)))
    dg13 = parse_dg13(raw)
    assert dg13.id_number == "001195012345" and dg13.no_expiry and dg13.field_16 == SERIAL


# --------------------------------------------------------------------------- the encoder

def test_encoder_bytes_start_like_a_real_chip():
    raw = encode_dg13(FULL_PROFILE)
    prefix = bytes.fromhex("6D 82")
    assert raw[:2] == prefix
    assert raw[4:6] == bytes.fromhex("30 82")
    assert raw[8:21] == bytes.fromhex("02 01 01 06 06 28 D3 16 01 00 08 31 82")
    assert int.from_bytes(raw[2:4], "big") == len(raw) - 4


def test_encoder_writes_every_field_in_number_order():
    from verifier.icao import tlv  # reading back structure only

    raw = encode_dg13({**FULL_PROFILE, "spouse_name": None, "old_id_number": None, "field_16": None})
    the_set = tlv.decode(raw).children()[0].children()[2]
    fields = the_set.children()
    assert [f.value[2] for f in fields] == list(range(1, 17))
    assert fields[13].raw == bytes.fromhex("30 03 02 01 0E")
    assert fields[14].raw == bytes.fromhex("30 03 02 01 0F")
    assert fields[15].raw == bytes.fromhex("30 03 02 01 10")
    assert fields[0].raw == _f(1, _ps("079090001234"))
    assert fields[11].raw == _f(12, _utf8("15/03/2030"))  # field 12 is a UTF8String
    assert fields[12].raw == _f(13, _name("Nguyễn Văn Bình"), _name("Trần Thị Cúc"))


def test_encoder_matches_the_hand_built_vector():
    assert encode_dg13({**FULL_PROFILE, "spouse_name": None}) == _dg13(_all_fields())


def test_encoder_no_expiry_and_spouse():
    raw = encode_dg13({**FULL_PROFILE, "date_of_expiry": None, "no_expiry": True, "write_empty_spouse": True})
    assert _f(12, _utf8("Không thời hạn")) in raw and _f(14, _name("Lê Thị Dung")) in raw
    assert parse_dg13(raw).no_expiry


def test_full_round_trip():
    dg13 = parse_dg13(encode_dg13(FULL_PROFILE))
    for name, value in FULL_PROFILE.items():
        assert getattr(dg13, name) == value, name


def test_encoder_with_only_the_mother_and_a_profile_object():
    class Profile:
        id_number = "079090001234"
        mother_name = "Trần Thị Cúc"
        sex = "F"

    dg13 = parse_dg13(encode_dg13(Profile()))
    assert (dg13.father_name, dg13.mother_name, dg13.sex) == (None, "Trần Thị Cúc", "Nữ")


def test_encoder_keeps_unknown_fields_in_number_order():
    extra = _f(42, _utf8("x"))
    raw = encode_dg13({**FULL_PROFILE, "unknown": {42: extra}})
    assert raw.endswith(_f(16, _ps(SERIAL)) + extra)
    assert parse_dg13(raw).unknown == {42: extra}
    with pytest.raises(InputError):
        encode_dg13({"unknown": {2: extra}})


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
_opt = st.none() | _text


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({
    "id_number": st.none() | st.from_regex(r"[0-9]{12}", fullmatch=True),
    "full_name": _opt, "date_of_birth": st.none() | st.dates(dt.date(1000, 1, 1)),
    "sex": st.none() | st.sampled_from(["Nam", "Nữ"]),
    "nationality": _opt, "ethnicity": _opt, "religion": _opt, "place_of_origin": _opt,
    "place_of_residence": st.none() | st.text(min_size=120, max_size=300),
    "personal_identification": _opt, "date_of_issue": st.none() | st.dates(dt.date(1000, 1, 1)),
    "date_of_expiry": st.none() | st.dates(dt.date(1000, 1, 1)), "father_name": _opt, "mother_name": _opt,
    "spouse_name": _opt, "old_id_number": st.none() | st.from_regex(r"[0-9]{9}", fullmatch=True),
    "field_16": st.none() | st.from_regex(r"[0-9A-F]{16}", fullmatch=True),
}))
def test_round_trip(fields):
    dg13 = parse_dg13(encode_dg13(fields))
    for name, value in fields.items():
        assert getattr(dg13, name) == value, name


# --------------------------------------------------------------------------- hostile and broken input

def test_every_truncation_is_a_parse_error():
    raw = _dg13(_all_fields())
    for cut in range(len(raw)):
        with pytest.raises(ParseError):
            parse_dg13(raw[:cut])


@pytest.mark.parametrize("raw, exc, message", [
    (b"", ParseError, "BER-TLV"),
    (_der(0x6E, b""), ParseError, "expected tag 6D"),
    (_der(0x6D, b""), ParseError, "another structure"),
    (_dg13([_f(1, _ps("1"))], version=b"\x02\x01\x02"), ParseError, "expected version 1"),
    (_dg13([_f(1, _ps("1"))], oid=bytes.fromhex("06 03 2A 03 04")), ParseError, "UTF-8 OID"),
    (_der(0x6D, _der(0x30, b"\x02\x01\x01" + OID_UTF8)), ParseError, "expected a SET"),
    (_dg13([_f(1, _ps("1"))], tail=_f(2, _utf8("x"))), ParseError, "nothing after the SET"),
    (_dg13([_f(2, _utf8("A")), _f(2, _utf8("B"))]), ParseError, "appears twice"),
    (_dg13([_utf8("stray")]), ParseError, "element 1"),
    (_dg13([_der(0x30, b"\x02\x00")]), ParseError, "small non-negative INTEGER"),
    (_dg13([_der(0x30, b"\x02\x01\xff")]), ParseError, "small non-negative INTEGER"),
    (_dg13([_f(2, _utf8("A"), _utf8("B"))]), ParseError, "expected one value"),
    (_dg13([_f(2, _der(0x0C, b"\xff\xfe"))]), ParseError, "not valid utf-8"),
    (_dg13([_f(2, _der(0x84, b"x"))]), ParseError, "expected a string"),
    (_dg13([_f(13, _name("A"), _name("B"), _name("C"))]), ParseError, "at most 2"),
    (_dg13([_f(13, _der(0x30, _utf8("A") + _utf8("B")))]), ParseError, "one name per SEQUENCE"),
    (_dg13([_f(14, _name("A"), _name("B"))]), ParseError, "at most 1"),
    (_dg13([_f(n % 250 + 17) for n in range(70)]), LimitExceededError, "at most 64"),
    (_der(0x6D, b"".join(_f(1, _ps("1")) for _ in range(70))), LimitExceededError, "at most 64"),
    (b"\x6D\x84\x7f\xff\xff\xff", ParseError, "BER-TLV"),
    (b"\x6D\x83" + (MAX_DG13_BYTES).to_bytes(3, "big") + bytes(MAX_DG13_BYTES), LimitExceededError, "bytes"),
])
def test_malformed(raw, exc, message):
    with pytest.raises(exc, match=message):
        parse_dg13(raw)


def test_deep_nesting_is_refused():
    deep = b"\x30\x80" * 60 + b"\x00\x00" * 60  # indefinite lengths nested past the TLV depth limit
    with pytest.raises(LimitExceededError):
        parse_dg13(_dg13([_der(0x30, b"\x02\x01\x02" + deep)]))


def test_dates_and_sex_helpers():
    assert parse_date("15/03/1990") == dt.date(1990, 3, 15)
    assert parse_date("15-03-1990") == dt.date(1990, 3, 15)
    assert parse_date("15031990") == dt.date(1990, 3, 15)
    assert parse_date("Không thời hạn") is None
    assert parse_date("1/2/90") is None
    assert parse_date("١٥/٠٣/١٩٩٠") is None  # non-ASCII digits are not a date on a chip
    assert format_date(dt.date(2030, 1, 2)) == "02/01/2030"
    assert (sex_code("Nam"), sex_code("Nữ"), sex_code("?")) == ("M", "F", None)
    assert is_no_expiry("Không thời hạn") and is_no_expiry("KHONG THOI HAN") and is_no_expiry(" không  thời hạn ")
    import unicodedata
    assert is_no_expiry(unicodedata.normalize("NFD", "Không thời hạn"))
    assert not is_no_expiry("15/03/2030") and not is_no_expiry(None)


def test_repr_hides_personal_data():
    text = repr(parse_dg13(_dg13(_all_fields())))
    assert "Nguyễn" not in text and "079090001234" not in text and SERIAL not in text
