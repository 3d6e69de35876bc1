"""The emulated chip's side of PACE, Chip Authentication and Active Authentication.

Sans-I/O state machines used by :class:`drivers.emulator.chip.EmulatedChip`; each returns
response data and a status word, and, where the protocol restarts secure messaging, the
chip's new :class:`SecureMessaging`. The response carrying that switch is still to be
protected with the *old* keys; the new channel applies from the next command on.

* :class:`PaceResponder`: PACE generic mapping, ECDH or DH (ICAO 9303-11 §4.4).
* :class:`ChipAuthResponder`: Chip Authentication with MSE:Set KAT (3DES) or MSE:Set AT +
  GENERAL AUTHENTICATE (AES) (ICAO 9303-11 §6.2).
* :class:`ActiveAuthResponder`: INTERNAL AUTHENTICATE, RSA ISO/IEC 9796-2 or plain ECDSA
  (ICAO 9303-11 §6.1).

Plus key generation for personalisation: :func:`make_chip_auth_key`,
:func:`make_active_auth_key`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Callable

from asn1crypto import core

from verifier.errors import ChipidError, InputError, ParseError
from verifier.icao import crypto, curves, ecc, pace, tlv
from verifier.icao.active_auth import ECDSA_PLAIN_OID, sign_rsa_9796_2
from verifier.icao.apdu import SW_CONDITIONS_NOT_SATISFIED, SW_OK, SW_WARNING_NO_INFO, SW_WRONG_DATA
from verifier.icao.chip_keys import ID_PK_DH, ID_PK_ECDH, dh_spki, ec_spki, rsa_spki
from verifier.icao.curves import CurveParams
from verifier.icao.ecc import DHParams, Point
from verifier.icao.keys import derive_keys
from verifier.icao.lds.security_infos import (
    CIPHER_SUFFIX,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    PACEInfo,
    ca_protocol_oid,
    parse_card_access,
    split_cipher_suffix,
)
from verifier.icao.sm import SecureMessaging

log = logging.getLogger(__name__)

#: "Referenced data not found" (ISO/IEC 7816-4 §5.6): unknown password, protocol or key id.
SW_REF_NOT_FOUND = 0x6A88


def _dyn(inner: bytes) -> bytes:
    return tlv.encode(0x7C, inner)


def _parse_dyn(data: bytes) -> dict[int, bytes] | None:
    try:
        outer = tlv.decode(data)
        if outer.tag != 0x7C:
            return None
        return {c.tag: c.value for c in outer.children()}
    except ParseError:
        return None


# --- keys for personalisation --------------------------------------------------------------


@dataclass(frozen=True)
class ECPrivateKey:
    curve: CurveParams
    d: int = field(repr=False)

    @property
    def public(self) -> Point:
        return ecc.public_key(self.curve, self.d)


@dataclass(frozen=True)
class DHPrivateKey:
    params: DHParams
    x: int = field(repr=False)

    @property
    def public(self) -> int:
        return ecc.dh_public_key(self.params, self.x)


@dataclass(frozen=True)
class RSAPrivateKey:
    n: int
    e: int
    d: int = field(repr=False)


def as_private_key(key) -> ECPrivateKey | DHPrivateKey | RSAPrivateKey:
    """Accept our key dataclasses or ``cryptography`` EC / RSA / DH private keys (as loaded from PEM profiles)."""
    if isinstance(key, (ECPrivateKey, DHPrivateKey, RSAPrivateKey)):
        return key
    from cryptography.hazmat.primitives.asymmetric import dh, ec, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ECPrivateKey(curves.curve(key.curve.name), key.private_numbers().private_value)
    if isinstance(key, rsa.RSAPrivateKey):
        nums = key.private_numbers()
        return RSAPrivateKey(nums.public_numbers.n, nums.public_numbers.e, nums.d)
    if isinstance(key, dh.DHPrivateKey):
        nums = key.private_numbers()
        pn = nums.public_numbers.parameter_numbers
        return DHPrivateKey(DHParams(pn.p, pn.g, pn.q), nums.x)
    raise InputError(f"unsupported private key type {type(key).__name__}: expected EC, RSA or DH")


def make_chip_auth_key(curve: str = "brainpoolP256r1", *, explicit: bool = False
                       ) -> tuple[ECPrivateKey | DHPrivateKey, bytes]:
    """A Chip Authentication key pair and its SubjectPublicKeyInfo (id-PK-ECDH / id-PK-DH) for DG14.

    ``curve``: a named curve of :mod:`verifier.icao.curves`, or "dh1024" (RFC 5114 group).
    """
    if curve.lower() in ("dh", "dh1024", "modp1024"):
        key = DHPrivateKey(ecc.RFC5114_1024_160, ecc.dh_generate_private_key(ecc.RFC5114_1024_160))
        return key, dh_spki(key.params, key.public, algorithm=ID_PK_DH)
    c = curves.curve(curve)
    key = ECPrivateKey(c, ecc.generate_private_key(c))
    return key, ec_spki(c, key.public, algorithm=ID_PK_ECDH, explicit=explicit)


def make_active_auth_key(kind: str = "rsa", *, bits: int = 1024, curve: str = "brainpoolP256r1"
                         ) -> tuple[RSAPrivateKey | ECPrivateKey, bytes]:
    """An Active Authentication key pair and its SubjectPublicKeyInfo for DG15 (RSA or EC)."""
    if kind == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa

        k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        nums = k.private_numbers()
        key = RSAPrivateKey(nums.public_numbers.n, nums.public_numbers.e, nums.d)
        return key, rsa_spki(key.n, key.e)
    if kind in ("ec", "ecdsa"):
        c = curves.curve(curve)
        key = ECPrivateKey(c, ecc.generate_private_key(c))
        return key, ec_spki(c, key.public)
    raise InputError(f"Active Authentication key kind {kind!r}: expected 'rsa' or 'ec'")


def chip_auth_infos(key: ECPrivateKey | DHPrivateKey, spki: bytes, *, cipher: str = "AES-128",
                    key_id: int | None = None) -> list:
    """The DG14 SecurityInfos for one CA key: ChipAuthenticationPublicKeyInfo + ChipAuthenticationInfo."""
    name, bits = pace.parse_cipher(cipher)
    agreement = "ECDH" if isinstance(key, ECPrivateKey) else "DH"
    return [ChipAuthenticationPublicKeyInfo(ID_PK_ECDH if agreement == "ECDH" else ID_PK_DH, spki, key_id),
            ChipAuthenticationInfo(ca_protocol_oid(agreement, name, bits), 1, key_id)]


# --- PACE -----------------------------------------------------------------------------------


class PaceResponder:
    """The chip's side of PACE generic mapping, ECDH or DH (ICAO 9303-11 §4.4.3, §4.4.4).

    ``password_for(ref)`` gives the PACE password (:func:`verifier.icao.keys.pace_password`
    form) for reference 1 (MRZ) or 2 (CAN), or None when the card has none. ``nonce`` and
    ``ephemeral_key`` exist for byte-exact tests (Appendix G); they default to a CSPRNG.
    """

    def __init__(self, password_for: Callable[[int], bytes | None], card_access: bytes, *,
                 nonce: Callable[[int], bytes] | None = None,
                 ephemeral_key: Callable[[object], int] | None = None) -> None:
        self.password_for = password_for
        self.infos = parse_card_access(card_access)
        self._nonce = nonce or crypto.random_bytes
        self._key = ephemeral_key  # None: the group's CSPRNG
        self.failures = 0
        self._reset()

    def reset(self) -> None:
        """Power cycle / new MSE: forget any PACE run in progress."""
        self._reset()

    def _reset(self) -> None:
        self.state = "idle"
        self.info: PACEInfo | None = None
        self.group: pace.ECGroup | pace.DHGroup | None = None
        self.password: bytes | None = None

    def mse_set_at(self, data: bytes) -> int:
        """MSE:Set AT (P1P2 = C1A4): select protocol, password and (optionally) parameter id."""
        self._reset()
        try:
            dos = {t.tag: t.value for t in tlv.decode_all(data)}
        except ParseError:
            return SW_WRONG_DATA
        if 0x80 not in dos or 0x83 not in dos or len(dos[0x83]) != 1:
            return SW_WRONG_DATA
        try:
            protocol = _decode_oid(dos[0x80])
        except ChipidError:
            return SW_WRONG_DATA
        param = int.from_bytes(dos[0x84], "big") if 0x84 in dos else None
        matches = [i for i in self.infos.pace if i.protocol == protocol and (param is None or i.parameter_id == param)]
        if not matches or not pace.supported(matches[0]):
            return SW_REF_NOT_FOUND
        password = self.password_for(dos[0x83][0])
        if password is None:
            return SW_REF_NOT_FOUND
        self.info = matches[0]
        self.group = pace.group_for(self.info)
        self.cipher, self.key_bits = self.info.cipher
        self.password = password
        self.state = "nonce"
        return SW_OK

    def general_authenticate(self, data: bytes, *, last: bool | None = None
                             ) -> tuple[bytes, int, SecureMessaging | None]:
        """One GENERAL AUTHENTICATE step; ``last`` is False for chained (CLA 10) commands, True for the final one."""
        dyn = _parse_dyn(data)
        if dyn is None:
            self._reset()
            return b"", SW_WRONG_DATA, None
        state = self.state
        if last is not None and last != (state == "token"):
            self._reset()
            return b"", SW_CONDITIONS_NOT_SATISFIED, None
        group = self.group
        try:
            if state == "nonce" and not dyn:
                block = 16 if self.cipher == "AES" else 8
                s = self._nonce(block)
                self.s = int.from_bytes(s, "big")
                z = pace.encrypt_nonce(pace.k_pi(self.password, self.cipher, self.key_bits), s, self.cipher)
                self.state = "map"
                return _dyn(tlv.encode(0x80, z)), SW_OK, None
            if state == "map" and 0x81 in dyn:
                pk_map_ifd = group.decode(dyn[0x81], "terminal's mapping key")
                sk_map = group.new_private(self._key)
                pk_map = group.public(sk_map)
                if pk_map == pk_map_ifd:
                    raise ParseError("terminal's mapping key equals ours")
                self.mapped = group.mapped(self.s, group.shared_element(sk_map, pk_map_ifd))
                self.state = "agree"
                return _dyn(tlv.encode(0x82, group.encode(pk_map))), SW_OK, None
            if state == "agree" and 0x83 in dyn:
                mapped = self.mapped
                self.pk_ifd_raw = dyn[0x83]
                pk_ifd = mapped.decode(self.pk_ifd_raw, "terminal's ephemeral key")
                sk = mapped.new_private(self._key)
                pk = mapped.public(sk)
                if pk == pk_ifd:
                    raise ParseError("terminal's ephemeral key equals ours")
                self.pk_raw = mapped.encode(pk)
                self.ks_enc, self.ks_mac = derive_keys(mapped.shared_secret(sk, pk_ifd), self.cipher, self.key_bits)
                self.state = "token"
                return _dyn(tlv.encode(0x84, self.pk_raw)), SW_OK, None
            if state == "token" and 0x85 in dyn:
                tag = self.mapped.key_tag
                expected = pace.authentication_token(self.ks_mac, self.info.protocol, self.pk_raw, self.cipher, tag)
                if not crypto.constant_time_equal(expected, dyn[0x85]):
                    self.failures += 1
                    self._reset()
                    return b"", SW_WARNING_NO_INFO, None
                t_ic = pace.authentication_token(self.ks_mac, self.info.protocol, self.pk_ifd_raw, self.cipher, tag)
                sm = SecureMessaging(self.ks_enc, self.ks_mac, 0, self.cipher)
                self._reset()
                return _dyn(tlv.encode(0x86, t_ic)), SW_OK, sm
        except ChipidError as e:
            log.debug("emulated PACE step %s refused: %s", state, e)
            self._reset()
            return b"", SW_WRONG_DATA, None
        self._reset()
        return b"", SW_CONDITIONS_NOT_SATISFIED, None


def _decode_oid(contents: bytes) -> str:
    """Dotted form of OID contents carried under a context tag (DO'80' of MSE:Set AT)."""
    try:
        return core.ObjectIdentifier.load(tlv.encode(0x06, contents)).dotted
    except (ValueError, TypeError) as e:
        raise ParseError("malformed object identifier") from e


# --- Chip Authentication --------------------------------------------------------------------


class ChipAuthResponder:
    """The chip's side of Chip Authentication (ICAO 9303-11 §6.2.4).

    ``private_key`` is the chip's static key (an :class:`ECPrivateKey` or :class:`DHPrivateKey`);
    ``key_id`` its key id in DG14, if any; ``protocol`` the CA protocol OID the chip runs
    (default: ECDH/DH with AES-128 per the key type). A clone is modelled by giving this
    responder a key that differs from the one in DG14.
    """

    def __init__(self, private_key: ECPrivateKey | DHPrivateKey, key_id: int | None = None, *,
                 protocol: str | None = None) -> None:
        self.key = as_private_key(private_key)
        if isinstance(self.key, RSAPrivateKey):
            raise InputError("a Chip Authentication key must be EC or DH, found RSA")
        self.key_id = key_id
        agreement = "ECDH" if isinstance(self.key, ECPrivateKey) else "DH"
        self.protocol = protocol or ca_protocol_oid(agreement, "AES", 128)
        self._selected: tuple[str, int] | None = None

    def _cipher_of(self, protocol: str) -> tuple[str, int] | None:
        fam = split_cipher_suffix(protocol)
        if protocol != self.protocol or fam is None:
            return None
        return CIPHER_SUFFIX[fam[1]]

    def _key_id_ok(self, dos: dict[int, bytes]) -> bool:
        if 0x84 not in dos:
            return True
        return self.key_id is not None and int.from_bytes(dos[0x84], "big") == self.key_id

    def _agree(self, pk_ifd_raw: bytes, cipher: str, bits: int) -> SecureMessaging:
        if isinstance(self.key, ECPrivateKey):
            peer = ecc.decode_point(self.key.curve, pk_ifd_raw)
            k = ecc.ecdh(self.key.curve, self.key.d, peer)
        else:
            k = ecc.dh_shared(self.key.params, self.key.x, int.from_bytes(pk_ifd_raw, "big"))
        return SecureMessaging(*derive_keys(k, cipher, bits), 0, cipher)

    def reset(self) -> None:
        self._selected = None

    def _dos(self, data: bytes) -> dict[int, bytes] | None:
        try:
            return {t.tag: t.value for t in tlv.decode_all(data)}
        except ParseError:
            return None

    def mse_set(self, data: bytes) -> int:
        """MSE:Set AT (P1P2 41A4, AES protocols): DO'80' protocol OID, optional DO'84' key id."""
        self._selected = None
        dos = self._dos(data)
        if dos is None or 0x80 not in dos:
            return SW_WRONG_DATA
        if not self._key_id_ok(dos):
            return SW_REF_NOT_FOUND
        try:
            protocol = _decode_oid(dos[0x80])
        except ChipidError:
            return SW_WRONG_DATA
        cipher = self._cipher_of(protocol)
        if cipher is None:
            return SW_REF_NOT_FOUND
        self._selected = cipher
        return SW_OK

    mse_set_at = mse_set

    def mse_set_kat(self, data: bytes) -> tuple[int, SecureMessaging | None]:
        """MSE:Set KAT (P1P2 41A6, 3DES protocols): DO'91' PK_IFD, optional DO'84' key id -> the new SM."""
        self._selected = None
        dos = self._dos(data)
        cipher = self._cipher_of(self.protocol)
        if dos is None or 0x91 not in dos or cipher is None or cipher[0] != "3DES":
            return SW_WRONG_DATA, None
        if not self._key_id_ok(dos):
            return SW_REF_NOT_FOUND, None
        try:
            return SW_OK, self._agree(dos[0x91], *cipher)
        except ChipidError:
            return SW_WRONG_DATA, None

    def general_authenticate(self, data: bytes) -> tuple[bytes, int, SecureMessaging | None]:
        """GENERAL AUTHENTICATE 7C { 80 PK_IFD } after MSE:Set AT: answers 7C 00 and the new SM."""
        selected, self._selected = self._selected, None
        if selected is None:
            return b"", SW_CONDITIONS_NOT_SATISFIED, None
        dyn = _parse_dyn(data)
        if dyn is None or 0x80 not in dyn:
            return b"", SW_WRONG_DATA, None
        try:
            sm = self._agree(dyn[0x80], *selected)
        except ChipidError:
            return b"", SW_WRONG_DATA, None
        return _dyn(b""), SW_OK, sm


# --- Active Authentication ------------------------------------------------------------------


class ActiveAuthResponder:
    """The chip's side of Active Authentication (ICAO 9303-11 §6.1).

    RSA keys sign with ISO/IEC 9796-2 scheme 1 (``hash_name`` "sha1" -> trailer BC, others
    -> xxCC); EC keys sign plain r||s over the challenge hashed with ``hash_name``
    (which must agree with DG14's ActiveAuthenticationInfo).
    """

    def __init__(self, private_key: RSAPrivateKey | ECPrivateKey, *, hash_name: str | None = None) -> None:
        self.key = as_private_key(private_key)
        if isinstance(self.key, DHPrivateKey):
            raise InputError("an Active Authentication key must be RSA or EC, found DH")
        self.hash_name = hash_name or ("sha1" if isinstance(self.key, RSAPrivateKey) else "sha256")

    @property
    def signature_algorithm(self) -> str | None:
        """The ActiveAuthenticationInfo OID for DG14 (EC keys only)."""
        if isinstance(self.key, ECPrivateKey):
            return ECDSA_PLAIN_OID[self.hash_name]
        return None

    def internal_authenticate(self, challenge: bytes) -> bytes:
        challenge = bytes(challenge)
        if isinstance(self.key, RSAPrivateKey):
            return sign_rsa_9796_2(self.key.n, self.key.d, challenge, hash_name=self.hash_name)
        digest = hashlib.new(self.hash_name, challenge).digest()
        return ecc.ecdsa_sign(self.key.curve, self.key.d, digest)

