"""The one SubjectPublicKeyInfo parser: the chip's keys of DG14 (Chip Authentication) and DG15
(Active Authentication), and the keys of X.509 certificates (:func:`verifier.trust.certs.load_public_key`).

ICAO 9303-11 §9.2.6 (ChipAuthenticationPublicKeyInfo: id-PK-ECDH / id-PK-DH, or the X.509
algorithms), ICAO 9303-11 §6.1 / DG15 (RSA or EC), RFC 5280 §4.1.2.7 and RFC 3279 §2.3 (RSA,
DH, EC keys in certificates; RFC 4055 §1.2 for RSASSA-PSS keys), BSI TR-03111 §5.1.1 (EC
parameters). The structures are asn1crypto specs with the spec's field names; the DER read is
kept by the callers (for hashing and fingerprints), never re-encoded.

EC domain parameters may be a named-curve OID or explicit (SpecifiedECDomain); explicit
parameters are accepted only when they equal one of the named curves of
:mod:`verifier.icao.curves` (crafted curves are refused, :class:`TrustError`), implicitlyCA
(absent or NULL parameters: the curve is not stated) is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import core, keys

from verifier.errors import LimitExceededError, ParseError, TrustError
from verifier.icao import curves, ecc, tlv
from verifier.icao.curves import CurveParams
from verifier.icao.ecc import DHParams, Point

ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
ID_PK_DH = "0.4.0.127.0.7.2.2.1.1"
ID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
DH_PUBLIC_NUMBER = "1.2.840.10046.2.1"
DH_KEY_AGREEMENT = "1.2.840.113549.1.3.1"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
RSASSA_PSS = "1.2.840.113549.1.1.10"  # RFC 4055 §1.2: an RSA key restricted to PSS
_RSA_ALGS = (RSA_ENCRYPTION, RSASSA_PSS)

_EC_ALGS = (ID_EC_PUBLIC_KEY, ID_PK_ECDH)
_DH_ALGS = (DH_PUBLIC_NUMBER, ID_PK_DH, DH_KEY_AGREEMENT)

#: Largest SubjectPublicKeyInfo accepted (an 8192-bit DH key with explicit parameters fits).
MAX_SPKI_BYTES = 4096
MAX_RSA_BITS = 8192
MAX_DH_BITS = 8192

#: What asn1crypto raises on malformed input, lazily, when a field is first read: a wrong-typed
#: value (an EC parameter given as a REAL has no ``native``: AttributeError), an empty BIT STRING
#: (IndexError), ... Every one becomes a :class:`ParseError` here.
_ASN1_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)


@dataclass(frozen=True)
class ECPublicKey:
    curve: CurveParams
    point: Point
    algorithm: str  # dotted OID of the SPKI algorithm
    explicit_parameters: bool = False  # SpecifiedECDomain (matched to ``curve``) rather than a curve OID


@dataclass(frozen=True)
class DHPublicKey:
    params: DHParams
    y: int
    algorithm: str


@dataclass(frozen=True)
class RSAPublicKey:
    n: int
    e: int
    algorithm: str = RSA_ENCRYPTION

    @property
    def bits(self) -> int:
        return self.n.bit_length()


PublicKey = ECPublicKey | DHPublicKey | RSAPublicKey


# The project's own declarations (field names as in the ASN.1 of the RFCs cited); asn1crypto's
# ``keys.PublicKeyInfo`` is not used, as it names the fields ``algorithm``/``public_key`` and
# decodes the key on access. asn1crypto's ``keys.ECDomainParameters`` (and its names) reads
# the EC parameters below.


class _AlgorithmIdentifier(core.Sequence):
    """AlgorithmIdentifier (RFC 5280 §4.1.1.2)."""

    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _SubjectPublicKeyInfo(core.Sequence):
    """SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the BIT STRING kept as its octets (0 unused bits)."""

    _fields = [("algorithm", _AlgorithmIdentifier), ("subjectPublicKey", core.OctetBitString)]


class _DomainParameters(core.Sequence):
    """X9.42 DomainParameters (RFC 3279 §2.3.3); PKCS #3 DHParameter shares the first two (p, g)."""

    _fields = [
        ("p", core.Integer),
        ("g", core.Integer),
        ("q", core.Integer, {"optional": True}),
        ("j", core.Integer, {"optional": True}),
        ("validationParms", core.Any, {"optional": True}),
    ]


