"""The bounded reader's shortcuts give exactly what the full reading gives (verifier/trust/der.py).

* :func:`der.validate` counts a tree of one-byte tags and definite lengths from its headers in place
  (:func:`der._count_plain`); every tree, generated, mutated or real (EF.SODs, a CCCD Document Signer, the
  German master list), gets the count or the refusal (class and message) of the node-by-node walk kept
  below as the reference;
* :func:`der.decode_oid` remembers the dotted form of the contents it decoded; any contents, asked once
  or again under another name, give the reference decoding's result or refusal.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from drivers.emulator import pki as p
from tests.conftest import SHARED_DATA
from tests.mutations import mutated
from verifier.errors import ChipidError, LimitExceededError, ParseError
from verifier.trust import der


def reference_validate(node: der.Node, max_nodes: int = der.DEFAULT_MAX_NODES) -> int:
    """:func:`der.validate` as it was before its shortcut: every node read as a :class:`der.Node`."""
    count = 0
    stack = [node]
    while stack:
        n = stack.pop()
        count += 1
        if count > max_nodes:
            raise LimitExceededError(f"more than {max_nodes} ASN.1 nodes: refused as hostile")
        if n.constructed:
            stack.extend(n.children())
        elif n.number == der.OID and n.cls == der.UNIVERSAL:
            reference_check_oid(n.data, n.cstart, n.cend)
    return count


def reference_check_oid(data: bytes, start: int, end: int) -> None:
    size = end - start
    if size == 0 or size > der.MAX_OID_BYTES or data[end - 1] & 0x80:
        reference_decode_oid(data[start:end], "OBJECT IDENTIFIER")
        return
    arcs = 0
    for i in range(start, end):
        if data[i] < 0x80:
            arcs += 1
    if arcs > der.MAX_OID_ARCS:
        reference_decode_oid(data[start:end], "OBJECT IDENTIFIER")


def reference_decode_oid(content: bytes, what: str) -> str:
    """:func:`der.decode_oid` as it was before it remembered anything."""
    if not content:
        raise ParseError(f"{what}: empty OBJECT IDENTIFIER")
    if len(content) > der.MAX_OID_BYTES:
        raise LimitExceededError(f"{what}: OBJECT IDENTIFIER of {len(content)} bytes, at most {der.MAX_OID_BYTES} allowed")
    if content[-1] & 0x80:
        raise ParseError(f"{what}: OBJECT IDENTIFIER ends inside an arc")
    arcs: list[int] = []
    value = 0
    fresh = True
    for b in content:
        if fresh and b == 0x80:
            raise ParseError(f"{what}: OBJECT IDENTIFIER arc with a leading 0x80 byte (not minimal)")
        value = (value << 7) | (b & 0x7F)
        fresh = False
        if not b & 0x80:
            arcs.append(value)
            value = 0
            fresh = True
            if len(arcs) > der.MAX_OID_ARCS:
                raise LimitExceededError(f"{what}: OBJECT IDENTIFIER with more than {der.MAX_OID_ARCS} arcs")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _outcome(f, *args):
    try:
        return "ok", f(*args)
    except ChipidError as e:
        return type(e).__name__, str(e)


# --- trees: the shapes the shortcut reads and the ones it leaves to the walk ---------------------------------

_oid_contents = st.one_of(
    st.lists(st.integers(0, 2**40), min_size=1, max_size=40).map(lambda arcs: der.encode_oid("1.2." + ".".join(map(str, arcs)))),
    st.binary(max_size=70),  # empty, too long, ending inside an arc, leading 0x80 bytes
)
_leaf = st.one_of(
    st.binary(max_size=300).map(p.octets),
    st.integers(-(2**70), 2**70).map(p.integer),
    _oid_contents.map(lambda c: p.tlv(0x06, c)),
    st.sampled_from([b"\x05\x00", b"\x1f\x81\x01\x00", b"\x9f\x22\x01\x00", b"\x04\x84\x00\x00\x00\x01\x00"]),
)


def _constructed(kids: list[bytes], tag: int, indefinite: bool) -> bytes:
    return p.tlv(tag, b"".join(kids), indefinite)


_tree = st.recursive(_leaf, lambda kids: st.builds(_constructed, st.lists(kids, max_size=5),
                                                    st.sampled_from([0x30, 0x31, 0xA0, 0xA3, 0x26, 0x77]),
                                                    st.integers(0, 5).map(lambda n: n == 0)), max_leaves=40)


def _deep(levels: int) -> bytes:
    data = p.integer(1)
    for _ in range(levels):
        data = p.seq(data)
    return data


def _real() -> list[bytes]:
    sods = [bytes.fromhex(s["sod"]) for s in json.loads((SHARED_DATA / "sod" / "real_sods.json").read_text())]
    return sods + [(SHARED_DATA / "cccd" / "dsc_national_identification_00013.der").read_bytes()]


REAL = _real()


def _same_walk(data: bytes, depth: int, max_nodes: int) -> None:
    try:
        node = der.read_node(data, 0, None, depth)
    except ChipidError:
        return
    assert _outcome(der.validate, node, max_nodes) == _outcome(reference_validate, node, max_nodes)


@settings(max_examples=700, deadline=None)
@given(tree=_tree, depth=st.integers(0, 24), max_nodes=st.sampled_from([1, 3, 10, 40, der.DEFAULT_MAX_NODES]))
def test_a_generated_tree_is_counted_or_refused_as_the_walk_does(tree, depth, max_nodes):
    _same_walk(tree, depth, max_nodes)


@settings(max_examples=700, deadline=None)
@given(data=mutated(REAL + [_deep(20), _deep(26)]), depth=st.sampled_from([0, 0, 3, 4, 5, 20]),
       max_nodes=st.sampled_from([50, 200, der.DEFAULT_MAX_NODES]))
def test_a_mutated_real_object_is_counted_or_refused_as_the_walk_does(data, depth, max_nodes):
    _same_walk(data, depth, max_nodes)


@pytest.mark.parametrize("data", REAL + [_deep(24), p.seq(p.oid("1.2.3"), p.tlv(0x06, b"\x2a\x80\x01"))])
def test_real_objects_take_the_shortcut_and_count_as_the_walk_does(data):
    node = der.read_node(data, 0)
    assert der._count_plain(node, der.DEFAULT_MAX_NODES) is not None  # the shortcut, not the walk, answered
    assert der.validate(node) == reference_validate(node)


def test_the_master_list_counts_as_the_walk_does():
    data = (SHARED_DATA / "trust" / "DE_ML_2026-05-28.ml").read_bytes()
    node = der.read_node(data, 0)
    full = reference_validate(node, 10**6)
    assert der._count_plain(node, 10**6) == full == der.validate(node, 10**6)
    assert _outcome(der.validate, node, full - 1) == _outcome(reference_validate, node, full - 1)


@pytest.mark.parametrize(("data", "refusal"), [
    (_deep(25), "nesting deeper"),  # the shortcut leaves it to the walk, which refuses it
    (p.seq(b"\x04\x85\x00\x00\x00\x00\x01\x00"), "length field of 5 bytes"),
    (p.seq(b"\x04\x80\x00\x00"), "indefinite length on a primitive"),
    (p.seq(p.tlv(0x06, b"\x2a" * 33)), "more than 32 arcs"),
    (p.seq(p.tlv(0x06, b"\x2a\x81")), "ends inside an arc"),
    (p.seq(p.tlv(0x06, b"")), "empty OBJECT IDENTIFIER"),
    (p.seq(b"\x30\x05\x02\x01"), "declares 5 bytes"),
])
def test_what_the_walk_refuses_is_refused_with_its_message(data, refusal):
    node = der.read_node(data, 0)
    assert der._count_plain(node, der.DEFAULT_MAX_NODES) is None
    with pytest.raises(ChipidError, match=refusal):
        der.validate(node)


# --- OBJECT IDENTIFIERs ------------------------------------------------------------------------------------------

@settings(max_examples=1500, deadline=None)
@given(content=_oid_contents, what=st.sampled_from(["x", "signed attribute type"]))
def test_an_oid_decodes_or_is_refused_as_before_the_first_time_and_again(content, what):
    expected = _outcome(reference_decode_oid, content, what)
    assert _outcome(der.decode_oid, content, what) == expected
    assert _outcome(der.decode_oid, content, what) == expected  # remembered or not
    assert _outcome(der.decode_oid, bytearray(content), what) == expected  # not bytes: never remembered


def test_a_refused_oid_names_each_caller_and_a_known_one_is_remembered():
    bad = b"\x2a\x80\x01"
    for what in ("first", "second"):
        with pytest.raises(ParseError, match=f"^{what}: OBJECT IDENTIFIER arc with a leading 0x80"):
            der.decode_oid(bad, what)
    der._remembered_oid.cache_clear()
    assert der.decode_oid(b"\x2a\x03", "x") == der.decode_oid(b"\x2a\x03", "y") == "1.2.3"
    assert der._remembered_oid.cache_info().hits == 1
