"""PACE, terminal side, generic mapping over elliptic curves (ICAO 9303-11 §4.4, §9.2.1, §9.5, Appendix G).

Sans-I/O apart from one callable: ``send(Command) -> Response`` carries the plain
(unprotected) APDUs. The protocol:

1. MSE:Set AT (``00 22 C1 A4``): protocol OID (DO'80'), password reference (DO'83':
   01 MRZ, 02 CAN) and, when EF.CardAccess is ambiguous, the parameter id (DO'84').
2. GENERAL AUTHENTICATE (chained, CLA 10) with dynamic authentication data ``7C``:
   encrypted nonce z (DO'80') -> s = D(K_pi, z), K_pi = KDF_pi(password) (§4.4.3.1).
3. Mapping: PK_map_IFD (DO'81') / PK_map_IC (DO'82'), H = SK_map_IFD * PK_map_IC,
   G~ = s*G + H (§4.4.3.3.1 generic mapping).
4. Key agreement on G~: PK_IFD (DO'83') / PK_IC (DO'84'), K = x(SK_IFD * PK_IC);
   KS_enc = KDF(K, 1), KS_mac = KDF(K, 2) (§9.7.1).
5. Mutual authentication (CLA 00): T_IFD = MAC(KS_mac, PK_IC data object) (DO'85') /
   T_IC = MAC(KS_mac, PK_IFD data object) (DO'86'); the data object is
   ``7F49 { 06 protocol OID, 86 public point }`` (§4.4.3.4, §9.4.3 / BSI TR-03110-3 D.3).

Secure messaging then starts with SSC 0. Supported: generic mapping with 3DES and
AES-128/192/256 over the standardized domain parameters of ICAO 9303-11 §9.5.1: ECDH on
ids 8-18 (NIST P-192..P-521, brainpoolP192r1..P512r1) and DH on ids 0-2 (RFC 5114
groups; public keys are then y as an octet string of the size of p, the token data object
carries DO'84' instead of DO'86', §4.4.3.3.1 g~ = g^s * h). The integrated and chip
authentication mappings are refused with a clear "not supported" error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from verifier.errors import (AccessDeniedError, ChipError, ChipidError, InputError, ParseError, ResponseFormatError,
                             VerificationError)
from verifier.icao import crypto, ecc, tlv
from verifier.icao.apdu import Command, Response
from verifier.icao.curves import CURVES, PACE_STANDARD_IDS, CurveParams
from verifier.icao.keys import KDF_PACE, BACKey, CANKey, derive_key, derive_keys, pace_password
from verifier.icao.lds.security_infos import (
    PACEInfo,
    SecurityInfos,
    encode_oid,
    encode_security_infos,
    pace_protocol_oid,
    parse_card_access,
)
from verifier.icao.sm import SecureMessaging

log = logging.getLogger(__name__)

#: Password references of MSE:Set AT (ICAO 9303-11 §4.4.4.1, table 4).
PASSWORD_MRZ = 0x01
PASSWORD_CAN = 0x02

#: Tags of the dynamic authentication data (ICAO 9303-11 §4.4.4.2, table 5).
TAG_DYN_AUTH = 0x7C
TAG_NONCE = 0x80
TAG_MAP_IFD = 0x81
TAG_MAP_IC = 0x82
TAG_PK_IFD = 0x83
TAG_PK_IC = 0x84
TAG_T_IFD = 0x85
TAG_T_IC = 0x86
TAG_PUBLIC_KEY = 0x7F49
TAG_EC_POINT = 0x86
TAG_DH_Y = 0x84

STEP_MSE = "PACE MSE:Set AT"
STEP_NONCE = "PACE GA 1 encrypted nonce"
STEP_MAP = "PACE GA 2 map nonce"
STEP_KA = "PACE GA 3 key agreement"
STEP_MA = "PACE GA 4 mutual authentication"


@dataclass(frozen=True)
class PaceResult:
    """What PACE established: the new secure-messaging channel and what was negotiated."""

    sm: SecureMessaging
    info: PACEInfo
    curve: str  # the curve name ("brainpoolP256r1") or the DH group ("RFC5114-1024-160")
    cipher: str
    key_bits: int
    password_ref: int


# --- pure building blocks (shared with the emulated chip) -------------------------------


def password_reference(key: BACKey | CANKey) -> int:
    return PASSWORD_MRZ if isinstance(key, BACKey) else PASSWORD_CAN


def k_pi(password: bytes, cipher: str, key_bits: int) -> bytes:
    """K_pi = KDF_pi(pi) = KDF(f(pi), 3) (ICAO 9303-11 §4.4.3.1, §9.7.3)."""
    return derive_key(password, KDF_PACE, cipher, key_bits)


def _cbc(cipher: str, key: bytes, data: bytes, decrypt: bool) -> bytes:
    if cipher == "AES":
        return (crypto.aes_cbc_decrypt if decrypt else crypto.aes_cbc_encrypt)(key, data)
    return (crypto.des3_cbc_decrypt if decrypt else crypto.des3_cbc_encrypt)(key, data)


def decrypt_nonce(key: bytes, z: bytes, cipher: str) -> bytes:
    """s = D(K_pi, z): block cipher in CBC mode with a zero IV (ICAO 9303-11 §4.4.3.1)."""
    block = 16 if cipher == "AES" else 8
    if not z or len(z) % block:
        raise ResponseFormatError(f"encrypted nonce must be a non-empty multiple of {block} bytes, found {len(z)}",
                                  step=STEP_NONCE)
    return _cbc(cipher, key, z, decrypt=True)


def encrypt_nonce(key: bytes, s: bytes, cipher: str) -> bytes:
    """z = E(K_pi, s) (the chip's side of :func:`decrypt_nonce`)."""
    return _cbc(cipher, key, s, decrypt=False)


def public_key_data_object(protocol: str, encoded_key: bytes, key_tag: int = TAG_EC_POINT) -> bytes:
    """``7F49 { 06 OID, 86 point }`` (ECDH) or ``7F49 { 06 OID, 84 y }`` (DH): the authentication
    token's input (ICAO 9303-11 §9.4.3, BSI TR-03110-3 D.3.4)."""
    return tlv.encode(TAG_PUBLIC_KEY, encode_oid(protocol) + tlv.encode(key_tag, encoded_key))


def authentication_token(ks_mac: bytes, protocol: str, encoded_key: bytes, cipher: str,
                         key_tag: int = TAG_EC_POINT) -> bytes:
    """T = MAC(KS_mac, PK data object), 8 bytes: AES-CMAC or 3DES retail MAC (ICAO 9303-11 §4.4.3.4, §9.8)."""
    data = public_key_data_object(protocol, encoded_key, key_tag)
    if cipher == "AES":
        return crypto.aes_cmac(ks_mac, data, 8)
    return crypto.retail_mac(ks_mac, crypto.pad(data, 8))


#: PACE standardized DH domain parameters (ICAO 9303-11 §9.5.1): RFC 5114 §2.1-2.3.
PACE_DH_IDS: dict[int, ecc.DHParams] = {0: ecc.RFC5114_1024_160, 1: ecc.RFC5114_2048_224, 2: ecc.RFC5114_2048_256}


class ECGroup:
    """PACE arithmetic over an elliptic curve with generator ``g`` (the curve's, then the mapped one)."""

    key_tag = TAG_EC_POINT

    def __init__(self, curve: CurveParams, g: ecc.Point | None = None) -> None:
        self.curve = curve
        self.g = g or ecc.generator(curve)
        self.name = curve.name

    @property
    def params(self):
        return self.curve

    def new_private(self, draw: Callable | None = None) -> int:
        return (draw or ecc.generate_private_key)(self.curve)

    def public(self, sk: int) -> ecc.Point:
        return ecc.public_key(self.curve, sk, self.g)

    def encode(self, pk: ecc.Point) -> bytes:
        return ecc.encode_point(self.curve, pk)

    def decode(self, raw: bytes, what: str) -> ecc.Point:
        return ecc.decode_point(self.curve, raw, what=what)

    def shared_element(self, sk: int, peer: ecc.Point) -> ecc.Point:
        return ecc.ecdh_point(self.curve, sk, peer)

    def shared_secret(self, sk: int, peer: ecc.Point) -> bytes:
        """K: the x-coordinate as an octet string of the field size (BSI TR-03111 §4.3.1)."""
        return ecc.ecdh(self.curve, sk, peer)

    def mapped(self, s: int, h: ecc.Point) -> "ECGroup":
        """Generic mapping G~ = s*G + H (ICAO 9303-11 §4.4.3.3.1)."""
        return ECGroup(self.curve, ecc.generic_map(self.curve, s, h))


class DHGroup:
    """PACE arithmetic in a prime-order subgroup of Z_p* with generator ``g``."""

    key_tag = TAG_DH_Y

    def __init__(self, params: ecc.DHParams, name: str = "", g: int | None = None) -> None:
        self.dh = params
        self.g = g if g is not None else params.g
        self.name = name or f"DH-{params.p.bit_length()}"

    @property
    def params(self):
        return self.dh

    def new_private(self, draw: Callable | None = None) -> int:
        return (draw or ecc.dh_generate_private_key)(self.dh)

    def public(self, sk: int) -> int:
        return pow(self.g, sk, self.dh.p)

    def encode(self, pk: int) -> bytes:
        return ecc.int_to_bytes(pk, self.dh.size)

    def decode(self, raw: bytes, what: str) -> int:
        if len(raw) != self.dh.size:
            raise ParseError(f"{what}: expected {self.dh.size} bytes for {self.name}, found {len(raw)}")
        y = int.from_bytes(raw, "big")
        try:
            ecc.dh_check_public(self.dh, y, what=what)
        except ChipidError as e:
            raise ParseError(e.message) from e
        return y

    def shared_element(self, sk: int, peer: int) -> int:
        return pow(peer, sk, self.dh.p)

    def shared_secret(self, sk: int, peer: int) -> bytes:
        """K = peer^sk mod p as an octet string of the size of p (ICAO 9303-11 §9.6)."""
        return ecc.int_to_bytes(self.shared_element(sk, peer), self.dh.size)

    def mapped(self, s: int, h: int) -> "DHGroup":
        """Generic mapping g~ = g^s * h mod p (ICAO 9303-11 §4.4.3.3.1)."""
        g = pow(self.dh.g, s, self.dh.p) * h % self.dh.p
        if g in (0, 1):
            raise VerificationError("generic mapping produced a degenerate generator")
        return DHGroup(self.dh, self.name, g)


def group_for(info: PACEInfo) -> ECGroup | DHGroup:
    """The domain parameters of a supported PACEInfo (ICAO 9303-11 §9.5.1 standardized ids)."""
    if info.agreement == "ECDH" and info.parameter_id in PACE_STANDARD_IDS:
        return ECGroup(CURVES[PACE_STANDARD_IDS[info.parameter_id]])
    if info.agreement == "DH" and info.parameter_id in PACE_DH_IDS:
        p = PACE_DH_IDS[info.parameter_id]
        return DHGroup(p, f"RFC5114-{p.p.bit_length()}-{p.q.bit_length()}")
    raise ChipError(f"PACE domain parameters {info.parameter_id} for {info.agreement}: not supported (expected a "
                    f"standardized id: 0-2 for DH, 8-18 for ECDH, ICAO 9303-11 §9.5.1)", step="PACE choose protocol")


def curve_for(info: PACEInfo) -> CurveParams:
    group = group_for(info)
    if not isinstance(group, ECGroup):
        raise ChipError(f"PACE parameter id {info.parameter_id} is not an elliptic curve", step="PACE choose protocol")
    return group.curve


def supported(info: PACEInfo) -> bool:
    if info.mapping != "GM" or info.cipher is None or info.version != 2:
        return False
    return (info.agreement == "ECDH" and info.parameter_id in PACE_STANDARD_IDS) or \
        (info.agreement == "DH" and info.parameter_id in PACE_DH_IDS)


def choose_pace_info(infos: SecurityInfos) -> PACEInfo:
    """The first PACEInfo this terminal supports, in the chip's order (ICAO 9303-11 §4.4.4)."""
    offered = infos.pace
    if not offered:
        raise ChipError("EF.CardAccess has no PACEInfo: the chip does not offer PACE", step="PACE choose protocol")
    for info in offered:
        if supported(info):
            return info
    found = ", ".join(f"{i.agreement or '?'}-{i.mapping or '?'} {i.protocol} v{i.version} param {i.parameter_id}"
                      for i in offered)
    raise ChipError(f"PACE: no supported protocol offered: expected generic mapping (version 2) with standardized "
                    f"domain parameters (ECDH 8-18, DH 0-2), found {found} (integrated and chip-authentication "
                    f"mapping and proprietary parameters are not supported)", step="PACE choose protocol")


def card_access_for(parameter_id: int, cipher: str = "AES-128") -> bytes:
    """EF.CardAccess with one PACEInfo, generic mapping, for personalising emulated chips.

    ``parameter_id``: 8-18 (ECDH) or 0-2 (DH); ``cipher``: "3DES", "AES-128", "AES-192" or "AES-256".
    """
    name, bits = parse_cipher(cipher)
    if parameter_id in PACE_STANDARD_IDS:
        agreement = "ECDH"
    elif parameter_id in PACE_DH_IDS:
        agreement = "DH"
    else:
        raise InputError(f"PACE parameter id {parameter_id}: expected a standardized id 0-2 (DH) or 8-18 (ECDH)")
    return encode_security_infos([PACEInfo(pace_protocol_oid(agreement, "GM", name, bits), 2, parameter_id)])


def parse_cipher(cipher: str) -> tuple[str, int]:
    c = cipher.upper().replace("_", "-")
    table = {"3DES": ("3DES", 112), "DESEDE": ("3DES", 112), "AES": ("AES", 128), "AES-128": ("AES", 128),
             "AES128": ("AES", 128), "AES-192": ("AES", 192), "AES192": ("AES", 192), "AES-256": ("AES", 256),
             "AES256": ("AES", 256)}
    if c not in table:
        raise InputError(f"cipher {cipher!r}: expected 3DES, AES-128, AES-192 or AES-256")
    return table[c]


def mse_set_at_data(info: PACEInfo, password_ref: int, with_parameter_id: bool = False) -> bytes:
    """Data of MSE:Set AT for PACE (ICAO 9303-11 §4.4.4.1)."""
    oid = encode_oid(info.protocol)[2:]  # contents of the OID, under tag 80
    data = tlv.encode(0x80, oid) + tlv.encode(0x83, bytes([password_ref]))
    if with_parameter_id and info.parameter_id is not None:
        data += tlv.encode(0x84, bytes([info.parameter_id]))
    return data


def parse_dyn_auth(data: bytes, tag: int, step: str, *, exchange: str = "response") -> tuple[bytes, dict[int, bytes]]:
    """Value of ``tag`` inside ``7C { ... }`` plus all inner objects; errors name the step."""
    try:
        outer = tlv.decode(data)
        if outer.tag != TAG_DYN_AUTH:
            raise ResponseFormatError(f"expected dynamic authentication data (tag 7C), found tag {outer.tag:02X}",
                                      step=step)
        inner = {c.tag: c.value for c in outer.children()}
    except ParseError as e:
        raise ResponseFormatError(f"malformed dynamic authentication data in the {exchange}: {e.message}",
                                  step=step) from e
    if tag not in inner:
        found = ", ".join(f"{t:02X}" for t in inner) or "nothing"
        raise ResponseFormatError(f"expected data object {tag:02X} in the {exchange}, found {found}", step=step)
    return inner[tag], inner


# --- the terminal -----------------------------------------------------------------------


def _general_authenticate(send: Callable[[Command], Response], tag: int | None, value: bytes, step: str,
                          last: bool, expect: int, *, denied_on_63xx: bool = False) -> bytes:
    data = tlv.encode(TAG_DYN_AUTH, tlv.encode(tag, value)) if tag is not None else tlv.encode(TAG_DYN_AUTH, b"")
    resp = send(Command(0x00 if last else 0x10, 0x86, 0x00, 0x00, data, le=256))
    if denied_on_63xx and (resp.sw >> 8 == 0x63 or resp.sw == 0x6982):
        raise AccessDeniedError("PACE authentication refused by the chip: wrong CAN / MRZ?", step=step, sw=resp.sw)
    return parse_dyn_auth(resp.require_ok(step).data, expect, step)[0]


def run_pace(send: Callable[[Command], Response], key: BACKey | CANKey, card_access: bytes | SecurityInfos, *,
             ephemeral_key: Callable[[object], int] | None = None) -> PaceResult:
    """Run PACE (ICAO 9303-11 §4.4) and return the new secure-messaging channel and the choice made.

    ``ephemeral_key`` draws the terminal's private keys (mapping, then key agreement) from
    the domain parameters (CurveParams or DHParams); it exists for the byte-exact
    Appendix G tests and defaults to a CSPRNG.
    """
    infos = card_access if isinstance(card_access, SecurityInfos) else parse_card_access(card_access)
    info = choose_pace_info(infos)
    group = group_for(info)
    cipher, key_bits = info.cipher
    ref = password_reference(key)
    ambiguous = sum(1 for i in infos.pace if i.protocol == info.protocol) > 1
    log.debug("PACE: %s parameter id %s (%s), %s-%d, password ref %d", info.protocol, info.parameter_id,
              group.name, cipher, key_bits, ref)

    # 1. MSE:Set AT
    resp = send(Command(0x00, 0x22, 0xC1, 0xA4, mse_set_at_data(info, ref, ambiguous)))
    if resp.sw >> 8 == 0x63:
        raise AccessDeniedError("PACE refused at MSE:Set AT (password blocked or suspended?)", step=STEP_MSE,
                                sw=resp.sw)
    resp.require_ok(STEP_MSE)

    # 2. encrypted nonce
    z = _general_authenticate(send, None, b"", STEP_NONCE, False, TAG_NONCE)
    s = int.from_bytes(decrypt_nonce(k_pi(pace_password(key), cipher, key_bits), z, cipher), "big")

    # 3. generic mapping
    sk_map = group.new_private(ephemeral_key)
    pk_map = group.public(sk_map)
    pk_map_ic_raw = _general_authenticate(send, TAG_MAP_IFD, group.encode(pk_map), STEP_MAP, False, TAG_MAP_IC)
    try:
        pk_map_ic = group.decode(pk_map_ic_raw, "chip's mapping public key")
    except ParseError as e:
        raise ResponseFormatError(e.message, step=STEP_MAP) from e
    if pk_map_ic == pk_map:
        raise ResponseFormatError("chip's mapping public key equals the terminal's", step=STEP_MAP)
    try:
        mapped = group.mapped(s, group.shared_element(sk_map, pk_map_ic))
    except ChipidError as e:
        raise ChipError(f"generic mapping failed: {e.message}", step=STEP_MAP) from e

    # 4. key agreement on the mapped generator
    sk = mapped.new_private(ephemeral_key)
    pk = mapped.public(sk)
    pk_raw = mapped.encode(pk)
    pk_ic_raw = _general_authenticate(send, TAG_PK_IFD, pk_raw, STEP_KA, False, TAG_PK_IC)
    try:
        pk_ic = mapped.decode(pk_ic_raw, "chip's ephemeral public key")
    except ParseError as e:
        raise ResponseFormatError(e.message, step=STEP_KA) from e
    if pk_ic == pk:
        raise ResponseFormatError("chip's ephemeral public key equals the terminal's (ICAO 9303-11 §4.4.3.3.2)",
                                  step=STEP_KA)
    try:
        shared = mapped.shared_secret(sk, pk_ic)
    except ChipidError as e:
        raise ChipError(f"key agreement failed: {e.message}", step=STEP_KA) from e
    ks_enc, ks_mac = derive_keys(shared, cipher, key_bits)

    # 5. mutual authentication
    t_ifd = authentication_token(ks_mac, info.protocol, pk_ic_raw, cipher, mapped.key_tag)
    t_ic = _general_authenticate(send, TAG_T_IFD, t_ifd, STEP_MA, True, TAG_T_IC, denied_on_63xx=True)
    expected = authentication_token(ks_mac, info.protocol, pk_raw, cipher, mapped.key_tag)
    if not crypto.constant_time_equal(t_ic, expected):
        raise AccessDeniedError("chip's authentication token T_IC does not verify: wrong CAN / MRZ?", step=STEP_MA)
    log.debug("PACE established (%s, %s-%d)", group.name, cipher, key_bits)
    return PaceResult(SecureMessaging(ks_enc, ks_mac, 0, cipher), info, group.name, cipher, key_bits, ref)


def perform_pace(send: Callable[[Command], Response], key: BACKey | CANKey, card_access: bytes | SecurityInfos, *,
                 ephemeral_key: Callable[[object], int] | None = None) -> SecureMessaging:
    """Run PACE and return the new :class:`SecureMessaging` (SSC 0). See :func:`run_pace`.

    Raises :class:`AccessDeniedError` when the chip refuses the password (SW 63xx at the
    last step) or its token does not verify ("wrong CAN / MRZ?"); :class:`ChipError`
    (``StatusWordError``, ``ResponseFormatError``) with the step name on anything else.
    """
    return run_pace(send, key, card_access, ephemeral_key=ephemeral_key).sm