class _RSAPublicKey(core.Sequence):
    """RSAPublicKey (RFC 3279 §2.3.1, RFC 8017 App. A.1.1)."""

    _fields = [("modulus", core.Integer), ("publicExponent", core.Integer)]


def _curve_from_params(params_der: bytes | None, what: str) -> CurveParams:
    if not params_der:
        raise TrustError(f"{what}: EC key with implicitlyCA parameters: the curve is not stated, refused")
    try:
        dom = keys.ECDomainParameters.load(params_der)
        kind = dom.name
        chosen = dom.chosen
        if kind == "named":
            oid = chosen.dotted
            found = curves.BY_OID.get(oid)
            if found is None:
                raise TrustError(f"{what}: unsupported named curve {oid}")
            return found
        if kind == "specified":
            field = chosen["field_id"]
            if field["field_type"].dotted != "1.2.840.10045.1.1":
                raise TrustError(f"{what}: explicit EC parameters over a field that is not a prime field "
                                 f"({field['field_type'].dotted}): refused")
            p = field["parameters"].native
            a = chosen["curve"]["a"].native
            b = chosen["curve"]["b"].native
            base = chosen["base"].native
            n = chosen["order"].native
            h = chosen["cofactor"].native if chosen["cofactor"].native is not None else None
        else:
            raise TrustError(f"{what}: EC key with implicitlyCA parameters: the curve is not stated, refused")
    except _ASN1_ERRORS as e:
        raise ParseError(f"{what}: malformed EC domain parameters") from e
    return curves.CURVES[curves.match_explicit_point(p, a, b, base, n, h)]


