"""EF.SOD's in-place readings give exactly what the full readings give (verifier/trust/sod.py, verifier/icao/tlv.py).

* :func:`tlv.der_elements` finds the elements of plain DER exactly where the bounded reader finds them, and
  refuses every other form (the reference below: :func:`verifier.trust.der.read_node` plus the DER header
  test the LDSSecurityObject reading used before);
* the LDSSecurityObject in plain DER, read in place (:func:`sod._lds_fields_der`), gives the fields the
  asn1crypto spec gives (:func:`sod._lds_fields_asn1`), one variation at a time so that each check of the
  shortcut is met (tests/trust/test_sod_fast_paths.py mixes many at once).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from drivers.emulator import pki as p
from tests.mutations import mutated
from verifier.errors import ChipidError
from verifier.icao import tlv
from verifier.trust import der, sod as sod_mod

SHA256, SHA1 = "2.16.840.1.101.3.4.2.1", "1.3.14.3.2.26"


def reference_der_elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int]] | None:
    """The elements of ``data[start:end]`` through the bounded reader, each with a one-byte tag and the
    shortest definite length in at most two bytes; None otherwise."""
    out = []
    try:
        while start < end:
            node = der.read_node(data, start, end)
            length = node.cend - node.cstart
            size = 1 if length < 0x80 else 2 if length < 0x100 else 3 if length < 0x10000 else 9
            if node.number >= 0x1F or node.cstart - node.start != 1 + size or node.end != node.cend:
                return None
            out.append((data[start], node.cstart, node.cend))
            start = node.end
    except ChipidError:
        return None
    return out


_SEEDS = [p.lds_security_object({n: bytes([n]) * 32 for n in (1, 2, 13, 14, 15)}, "sha256", None),
          p.lds_security_object({1: b"a" * 20}, "sha1", ("0108", "040000")),
          p.seq(p.octets(b"x" * 200), p.octets(b"y" * 300)), b"\x30\x81\x05" + b"\x02\x01\x01" * 2]


@settings(max_examples=1500, deadline=None)
@given(data=st.one_of(mutated(_SEEDS, set_values=(0x00, 0x01, 0x1F, 0x3F, 0x7F, 0x80, 0x81, 0x82, 0x83, 0xFF)),
                      st.binary(max_size=12)),
       cut=st.integers(0, 3))
def test_der_elements_are_the_bounded_readers_elements(data, cut):
    start, end = min(cut, len(data)), len(data) - min(cut, len(data) // 2)
    start = min(start, end)
    assert tlv.der_elements(data, start, end) == reference_der_elements(data, start, end)


def test_der_elements_refuse_longer_than_needed_and_long_lengths():
    assert tlv.der_elements(b"\x04\x81\x05" + bytes(5), 0, 8) is None  # 0x81 for a length below 0x80
    assert tlv.der_elements(b"\x04\x82\x00\x80" + bytes(128), 0, 132) is None
    assert tlv.der_elements(b"\x04\x83\x01\x00\x00" + bytes(65536), 0, 65541) is None
    assert tlv.der_elements(b"\x04\x82\x01\x00" + bytes(256), 0, 260) == [(4, 4, 260)]


# --- the LDSSecurityObject: each shape of the spec, one variation at a time -----------------------------------

_VARIATIONS = {
    "version": lambda v: [p.integer(v)] if isinstance(v, int) else [v],
    "alg": lambda params: [p.seq(p.oid(SHA256), *params)],
    "entries": lambda entries: [p.seq(*entries)],
    "info": lambda info: [info] if info is not None else [],
}


@st.composite
def lds_one_variation(draw) -> bytes:
    good = {"version": p.integer(draw(st.sampled_from([0, 1]))), "alg": p.seq(p.oid(SHA256), b"\x05\x00"),
            "entries": [p.seq(p.integer(n), p.octets(bytes([n]) * 32)) for n in (1, 13, 15)], "info": None}
    which = draw(st.sampled_from(["version", "alg", "entries", "info", "none"]))
    if which == "version":
        good["version"] = draw(st.sampled_from([p.integer(2), p.integer(-1), b"\x02\x03\x00\x00\x01", b"\x02\x00",
                                                b"\x02\x02\x00\x01", p.octets(b"\x01")]))
    elif which == "alg":
        good["alg"] = p.seq(*draw(st.sampled_from([[p.oid(SHA256)], [p.oid(SHA256), b"\x05\x01\x00"],
                                                   [p.oid(SHA256), b"\x05\x00", b"\x05\x00"], [p.oid(SHA1)],
                                                   [p.octets(b"\x01")], [], [p.oid(SHA256), p.seq()]])))
    elif which == "entries":
        entry = draw(st.sampled_from([p.seq(p.integer(2), p.octets(b"x" * 31)), p.seq(p.integer(1), p.octets(b"x" * 32)),
                                      p.seq(p.integer(17), p.octets(b"x" * 32)), p.seq(p.integer(0), p.octets(b"x" * 32)),
                                      p.seq(b"\x02\x03\x00\x00\x02", p.octets(b"x" * 32)),
                                      p.seq(p.integer(2)), p.seq(p.integer(2), p.octets(b"x" * 32), p.integer(1)),
                                      p.seq(p.octets(b"x" * 32), p.integer(2)), p.set_of(p.integer(2), p.octets(b"x" * 32))]))
        good["entries"] = draw(st.sampled_from([good["entries"] + [entry], [], good["entries"] * 6]))
    elif which == "info":
        strings = [p.printable("0108"), p.tlv(0x0C, "é".encode()), p.tlv(0x16, b"\xff"), p.octets(b"1"), p.tlv(0x13, b"\xff")]
        picked = draw(st.lists(st.sampled_from(strings), min_size=0, max_size=3))
        good["info"] = draw(st.sampled_from([p.seq(*picked), p.set_of(*picked)]))
        good["version"] = p.integer(draw(st.sampled_from([1, 1, 0])))
    fields = [good["version"], good["alg"], p.seq(*good["entries"])] + ([good["info"]] if good["info"] else [])
    return p.seq(*fields)


def _outcome(f, data: bytes):
    try:
        return "ok", f(data)
    except ChipidError as e:
        return type(e).__name__, str(e)


@settings(max_examples=1000, deadline=None)
@given(data=lds_one_variation())
def test_each_variation_of_the_lds_object_reads_as_the_spec_reads(data):
    fast = _outcome(sod_mod._lds_fields_der, data)
    spec = _outcome(sod_mod._lds_fields_asn1, data)
    if fast != ("ok", None):
        assert fast == spec
    assert _outcome(sod_mod.parse_lds_security_object, data) == spec


@pytest.mark.parametrize("data", [
    p.seq(p.integer(2), p.seq(p.oid(SHA256)), p.seq(p.seq(p.integer(1), p.octets(b"x" * 32)))),  # version 2
    p.seq(p.integer(0), p.seq(p.oid(SHA256), b"\x05\x01\x00"), p.seq(p.seq(p.integer(1), p.octets(b"x" * 32)))),  # taken
    p.seq(p.integer(1), p.seq(p.oid(SHA256)), p.seq(p.seq(p.integer(1), p.octets(b"x" * 32))), p.seq(p.printable("1"))),
    p.seq(p.integer(1), p.seq(p.oid(SHA256)), p.seq(p.seq(b"\x02\x03\x00\x00\x01", p.octets(b"x" * 32)))),
])
def test_what_the_shortcut_does_not_take_is_left_to_the_spec(data):
    assert sod_mod._lds_fields_der(data) is None
    assert _outcome(sod_mod.parse_lds_security_object, data) == _outcome(sod_mod._lds_fields_asn1, data)
