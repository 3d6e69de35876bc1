"""verifier.icao.ecc: point arithmetic checked against `cryptography` and the ICAO 9303-11 Appendix G values."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from verifier.errors import ParseError, VerificationError
from verifier.icao import curves, ecc
from verifier.icao.ecc import Point

CRYPTO = {"brainpoolP256r1": ec.BrainpoolP256R1(), "secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1(),
          "brainpoolP384r1": ec.BrainpoolP384R1(), "brainpoolP512r1": ec.BrainpoolP512R1(), "secp521r1": ec.SECP521R1()}

BP256 = curves.CURVES["brainpoolP256r1"]


def H(s: str) -> int:
    return int(s, 16)


@pytest.mark.parametrize("name", sorted(CRYPTO))
def test_ecdh_matches_cryptography(name):
    c = curves.CURVES[name]
    d1, d2 = ecc.generate_private_key(c), ecc.generate_private_key(c)
    q2 = ecc.public_key(c, d2)
    k1 = ec.derive_private_key(d1, CRYPTO[name])
    k2 = ec.derive_private_key(d2, CRYPTO[name])
    assert (k2.public_key().public_numbers().x, k2.public_key().public_numbers().y) == (q2.x, q2.y)
    assert ecc.ecdh(c, d1, q2) == k1.exchange(ec.ECDH(), k2.public_key())


def test_appendix_g_mapping_points():
    # ICAO 9303-11 Appendix G.1: mapping key agreement H and the mapped generator.
    d_ifd = H("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99")
    d_ic = H("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560")
    pk_ifd = ecc.public_key(BP256, d_ifd)
    assert pk_ifd == Point(H("7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"),
                           H("544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"))
    pk_ic = ecc.public_key(BP256, d_ic)
    h = ecc.ecdh_point(BP256, d_ifd, pk_ic)
    assert h == ecc.ecdh_point(BP256, d_ic, pk_ifd)
    assert h == Point(H("60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"),
                      H("0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"))
    g = ecc.generic_map(BP256, H("3F00C4D39D153F2B2A214A078D899B22"), h)
    assert g == Point(H("8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"),
                      H("8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"))


def test_add_double_neg_identities():
    c = BP256
    g = ecc.generator(c)
    assert ecc.point_add(c, g, g) == ecc.point_double(c, g) == ecc.scalar_mult(c, 2, g)
    assert ecc.point_add(c, g, ecc.point_neg(c, g)) is None
    assert ecc.point_add(c, None, g) == g
    assert ecc.scalar_mult(c, c.n, g) is None
    assert ecc.scalar_mult(c, c.n + 5, g) == ecc.scalar_mult(c, 5, g)
    assert ecc.point_add(c, ecc.scalar_mult(c, 3, g), ecc.scalar_mult(c, 4, g)) == ecc.scalar_mult(c, 7, g)


def test_encode_decode_roundtrip_and_rejections():
    c = BP256
    q = ecc.public_key(c, 12345)
    enc = ecc.encode_point(c, q)
    assert len(enc) == 65 and enc[0] == 4
    assert ecc.decode_point(c, enc) == q
    with pytest.raises(ParseError, match="infinity"):
        ecc.decode_point(c, b"\x00")
    with pytest.raises(ParseError, match="starting with 04"):
        ecc.decode_point(c, b"\x02" + enc[1:33])
    with pytest.raises(ParseError, match="expected 65 bytes"):
        ecc.decode_point(c, enc[:-1])
    bad = bytearray(enc)
    bad[-1] ^= 1
    with pytest.raises(ParseError, match="not on curve"):
        ecc.decode_point(c, bytes(bad))
    with pytest.raises(ParseError):
        ecc.decode_point(c, b"")


def test_ecdh_rejects_off_curve_peer():
    with pytest.raises(VerificationError):
        ecc.ecdh(BP256, 5, Point(1, 1))


@pytest.mark.parametrize("name", ["brainpoolP256r1", "secp384r1"])
def test_ecdsa_plain_both_directions(name):
    c = curves.CURVES[name]
    d = ecc.generate_private_key(c)
    q = ecc.public_key(c, d)
    digest = hashlib.sha256(b"challenge").digest()
    sig = ecc.ecdsa_sign(c, d, digest)
    assert len(sig) == 2 * c.order_bytes
    assert ecc.ecdsa_verify(c, q, digest, sig)
    # cryptography accepts ours and we accept cryptography's
    key = ec.derive_private_key(d, CRYPTO[name])
    half = len(sig) // 2
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    key.public_key().verify(encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big")),
                            digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    r, s = decode_dss_signature(key.sign(b"challenge", ec.ECDSA(hashes.SHA256())))
    assert ecc.ecdsa_verify(c, q, digest, r.to_bytes(half, "big") + s.to_bytes(half, "big"))
    assert not ecc.ecdsa_verify(c, q, hashlib.sha256(b"other").digest(), sig)
    assert not ecc.ecdsa_verify(c, q, digest, b"\x00" * len(sig))
    assert not ecc.ecdsa_verify(c, q, digest, sig[:-1])


def test_dh_shared_and_checks():
    # RFC 5114 §2.1 1024-bit MODP group with 160-bit prime order subgroup (PACE parameter id 0).
    p = H("B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E2EE652C0"
          "13ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0A151AF"
          "5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371")
    g = H("A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F5504F213"
          "160217B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28AD662A4"
          "D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5")
    q = H("F518AA8781A8DF278ABA4E7D64B7CB9D49462353")
    params = ecc.DHParams(p, g, q)
    x1, x2 = ecc.dh_generate_private_key(params), ecc.dh_generate_private_key(params)
    y1, y2 = ecc.dh_public_key(params, x1), ecc.dh_public_key(params, x2)
    s = ecc.dh_shared(params, x1, y2)
    assert s == ecc.dh_shared(params, x2, y1) and len(s) == 128
    for bad in (0, 1, p - 1, p, 2):  # 2 is not in the order-q subgroup
        with pytest.raises(VerificationError):
            ecc.dh_shared(params, x1, bad)
