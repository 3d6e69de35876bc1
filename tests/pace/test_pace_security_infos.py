"""SecurityInfos, DG14 and DG15 codecs (ICAO 9303-11 §9.2, ICAO 9303-10 §4.7.14-15)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import LimitExceededError, ParseError
from verifier.icao import chip_keys, curves, ecc, tlv
from verifier.icao.lds import security_infos as si
from verifier.icao.lds.dg14 import encode_dg14, parse_dg14
from verifier.icao.lds.dg15 import encode_dg15, parse_dg15
from verifier.icao.lds.security_infos import (
    ActiveAuthenticationInfo,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    PACEInfo,
    TerminalAuthenticationInfo,
    UnknownSecurityInfo,
    encode_security_infos,
    parse_card_access,
    parse_security_infos,
)

# EF.CardAccess of the ICAO 9303-11 Appendix G.1 example (one PACEInfo, ECDH-GM AES-128, brainpoolP256r1).
APPENDIX_G_CARD_ACCESS = bytes.fromhex("31143012060A04007F0007020204020202010202010D")
# A German eID-style EF.CardAccess with a generic-mapping and a chip-authentication-mapping PACEInfo.
TWO_PACE_INFOS = bytes.fromhex("31283012060a04007f000702020402040201020201103012060a04007f00070202040604020102020110")


def test_appendix_g_card_access():
    infos = parse_card_access(APPENDIX_G_CARD_ACCESS)
    assert infos.pace == (PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),)
    p = infos.pace[0]
    assert (p.agreement, p.mapping, p.cipher) == ("ECDH", "GM", ("AES", 128))
    assert infos.raw == APPENDIX_G_CARD_ACCESS
    assert encode_security_infos(infos.infos) == APPENDIX_G_CARD_ACCESS


def test_two_pace_infos_and_padding():
    infos = parse_card_access(TWO_PACE_INFOS + b"\x00" * 7)
    assert [p.mapping for p in infos.pace] == ["GM", "CAM"]
    assert [p.cipher for p in infos.pace] == [("AES", 256), ("AES", 256)]
    assert infos.raw == TWO_PACE_INFOS


def _ca_key_der():
    c = curves.CURVES["brainpoolP256r1"]
    return chip_keys.ec_spki(c, ecc.public_key(c, 7), algorithm=chip_keys.ID_PK_ECDH)


def test_dg14_roundtrip_with_every_kind():
    spki = _ca_key_der()
    locator = tlv.encode(0x30, si.encode_oid("0.4.0.127.0.7.2.2.6") + tlv.encode(0x16, b"http://x.invalid/"))
    infos = [
        ChipAuthenticationPublicKeyInfo(si.ID_PK_ECDH, spki, 1),
        ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1, 1),
        ActiveAuthenticationInfo(si.ID_AA, 1, "0.4.0.127.0.7.1.1.4.1.3"),
        PACEInfo("0.4.0.127.0.7.2.2.4.2.4", 2, 12),
        TerminalAuthenticationInfo(si.ID_TA, 1),
        UnknownSecurityInfo("0.4.0.127.0.7.2.2.6", locator),  # CardInfoLocator: kept as read
    ]
    raw = encode_dg14(infos)
    assert raw[0] == 0x6E
    dg14 = parse_dg14(raw)
    assert dg14.raw == raw
    assert dg14.security_infos.infos == tuple(infos)
    s = dg14.security_infos
    assert s.chip_auth_keys[0].public_key == spki  # exactly as read
    assert s.chip_auth[0].agreement == "ECDH" and s.chip_auth[0].cipher == ("AES", 128)
    assert s.active_auth.signature_algorithm == "0.4.0.127.0.7.1.1.4.1.3"
    assert s.terminal_auth.version == 1 and s.terminal_auth.ef_cvca is None
    assert s.unknown[0].protocol == "0.4.0.127.0.7.2.2.6" and s.unknown[0].raw == locator
    assert isinstance(chip_keys.parse_public_key(s.chip_auth_keys[0].public_key), chip_keys.ECPublicKey)


def test_dg15_roundtrip():
    spki = chip_keys.rsa_spki((1 << 1023) + 12345 * 2 + 1, 65537)
    raw = encode_dg15(spki)
    dg = parse_dg15(raw)
    assert dg.public_key_info == spki and dg.raw == raw
    with pytest.raises(ParseError, match="expected tag 6F"):
        parse_dg15(b"\x6E" + raw[1:])
    with pytest.raises(ParseError, match="SubjectPublicKeyInfo"):
        parse_dg15(tlv.encode(0x6F, b"\x04\x01\x00"))


oids = st.lists(st.integers(0, 2**40), min_size=1, max_size=8).map(
    lambda arcs: "1.3." + ".".join(str(a) for a in arcs))
opt_int = st.one_of(st.none(), st.integers(-(2**63), 2**63))
pace_info = st.builds(PACEInfo, st.sampled_from([
    "0.4.0.127.0.7.2.2.4.2.1", "0.4.0.127.0.7.2.2.4.2.2", "0.4.0.127.0.7.2.2.4.2.4", "0.4.0.127.0.7.2.2.4.1.1",
    "0.4.0.127.0.7.2.2.4.6.3"]), st.integers(0, 300), opt_int)
ca_info = st.builds(ChipAuthenticationInfo, st.sampled_from([
    "0.4.0.127.0.7.2.2.3.1.1", "0.4.0.127.0.7.2.2.3.2.4"]), st.integers(1, 2), opt_int)
spki_bytes = st.binary(max_size=80).map(lambda b: tlv.encode(0x30, tlv.encode(0x04, b)))
ca_key = st.builds(ChipAuthenticationPublicKeyInfo, st.sampled_from([si.ID_PK_DH, si.ID_PK_ECDH]), spki_bytes, opt_int)
aa_info = st.builds(ActiveAuthenticationInfo, st.just(si.ID_AA), st.integers(0, 5), oids)
ta_info = st.builds(TerminalAuthenticationInfo, st.just(si.ID_TA), st.integers(1, 2),
                    st.one_of(st.none(), st.binary(min_size=2, max_size=2).map(lambda b: tlv.encode(0x04, b))))
unknown = st.builds(lambda oid, body: UnknownSecurityInfo(
    oid, tlv.encode(0x30, si.encode_oid(oid) + tlv.encode(0x04, body))), oids, st.binary(max_size=40))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(pace_info, ca_info, ca_key, aa_info, ta_info, unknown), max_size=8))
def test_security_infos_roundtrip(infos):
    raw = encode_security_infos(infos)
    parsed = parse_security_infos(raw)
    assert parsed.infos == tuple(infos)
    assert parsed.raw == raw
    assert encode_security_infos(parsed.infos) == raw


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_gives_parse_error_only(data):
    try:
        parse_card_access(data)
    except ParseError:
        pass
    try:
        parse_dg14(data)
    except ParseError:
        pass


PACE_OID = si.encode_oid("0.4.0.127.0.7.2.2.4.2.2")
SEQ = lambda *parts: tlv.encode(0x30, b"".join(parts))  # noqa: E731
SET = lambda *parts: tlv.encode(0x31, b"".join(parts))  # noqa: E731
INT = lambda v: tlv.encode(0x02, bytes([v]))  # noqa: E731


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"", "expected a tag"),
        (APPENDIX_G_CARD_ACCESS[2:], "expected a SET"),
        (APPENDIX_G_CARD_ACCESS[:-2], "length"),
        (SET(tlv.encode(0x04, b"x")), "expected a SEQUENCE"),
        (SET(SEQ(INT(1), INT(2))), "expected an OBJECT IDENTIFIER"),
        (SET(SEQ(PACE_OID)), "protocol and requiredData"),
        (SET(SEQ(tlv.encode(0x06, b""), INT(2))), "OBJECT IDENTIFIER of 0 bytes"),
        (SET(SEQ(PACE_OID, tlv.encode(0x04, b"\x02"))), "version: expected an INTEGER"),
        (SET(SEQ(PACE_OID, INT(2), tlv.encode(0x01, b"\x01"))), "parameterId: expected an INTEGER"),
        (SET(SEQ(PACE_OID, INT(2), INT(13), INT(1))), "PACEInfo has 4 elements"),
        (SET(SEQ(PACE_OID, tlv.encode(0x02, b""))), "empty INTEGER"),
        (SET(SEQ(si.encode_oid(si.ID_AA), INT(1))), "ActiveAuthenticationInfo has 2 elements"),
        (SET(SEQ(si.encode_oid(si.ID_AA), INT(1), INT(1))), "signatureAlgorithm: expected an OBJECT IDENTIFIER"),
        (SET(SEQ(si.encode_oid(si.ID_PK_ECDH), INT(1))), "SubjectPublicKeyInfo"),
        (SET(SEQ(PACE_OID, b"\x02\x05\x01")), "malformed contents"),
    ],
)
def test_malformed_security_infos(raw, match):
    with pytest.raises(ParseError, match=match):
        parse_card_access(raw)


def test_too_many_infos_refused():
    one = encode_security_infos([PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)])[2:]
    with pytest.raises(LimitExceededError):
        parse_security_infos(tlv.encode(0x31, one * (si.MAX_INFOS + 1)))


def test_huge_integer_refused():
    raw = tlv.encode(0x31, tlv.encode(0x30, si.encode_oid("0.4.0.127.0.7.2.2.4.2.2") + tlv.encode(0x02, b"\x01" * 100)))
    with pytest.raises(LimitExceededError):
        parse_security_infos(raw)


def test_dg14_wrong_tag():
    with pytest.raises(ParseError, match="expected tag 6E"):
        parse_dg14(tlv.encode(0x6F, APPENDIX_G_CARD_ACCESS))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(curves.CURVES)), st.integers(1, 2**64), st.booleans(),
       st.sampled_from([chip_keys.ID_EC_PUBLIC_KEY, chip_keys.ID_PK_ECDH]))
def test_ec_subject_public_key_info_roundtrip(name, d, explicit, algorithm):
    c = curves.CURVES[name]
    q = ecc.public_key(c, d)
    spki = chip_keys.ec_spki(c, q, algorithm=algorithm, explicit=explicit)
    key = chip_keys.parse_public_key(spki)
    assert (key.curve.name, key.point, key.algorithm) == (name, q, algorithm)


def test_crafted_explicit_curve_is_refused():
    from verifier.errors import TrustError

    c = curves.CURVES["brainpoolP256r1"]
    spki = bytearray(chip_keys.ec_spki(c, ecc.public_key(c, 5), explicit=True))
    a = c.a.to_bytes(32, "big")
    i = bytes(spki).index(a)
    spki[i + 31] ^= 1  # change the curve's coefficient a
    with pytest.raises((TrustError, ParseError)):
        chip_keys.parse_public_key(bytes(spki))
