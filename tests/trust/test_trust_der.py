"""The bounded ASN.1 reader: Hypothesis round-trips against the test encoder, OIDs, offsets kept."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from drivers.emulator import pki as p
from verifier.errors import LimitExceededError, ParseError
from verifier.trust import der

leaf = st.one_of(
    st.integers(-(2**70), 2**70).map(lambda v: ("int", v)),
    st.binary(max_size=300).map(lambda b: ("octets", b)),
    st.lists(st.integers(0, 2**40), min_size=1, max_size=10).map(lambda arcs: ("oid", "1.2." + ".".join(map(str, arcs)))),
)
tree = st.recursive(leaf, lambda kids: st.tuples(st.sampled_from(["seq", "ctx"]), st.lists(kids, max_size=5),
                                                 st.booleans()), max_leaves=30)


def encode(t) -> bytes:
    kind = t[0]
    if kind == "int":
        return p.integer(t[1])
    if kind == "octets":
        return p.octets(t[1])
    if kind == "oid":
        return p.oid(t[1])
    body = b"".join(encode(c) for c in t[1])
    return p.seq(body, indefinite=t[2]) if kind == "seq" else p.ctx(3, body, indefinite=t[2])


def decode(node: der.Node):
    if node.is_(der.INTEGER):
        return ("int", node.as_int("x", 100))
    if node.is_(der.OCTET_STRING):
        return ("octets", node.as_octets("x"))
    if node.is_(der.OID):
        return ("oid", node.as_oid("x"))
    kind = "seq" if node.is_(der.SEQUENCE) else "ctx"
    return (kind, [decode(c) for c in node.children()], node.indefinite)


@given(tree)
def test_round_trip(t):
    data = encode(t)
    node = der.parse(data, "test")
    der.validate(node)
    assert decode(node) == t
    assert node.raw == data


@given(st.lists(st.integers(0, 2**64), min_size=1, max_size=5), st.integers(0, 2), st.integers(0, 39))
def test_oid_round_trip(arcs, first, second):
    dotted = ".".join(map(str, [first, second if first < 2 else second + 40, *arcs]))
    assert der.decode_oid(der.encode_oid(dotted), "x") == dotted


def test_oid_limits():
    with pytest.raises(LimitExceededError):
        der.decode_oid(der.encode_oid("1.2." + ".".join(["1"] * 40)), "x")
    with pytest.raises(ParseError):
        der.decode_oid(b"\x2a\x80\x01", "x")  # non-minimal arc
    with pytest.raises(ParseError):
        der.decode_oid(b"\x2a\x81", "x")  # ends inside an arc


def test_primitive_indefinite_refused():
    with pytest.raises(ParseError, match="indefinite"):
        der.parse(b"\x04\x80\x01\x00\x00", "x")
