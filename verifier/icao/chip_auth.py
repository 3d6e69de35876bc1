"""Chip Authentication, terminal side (ICAO 9303-11 §6.2, §9.2.5-9.2.6; BSI TR-03110-1 §3.4).

The chip proves it holds the private key of the DG14 public key (signed by the SOD) by
agreeing fresh session keys with the terminal: the terminal sends an ephemeral public key
PK_IFD, both sides compute K = KA(SK_IC, PK_IFD) = KA(SK_IFD, PK_IC), and secure messaging
restarts with KS_enc = KDF(K, 1), KS_mac = KDF(K, 2), SSC 0. A clone without the key cannot
compute K, so its next secure-messaging response fails its MAC.

* 3DES protocols (id-CA-*-3DES, "CA version 1"): MSE:Set KAT ``00 22 41 A6`` with
  DO'91' PK_IFD and optionally DO'84' key id (ICAO 9303-11 §6.2.4.1).
* AES protocols: MSE:Set AT ``00 22 41 A4`` with DO'80' protocol OID and optionally DO'84'
  key id, then GENERAL AUTHENTICATE ``00 86 00 00`` with ``7C { 80 PK_IFD }`` (§6.2.4.2).

Both commands travel under the current (BAC/PACE) secure messaging; the response to the
last one is still protected with the old keys. :func:`perform_chip_authentication` returns
the new channel; the caller installs it (``session.replace_sm``) and must then read a file:
only a successful protected response proves the chip (the restart is the proof).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from verifier.errors import ChipError, ParseError, SecureMessagingError, VerificationError
from verifier.icao import ecc, tlv
from verifier.icao.apdu import Command, sw_text
from verifier.icao.chip_keys import DHPublicKey, ECPublicKey, parse_public_key
from verifier.icao.keys import derive_keys
from verifier.icao.lds.security_infos import (
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    encode_oid,
    ca_protocol_oid,
)
from verifier.icao.sm import SecureMessaging
from verifier.verdict import CHIP_AUTHENTICATION, Check, failed, passed

log = logging.getLogger(__name__)

STEP_SELECT = "CA choose key"
STEP_KAT = "CA MSE:Set KAT"
STEP_AT = "CA MSE:Set AT"
STEP_GA = "CA general authenticate"
STEP_CONFIRM = "CA confirm restart"

#: EF.DG14: a file every CA chip has, selected to prove the new keys work.
DG14_FID = 0x010E


@dataclass(frozen=True)
class CAResult:
    sm: SecureMessaging
    protocol: str
    key_id: int | None
    agreement: str  # "ECDH" or "DH"
    cipher: str
    key_bits: int
    assumed_protocol: bool  # True when DG14 had no ChipAuthenticationInfo and 3DES was assumed


def key_id_bytes(key_id: int) -> bytes:
    if key_id < 0:
        raise VerificationError(f"CA key id must be non-negative, found {key_id}")
    return key_id.to_bytes(max(1, (key_id.bit_length() + 7) // 8), "big")


def encode_ephemeral(key: ECPublicKey | DHPublicKey, public) -> bytes:
    """PK_IFD as sent: an uncompressed point (ECDH) or y as an octet string of the size of p (DH)."""
    if isinstance(key, ECPublicKey):
        return ecc.encode_point(key.curve, public)
    return ecc.int_to_bytes(public, key.params.size)


def shared_secret(key: ECPublicKey | DHPublicKey, private: int, peer_public) -> bytes:
    """K = KA(SK, PK) (ICAO 9303-11 §9.6): ECDH x-coordinate or DH integer, as octet strings."""
    if isinstance(key, ECPublicKey):
        return ecc.ecdh(key.curve, private, peer_public)
    return ecc.dh_shared(key.params, private, peer_public)


def select_key(dg14, key_id: int | None = None) -> tuple[ChipAuthenticationPublicKeyInfo, ChipAuthenticationInfo, bool]:
    """The CA public key (by key id, or the only / first one) and the protocol to run with it."""
    s = dg14.security_infos
    keys = s.chip_auth_keys
    if not keys:
        raise VerificationError("DG14 holds no ChipAuthenticationPublicKeyInfo: Chip Authentication is not possible",
                                step=STEP_SELECT)
    if key_id is not None:
        chosen = [k for k in keys if k.key_id == key_id]
        if not chosen:
            found = ", ".join(str(k.key_id) for k in keys)
            raise VerificationError(f"DG14 has no Chip Authentication key with key id {key_id}: found key ids {found}",
                                    step=STEP_SELECT)
        pk = chosen[0]
    else:
        pk = keys[0]
    agreement = pk.agreement
    infos = [i for i in s.chip_auth if i.agreement == agreement and i.cipher is not None
             and (i.key_id is None or pk.key_id is None or i.key_id == pk.key_id)]
    if infos:
        return pk, infos[0], False
    if s.chip_auth:
        found = ", ".join(f"{i.protocol} key id {i.key_id}" for i in s.chip_auth)
        raise VerificationError(f"no ChipAuthenticationInfo matches the {agreement} key with key id {pk.key_id}: "
                                f"found {found}", step=STEP_SELECT)
    # Early chips lack ChipAuthenticationInfo: 3DES is then implied (BSI TR-03110-3 A.1.1.2).
    log.debug("DG14 has no ChipAuthenticationInfo: assuming id-CA-%s-3DES-CBC-CBC", agreement)
    return pk, ChipAuthenticationInfo(ca_protocol_oid(agreement, "3DES", 112), 1, pk.key_id), True


def run_chip_authentication(session, dg14, key_id: int | None = None, *,
                            ephemeral_key: Callable[[object], int] | None = None) -> CAResult:
    """Run Chip Authentication over ``session.transmit`` and return the new channel (not yet installed)."""
    pk_info, info, assumed = select_key(dg14, key_id)
    try:
        key = parse_public_key(pk_info.public_key, what="DG14 Chip Authentication public key")
    except ParseError as e:
        raise ParseError(e.message, step=STEP_SELECT) from e
    if not isinstance(key, (ECPublicKey, DHPublicKey)):
        raise VerificationError("DG14 Chip Authentication key is neither ECDH nor DH", step=STEP_SELECT)
    if (info.agreement == "ECDH") != isinstance(key, ECPublicKey):
        raise VerificationError(f"protocol {info.protocol} does not match the {type(key).__name__} in DG14",
                                step=STEP_SELECT)
    cipher, key_bits = info.cipher
    kid = pk_info.key_id if pk_info.key_id is not None else info.key_id

    if isinstance(key, ECPublicKey):
        sk = (ephemeral_key or ecc.generate_private_key)(key.curve)
        pk = ecc.public_key(key.curve, sk)
        peer = key.point
    else:
        sk = (ephemeral_key or ecc.dh_generate_private_key)(key.params)
        pk = ecc.dh_public_key(key.params, sk)
        peer = key.y
    pk_ifd = encode_ephemeral(key, pk)
    kid_do = tlv.encode(0x84, key_id_bytes(kid)) if kid is not None else b""

    if cipher == "3DES":
        resp = session.transmit(Command(0x00, 0x22, 0x41, 0xA6, tlv.encode(0x91, pk_ifd) + kid_do))
        resp.require_ok(STEP_KAT)
    else:
        oid = encode_oid(info.protocol)[2:]
        resp = session.transmit(Command(0x00, 0x22, 0x41, 0xA4, tlv.encode(0x80, oid) + kid_do))
        resp.require_ok(STEP_AT)
        resp = session.transmit(Command(0x00, 0x86, 0x00, 0x00, tlv.encode(0x7C, tlv.encode(0x80, pk_ifd)), le=256))
        resp.require_ok(STEP_GA)
        if resp.data:
            try:
                outer = tlv.decode(resp.data)
            except ParseError as e:
                raise ChipError(f"malformed dynamic authentication data: {e.message}", step=STEP_GA) from e
            if outer.tag != 0x7C:
                raise ChipError(f"expected dynamic authentication data (tag 7C), found tag {outer.tag:02X}",
                                step=STEP_GA)

    k = shared_secret(key, sk, peer)
    sm = SecureMessaging(*derive_keys(k, cipher, key_bits), 0, cipher)
    log.debug("Chip Authentication keys agreed (%s, key id %s)", info.protocol, kid)
    return CAResult(sm, info.protocol, kid, info.agreement, cipher, key_bits, assumed)


def perform_chip_authentication(session, dg14, key_id: int | None = None, *,
                                ephemeral_key: Callable[[object], int] | None = None) -> SecureMessaging:
    """Chip Authentication (ICAO 9303-11 §6.2): returns the new :class:`SecureMessaging` (SSC 0).

    The caller calls ``session.replace_sm(sm)`` and then reads a file under the new keys:
    a :class:`verifier.errors.SecureMessagingError` on that read means the chip does not
    hold the DG14 private key (clone). Raises :class:`VerificationError` when DG14 gives
    nothing to authenticate with, :class:`StatusWordError` when the chip refuses.
    """
    return run_chip_authentication(session, dg14, key_id, ephemeral_key=ephemeral_key).sm


@dataclass(frozen=True)
class CAVerification:
    """Whether the chip followed the secure-messaging restart (the proof of Chip Authentication)."""

    valid: bool
    reason: str
    protocol: str = ""

    def to_check(self) -> Check:
        if self.valid:
            return passed(CHIP_AUTHENTICATION, f"chip proved possession of the DG14 key ({self.protocol})",
                          "Chip chứng minh sở hữu khóa bí mật của DG14 (chống nhân bản)", protocol=self.protocol)
        return failed(CHIP_AUTHENTICATION, f"Chip Authentication failed: {self.reason}: the chip may be a clone",
                      "Xác thực chip thất bại: chip có thể là bản sao", protocol=self.protocol)


def confirm_chip_authentication(session, protocol: str = "", fid: int = DG14_FID) -> CAVerification:
    """Send one protected SELECT under the new keys (already installed with ``session.replace_sm``).

    Only a response whose MAC verifies under the new keys with SW 9000 proves the chip;
    a MAC failure or the chip's plain 6987 / 6988 (it could not verify our MAC) means it
    does not hold the DG14 private key.
    """
    try:
        resp = session.transmit(Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))
    except SecureMessagingError as e:
        return CAVerification(False, f"the chip's first response under the new keys fails secure messaging "
                                     f"({e.message})", protocol)
    if resp.sw == 0x9000:
        return CAVerification(True, "the chip answered correctly under the new session keys", protocol)
    if resp.sw in (0x6987, 0x6988):
        return CAVerification(False, f"the chip could not verify our MAC under the new keys ({resp.sw:04X})",
                              protocol)
    return CAVerification(False, f"unexpected status {resp.sw:04X} ({sw_text(resp.sw)}) after the restart", protocol)
