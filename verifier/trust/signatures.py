"""Signature and digest algorithms of ICAO 9303-12 §4.1 / RFC 5652 and their verification.

Accepted: RSA PKCS#1 v1.5 (RFC 8017 §8.2), RSASSA-PSS with explicit parameters
(RFC 4055 §3.1), ECDSA with DER signatures (X9.62, RFC 5758 §3.2) and with plain
``r || s`` signatures (BSI TR-03111 §5.2.1, OIDs 0.4.0.127.0.7.1.1.4.1.x), over
SHA-1/224/256/384/512. MD5 and RIPEMD-160 are refused (:class:`VerificationError`),
as are unknown algorithms. ECDSA on Brainpool curves that ``cryptography`` lacks
(P192r1, P224r1, P320r1) is verified with the pure-Python arithmetic of
:mod:`verifier.icao.ecc` (public values only).

:func:`verify` returns True/False for a signature that could be checked and raises
:class:`VerificationError` when it cannot even be attempted (refused algorithm, key type
mismatch, malformed parameters).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from verifier.errors import ParseError, VerificationError
from verifier.icao import curves, ecc
from verifier.trust import der

#: Digest algorithm OIDs (RFC 3279, RFC 5754) -> name.
DIGESTS: dict[str, str] = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.2.5": "md5",
    "1.3.36.3.2.1": "ripemd160",
}
DIGEST_OIDS: dict[str, str] = {v: k for k, v in DIGESTS.items()}
#: Digests refused outright as broken.
REFUSED_DIGESTS = frozenset({"md5", "ripemd160"})
DIGEST_SIZES = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64, "md5": 16, "ripemd160": 20}

RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
RSASSA_PSS = "1.2.840.113549.1.1.10"
MGF1 = "1.2.840.113549.1.1.8"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"

#: Signature algorithm OID -> (family, digest name or None when the digest comes from elsewhere).
SIGNATURES: dict[str, tuple[str, str | None]] = {
    RSA_ENCRYPTION: ("rsa-pkcs1", None),
    "1.2.840.113549.1.1.4": ("rsa-pkcs1", "md5"),
    "1.2.840.113549.1.1.5": ("rsa-pkcs1", "sha1"),
    "1.2.840.113549.1.1.14": ("rsa-pkcs1", "sha224"),
    "1.2.840.113549.1.1.11": ("rsa-pkcs1", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa-pkcs1", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa-pkcs1", "sha512"),
    RSASSA_PSS: ("rsa-pss", None),
    EC_PUBLIC_KEY: ("ecdsa", None),
    "1.2.840.10045.4.1": ("ecdsa", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
    # BSI TR-03111 §5.2.1 ecdsa-plain-signatures
    "0.4.0.127.0.7.1.1.4.1.1": ("ecdsa-plain", "sha1"),
    "0.4.0.127.0.7.1.1.4.1.2": ("ecdsa-plain", "sha224"),
    "0.4.0.127.0.7.1.1.4.1.3": ("ecdsa-plain", "sha256"),
    "0.4.0.127.0.7.1.1.4.1.4": ("ecdsa-plain", "sha384"),
    "0.4.0.127.0.7.1.1.4.1.5": ("ecdsa-plain", "sha512"),
    "0.4.0.127.0.7.1.1.4.1.6": ("ecdsa-plain", "ripemd160"),
}

_NAMES = {
    RSA_ENCRYPTION: "rsaEncryption", RSASSA_PSS: "RSASSA-PSS", EC_PUBLIC_KEY: "id-ecPublicKey",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption", "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption", "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption", "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1", "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256", "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "0.4.0.127.0.7.1.1.4.1.1": "ecdsa-plain-SHA1", "0.4.0.127.0.7.1.1.4.1.2": "ecdsa-plain-SHA224",
    "0.4.0.127.0.7.1.1.4.1.3": "ecdsa-plain-SHA256", "0.4.0.127.0.7.1.1.4.1.4": "ecdsa-plain-SHA384",
    "0.4.0.127.0.7.1.1.4.1.5": "ecdsa-plain-SHA512", "0.4.0.127.0.7.1.1.4.1.6": "ecdsa-plain-RIPEMD160",
}


def algorithm_name(oid: str) -> str:
    """A readable name for a signature algorithm OID (the OID itself when unknown)."""
    return _NAMES.get(oid, oid)


def _hash_obj(name: str) -> hashes.HashAlgorithm:
    table = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
             "sha384": hashes.SHA384, "sha512": hashes.SHA512}
    if name in REFUSED_DIGESTS:
        raise VerificationError(f"digest algorithm {name.upper()} is refused as broken; expected SHA-1 or SHA-2")
    if name not in table:
        raise VerificationError(f"unsupported digest algorithm {name!r}: expected SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512")
    return table[name]()


def digest_name(oid: str) -> str:
    """Name of a digest OID; unknown OIDs raise :class:`VerificationError`."""
    name = DIGESTS.get(oid)
    if name is None:
        raise VerificationError(f"unknown digest algorithm OID {oid}: expected SHA-1 or SHA-2")
    return name


def digest(name: str, data: bytes) -> bytes:
    """Hash ``data`` with the named algorithm (SHA-1/SHA-2 only; MD5 refused)."""
    _hash_obj(name)
    return hashlib.new(name, data).digest()


@dataclass(frozen=True)
class PssParams:
    hash: str
    mgf_hash: str
    salt_length: int
    trailer: int = 1


def algorithm_identifier(node: der.Node, what: str) -> tuple[str, bytes | None]:
    """AlgorithmIdentifier (RFC 5280 §4.1.1.2) -> (OID, raw parameters; None when absent or NULL)."""
    parts = node.expect(der.SEQUENCE, what, constructed=True).children()
    if not parts or len(parts) > 2:
        raise ParseError(f"{what}: expected an OID and optional parameters, found {len(parts)} elements")
    params = parts[1].raw if len(parts) == 2 and not parts[1].is_(der.NULL) else None
    return parts[0].as_oid(what), params


def parse_pss_params(params_raw: bytes | None) -> PssParams:
    """RSASSA-PSS-params (RFC 4055 §3.1); absent fields take the defaults (SHA-1, MGF1-SHA-1, 20, 1)."""
    h, mgf_h, salt, trailer = "sha1", "sha1", 20, 1
    if params_raw:
        node = der.parse(params_raw, "RSASSA-PSS parameters")
        if node.is_(der.NULL):
            raise VerificationError("RSASSA-PSS without parameters (NULL): expected RSASSA-PSS-params")
        node.expect(der.SEQUENCE, "RSASSA-PSS parameters", constructed=True)
        for field in node.children():
            if field.cls != der.CONTEXT or not field.constructed:
                raise ParseError(f"RSASSA-PSS parameters: unexpected {field.describe()}")
            inner = field.children()
            if len(inner) != 1:
                raise ParseError("RSASSA-PSS parameters: each field holds exactly one value")
            value = inner[0]
            if field.number == 0:
                h = digest_name(algorithm_identifier(value, "PSS hash algorithm")[0])
            elif field.number == 1:
                mgf_oid, mgf_params = algorithm_identifier(value, "PSS mask generation function")
                if mgf_oid != MGF1:
                    raise VerificationError("RSASSA-PSS with a mask generation function other than MGF1")
                if mgf_params is None:
                    raise ParseError("RSASSA-PSS MGF1 without its hash algorithm parameter")
                mgf_h = digest_name(algorithm_identifier(der.parse(mgf_params, "MGF1 parameters"),
                                                         "MGF1 hash algorithm")[0])
            elif field.number == 2:
                salt = value.as_int("PSS salt length", 4)
            elif field.number == 3:
                trailer = value.as_int("PSS trailer field", 4)
            else:
                raise ParseError(f"RSASSA-PSS parameters: unknown field [{field.number}]")
    if trailer != 1:
        raise VerificationError(f"RSASSA-PSS trailer field {trailer}: only 1 (0xBC) is defined")
    if salt < 0 or salt > 1024:
        raise VerificationError(f"RSASSA-PSS salt length {salt} out of range")
    return PssParams(h, mgf_h, salt, trailer)


def describe(sig_oid: str, params_raw: bytes | None, digest_oid: str | None = None) -> dict:
    """What a signature algorithm means, for reports: family, hash, PSS parameters."""
    family, h = SIGNATURES.get(sig_oid, ("unknown", None))
    out: dict = {"oid": sig_oid, "name": algorithm_name(sig_oid), "family": family}
    if family == "rsa-pss":
        try:
            p = parse_pss_params(params_raw)
            out.update(hash=p.hash, mgf1_hash=p.mgf_hash, salt_length=p.salt_length)
        except (ParseError, VerificationError) as e:
            out["error"] = str(e)
    else:
        out["hash"] = h or (DIGESTS.get(digest_oid, digest_oid) if digest_oid else None)
    return out


def _signature_hash(sig_oid: str, params_raw: bytes | None, digest_oid: str | None) -> tuple[str, str]:
    if sig_oid not in SIGNATURES:
        raise VerificationError(f"unsupported signature algorithm {sig_oid}: expected RSA (PKCS#1 v1.5 or PSS) or ECDSA")
    family, h = SIGNATURES[sig_oid]
    if family == "rsa-pss":
        h = parse_pss_params(params_raw).hash
    if h is None:
        if digest_oid is None:
            raise VerificationError(f"{algorithm_name(sig_oid)} names no hash and no digest algorithm was given")
        h = digest_name(digest_oid)
    _hash_obj(h)  # refuses MD5 / RIPEMD-160
    return family, h


def verify(public_key, sig_oid: str, params_raw: bytes | None, signature: bytes, message: bytes,
           digest_oid: str | None = None) -> bool:
    """Verify ``signature`` over ``message`` with ``public_key`` (a :class:`verifier.trust.certs.PublicKey`).

    ``digest_oid`` supplies the hash when the signature OID names none (rsaEncryption,
    id-ecPublicKey in SignerInfo.signatureAlgorithm, RFC 5652 §5.3). When the signature OID
    names a hash (sha256WithRSAEncryption, ecdsa-with-SHA384, RSASSA-PSS parameters), that
    hash is the one signed, as OpenSSL and BouncyCastle verify it; the SignerInfo's
    digestAlgorithm then governs only the message-digest attribute.
    """
    family, h = _signature_hash(sig_oid, params_raw, digest_oid)
    message_hash = hashlib.new(h, message).digest()
    return verify_digest(public_key, family, h, params_raw, signature, message_hash)


def verify_digest(public_key, family: str, h: str, params_raw: bytes | None, signature: bytes,
                  message_hash: bytes) -> bool:
    halg = _hash_obj(h)
    if family in ("rsa-pkcs1", "rsa-pss"):
        if public_key.algorithm != "rsa":
            raise VerificationError(f"an RSA signature but the signer's key is {public_key.algorithm.upper()}")
        key: rsa.RSAPublicKey = public_key.key
        if family == "rsa-pss":
            p = parse_pss_params(params_raw)
            pad = padding.PSS(mgf=padding.MGF1(_hash_obj(p.mgf_hash)), salt_length=p.salt_length)
        else:
            pad = padding.PKCS1v15()
        try:
            key.verify(signature, message_hash, pad, Prehashed(halg))
        except InvalidSignature:
            return False
        return True
    if family in ("ecdsa", "ecdsa-plain"):
        if public_key.algorithm != "ec":
            raise VerificationError(f"an ECDSA signature but the signer's key is {public_key.algorithm.upper()}")
        c = curves.CURVES[public_key.curve]
        try:
            r, s = _ecdsa_rs(signature, c, plain=family == "ecdsa-plain")
        except ParseError:
            return False
        if public_key.key is not None:
            try:
                public_key.key.verify(encode_dss_signature(r, s), message_hash, ec.ECDSA(Prehashed(halg)))
            except InvalidSignature:
                return False
            return True
        return ecc.ecdsa_verify_rs(c, public_key.point, message_hash, r, s)
    raise VerificationError(f"unsupported signature family {family}")


def _ecdsa_rs(signature: bytes, c: curves.CurveParams, *, plain: bool) -> tuple[int, int]:
    if plain:
        size = c.order_bytes
        if len(signature) != 2 * size:
            raise ParseError(f"plain ECDSA signature of {len(signature)} bytes, expected {2 * size} for {c.name}")
        return int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    node = der.parse(signature, "ECDSA signature")
    node.expect(der.SEQUENCE, "ECDSA signature", constructed=True)
    parts = node.children()
    if len(parts) != 2:
        raise ParseError(f"ECDSA signature: expected SEQUENCE of r and s, found {len(parts)} elements")
    r = parts[0].as_int("ECDSA r", c.order_bytes + 1)
    s = parts[1].as_int("ECDSA s", c.order_bytes + 1)
    if not (0 < r < c.n and 0 < s < c.n):
        raise ParseError("ECDSA r or s out of range")
    return r, s
