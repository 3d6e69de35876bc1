"""Hostile EF.SOD input: huge tags, many-arc OIDs, deep nesting, lying lengths, random mutations.

Every case must end in ParseError / LimitExceededError (never another exception, a hang or
unbounded memory); pytest-timeout bounds the time.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from drivers.emulator import pki as p
from verifier.errors import LimitExceededError, ParseError
from verifier.trust.sod import parse_sod
from verifier.trust import der
from verifier.trust.certs import load_certificate


def wrap77(content: bytes) -> bytes:
    return p.tlv(0x77, content)


def test_huge_tag_number_refused():
    # A tag number with 40 continuation bytes, inside a SEQUENCE inside tag 77.
    with pytest.raises(LimitExceededError, match="tag"):
        parse_sod(wrap77(p.seq(b"\x3f" + b"\xff" * 40 + b"\x01\x00")))


def test_length_field_too_long_refused():
    with pytest.raises(LimitExceededError, match="length field"):
        parse_sod(b"\x77\x89" + b"\xff" * 9 + b"\x00")


def test_length_beyond_the_data_refused():
    with pytest.raises(ParseError, match="remain"):
        parse_sod(b"\x77\x84\x7f\xff\xff\xff\x30\x00")


def test_many_arc_oid_refused(pki):
    many = "1.2." + ".".join(["1"] * 100_000)
    evil = p.build_sod(pki.dgs, pki.dsc.key, pki.dsc, content_type=many)
    with pytest.raises(LimitExceededError, match="OBJECT IDENTIFIER"):
        parse_sod(evil)


def test_huge_oid_arc_refused():
    arc = b"\x2a" + b"\xff" * 5000 + b"\x7f"
    with pytest.raises(LimitExceededError):
        der.decode_oid(arc, "test")


@pytest.mark.parametrize("indefinite", [False, True])
def test_deep_nesting_refused(indefinite):
    depth = 5000
    if indefinite:
        body = b"\x30\x80" * depth + b"\x00\x00" * depth
    else:
        body = b"\x05\x00"
        for _ in range(depth):
            body = p.seq(body)
    with pytest.raises(LimitExceededError, match="nesting"):
        parse_sod(wrap77(body))


def test_too_many_nodes_refused():
    body = p.seq(b"\x05\x00" * 50_000)
    with pytest.raises(LimitExceededError):
        parse_sod(wrap77(body))


def test_oversized_file_refused():
    with pytest.raises(LimitExceededError):
        parse_sod(b"\x77\x83\x10\x00\x00" + b"\x00" * 0x100000)


def test_crafted_explicit_curve_in_dsc_is_refused_fast():
    # A DSC whose key claims explicit parameters with a 100 000-bit prime.
    from verifier.trust.certs import load_public_key

    huge = (1 << 100_000) + 1
    spki = p.seq(p.seq(p.oid("1.2.840.10045.2.1"),
                       p.seq(p.integer(1), p.seq(p.oid("1.2.840.10045.1.1"), p.integer(huge)),
                             p.seq(p.octets(b"\x01"), p.octets(b"\x02")), p.octets(b"\x04" + b"\x01" * 64),
                             p.integer(7))),
                 p.tlv(0x03, b"\x00\x04" + b"\x01" * 64))
    with pytest.raises((LimitExceededError, ParseError)):
        load_public_key(spki)


def test_not_a_sod_at_all():
    for data in (b"", b"\x60\x00", b"\x77", b"\x77\x00", b"\x77\x02\x30\x00", b"\x77\x03\x06\x01\x00"):
        with pytest.raises(ParseError):
            parse_sod(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_mutations_raise_only_parse_errors(pki, data):
    sod = bytearray(_GOOD.get("sod") or _GOOD.setdefault("sod", p.build_sod(pki.dgs, pki.dsc.key, pki.dsc)))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(sod) - 1))
        sod[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        sod = sod[: data.draw(st.integers(0, len(sod)))]
    try:
        parsed = parse_sod(bytes(sod))
    except ParseError:
        return
    for cert in parsed.certificates:
        try:
            load_certificate(cert)
        except ParseError:
            pass


_GOOD: dict = {}


@pytest.mark.timeout(20)
def test_nested_indefinite_lengths_are_read_once():
    # 23 nested indefinite SEQUENCEs around 125 000 NULLs: each level used to re-read everything below it.
    depth = 23
    count = (250_000 - 4 * depth) // 2
    data = b"\x77\x80" + b"\x30\x80" * depth + b"\x05\x00" * count + b"\x00\x00" * depth + b"\x00\x00"
    with pytest.raises(LimitExceededError, match="nodes"):
        parse_sod(data)
    node = der.read_node(data, 0)
    inner = node.children()[0]
    assert inner.indefinite and inner.end == len(data) - 2
