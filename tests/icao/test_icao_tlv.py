"""BER-TLV codec (verifier/icao/tlv.py): Hypothesis round trips and hostile inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import LimitExceededError, ParseError, TLVError
from verifier.icao.tlv import decode, decode_all, decode_first, encode, read_header

# one-byte tags (low 5 bits != 11111) and the multi-byte tags ICAO uses (5F1F, 7F61, 5F2E ...)
single_tags = st.integers(0, 0xFF).filter(lambda t: t & 0x1F != 0x1F and t != 0x00)
two_byte_tags = st.integers(0x1F, 0x7F).map(lambda b: ((b & 0xE0) | 0x1F) << 8 | b)
tags = st.one_of(single_tags, two_byte_tags)


@given(tags, st.binary(max_size=70_000))
@settings(max_examples=80, deadline=None)
def test_encode_decode_round_trip(tag, value):
    raw = encode(tag, value)
    tlv = decode(raw)
    assert (tlv.tag, tlv.value, tlv.raw) == (tag, value, raw)
    t, length, header = read_header(raw)
    assert (t, length, header + length) == (tag, len(value), len(raw))


@given(st.lists(st.tuples(tags, st.binary(max_size=300)), max_size=8))
def test_concatenation_round_trip(items):
    raw = b"".join(encode(t, v) for t, v in items)
    assert [(x.tag, x.value) for x in decode_all(raw)] == items


@given(st.lists(st.tuples(single_tags, st.binary(max_size=50)), min_size=1, max_size=5))
def test_nested_children(items):
    inner = b"".join(encode(t, v) for t, v in items)
    outer = decode(encode(0x77, inner))
    assert outer.constructed and [(c.tag, c.value) for c in outer.children()] == items


def test_minimal_lengths():
    assert encode(0x60, bytes(0x7F))[:2] == bytes.fromhex("607F")
    assert encode(0x60, bytes(0x80))[:3] == bytes.fromhex("608180")
    assert encode(0x60, bytes(0x100))[:4] == bytes.fromhex("60820100")


@pytest.mark.parametrize("raw, error", [
    ("", TLVError), ("60", TLVError), ("6005AABB", TLVError), ("5F", TLVError),
    ("6085FFFFFFFFFF", LimitExceededError), ("7584FFFFFFFF00", TLVError), ("5FFFFFFFFF0100", LimitExceededError),
    ("6002AABBCC", TLVError),  # trailing bytes
])
def test_hostile_inputs(raw, error):
    with pytest.raises(error):
        decode(bytes.fromhex(raw))


def test_deep_nesting_is_bounded():
    raw = b""
    for _ in range(40):  # 40 levels of indefinite-length SEQUENCEs, more than MAX_DEPTH
        raw = bytes([0x30, 0x80]) + raw + b"\x00\x00"
    with pytest.raises(LimitExceededError):
        decode_first(raw)


@given(st.binary(max_size=200))
def test_random_bytes_never_crash(raw):
    try:
        decode_all(raw)
    except ParseError:
        pass
