"""DG1 wrapper around the MRZ (ICAO 9303-10 §4.7.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.errors import MRZError, ParseError
from verifier.icao.lds.dg1 import encode_dg1, parse_dg1
from verifier.icao.mrz import format_cccd_td1

CCCD_MRZ = format_cccd_td1("079090001234", "900315", "M", "300315", "NGUYEN", "VAN AN")


def test_cccd_dg1_round_trip():
    raw = encode_dg1(CCCD_MRZ)
    assert raw[:1] == b"\x61" and raw[2:4] == b"\x5f\x1f" and raw[4] == 90
    dg1 = parse_dg1(raw)
    assert dg1.raw == raw
    m = dg1.mrz
    assert (m.document_code, m.issuing_state, m.document_number) == ("ID", "VNM", "090001234")
    assert m.optional_data.startswith("079090001234")
    assert m.date_of_birth == "900315" and m.date_of_expiry == "300315" and m.sex == "M"
    assert m.valid


def test_repr_hides_personal_data():
    assert "090001234" not in repr(parse_dg1(encode_dg1(CCCD_MRZ)))


def test_bad_check_digit_is_reported_not_raised():
    flat = CCCD_MRZ.replace("\n", "")
    broken = flat[:14] + ("0" if flat[14] != "0" else "1") + flat[15:]
    dg1 = parse_dg1(b"\x61\x5d\x5f\x1f\x5a" + broken.encode())
    assert dg1.mrz.check_digits_ok["document_number"] is False


@pytest.mark.parametrize("raw, exc, message", [
    (b"\x61\x03\x5f\x1f\x00", MRZError, "found 0 characters"),
    (b"\x62\x00", ParseError, "expected tag 61"),
    (b"\x61\x02\x01\x00", ParseError, "5F1F missing"),
    (b"\x61\x05\x5f\x1f\x02\xff\xfe", MRZError, "not ASCII"),
    (b"\x61\x80", ParseError, "BER-TLV"),
])
def test_malformed(raw, exc, message):
    with pytest.raises(exc, match=message):
        parse_dg1(raw)


_letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8)
_dates = st.dates().map(lambda d: d.strftime("%y%m%d"))


@given(st.from_regex(r"[0-9]{12}", fullmatch=True), _dates, st.sampled_from("MF"), _dates, _letters, _letters)
def test_round_trip(id12, dob, sex, doe, primary, secondary):
    text = format_cccd_td1(id12, dob, sex, doe, primary, secondary)
    mrz = parse_dg1(encode_dg1(text)).mrz
    assert mrz.document_number == id12[-9:]
    assert (mrz.date_of_birth, mrz.sex, mrz.date_of_expiry) == (dob, sex, doe)
    assert mrz.primary_identifier == primary and mrz.secondary_identifier == secondary
    assert mrz.valid
