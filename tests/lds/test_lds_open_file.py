"""The one opener of LDS files (issue 16 item 5): every parser checks its file's tag through it."""

from __future__ import annotations

import pytest

from verifier.cccd.dg13 import parse_dg13
from verifier.errors import LimitExceededError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.com import parse_com
from verifier.icao.lds.dg1 import parse_dg1
from verifier.icao.lds.dg2 import parse_dg2
from verifier.icao.lds.dg14 import parse_dg14
from verifier.icao.lds.dg15 import parse_dg15
from verifier.icao.lds.files import FILES, open_file

PARSERS = {"COM": parse_com, "DG1": parse_dg1, "DG2": parse_dg2, "DG13": parse_dg13, "DG14": parse_dg14,
           "DG15": parse_dg15}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_a_wrong_tag_names_the_file_and_both_tags(name):
    wrong = 0x62 if FILES[name].tag != 0x62 else 0x63
    with pytest.raises(ParseError, match=f"expected tag {FILES[name].tag:02X}, found tag {wrong:02X}") as info:
        PARSERS[name](tlv.encode(wrong, b"\x00"))
    assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_truncated_bytes_are_a_plain_parse_error_naming_the_file(name):
    with pytest.raises(ParseError, match=f"{name} is not valid BER-TLV") as info:
        PARSERS[name](bytes([FILES[name].tag, 0x05, 0x01]))
    assert not isinstance(info.value, TLVError)


def test_hostile_length_stays_a_limit_error():
    with pytest.raises(LimitExceededError, match="DG1"):
        open_file(bytes([0x61, 0x89]) + b"\x01" * 9, "DG1")


def test_padding_after_the_file_is_ignored():
    outer = open_file(tlv.encode(0x6F, b"\x30\x00") + b"\xff\xff", "DG15")
    assert outer.tag == 0x6F and outer.value == b"\x30\x00"
