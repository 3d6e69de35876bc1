"""EF.SOD's two shortcuts give exactly what the full reading gives (verifier/trust/sod.py).

* the LDSSecurityObject in plain DER is read by the bounded reader (:func:`sod._lds_fields_der`); every
  object it accepts gives the fields of the asn1crypto spec (:func:`sod._lds_fields_asn1`), and every
  object the spec refuses is refused with the spec's message (generated and mutated objects);
* the tree walk (:func:`verifier.trust.der.validate`, which counts plain DER from the headers): a SOD
  mutated anywhere (in the embedded certificate too) is refused with the message of the node-by-node walk.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from drivers.emulator import pki as p
from verifier.errors import ChipidError, LimitExceededError
from verifier.trust import der, sod as sod_mod
from verifier.trust.sod import MAX_SOD_NODES, parse_lds_security_object, parse_sod

SHA256, SHA384, SHA1 = "2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.2", "1.3.14.3.2.26"
SIZES = {SHA256: 32, SHA384: 48, SHA1: 20}


def _outcome(f, data: bytes):
    """What ``f(data)`` gives: ("ok", value) or (error class, message)."""
    try:
        return "ok", f(data)
    except ChipidError as e:
        return type(e).__name__, str(e)


@st.composite
def lds_objects(draw) -> bytes:
    """LDSSecurityObjects of every shape the spec reads (and some it refuses), then perhaps mutated."""
    version = draw(st.sampled_from([0, 1, 1, 2]))
    oid = draw(st.sampled_from([SHA256, SHA384, SHA1, "1.2.3.4"]))
    params = draw(st.sampled_from([None, b"\x05\x00", b"\x05\x01\x00", b"\x04\x00"]))
    alg = p.seq(p.oid(oid), *([params] if params else []))
    numbers = draw(st.lists(st.integers(0, 18), min_size=0, max_size=17))
    size = SIZES.get(oid, 32)
    entries = []
    for n in numbers:
        value = draw(st.binary(min_size=size - 1, max_size=size + 1) if draw(st.booleans()) else
                     st.binary(min_size=size, max_size=size))
        entries.append(p.seq(p.integer(n), p.octets(value)))
    fields = [p.integer(version), alg, p.seq(*entries)]
    if draw(st.booleans()):
        tag = draw(st.sampled_from([0x13, 0x0C, 0x16, 0x04]))
        text = draw(st.sampled_from([b"0108", b"\xc3\xa9", b"\xff"]))
        fields.append(p.seq(p.tlv(tag, text), p.tlv(0x13, b"040000")))
    data = bytearray(p.seq(*fields))
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        data += b"\x00"
    return bytes(data)


@settings(max_examples=600, deadline=None)
@given(data=lds_objects())
def test_the_der_reading_of_the_lds_object_is_the_spec_reading(data):
    fast = _outcome(sod_mod._lds_fields_der, data)
    spec = _outcome(sod_mod._lds_fields_asn1, data)
    if fast[0] == "ok" and fast[1] is not None:
        assert fast == spec  # accepted by both, same fields
    assert _outcome(parse_lds_security_object, data) == spec  # accepted or refused as the spec does


def test_the_der_reading_takes_the_usual_objects():
    v0 = p.lds_security_object({1: b"a" * 32, 13: b"b" * 32}, "sha256", None)
    v1 = p.lds_security_object({1: b"a" * 48, 13: b"b" * 48}, "sha384", ("0108", "040000"))
    for data in (v0, v1):
        assert sod_mod._lds_fields_der(data) is not None
        assert sod_mod._lds_fields_der(data) == sod_mod._lds_fields_asn1(data)


def _full_walk(outer: der.Node) -> None:
    """der.validate node by node (its count from the headers switched off)."""
    count_plain = der._count_plain
    der._count_plain = lambda node, max_nodes: None
    try:
        der.validate(outer, MAX_SOD_NODES)
    finally:
        der._count_plain = count_plain


_GOOD: dict = {}


def _good_sod(pki) -> bytes:
    return _GOOD.get("sod") or _GOOD.setdefault("sod", p.build_sod(pki.dgs, pki.dsc.key, pki.dsc))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_sod_is_refused_as_the_full_walk_refuses_it(pki, data, monkeypatch):
    good = _good_sod(pki)
    cert_at = good.find(pki.dsc.der)
    sod = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        # half the mutations inside the embedded certificate
        lo, hi = (cert_at, cert_at + len(pki.dsc.der) - 1) if data.draw(st.booleans()) else (0, len(sod) - 1)
        sod[data.draw(st.integers(lo, hi))] = data.draw(st.integers(0, 255))
    if data.draw(st.integers(0, 4)) == 0:
        sod = sod[: data.draw(st.integers(0, len(sod)))]
    shortcut = _outcome(parse_sod, bytes(sod))
    with monkeypatch.context() as m:
        m.setattr(der, "_count_plain", lambda node, max_nodes: None)
        full = _outcome(parse_sod, bytes(sod))
    assert shortcut == full


def test_a_sod_with_more_nodes_than_allowed_is_refused_as_before(pki):
    """Many certificates, each within the limits, together over the node limit: the full walk's refusal."""
    good = _good_sod(pki)
    parsed = parse_sod(good)
    per_cert = der.validate(der.read_node(pki.dsc.der, 0))
    many = MAX_SOD_NODES // per_cert + 1
    body = p.seq(p.integer(3), p.tlv(0x31, b""), p.seq(p.oid(sod_mod.LDS_SECURITY_OBJECT),
                                                       p.tlv(0xA0, p.octets(parsed.econtent))),
                 p.tlv(0xA0, pki.dsc.der * many), p.tlv(0x31, b""))
    data = p.tlv(0x77, p.seq(p.oid("1.2.840.113549.1.7.2"), p.tlv(0xA0, body)))
    with pytest.raises(LimitExceededError, match="nodes") as got:
        parse_sod(data)
    with pytest.raises(LimitExceededError) as full:
        _full_walk(der.read_node(data, 0))
    assert str(got.value) == str(full.value)


@pytest.mark.parametrize(("levels", "refused"), [(17, False), (18, False), (19, True), (21, True)])
def test_a_deeply_nested_certificate_is_judged_at_its_depth_in_the_sod(pki, levels, refused):
    """A certificate is judged at the depth it sits at: nested 20 levels, it passes alone but not inside
    EF.SOD, as the node-by-node walk says."""
    parsed = parse_sod(_good_sod(pki))
    cert = p.seq(p.integer(1))
    for _ in range(levels):
        cert = p.seq(cert)
    der.validate(der.read_node(cert, 0))  # within the limits on its own
    body = p.seq(p.integer(3), p.tlv(0x31, b""), p.seq(p.oid(sod_mod.LDS_SECURITY_OBJECT),
                                                       p.tlv(0xA0, p.octets(parsed.econtent))),
                 p.tlv(0xA0, cert), p.tlv(0x31, b""))
    data = p.tlv(0x77, p.seq(p.oid("1.2.840.113549.1.7.2"), p.tlv(0xA0, body)))
    full = _outcome(lambda d: _full_walk(der.read_node(d, 0)), data)
    assert full[0] == ("LimitExceededError" if refused else "ok")
    assert _outcome(lambda d: der.validate(der.read_node(d, 0), MAX_SOD_NODES), data)[0] == full[0]
    if refused:
        assert _outcome(parse_sod, data) == full
