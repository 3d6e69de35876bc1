"""Shortcuts in the ICAO codecs give exactly what the readings they skip give (verifier/icao/tlv.py, mrz.py,
lds/security_infos.py).

* a TLV with a one-byte tag and a one-byte length is decoded without the tag and length readers; every
  input, generated or mutated, decodes to the same TLVs or is refused with the same error as by the
  reference decoder below (the one before the shortcut);
* an MRZ check digit is summed over all characters at once; every string gives the digit or the refusal
  of the character-by-character sum kept below;
* a SecurityInfo's protocol OID is decoded once per encoding; any encoding, asked twice, gives the
  reference's dotted form or refusal.
"""

from __future__ import annotations

import pytest
from asn1crypto import core
from hypothesis import given, settings, strategies as st

from tests.mutations import mutated
from verifier.errors import ChipidError, LimitExceededError, MRZError, ParseError, TLVError
from verifier.icao import mrz, tlv
from verifier.icao.lds import security_infos


def reference_decode_one(data: bytes, pos: int, depth: int) -> tuple[tlv.TLV, int]:
    if depth > tlv.MAX_DEPTH:
        raise LimitExceededError(f"TLV nesting deeper than {tlv.MAX_DEPTH}")
    start = pos
    tag, pos = tlv._read_tag(data, pos)
    length, pos = tlv._read_length(data, pos)
    if length is None:
        p = pos
        while True:
            if p + 2 > len(data):
                raise TLVError("indefinite-length value has no end-of-contents marker")
            if data[p] == 0 and data[p + 1] == 0:
                return tlv.TLV(tag, data[pos:p], data[start : p + 2]), p + 2
            _, p = reference_decode_one(data, p, depth + 1)
    end = pos + length
    if end > len(data):
        raise TLVError(f"tag {tag:X} at offset {start}: length {length} but only {len(data) - pos} bytes remain")
    return tlv.TLV(tag, data[pos:end], data[start:end]), end


def _outcome(f, *args):
    try:
        return "ok", f(*args)
    except (ChipidError, TypeError) as e:
        return type(e).__name__, str(e)


_SEEDS = [tlv.encode(0x6E, tlv.encode(0x31, tlv.encode(0x30, bytes.fromhex("060804007f00070202020201 01".replace(" ", ""))))),
          tlv.encode(0x61, tlv.encode(0x5F1F, b"I<VNM" * 18)), tlv.encode(0x30, b"\x04\x80\x04\x01\x00\x00\x00" + bytes(200)),
          b"\x7f\x61\x03\x02\x01\x01\x00\x00"]


@settings(max_examples=1500, deadline=None)
@given(data=st.one_of(mutated(_SEEDS), st.binary(max_size=8)), depth=st.sampled_from([0, 1, tlv.MAX_DEPTH, tlv.MAX_DEPTH + 1]))
def test_a_tlv_decodes_or_is_refused_as_before(data, depth):
    for pos in range(min(len(data), 12)):
        assert _outcome(tlv._decode_one, data, pos, depth) == _outcome(reference_decode_one, data, pos, depth)


# --- check digits ---------------------------------------------------------------------------------------------

def reference_check_digit(s: str) -> str:
    total = 0
    for i, c in enumerate(s):
        value = mrz._CHAR_VALUES.get(c)
        if value is None:
            value = mrz._char_value(c)
        total += value * mrz._WEIGHTS[i % 3]
    return str(total % 10)


_mrz_text = st.text(alphabet="<0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=90)


@settings(max_examples=1500, deadline=None)
@given(s=st.one_of(_mrz_text, _mrz_text.flatmap(lambda t: st.builds(lambda c, i: t[:i] + c + t[i:],
                                                                     st.sampled_from(list("a <\n\x00\x7fÀĐ\u00ff\U0001F600")),
                                                                     st.integers(0, len(t))))))
def test_a_check_digit_is_the_character_by_character_sum(s):
    assert _outcome(mrz.check_digit, s) == _outcome(reference_check_digit, s)


def test_a_refused_character_is_named_and_other_types_fail_as_before():
    with pytest.raises(MRZError, match="character 'a' is not allowed"):
        mrz.check_digit("AB<a1é")
    assert _outcome(mrz.check_digit, b"123") == _outcome(reference_check_digit, b"123")
    assert mrz.check_digit("L898902C3") == "6" and mrz.check_digit("") == "0"


# --- SecurityInfo protocol OIDs -----------------------------------------------------------------------------------

def reference_oid(el: tlv.TLV, what: str) -> str:
    if el.tag != 0x06:
        raise ParseError(f"{what}: expected an OBJECT IDENTIFIER (tag 06), found tag {el.tag:02X}")
    if not el.value or len(el.value) > 64:
        raise ParseError(f"{what}: OBJECT IDENTIFIER of {len(el.value)} bytes")
    try:
        return core.ObjectIdentifier.load(el.raw).dotted
    except (ValueError, TypeError) as e:
        raise ParseError(f"{what}: malformed OBJECT IDENTIFIER {el.value.hex()}") from e


@settings(max_examples=1000, deadline=None)
@given(value=st.one_of(st.binary(min_size=0, max_size=70), st.sampled_from([b"\x04\x00\x7f\x00\x07\x02\x02\x04\x02\x02",
                                                                             b"\x67\x81\x08\x01\x01\x05", b"\x80\x01",
                                                                             b"\x2a\x86"])),
       tag=st.sampled_from([0x06, 0x06, 0x02]))
def test_a_protocol_oid_decodes_or_is_refused_as_before_the_first_time_and_again(value, tag):
    el = tlv.decode(tlv.encode(tag, value))
    expected = _outcome(reference_oid, el, "SecurityInfo #0 protocol")
    for _ in range(2):
        assert _outcome(security_infos._oid, el, "SecurityInfo #0 protocol") == expected
