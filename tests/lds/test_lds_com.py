"""EF.COM codec (ICAO 9303-10 §4.6.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.errors import InputError, ParseError
from verifier.icao.lds.com import encode_com, parse_com

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as tests/conftest.py's SHARED_DATA
# EF.COM of real CCCD chips: LDS 1.7, Unicode 4.0.0, DG1 DG2 DG3 DG13 DG15 DG14 in that order.
CCCD_COM = bytes.fromhex((SHARED_DATA / "cccd" / "ef_com.hex").read_text().strip())


def test_parse_cccd_com():
    com = parse_com(CCCD_COM)
    assert com.lds_version == "1.7"
    assert com.unicode_version == "4.0.0"
    assert com.dg_numbers == (1, 2, 3, 13, 15, 14)  # the order of the tag list, kept
    assert com.unknown_tags == ()
    assert com.raw == CCCD_COM


def test_encode_matches_known_bytes():
    assert encode_com((1, 2, 3, 13, 15, 14)) == CCCD_COM


def test_trailing_padding_is_ignored_and_raw_is_the_object():
    com = parse_com(CCCD_COM + b"\x00\x00\xff")
    assert com.raw == CCCD_COM


def test_unknown_tags_are_reported_not_fatal():
    raw = bytes.fromhex("6015" "5F010430313037" "5F3606303430303030" "5C03619975")
    com = parse_com(raw)
    assert com.dg_numbers == (1, 2)
    assert com.unknown_tags == (0x99,)


@pytest.mark.parametrize("raw, message", [
    (b"", "BER-TLV"),
    (bytes.fromhex("6103020100"), "expected tag 60"),
    (bytes.fromhex("60085F36063034303030"), "BER-TLV"),
    (bytes.fromhex("600B" "5F3606303430303030" "5C00"), "LDS version"),
    (bytes.fromhex("600D" "5F010430313037" "5C0461756D6E"), "Unicode version"),
    (bytes.fromhex("6010" "5F010430313037" "5F3606303430303030"), "tag list"),
    (bytes.fromhex("6017" "5F010430314137" "5F3606303430303030" "5C0561756D6E6F"), "LDS version"),
])
def test_malformed_com_is_a_parse_error(raw, message):
    with pytest.raises(ParseError, match=message):
        parse_com(raw)


def test_encode_refuses_bad_dg_number():
    with pytest.raises(InputError, match="out of range"):
        encode_com((0,))
    with pytest.raises(InputError, match="dot-separated"):
        encode_com((1,), lds_version="1.7.3")


@given(st.lists(st.integers(1, 16), unique=True, max_size=16),
       st.tuples(st.integers(0, 99), st.integers(0, 99)),
       st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)))
def test_round_trip(dgs, lds, uni):
    lds_v = ".".join(map(str, lds))
    uni_v = ".".join(map(str, uni))
    com = parse_com(encode_com(dgs, lds_v, uni_v))
    assert com.dg_numbers == tuple(dgs)
    assert com.lds_version == lds_v
    assert com.unicode_version == uni_v
