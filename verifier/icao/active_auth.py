"""Active Authentication, terminal side (ICAO 9303-11 §6.1, §9.2.10; ISO/IEC 9796-2; BSI TR-03111).

The terminal sends INTERNAL AUTHENTICATE (``00 88 00 00 08 <challenge> 00``) with an
8-byte random challenge; the chip signs it with the private key whose public key is in
DG15 (hashed and signed by the SOD, so a clone that copied the files but not the key
fails here).

* RSA: ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery. The
  recovered message representative is ``6A || M1 || H(M1 || challenge) || trailer``;
  the trailer is ``BC`` (SHA-1 implicit) or two bytes ``<hash id> CC``
  (ISO/IEC 10118-3 hash identifiers: 38 SHA-224, 34 SHA-256, 36 SHA-384, 35 SHA-512,
  33 SHA-1).
* ECDSA: plain ``r || s`` (BSI TR-03111 §5.2.1) over the challenge, with the hash named by
  DG14's ActiveAuthenticationInfo signatureAlgorithm.

:func:`verify_active_auth` is pure and returns an :class:`AAVerification` (valid or not,
with the precise reason); it raises only when the check cannot even be attempted
(:class:`VerificationError`: unknown algorithm OID, unsupported key; :class:`ParseError`:
malformed DG15 key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field

from asn1crypto import core

from verifier.errors import ChipError, VerificationError
from verifier.icao import crypto, ecc
from verifier.icao.apdu import Command
from verifier.icao.chip_keys import ECPublicKey, RSAPublicKey, parse_public_key
from verifier.verdict import ACTIVE_AUTHENTICATION, Check, failed, passed

log = logging.getLogger(__name__)

STEP_AA = "AA internal authenticate"

#: ECDSA signature algorithm OIDs -> hash name (BSI TR-03111 §5.2.1 ecdsa-plain-*, ANSI X9.62 ecdsa-with-*).
ECDSA_OIDS: dict[str, str] = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
    "0.4.0.127.0.7.1.1.4.1.6": "ripemd160",
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
ECDSA_PLAIN_OID = {h: oid for oid, h in ECDSA_OIDS.items() if oid.startswith("0.4.0.127")}

#: ISO/IEC 9796-2 trailers: 1-byte implicit SHA-1, and 2-byte hash identifiers (ISO/IEC 10118-3).
TRAILER_IMPLICIT = 0xBC
HASH_IDS: dict[int, str] = {0x33: "sha1", 0x38: "sha224", 0x34: "sha256", 0x36: "sha384", 0x35: "sha512",
                            0x31: "ripemd160"}
HASH_ID_OF = {v: k for k, v in HASH_IDS.items()}

CHALLENGE_LENGTH = 8


@dataclass(frozen=True)
class AAVerification:
    """Outcome of verifying one Active Authentication response."""

    valid: bool
    reason: str
    algorithm: str = ""
    #: the challenge sent and the chip's answer, byte for byte (the contract's evidence: verifier/evidence.py)
    challenge: bytes = field(default=b"", repr=False, compare=False)
    signature: bytes = field(default=b"", repr=False, compare=False)

    def to_check(self) -> Check:
        if self.valid:
            return passed(ACTIVE_AUTHENTICATION, f"chip proved possession of the DG15 key ({self.algorithm})",
                          "Chip chứng minh sở hữu khóa bí mật của DG15 (chống nhân bản)", algorithm=self.algorithm)
        return failed(ACTIVE_AUTHENTICATION, f"Active Authentication failed: {self.reason}: the chip may be a clone",
                      "Xác thực chủ động thất bại: chip có thể là bản sao", algorithm=self.algorithm)


def _hash(name: str, data: bytes) -> bytes:
    try:
        return hashlib.new(name, data).digest()
    except ValueError as e:
        raise VerificationError(f"hash function {name} is not available here") from e


def _digest_size(name: str) -> int:
    return len(_hash(name, b""))


# --- RSA, ISO/IEC 9796-2 scheme 1 ------------------------------------------------------------


def _rsa_recover(key: RSAPublicKey, signature: bytes) -> bytes | str:
    """F = s^e mod n, choosing n - F when needed (ISO/IEC 9796-2 §B.6); a str is a failure reason."""
    k = (key.bits + 7) // 8
    if len(signature) != k:
        return f"signature of {len(signature)} bytes, expected {k} for an RSA-{key.bits} key"
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return "signature representative is not smaller than the modulus"
    f = pow(s, key.e, key.n)
    if f & 0x0F != 0x0C:
        f = key.n - f
    return f.to_bytes(k, "big")


def verify_rsa_9796_2(key: RSAPublicKey, challenge: bytes, signature: bytes) -> AAVerification:
    """ISO/IEC 9796-2 scheme 1, partial recovery: check header, trailer and H(M1 || challenge)."""
    f = _rsa_recover(key, signature)
    if isinstance(f, str):
        return AAVerification(False, f, f"RSA-{key.bits} ISO/IEC 9796-2")
    if f[-1] == TRAILER_IMPLICIT:
        hash_name, t = "sha1", 1
    elif f[-1] == 0xCC:
        hash_name, t = HASH_IDS.get(f[-2], ""), 2
        if not hash_name:
            return AAVerification(False, f"trailer {f[-2]:02X}CC names an unsupported hash function "
                                         f"(expected BC or 33CC/38CC/34CC/36CC/35CC)", f"RSA-{key.bits} ISO/IEC 9796-2")
    else:
        return AAVerification(False, f"wrong trailer {f[-1]:02X}: expected BC or xxCC (ISO/IEC 9796-2); "
                                     "wrong key or signature", f"RSA-{key.bits} ISO/IEC 9796-2")
    alg = f"RSA-{key.bits} ISO/IEC 9796-2 {hash_name.upper()}"
    hlen = _digest_size(hash_name)
    # Header: 01 (two bits), partial-recovery bit 1, then padding nibbles B..BA (usually none: 6A).
    if f[0] == 0x6A:
        start = 1
    elif f[0] == 0x6B:
        i = 1
        while i < len(f) and f[i] == 0xBB:
            i += 1
        if i >= len(f) or f[i] != 0xBA:
            return AAVerification(False, "malformed ISO/IEC 9796-2 padding after header 6B", alg)
        start = i + 1
    elif f[0] >> 4 == 0x4:
        return AAVerification(False, f"header {f[0]:02X} means total message recovery: expected partial "
                                     "recovery (6A) so that the challenge is signed", alg)
    else:
        return AAVerification(False, f"wrong header {f[0]:02X}: expected 6A (ISO/IEC 9796-2 partial recovery); "
                                     "wrong key or signature", alg)
    end = len(f) - t - hlen
    if end < start:
        return AAVerification(False, "modulus too small for the hash and trailer", alg)
    m1, digest = f[start:end], f[end:len(f) - t]
    if not crypto.constant_time_equal(_hash(hash_name, m1 + bytes(challenge)), digest):
        return AAVerification(False, "hash of the recovered message and the challenge does not match", alg)
    return AAVerification(True, "signature verifies", alg)


def sign_rsa_9796_2(n: int, d: int, challenge: bytes, m1: bytes | None = None, hash_name: str = "sha1",
                    *, trailer: bytes | None = None) -> bytes:
    """The chip's side of :func:`verify_rsa_9796_2` (emulator): ``(6A || M1 || H || T)^d mod n``.

    ``trailer`` overrides the trailer bytes (tests of wrong trailers).
    """
    k = (n.bit_length() + 7) // 8
    if trailer is None:
        trailer = bytes([TRAILER_IMPLICIT]) if hash_name == "sha1" else bytes([HASH_ID_OF[hash_name], 0xCC])
    hlen = _digest_size(hash_name)
    m1_len = k - 1 - hlen - len(trailer)
    if m1 is None:
        m1 = crypto.random_bytes(m1_len)
    if len(m1) != m1_len:
        raise VerificationError(f"M1 must be {m1_len} bytes for this key, found {len(m1)}")
    f = b"\x6A" + m1 + _hash(hash_name, m1 + bytes(challenge)) + trailer
    fi = int.from_bytes(f, "big")
    if fi >= n:
        raise VerificationError("message representative does not fit below the modulus")
    s = pow(fi, d, n)
    s = min(s, n - s)  # ISO/IEC 9796-2 allows either; use the smaller as many chips do
    return s.to_bytes(k, "big")


# --- ECDSA ---------------------------------------------------------------------------------


def _plain_signature(sig: bytes, size: int) -> bytes | None:
    if len(sig) == 2 * size:
        return sig
    try:  # a few chips answer with a DER SEQUENCE { r, s } instead of plain r || s
        seq = core.Sequence.load(sig, strict=True)
        if len(seq) != 2:
            return None
        r, s = (core.Integer.load(seq[i].dump()).native for i in range(2))
        if r < 0 or s < 0 or r.bit_length() > 8 * size or s.bit_length() > 8 * size:
            return None
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    except (ValueError, TypeError, KeyError):
        return None


def verify_ecdsa_aa(key: ECPublicKey, challenge: bytes, signature: bytes, signature_algorithm: str | None
                    ) -> AAVerification:
    size = key.curve.order_bytes
    if signature_algorithm is not None:
        if signature_algorithm not in ECDSA_OIDS:
            raise VerificationError(f"ActiveAuthenticationInfo names signature algorithm {signature_algorithm}: "
                                    f"expected one of the ECDSA OIDs {', '.join(sorted(ECDSA_OIDS))}",
                                    step=STEP_AA)
        hashes = [ECDSA_OIDS[signature_algorithm]]
    else:
        # ICAO 9303-11 §6.1 requires ActiveAuthenticationInfo for ECDSA; without it try each hash.
        hashes = ["sha256", "sha1", "sha224", "sha384", "sha512"]
    plain = _plain_signature(bytes(signature), size)
    base = f"ECDSA {key.curve.name}"
    if plain is None:
        return AAVerification(False, f"signature of {len(signature)} bytes: expected plain r||s of {2 * size} bytes",
                              base)
    for h in hashes:
        if ecc.ecdsa_verify(key.curve, key.point, _hash(h, bytes(challenge)), plain):
            return AAVerification(True, "signature verifies", f"{base} {h.upper()}")
    named = hashes[0].upper() if len(hashes) == 1 else "any of SHA-1/224/256/384/512"
    return AAVerification(False, f"ECDSA signature with {named} does not verify", base)


def verify_active_auth(spki_der: bytes, challenge: bytes, response: bytes, signature_algorithm: str | None = None
                       ) -> AAVerification:
    """Verify a chip's INTERNAL AUTHENTICATE answer against the DG15 key (ICAO 9303-11 §6.1).

    ``signature_algorithm`` is the OID from DG14's ActiveAuthenticationInfo (needed for ECDSA,
    ignored for RSA where the trailer names the hash).
    """
    key = parse_public_key(spki_der, what="DG15 public key")
    if isinstance(key, RSAPublicKey):
        return verify_rsa_9796_2(key, challenge, response)
    if isinstance(key, ECPublicKey):
        return verify_ecdsa_aa(key, challenge, response, signature_algorithm)
    raise VerificationError("DG15 holds a Diffie-Hellman key: Active Authentication needs RSA or ECDSA",
                            step=STEP_AA)


def internal_authenticate_command(challenge: bytes) -> Command:
    return Command(0x00, 0x88, 0x00, 0x00, bytes(challenge), le=256)


def perform_active_authentication(session, dg15, dg14=None, *, challenge: bytes | None = None) -> AAVerification:
    """Send INTERNAL AUTHENTICATE through ``session.transmit`` (secure messaging) and verify the answer.

    ``dg15``: a parsed :class:`verifier.icao.lds.dg15.DG15`; ``dg14``: the parsed DG14 (for
    ECDSA's signature algorithm), or None. Returns an :class:`AAVerification`; an unexpected
    status word raises :class:`StatusWordError`.
    """
    challenge = bytes(challenge) if challenge is not None else crypto.random_bytes(CHALLENGE_LENGTH)
    if len(challenge) != CHALLENGE_LENGTH:
        raise VerificationError(f"AA challenge must be {CHALLENGE_LENGTH} bytes, found {len(challenge)}")
    sig_alg = None
    if dg14 is not None and dg14.security_infos.active_auth is not None:
        sig_alg = dg14.security_infos.active_auth.signature_algorithm
    # Parse the key before talking to the chip: a malformed DG15 is not the chip's answer.
    parse_public_key(dg15.public_key_info, what="DG15 public key")
    resp = session.transmit(internal_authenticate_command(challenge))
    if not resp.require_ok(STEP_AA).data:
        raise ChipError("INTERNAL AUTHENTICATE returned no signature", step=STEP_AA)
    result = verify_active_auth(dg15.public_key_info, challenge, resp.data, sig_alg)
    log.debug("Active Authentication: %s (%s)", "valid" if result.valid else "INVALID", result.algorithm)
    return dataclasses.replace(result, challenge=challenge, signature=bytes(resp.data))

