"""The LDSSecurityObject of EF.SOD (ICAO 9303-10 §4.6.2.2) read through its asn1crypto spec.

v0 as on real CCCDs (no LDS version info), v1 with LDSVersionInfo, the real SODs with their
expected hashes, the received bytes hashed as read (a non-DER encoding still verifies), and
hostile contents ending in ParseError / LimitExceededError only.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings, strategies as st

from drivers.emulator import pki as p
from verifier.errors import LimitExceededError, ParseError
from verifier.trust import cms
from verifier.trust.certs import load_certificate
from verifier.trust.sod import (LDS_SECURITY_OBJECT, MAX_LDS_SECURITY_OBJECT_BYTES, LDSSecurityObject, parse_lds_security_object,
                                parse_sod)

SHA256 = "2.16.840.1.101.3.4.2.1"
#: The data groups a real CCCD's EF.SOD hashes (cccd/README.md: DG1, DG2, DG13, DG14, DG15).
CCCD_DGS = {1: b"\x61\x03dg1", 2: b"\x75\x03dg2", 13: b"\x6d\x04dg13", 14: b"\x6e\x04dg14", 15: b"\x6f\x04dg15"}


def _hashes(h: str = "sha256") -> dict[int, bytes]:
    return {n: hashlib.new(h, raw).digest() for n, raw in CCCD_DGS.items()}


def _lds(*fields: bytes) -> bytes:
    return p.seq(*fields)


def _entries(hashes: dict[int, bytes]) -> bytes:
    return p.seq(*(p.seq(p.integer(n), p.octets(h)) for n, h in sorted(hashes.items())))


def test_v0_as_on_real_cccds(pki):
    sod = parse_sod(p.build_sod(CCCD_DGS, pki.dsc.key, pki.dsc, lds_version=None))
    assert sod.lds_object_version == 0 and (sod.lds_version, sod.unicode_version) == (None, None)
    assert (sod.hash_algorithm, sod.hash_algorithm_oid) == ("sha256", SHA256)
    assert sod.dg_hashes == _hashes() and sorted(sod.dg_hashes) == [1, 2, 13, 14, 15]
    assert sod.content_type == LDS_SECURITY_OBJECT
    # the spec's field names, on the bytes the SOD carries
    spec = LDSSecurityObject.load(sod.econtent)
    assert spec["version"].native == 0 and spec["hashAlgorithm"]["algorithm"].dotted == SHA256
    assert [e["dataGroupNumber"].native for e in spec["dataGroupHashValues"]] == [1, 2, 13, 14, 15]
    assert spec["dataGroupHashValues"][0]["dataGroupHashValue"].native == _hashes()[1]
    assert spec["ldsVersionInfo"].native is None


def test_v1_with_lds_version_info(pki):
    sod = parse_sod(p.build_sod(CCCD_DGS, pki.dsc.key, pki.dsc, hash_alg="sha384", lds_version=("0108", "040000")))
    assert sod.lds_object_version == 1 and (sod.lds_version, sod.unicode_version) == ("0108", "040000")
    assert sod.hash_algorithm == "sha384" and sod.dg_hashes == _hashes("sha384")
    info = LDSSecurityObject.load(sod.econtent)["ldsVersionInfo"]
    assert (info["ldsVersion"].chosen.native, info["unicodeVersion"].chosen.native) == ("0108", "040000")


def test_v1_version_strings_in_utf8_are_read_as_before():
    utf8 = _lds(p.integer(1), p.alg_id(SHA256, b"\x05\x00"), _entries(_hashes()),
                p.seq(p.tlv(0x0C, b"0107"), p.tlv(0x0C, b"040000")))
    fields = parse_lds_security_object(utf8)
    assert (fields["lds_version"], fields["unicode_version"]) == ("0107", "040000")


def test_real_sods_give_their_expected_hashes(real_sods):
    versions = {}
    for sample in real_sods:
        sod = parse_sod(bytes.fromhex(sample["sod"]))
        assert sod.dg_hashes[1].hex() == sample["dg1_hash"].lower(), sample["label"]
        assert sod.dg_hashes[2].hex() == sample["dg2_hash"].lower(), sample["label"]
        assert (sod.lds_version or "", sod.unicode_version or "") == (sample["lds_version"], sample["unicode_version"])
        versions[sample["label"]] = sod.lds_object_version
    assert versions == {"DE": 1, "FR": 0, "MY": 0, "US": 0}


def test_the_received_bytes_are_hashed_not_a_re_encoding(pki):
    """A BER long-form length where DER wants the short form: read as is, and the signature (over
    the hash of the bytes as received) verifies; a re-encoding would change the hash."""
    entries = b"".join(p.seq(p.integer(n), p.octets(h)) for n, h in sorted(_hashes().items()))
    body = p.integer(0) + p.alg_id(SHA256) + b"\x30\x82" + len(entries).to_bytes(2, "big") + entries
    ber = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    assert LDSSecurityObject.load(ber).dump(force=True) != ber  # DER would differ
    sod = parse_sod(p.build_sod(CCCD_DGS, pki.dsc.key, pki.dsc, econtent=ber))
    assert sod.econtent == ber and sod.econtent in sod.raw and sod.dg_hashes == _hashes()
    key = load_certificate(sod.certificates[0]).public_key
    assert cms.check_signer(sod.signer, sod.econtent, sod.content_type, key).valid


@pytest.mark.parametrize("econtent,match", [
    (_lds(p.integer(0), p.alg_id(SHA256), _entries(_hashes()), p.seq(p.printable("0108"), p.printable("040000"))),
     "not v1"),
    (_lds(p.integer(1), p.alg_id(SHA256), _entries(_hashes()), p.seq(p.printable("0108"), p.printable("040000")),
          p.integer(5)), "found 5 elements"),
    (_lds(p.integer(1), p.alg_id(SHA256), _entries(_hashes()), p.seq(p.printable("0108"))), "malformed"),
    (_lds(p.integer(0), p.seq(p.oid(SHA256), b"\x05\x00", b"\x05\x00"), _entries(_hashes())), "hashAlgorithm"),
    (_lds(p.integer(0), p.alg_id(SHA256), p.seq()), "empty"),
    (_lds(p.integer(0), p.alg_id(SHA256), p.seq(*(p.seq(p.integer(1 + i % 16), p.octets(b"\x00" * 32))
                                                  for i in range(17)))), "at most 16"),
    (_lds(p.integer(0), p.alg_id(SHA256), p.seq(p.seq(p.integer(1), p.integer(7)))), "malformed"),
    (_lds(p.integer(0), p.alg_id(SHA256), p.seq(p.seq(p.integer(1 << 800), p.octets(b"\x00" * 32)))), "out of range"),
    (_lds(p.integer(1 << 4000), p.alg_id(SHA256), _entries(_hashes())), "out of range"),
    (_lds(p.tlv(0x02, b""), p.alg_id(SHA256), _entries(_hashes())), "empty INTEGER"),
    (_lds(p.integer(0), p.alg_id(SHA256), _entries(_hashes())) + b"\x00", "malformed"),
    (p.tlv(0x31, p.integer(0) + p.alg_id(SHA256) + _entries(_hashes())), "malformed"),
    (b"", "malformed"),
], ids=["info-in-v0", "five-fields", "short-info", "alg-three-fields", "no-hashes", "seventeen", "hash-not-octets",
        "huge-dg-number", "huge-version", "empty-version", "trailing", "set-not-sequence", "nothing"])
def test_malformed_lds_security_objects_are_parse_errors(econtent, match):
    with pytest.raises(ParseError, match=match):
        parse_lds_security_object(econtent)


def test_hostile_sizes_and_oids_are_limit_errors():
    with pytest.raises(LimitExceededError, match="at most 4096"):
        parse_lds_security_object(_lds(p.integer(0), p.alg_id(SHA256), _entries(_hashes()),
                                       p.octets(b"\x00" * MAX_LDS_SECURITY_OBJECT_BYTES)))
    many_arcs = "1.2." + ".".join(["1"] * 60)
    with pytest.raises(LimitExceededError, match="OBJECT IDENTIFIER"):
        parse_lds_security_object(_lds(p.integer(0), p.alg_id(many_arcs), _entries(_hashes())))


def test_deep_indefinite_nesting_inside_the_content_is_refused():
    deep = b"\x30\x80" * 1000 + b"\x00\x00" * 1000
    with pytest.raises(ParseError):
        parse_lds_security_object(_lds(p.integer(0), p.alg_id(SHA256, deep), _entries(_hashes())))


_V1 = _lds(p.integer(1), p.alg_id(SHA256, b"\x05\x00"), _entries(_hashes()), p.seq(p.printable("0108"), p.printable("040000")))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_random_mutations_give_project_errors_only(data):
    buf = bytearray(_V1)
    for _ in range(data.draw(st.integers(1, 4))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        buf = buf[: data.draw(st.integers(0, len(buf)))]
    try:
        fields = parse_lds_security_object(bytes(buf))
    except ParseError:
        return
    assert fields["lds_object_version"] in (0, 1) and 1 <= len(fields["dg_hashes"]) <= 16
    assert all(1 <= n <= 16 and isinstance(h, bytes) for n, h in fields["dg_hashes"].items())