def _decompress(curve: CurveParams, key_bytes: bytes) -> bytes:
    """A compressed point (X9.62 02/03 || x, allowed in certificates) as 04 || x || y, through
    ``cryptography`` for the curves it knows; anything else is left to :func:`ecc.decode_point`."""
    if not key_bytes or key_bytes[0] not in (2, 3):
        return key_bytes
    crypto_curve = curves.cryptography_curve(curve.name)
    if crypto_curve is None:
        return key_bytes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(crypto_curve, key_bytes)
    except ValueError as e:
        raise ParseError(f"EC public key: the point is not a valid point on {curve.name}") from e
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def parse_public_key(spki_der: bytes, *, what: str = "SubjectPublicKeyInfo",
                     algorithms: frozenset[str] | None = None) -> PublicKey:
    """Interpret a SubjectPublicKeyInfo as an EC, DH or RSA public key, validating it.

    EC points are decoded and checked to lie on the curve; DH keys are range-checked.
    Raises :class:`ParseError` on malformed input and :class:`TrustError` on unsupported
    or crafted curves, and on an algorithm outside ``algorithms`` when given (certificates
    take RSA and EC keys only).
    """
    spki_der = bytes(spki_der)
    if len(spki_der) > MAX_SPKI_BYTES:
        raise LimitExceededError(f"{what}: {len(spki_der)} bytes, at most {MAX_SPKI_BYTES} allowed")
    rsa = _plain_rsa(spki_der)
    if rsa is not None:
        alg, params_der, key_bytes = RSA_ENCRYPTION, None, b""
    else:
        alg, params_der, key_bytes = _read_spki(spki_der, what)
    if algorithms is not None and alg not in algorithms:
        raise TrustError(f"{what}: unsupported public key algorithm {alg}: expected one of {', '.join(sorted(algorithms))}")

    if alg in _EC_ALGS:
        curve = _curve_from_params(params_der, what)
        point = ecc.decode_point(curve, _decompress(curve, key_bytes), what=f"{what} EC public key")
        return ECPublicKey(curve, point, alg, explicit_parameters=not params_der.startswith(b"\x06"))

    if alg in _DH_ALGS:
        if not params_der:
            raise ParseError(f"{what}: DH key without domain parameters")
        try:
            dp = _DomainParameters.load(params_der, strict=True)
            p, g = dp["p"].native, dp["g"].native
            # X9.42 has q as third element; PKCS #3 has privateValueLength there (not a prime order).
            q = dp["q"].native if alg != DH_KEY_AGREEMENT else None
            y = core.Integer.load(key_bytes, strict=True).native
        except _ASN1_ERRORS as e:
            raise ParseError(f"{what}: malformed DH parameters or public key") from e
        if p.bit_length() > MAX_DH_BITS:
            raise LimitExceededError(f"{what}: DH prime of {p.bit_length()} bits, at most {MAX_DH_BITS} allowed")
        if p < 3 or not 1 < g < p:
            raise ParseError(f"{what}: DH parameters out of range")
        dh = DHParams(p, g, q)
        try:
            ecc.dh_check_public(dh, y, what=f"{what} DH public key")
        except Exception as e:
            raise ParseError(str(e)) from e
        return DHPublicKey(dh, y, alg)

    if alg in _RSA_ALGS:
        if rsa is None:
            try:
                key = _RSAPublicKey.load(key_bytes, strict=True)
                rsa = key["modulus"].native, key["publicExponent"].native
            except _ASN1_ERRORS as e_:
                raise ParseError(f"{what}: malformed RSAPublicKey") from e_
        n, e = rsa
        if n.bit_length() > MAX_RSA_BITS:
            raise LimitExceededError(f"{what}: RSA modulus of {n.bit_length()} bits, at most {MAX_RSA_BITS} allowed")
        if n < 3 or e < 3 or e >= n or n % 2 == 0 or e % 2 == 0:
            raise ParseError(f"{what}: RSA public key out of range")
        return RSAPublicKey(n, e, alg)

    raise ParseError(f"{what}: unsupported public key algorithm {alg}: expected EC, DH or RSA")


def _read_spki(spki_der: bytes, what: str) -> tuple[str, bytes | None, bytes]:
    """(algorithm OID, parameters DER or None when absent or NULL, subjectPublicKey octets) through the
    asn1crypto specs: any shape, and every refusal."""
    try:
        spki = _SubjectPublicKeyInfo.load(spki_der, strict=True)
    except _ASN1_ERRORS as e:
        raise ParseError(f"{what}: malformed SubjectPublicKeyInfo") from e
    try:
        alg = spki["algorithm"]["algorithm"].dotted
        params = spki["algorithm"]["parameters"]
        # Absent or NULL parameters are "none"; anything else is kept as bytes, never interpreted here.
        params_der = None if isinstance(params, core.Void) else params.dump()
        if params_der in (b"", b"\x05\x00"):
            params_der = None
    except _ASN1_ERRORS as e:
        raise ParseError(f"{what}: malformed SubjectPublicKeyInfo: public key AlgorithmIdentifier") from e
    try:
        bit_string = spki["subjectPublicKey"]
        if bit_string.contents and bit_string.contents[0] != 0:
            raise ParseError(f"{what}: subjectPublicKey BIT STRING has {bit_string.contents[0]} unused bits, expected 0")
        key_bytes = bit_string.native
    except _ASN1_ERRORS as e:
        raise ParseError(f"{what}: malformed SubjectPublicKeyInfo: subjectPublicKey BIT STRING") from e
    if key_bytes is None:
        raise ParseError(f"{what}: missing subjectPublicKey")
    return alg, params_der, key_bytes


#: The contents of the rsaEncryption OBJECT IDENTIFIER (1.2.840.113549.1.1.1).
_RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")


