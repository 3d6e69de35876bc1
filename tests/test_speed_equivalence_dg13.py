"""DG13's in-place reading takes the usual field number ``02 01 NN`` without a span (verifier/cccd/dg13.py):
every field number and every short field, in every position, gives the DG13 or the refusal of the TLV reading,
as the in-place reading always must (tests/lds/test_cccd_dg13_in_place.py holds the rest of it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from verifier.cccd import dg13 as dg13_mod
from verifier.errors import ChipidError

_HEAD = bytes.fromhex("020101 0606 28D316010008")


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    return bytes([tag]) + (bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else b"\x82" + n.to_bytes(2, "big")) + value


def _dg13(fields: list[bytes]) -> bytes:
    return _tlv(0x6D, _tlv(0x30, _HEAD + _tlv(0x31, b"".join(fields))))


def _outcome(data: bytes, *, in_place: bool):
    with pytest.MonkeyPatch.context() as m:
        if not in_place:
            m.setattr(dg13_mod, "_parse_real_layout", lambda raw: None)
        try:
            return "ok", dg13_mod.parse_dg13(data)
        except ChipidError as e:
            return type(e).__name__, str(e)


_GOOD = [_tlv(0x30, _tlv(0x02, bytes([n])) + _tlv(0x0C, f"field {n}".encode())) for n in (1, 2, 4)]
_numbers = st.one_of(st.integers(0, 255).map(lambda n: bytes([n])),
                    st.sampled_from([b"", b"\x00\x05", b"\x00\x80", b"\x01\x00\x00"]))
_field_contents = st.one_of(
    st.builds(lambda number, value: _tlv(0x02, number) + value, _numbers,
              st.sampled_from([b"", _tlv(0x13, b"01/02/1990"), _tlv(0x0C, b"x"), _tlv(0x30, _tlv(0x0C, b"y")), b"\x0c"])),
    st.sampled_from([b"", b"\x02", b"\x02\x01", b"\x02\x02\x01", b"\x02\x01\x05", b"\x02\x00", b"\x04\x01\x05"]),
)


@settings(max_examples=1500, deadline=None)
@given(contents=_field_contents, position=st.integers(0, 3))
def test_a_field_number_reads_as_the_tlv_reading_reads_it(contents, position):
    fields = list(_GOOD)
    fields.insert(position, _tlv(0x30, contents))
    data = _dg13(fields)
    assert _outcome(data, in_place=True) == _outcome(data, in_place=False)


@pytest.mark.parametrize("contents", [b"\x02\x01\x81" + _tlv(0x0C, b"x"), b"\x02\x01\xff", b"\x02\x01", b"\x02\x01\x00"])
def test_numbers_the_tlv_reading_refuses_or_reads_are_refused_or_read_alike(contents):
    data = _dg13([_tlv(0x30, contents)] + _GOOD)
    assert _outcome(data, in_place=True) == _outcome(data, in_place=False)
