"""Elliptic-curve and modular Diffie-Hellman arithmetic for PACE, CA, AA and passive authentication.

The one implementation of point arithmetic in chipid. Short Weierstrass curves
y^2 = x^3 + a*x + b over GF(p) given by a :class:`verifier.icao.curves.CurveParams`
(BSI TR-03111 §2.3, ICAO 9303-11 §9.5); only ever called with the named curves of
:data:`verifier.icao.curves.CURVES` (explicit parameters are matched to those first).
Jacobian coordinates internally, affine :class:`Point` outside. Not constant-time:
the terminal's ephemeral keys live for one session and the emulated chip is a test
device; correctness and input validation are what matter here.

Also: uncompressed point encoding 04||X||Y (BSI TR-03111 §3.2.1), ECDH / DH shared
secrets (x-coordinate / integer, as octet strings of the field size, TR-03111 §4.3.1,
ICAO 9303-11 §9.6), ECDSA (TR-03111 §4.2.1, SEC 1 §4.1.4), used for plain r||s
signatures of Active Authentication and for certificates on the curves ``cryptography``
lacks (brainpoolP192r1, P224r1, P320r1).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import NamedTuple

from verifier.errors import ParseError, VerificationError
from verifier.icao.curves import CurveParams


class Point(NamedTuple):
    """An affine point other than the point at infinity (which is ``None`` here).

    A named tuple, so that it also compares equal to a plain ``(x, y)``.
    """

    x: int
    y: int


# --- points ----------------------------------------------------------------------


def generator(curve: CurveParams) -> Point:
    return Point(curve.gx, curve.gy)


def is_on_curve(curve: CurveParams, point: Point | None) -> bool:
    """True when ``point`` is a finite point with coordinates in [0, p) satisfying the equation."""
    return point is not None and curve.contains(point.x, point.y)


# --- Jacobian arithmetic (X, Y, Z) with x = X/Z^2, y = Y/Z^3; Z == 0 is infinity ---

_INF = (1, 1, 0)


def _to_jac(pt: Point | None) -> tuple[int, int, int]:
    return _INF if pt is None else (pt.x, pt.y, 1)


def _from_jac(curve: CurveParams, j: tuple[int, int, int]) -> Point | None:
    x, y, z = j
    if z == 0:
        return None
    p = curve.p
    zi = pow(z, -1, p)
    zi2 = zi * zi % p
    return Point(x * zi2 % p, y * zi2 * zi % p)


def _jac_double(curve: CurveParams, j: tuple[int, int, int]) -> tuple[int, int, int]:
    x, y, z = j
    if z == 0 or y == 0:
        return _INF
    p = curve.p
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + curve.a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    z3 = 2 * y * z % p
    return (x3, y3, z3)


def _jac_add(curve: CurveParams, j1: tuple[int, int, int], j2: tuple[int, int, int]) -> tuple[int, int, int]:
    x1, y1, z1 = j1
    x2, y2, z2 = j2
    if z1 == 0:
        return j2
    if z2 == 0:
        return j1
    p = curve.p
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    if u1 == u2:
        if s1 != s2:
            return _INF
        return _jac_double(curve, j1)
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - s1 * hhh) % p
    z3 = h * z1 * z2 % p
    return (x3, y3, z3)


def _jac_mul(curve: CurveParams, k: int, j: tuple[int, int, int]) -> tuple[int, int, int]:
    result = _INF
    for bit in bin(k)[2:] if k > 0 else "":
        result = _jac_double(curve, result)
        if bit == "1":
            result = _jac_add(curve, result, j)
    return result


def _jac_mul2(curve: CurveParams, k1: int, j1: tuple[int, int, int], k2: int,
              j2: tuple[int, int, int]) -> tuple[int, int, int]:
    """k1*P1 + k2*P2 in one pass of doublings (Shamir's trick), as ECDSA verification needs."""
    j12 = _jac_add(curve, j1, j2)
    result = _INF
    for i in range(max(k1.bit_length(), k2.bit_length()) - 1, -1, -1):
        result = _jac_double(curve, result)
        b1, b2 = (k1 >> i) & 1, (k2 >> i) & 1
        if b1 and b2:
            result = _jac_add(curve, result, j12)
        elif b1:
            result = _jac_add(curve, result, j1)
        elif b2:
            result = _jac_add(curve, result, j2)
    return result


def point_add(curve: CurveParams, p1: Point | None, p2: Point | None) -> Point | None:
    """P1 + P2 (``None`` is the point at infinity)."""
    return _from_jac(curve, _jac_add(curve, _to_jac(p1), _to_jac(p2)))


def point_double(curve: CurveParams, pt: Point | None) -> Point | None:
    return _from_jac(curve, _jac_double(curve, _to_jac(pt)))


def point_neg(curve: CurveParams, pt: Point | None) -> Point | None:
    return None if pt is None else Point(pt.x, (-pt.y) % curve.p)


def scalar_mult(curve: CurveParams, k: int, pt: Point | None) -> Point | None:
    """k * P by double-and-add; k is reduced modulo n (negative k allowed)."""
    k %= curve.n
    if k == 0 or pt is None:
        return None
    return _from_jac(curve, _jac_mul(curve, k, _to_jac(pt)))


def generic_map(curve: CurveParams, s: int, h: Point) -> Point:
    """PACE generic mapping G~ = s*G + H (ICAO 9303-11 §4.4.3.3.1).

    ``h`` is the shared point of the mapping key agreement. Raises ``VerificationError``
    when the result is the point at infinity (the protocol must then be aborted).
    """
    g = _jac_mul(curve, s % curve.n, (curve.gx, curve.gy, 1))
    mapped = _from_jac(curve, _jac_add(curve, g, _to_jac(h)))
    if mapped is None:
        raise VerificationError("generic mapping produced the point at infinity")
    return mapped


# --- encoding ---------------------------------------------------------------------


def encode_point(curve: CurveParams, pt: Point) -> bytes:
    """Uncompressed encoding 04 || X || Y, each coordinate of the field size (TR-03111 §3.2.1)."""
    if pt is None:
        raise VerificationError("cannot encode the point at infinity")
    size = curve.field_bytes
    return b"\x04" + pt.x.to_bytes(size, "big") + pt.y.to_bytes(size, "big")


def decode_point(curve: CurveParams, data: bytes, *, what: str = "EC point") -> Point:
    """Decode an uncompressed point and validate it (TR-03111 §3.2.1, §4.3.2.2 public key validation).

    Rejects the point at infinity (``00``), compressed forms, wrong lengths, coordinates
    out of range and points not on the curve, each with a :class:`ParseError` naming
    what was expected and what was found.
    """
    data = bytes(data)
    size = curve.field_bytes
    if data == b"\x00":
        raise ParseError(f"{what}: the point at infinity is not an acceptable public key")
    if not data or data[0] != 0x04:
        first = f"{data[0]:02X}" if data else "nothing"
        raise ParseError(f"{what}: expected uncompressed encoding starting with 04, found {first}")
    if len(data) != 1 + 2 * size:
        raise ParseError(f"{what}: expected {1 + 2 * size} bytes for {curve.name}, found {len(data)}")
    pt = Point(int.from_bytes(data[1 : 1 + size], "big"), int.from_bytes(data[1 + size :], "big"))
    if not is_on_curve(curve, pt):
        raise ParseError(f"{what}: point is not on curve {curve.name}")
    if curve.h != 1 and scalar_mult_raw(curve, curve.n, pt) is not None:
        raise ParseError(f"{what}: point is not in the subgroup of order n of {curve.name}")
    return pt


def scalar_mult_raw(curve: CurveParams, k: int, pt: Point) -> Point | None:
    """k * P without reducing k modulo n (used for the subgroup check)."""
    return _from_jac(curve, _jac_mul(curve, k, _to_jac(pt)))


def int_to_bytes(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


# --- ECDH -------------------------------------------------------------------------


def generate_private_key(curve: CurveParams) -> int:
    """A uniformly random private key in [1, n-1]."""
    return secrets.randbelow(curve.n - 1) + 1


def public_key(curve: CurveParams, d: int, g: Point | None = None) -> Point:
    """d * G, or d * g for a mapped generator."""
    pt = scalar_mult(curve, d, g if g is not None else generator(curve))
    if pt is None:
        raise VerificationError("private key yields the point at infinity")
    return pt


def ecdh_point(curve: CurveParams, d: int, peer: Point) -> Point:
    """Shared point d * Q (after checking Q is on the curve). Infinity is an error."""
    if not is_on_curve(curve, peer):
        raise VerificationError(f"peer public key is not on curve {curve.name}")
    shared = scalar_mult(curve, d * curve.h, peer) if curve.h != 1 else scalar_mult(curve, d, peer)
    if shared is None:
        raise VerificationError("ECDH produced the point at infinity")
    return shared


def ecdh(curve: CurveParams, d: int, peer: Point) -> bytes:
    """ECKA shared secret: the x-coordinate of d*Q as a field-size octet string (TR-03111 §4.3.1)."""
    return int_to_bytes(ecdh_point(curve, d, peer).x, curve.field_bytes)


# --- ECDSA with plain signatures (BSI TR-03111 §4.2.1.1, §5.2.1) ---------------------


def _hash_to_int(curve: CurveParams, digest: bytes) -> int:
    e = int.from_bytes(digest, "big")
    excess = len(digest) * 8 - curve.n.bit_length()
    if excess > 0:
        e >>= excess
    return e


def ecdsa_sign(curve: CurveParams, d: int, digest: bytes) -> bytes:
    """Plain signature r || s, each of the order's byte length (for the emulated chip)."""
    e = _hash_to_int(curve, digest)
    size = curve.order_bytes
    while True:
        k = generate_private_key(curve)
        r_pt = scalar_mult(curve, k, generator(curve))
        r = r_pt.x % curve.n
        if r == 0:
            continue
        s = pow(k, -1, curve.n) * (e + r * d) % curve.n
        if s == 0:
            continue
        return int_to_bytes(r, size) + int_to_bytes(s, size)


def ecdsa_verify(curve: CurveParams, q: Point, digest: bytes, signature: bytes) -> bool:
    """Verify a plain r || s signature over a precomputed digest. Returns False when it does not verify."""
    if len(signature) % 2 or not signature:
        return False
    half = len(signature) // 2
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    return ecdsa_verify_rs(curve, q, digest, r, s)


def ecdsa_verify_rs(curve: CurveParams, q: Point, digest: bytes, r: int, s: int) -> bool:
    """ECDSA verification of (r, s) over a precomputed digest (BSI TR-03111 §4.2.1.2, SEC 1 §4.1.4).

    ``digest`` is truncated to the bit length of n as SEC 1 requires. Returns False when r or s
    is out of [1, n-1], when ``q`` is not on the curve, or when the signature does not verify.
    """
    n = curve.n
    if not (0 < r < n and 0 < s < n):
        return False
    if not is_on_curve(curve, q):
        return False
    e = _hash_to_int(curve, digest)
    w = pow(s, -1, n)
    j = _jac_mul2(curve, e * w % n, (curve.gx, curve.gy, 1), r * w % n, _to_jac(q))
    pt = _from_jac(curve, j)
    return pt is not None and pt.x % n == r


# --- modular Diffie-Hellman (PKCS #3 / X9.42; ICAO 9303-11 §9.6 for DH-based CA) ---


@dataclass(frozen=True)
class DHParams:
    """Modular DH group: prime ``p``, generator ``g``, optional subgroup order ``q``."""

    p: int
    g: int
    q: int | None = None

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8


def dh_generate_private_key(params: DHParams) -> int:
    bound = params.q if params.q else params.p - 1
    return secrets.randbelow(bound - 2) + 2


def dh_public_key(params: DHParams, x: int) -> int:
    return pow(params.g, x, params.p)


def dh_check_public(params: DHParams, y: int, *, what: str = "DH public key") -> None:
    """Public key validation: 1 < y < p-1 and, with a known q, y^q == 1 mod p."""
    if not 1 < y < params.p - 1:
        raise VerificationError(f"{what}: expected 1 < y < p-1, found a value outside that range")
    if params.q and pow(y, params.q, params.p) != 1:
        raise VerificationError(f"{what}: not in the subgroup of order q")


def dh_shared(params: DHParams, x: int, peer: int) -> bytes:
    """Shared secret peer^x mod p as an octet string of the size of p (ICAO 9303-11 §9.6)."""
    dh_check_public(params, peer, what="peer DH public key")
    return int_to_bytes(pow(peer, x, params.p), params.size)



# --- RFC 5114 groups: PACE standardized domain parameters 0, 1, 2 (ICAO 9303-11 §9.5.1) ---

RFC5114_1024_160 = DHParams(
    int("B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E2EE652C0"
        "13ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0A151AF"
        "5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371", 16),
    int("A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F5504F213"
        "160217B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28AD662A4"
        "D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5", 16),
    int("F518AA8781A8DF278ABA4E7D64B7CB9D49462353", 16),
)
RFC5114_2048_224 = DHParams(
    int("AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75E6FA141DF95A56DBAF9A3C407BA1DF15"
        "EB3D688A309C180E1DE6B85A1274A0A66D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207"
        "C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A317091883681286130BC8985DB1602E714415D9330"
        "278273C7DE31EFDC7310F7121FD5A07415987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8"
        "BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29E3FB73C16B8E75B97EF363E2FFA31F71"
        "CF9DE5384E71B81C0AC4DFFE0C10E64F", 16),
    int("AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3A6824A4E10B9A6F0DD921F01A70C4AFA"
        "AB739D7700C29F52C57DB17C620A8652BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A"
        "E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D119529A45D6F834566E3025E316A330EF"
        "BB77A86F0C1AB15B051AE3D428C8F8ACB70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381"
        "B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD7B5A0F1C71CFFF4C19C418E1F6EC0179"
        "81BC087F2A7065B384B890D3191F2BFA", 16),
    int("801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB", 16),
)
RFC5114_2048_256 = DHParams(
    int("87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00E00DF8F1D61957D4FAF7DF4561B2AA30"
        "16C3D91134096FAA3BF4296D830E9A7C209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B"
        "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76B63ACAE1CAA6B7902D52526735488A0E"
        "F13C6D9A51BFA4AB3AD8347796524D8EF6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026"
        "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103A4B54330C198AF126116D2276E11715F"
        "693877FAD7EF09CADB094AE91E1A1597", 16),
    int("3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA12510DBC15077BE463FFF4FED4AAC0BB555"
        "BE3A6C1B0C6B47B1BC3773BF7E8C6F62901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B"
        "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193B5045AF2767164E1DFC967C1FB3F2E55"
        "A4BD1BFFE83B9C80D052B985D182EA0ADB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915"
        "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C32F63078490F00EF8D647D148D4795451"
        "5E2327CFEF98C582664B4C0F6CC41659", 16),
    int("8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3", 16),
)