def _plain_rsa(spki: bytes) -> tuple[int, int] | None:
    """(modulus, publicExponent) of an rsaEncryption SubjectPublicKeyInfo in plain DER (every DG15 of a
    CCCD; :func:`verifier.icao.tlv.der_elements`): parameters NULL or absent, a BIT STRING without unused
    bits holding exactly an RSAPublicKey of two non-empty INTEGERs, nothing after either. Read in place in
    a few microseconds; None for anything else (the asn1crypto specs then read it, and decide every
    refusal). What it accepts, the specs read to the same two numbers: tests hold the two together."""
    outer = tlv.der_elements(spki, 0, len(spki))
    fields = outer and len(outer) == 1 and outer[0][0] == 0x30 and tlv.der_elements(spki, outer[0][1], outer[0][2])
    if not fields or len(fields) != 2 or fields[0][0] != 0x30 or fields[1][0] != 0x03:
        return None
    (_, alg_start, alg_end), (_, bits_start, bits_end) = fields
    alg = tlv.der_elements(spki, alg_start, alg_end)
    if (not alg or len(alg) > 2 or alg[0][0] != 0x06 or spki[alg[0][1] : alg[0][2]] != _RSA_ENCRYPTION_OID
            or len(alg) == 2 and (alg[1][0] != 0x05 or alg[1][1] != alg[1][2])):
        return None
    key = bits_start < bits_end and spki[bits_start] == 0 and tlv.der_elements(spki, bits_start + 1, bits_end)
    ints = key and len(key) == 1 and key[0][0] == 0x30 and tlv.der_elements(spki, key[0][1], key[0][2])
    if not ints or len(ints) != 2:
        return None
    (n_tag, n_start, n_end), (e_tag, e_start, e_end) = ints
    if n_tag != 0x02 or e_tag != 0x02 or n_start == n_end or e_start == e_end:
        return None
    return int.from_bytes(spki[n_start:n_end], "big", signed=True), int.from_bytes(spki[e_start:e_end], "big", signed=True)


# --- encoders (personalisation of emulated chips) ----------------------------------------


def _spki(alg: str, params_der: bytes | None, key_bytes: bytes) -> bytes:
    alg_id = _AlgorithmIdentifier({"algorithm": alg})
    if params_der is not None:
        alg_id["parameters"] = core.Any.load(params_der)
    return _SubjectPublicKeyInfo({"algorithm": alg_id, "subjectPublicKey": key_bytes}).dump()


def ec_spki(curve: CurveParams, point: Point, *, algorithm: str = ID_EC_PUBLIC_KEY, explicit: bool = False) -> bytes:
    """SubjectPublicKeyInfo of an EC key, named curve or explicit parameters (as many states issue)."""
    if explicit:
        size = curve.field_bytes
        params = keys.ECDomainParameters(
            name="specified",
            value={
                "version": "ecdpVer1",
                "field_id": {"field_type": "prime_field", "parameters": curve.p},
                "curve": {"a": curve.a.to_bytes(size, "big"), "b": curve.b.to_bytes(size, "big")},
                "base": ecc.encode_point(curve, ecc.generator(curve)),
                "order": curve.n,
                "cofactor": curve.h,
            },
        ).dump()
    else:
        params = core.ObjectIdentifier(curve.oid).dump()
    return _spki(algorithm, params, ecc.encode_point(curve, point))


def dh_spki(params: DHParams, y: int, *, algorithm: str = DH_PUBLIC_NUMBER) -> bytes:
    dp = {"p": params.p, "g": params.g}
    if params.q:
        dp["q"] = params.q
    return _spki(algorithm, _DomainParameters(dp).dump(), core.Integer(y).dump())


def rsa_spki(n: int, e: int) -> bytes:
    return _spki(RSA_ENCRYPTION, core.Null().dump(), _RSAPublicKey({"modulus": n, "publicExponent": e}).dump())
