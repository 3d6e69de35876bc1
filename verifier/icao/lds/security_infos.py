"""SecurityInfos of EF.CardAccess, EF.CardSecurity and DG14 (ICAO 9303-11 §9.2).

::

    SecurityInfos ::= SET OF SecurityInfo
    SecurityInfo  ::= SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY, optionalData ANY OPTIONAL }

Known kinds become frozen dataclasses (:class:`PACEInfo`, :class:`ChipAuthenticationInfo`,
:class:`ChipAuthenticationPublicKeyInfo`, :class:`ActiveAuthenticationInfo`,
:class:`TerminalAuthenticationInfo`); anything else (PACEDomainParameterInfo, EFDIR, ...) is kept as
:class:`UnknownSecurityInfo` with its bytes exactly as read. The public key of a
ChipAuthenticationPublicKeyInfo is kept as the SubjectPublicKeyInfo DER exactly as read.

Parsing is defensive: every element is checked for its tag, counts and sizes are bounded,
and a malformed structure raises :class:`verifier.errors.ParseError` saying which element
was expected and what was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from asn1crypto import core

from verifier.errors import ChipidError, LimitExceededError, ParseError
from verifier.icao import tlv

#: At most this many SecurityInfo elements in one SET (real chips carry fewer than 10).
MAX_INFOS = 64
#: Integers (versions, parameter ids, key ids) longer than this are refused.
MAX_INT_BYTES = 32

# --- object identifiers (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1) ----------------------

BSI_DE = "0.4.0.127.0.7"
ID_PK = BSI_DE + ".2.2.1"
ID_PK_DH = ID_PK + ".1"
ID_PK_ECDH = ID_PK + ".2"
ID_TA = BSI_DE + ".2.2.2"
ID_CA = BSI_DE + ".2.2.3"
ID_CA_DH = ID_CA + ".1"
ID_CA_ECDH = ID_CA + ".2"
ID_PACE = BSI_DE + ".2.2.4"
ID_PACE_DH_GM = ID_PACE + ".1"
ID_PACE_ECDH_GM = ID_PACE + ".2"
ID_PACE_DH_IM = ID_PACE + ".3"
ID_PACE_ECDH_IM = ID_PACE + ".4"
ID_PACE_ECDH_CAM = ID_PACE + ".6"
#: id-AA (ICAO 9303-11 §9.2.10): protocol of ActiveAuthenticationInfo.
ID_AA = "2.23.136.1.1.5"

#: Cipher suffix of a PACE / CA protocol OID -> (cipher, key bits) (ICAO 9303-11 §9.2.3, §9.2.5).
CIPHER_SUFFIX = {1: ("3DES", 112), 2: ("AES", 128), 3: ("AES", 192), 4: ("AES", 256)}
SUFFIX_OF_CIPHER = {v: k for k, v in CIPHER_SUFFIX.items()}

_PACE_FAMILIES = {ID_PACE_DH_GM: ("DH", "GM"), ID_PACE_ECDH_GM: ("ECDH", "GM"), ID_PACE_DH_IM: ("DH", "IM"),
                  ID_PACE_ECDH_IM: ("ECDH", "IM"), ID_PACE_ECDH_CAM: ("ECDH", "CAM")}
_CA_FAMILIES = {ID_CA_DH: "DH", ID_CA_ECDH: "ECDH"}


def split_cipher_suffix(protocol: str) -> tuple[str, int] | None:
    """Split "<family>.<n>" into (family OID, n) when the last arc is a cipher suffix 1-4."""
    base, _, last = protocol.rpartition(".")
    if last.isdigit() and int(last) in CIPHER_SUFFIX:
        return base, int(last)
    return None


def pace_protocol_oid(agreement: str, mapping: str, cipher: str, key_bits: int) -> str:
    """id-PACE-<agreement>-<mapping>-<cipher> ("ECDH", "GM", "AES", 128) -> dotted OID."""
    family = {v: k for k, v in _PACE_FAMILIES.items()}.get((agreement, mapping))
    suffix = SUFFIX_OF_CIPHER.get((cipher, key_bits))
    if family is None or suffix is None:
        raise ParseError(f"no PACE protocol OID for {agreement}-{mapping} with {cipher}-{key_bits}")
    return f"{family}.{suffix}"


def ca_protocol_oid(agreement: str, cipher: str, key_bits: int) -> str:
    family = {v: k for k, v in _CA_FAMILIES.items()}.get(agreement)
    suffix = SUFFIX_OF_CIPHER.get((cipher, key_bits))
    if family is None or suffix is None:
        raise ParseError(f"no Chip Authentication protocol OID for {agreement} with {cipher}-{key_bits}")
    return f"{family}.{suffix}"


# --- the infos -------------------------------------------------------------------------


@dataclass(frozen=True)
class PACEInfo:
    """PACEInfo (ICAO 9303-11 §9.2.1): protocol, version (2), standardized parameter id."""

    protocol: str
    version: int
    parameter_id: int | None = None

    @property
    def agreement(self) -> str | None:
        fam = split_cipher_suffix(self.protocol)
        return _PACE_FAMILIES[fam[0]][0] if fam and fam[0] in _PACE_FAMILIES else None

    @property
    def mapping(self) -> str | None:
        fam = split_cipher_suffix(self.protocol)
        return _PACE_FAMILIES[fam[0]][1] if fam and fam[0] in _PACE_FAMILIES else None

    @property
    def cipher(self) -> tuple[str, int] | None:
        """("AES", 128) etc., or None for an unknown protocol."""
        fam = split_cipher_suffix(self.protocol)
        return CIPHER_SUFFIX[fam[1]] if fam and fam[0] in _PACE_FAMILIES else None


@dataclass(frozen=True)
class ChipAuthenticationInfo:
    """ChipAuthenticationInfo (ICAO 9303-11 §9.2.5): id-CA-*, version 1 or 2, optional key id."""

    protocol: str
    version: int
    key_id: int | None = None

    @property
    def agreement(self) -> str | None:
        fam = split_cipher_suffix(self.protocol)
        return _CA_FAMILIES.get(fam[0]) if fam else None

    @property
    def cipher(self) -> tuple[str, int] | None:
        fam = split_cipher_suffix(self.protocol)
        return CIPHER_SUFFIX[fam[1]] if fam and fam[0] in _CA_FAMILIES else None


@dataclass(frozen=True)
class ChipAuthenticationPublicKeyInfo:
    """ChipAuthenticationPublicKeyInfo (ICAO 9303-11 §9.2.6): id-PK-DH / id-PK-ECDH and the chip's static key.

    ``public_key`` is the SubjectPublicKeyInfo DER exactly as read.
    """

    protocol: str
    public_key: bytes
    key_id: int | None = None

    @property
    def agreement(self) -> str | None:
        return {ID_PK_DH: "DH", ID_PK_ECDH: "ECDH"}.get(self.protocol)


@dataclass(frozen=True)
class ActiveAuthenticationInfo:
    """ActiveAuthenticationInfo (ICAO 9303-11 §9.2.10): id-AA, version 1, ECDSA signature algorithm OID."""

    protocol: str
    version: int
    signature_algorithm: str


@dataclass(frozen=True)
class TerminalAuthenticationInfo:
    """TerminalAuthenticationInfo (BSI TR-03110-3 §A.1.1.3): id-TA,
    version 1 or 2, optional efCVCA FileID (kept as read). A CCCD lists TA v1 in EF.CardAccess and
    DG14: DG3 (fingerprints) needs Extended Access Control, which a shop terminal cannot run."""

    protocol: str
    version: int
    ef_cvca: bytes | None = None  # the FileID element exactly as read, when present


@dataclass(frozen=True)
class UnknownSecurityInfo:
    """Any other SecurityInfo, kept exactly as read."""

    protocol: str
    raw: bytes


SecurityInfo = Union[PACEInfo, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, ActiveAuthenticationInfo,
                     TerminalAuthenticationInfo, UnknownSecurityInfo]


@dataclass(frozen=True)
class SecurityInfos:
    """A parsed SET OF SecurityInfo; ``raw`` is the SET exactly as read."""

    infos: tuple[SecurityInfo, ...]
    raw: bytes = b""

    def _of(self, kind):
        return tuple(i for i in self.infos if isinstance(i, kind))

    @property
    def pace(self) -> tuple[PACEInfo, ...]:
        return self._of(PACEInfo)

    @property
    def chip_auth(self) -> tuple[ChipAuthenticationInfo, ...]:
        return self._of(ChipAuthenticationInfo)

    @property
    def chip_auth_keys(self) -> tuple[ChipAuthenticationPublicKeyInfo, ...]:
        return self._of(ChipAuthenticationPublicKeyInfo)

    @property
    def active_auth(self) -> ActiveAuthenticationInfo | None:
        found = self._of(ActiveAuthenticationInfo)
        return found[0] if found else None

    @property
    def terminal_auth(self) -> TerminalAuthenticationInfo | None:
        found = self._of(TerminalAuthenticationInfo)
        return found[0] if found else None

    @property
    def unknown(self) -> tuple[UnknownSecurityInfo, ...]:
        return self._of(UnknownSecurityInfo)


# --- DER primitives ----------------------------------------------------------------------


def _oid(el: tlv.TLV | _InPlace, what: str) -> str:
    if el.tag != 0x06:
        raise ParseError(f"{what}: expected an OBJECT IDENTIFIER (tag 06), found tag {el.tag:02X}")
    if not el.value or len(el.value) > 64:
        raise ParseError(f"{what}: OBJECT IDENTIFIER of {len(el.value)} bytes")
    try:
        return _dotted(el.raw)
    except (ValueError, TypeError) as e:
        raise ParseError(f"{what}: malformed OBJECT IDENTIFIER {el.value.hex()}") from e


@lru_cache(maxsize=256)
def _dotted(raw: bytes) -> str:
    """The dotted form of a complete OBJECT IDENTIFIER encoding, remembered by its bytes: every chip names
    the same few protocols (a refusal raises and is not remembered)."""
    return core.ObjectIdentifier.load(raw).dotted


def _int(el: tlv.TLV | _InPlace, what: str) -> int:
    if el.tag != 0x02:
        raise ParseError(f"{what}: expected an INTEGER (tag 02), found tag {el.tag:02X}")
    if not el.value:
        raise ParseError(f"{what}: empty INTEGER")
    if len(el.value) > MAX_INT_BYTES:
        raise LimitExceededError(f"{what}: INTEGER of {len(el.value)} bytes, at most {MAX_INT_BYTES} allowed")
    return int.from_bytes(el.value, "big", signed=True)


def encode_oid(dotted: str) -> bytes:
    """DER of an OBJECT IDENTIFIER (tag 06); ``[2:]`` gives the contents used under context tags."""
    try:
        return core.ObjectIdentifier(dotted).dump()
    except (ValueError, TypeError) as e:
        raise ParseError(f"cannot encode OBJECT IDENTIFIER {dotted!r}") from e


def _enc_int(value: int) -> bytes:
    return core.Integer(value).dump()


def _seq(*parts: bytes) -> bytes:
    return tlv.encode(0x30, b"".join(parts))


# --- parse -------------------------------------------------------------------------------


def _parse_info(el: tlv.TLV | _InPlace, index: int) -> SecurityInfo:
    where = f"SecurityInfo #{index}"
    if el.tag != 0x30:
        raise ParseError(f"{where}: expected a SEQUENCE (tag 30), found tag {el.tag:02X}")
    try:
        items = el.children()
    except ParseError as e:
        raise ParseError(f"{where}: malformed contents: {e.message}") from e
    if len(items) < 2:
        raise ParseError(f"{where}: expected protocol and requiredData, found {len(items)} element(s)")
    protocol = _oid(items[0], f"{where} protocol")
    where = f"{where} ({protocol})"
    fam = split_cipher_suffix(protocol)
    base = fam[0] if fam else protocol

    if base in _PACE_FAMILIES:
        if len(items) > 3:
            raise ParseError(f"{where}: PACEInfo has {len(items)} elements, expected 2 or 3")
        version = _int(items[1], f"{where} version")
        param = _int(items[2], f"{where} parameterId") if len(items) == 3 else None
        return PACEInfo(protocol, version, param)
    if base in _CA_FAMILIES and items[1].tag == 0x02:
        if len(items) > 3:
            raise ParseError(f"{where}: ChipAuthenticationInfo has {len(items)} elements, expected 2 or 3")
        version = _int(items[1], f"{where} version")
        key_id = _int(items[2], f"{where} keyId") if len(items) == 3 else None
        return ChipAuthenticationInfo(protocol, version, key_id)
    if protocol in (ID_PK_DH, ID_PK_ECDH):
        if len(items) > 3:
            raise ParseError(f"{where}: ChipAuthenticationPublicKeyInfo has {len(items)} elements, expected 2 or 3")
        spki = items[1]
        if spki.tag != 0x30:
            raise ParseError(f"{where}: expected a SubjectPublicKeyInfo SEQUENCE, found tag {spki.tag:02X}")
        key_id = _int(items[2], f"{where} keyId") if len(items) == 3 else None
        return ChipAuthenticationPublicKeyInfo(protocol, spki.raw, key_id)
    if protocol == ID_AA:
        if len(items) != 3:
            raise ParseError(f"{where}: ActiveAuthenticationInfo has {len(items)} elements, expected 3")
        version = _int(items[1], f"{where} version")
        alg = _oid(items[2], f"{where} signatureAlgorithm")
        return ActiveAuthenticationInfo(protocol, version, alg)
    if protocol == ID_TA and items[1].tag == 0x02:
        if len(items) > 3:
            raise ParseError(f"{where}: TerminalAuthenticationInfo has {len(items)} elements, expected 2 or 3")
        version = _int(items[1], f"{where} version")
        return TerminalAuthenticationInfo(protocol, version, items[2].raw if len(items) == 3 else None)
    if len(items) > 3:
        raise ParseError(f"{where}: expected protocol, requiredData and optionalData, found {len(items)} elements")
    return UnknownSecurityInfo(protocol, el.raw)


def parse_security_infos(raw: bytes, *, what: str = "SecurityInfos") -> SecurityInfos:
    """Parse a DER/BER ``SET OF SecurityInfo`` (tag 31) that fills ``raw`` exactly."""
    raw = bytes(raw)
    infos = _infos_in_place(raw)
    if infos is not None:
        return SecurityInfos(infos, raw)
    try:
        outer = tlv.decode(raw)
    except ParseError as e:
        raise ParseError(f"{what}: {e.message}") from e
    if outer.tag != 0x31:
        raise ParseError(f"{what}: expected a SET (tag 31), found tag {outer.tag:02X}")
    try:
        elements = outer.children()
    except ParseError as e:
        raise ParseError(f"{what}: malformed SET contents: {e.message}") from e
    if len(elements) > MAX_INFOS:
        raise LimitExceededError(f"{what}: {len(elements)} SecurityInfo elements, at most {MAX_INFOS} allowed")
    try:
        infos = tuple(_parse_info(el, i) for i, el in enumerate(elements))
    except ParseError as e:
        raise type(e)(f"{what}: {e.message}") from e
    return SecurityInfos(infos, raw)


# --- plain DER, read in place ---------------------------------------------------------------------------------


class _NotPlain(Exception):
    """An element that is not in plain DER: the TLV reading decides."""


class _InPlace:
    """An element in plain DER (:func:`verifier.icao.tlv.der_elements`) offering what :func:`_parse_info` reads
    of a :class:`tlv.TLV`: ``tag``, ``value``, ``raw`` (sliced when read) and ``children()``."""

    __slots__ = ("data", "tag", "value", "start", "cstart", "end")

    def __init__(self, data: bytes, tag: int, start: int, cstart: int, end: int) -> None:
        self.data, self.tag, self.value, self.start, self.cstart, self.end = \
            data, tag, data[cstart:end], start, cstart, end

    @property
    def raw(self) -> bytes:
        return self.data[self.start : self.end]

    def children(self) -> list["_InPlace"]:
        kids = _in_place(self.data, self.cstart, self.end)
        if kids is None:
            raise _NotPlain
        return kids


def _in_place(data: bytes, start: int, end: int) -> list[_InPlace] | None:
    """The elements of ``data[start:end]`` in plain DER, None when one is in another form."""
    elements = tlv.der_elements(data, start, end)
    if elements is None:
        return None
    out = []
    for tag, cstart, cend in elements:
        out.append(_InPlace(data, tag, start, cstart, cend))
        start = cend
    return out


def _infos_in_place(raw: bytes) -> tuple[SecurityInfo, ...] | None:
    """What :func:`parse_security_infos` gives for a SET in plain DER whose every SecurityInfo is taken, read
    by :func:`_parse_info` on the elements in place instead of decoded into TLVs (for plain DER the same tags,
    values and bytes); None for any other form and for any refusal: the TLV reading then decides, with its
    messages. Tests hold the two readings together."""
    top = _in_place(raw, 0, len(raw))
    if top is None or len(top) != 1 or top[0].tag != 0x31:
        return None
    try:
        elements = top[0].children()
        if len(elements) > MAX_INFOS:
            return None
        return tuple(_parse_info(el, i) for i, el in enumerate(elements))
    except (_NotPlain, ChipidError):
        return None


def parse_card_access(raw: bytes) -> SecurityInfos:
    """EF.CardAccess (ICAO 9303-10 §3.11.3): a SecurityInfos, possibly followed by zero padding."""
    raw = bytes(raw)
    try:
        _, length, header = tlv.read_header(raw)
    except ParseError as e:
        raise ParseError(f"EF.CardAccess: {e.message}") from e
    if length is not None and header + length < len(raw) and not any(raw[header + length :]):
        raw = raw[: header + length]
    return parse_security_infos(raw, what="EF.CardAccess")


# --- encode ------------------------------------------------------------------------------


def encode_security_info(info: SecurityInfo) -> bytes:
    if isinstance(info, UnknownSecurityInfo):
        return info.raw
    if isinstance(info, PACEInfo):
        opt = _enc_int(info.parameter_id) if info.parameter_id is not None else b""
        return _seq(encode_oid(info.protocol), _enc_int(info.version), opt)
    if isinstance(info, ChipAuthenticationInfo):
        opt = _enc_int(info.key_id) if info.key_id is not None else b""
        return _seq(encode_oid(info.protocol), _enc_int(info.version), opt)
    if isinstance(info, ChipAuthenticationPublicKeyInfo):
        opt = _enc_int(info.key_id) if info.key_id is not None else b""
        return _seq(encode_oid(info.protocol), bytes(info.public_key), opt)
    if isinstance(info, ActiveAuthenticationInfo):
        return _seq(encode_oid(info.protocol), _enc_int(info.version), encode_oid(info.signature_algorithm))
    if isinstance(info, TerminalAuthenticationInfo):
        return _seq(encode_oid(info.protocol), _enc_int(info.version), bytes(info.ef_cvca or b""))
    raise ParseError(f"cannot encode {type(info).__name__} as a SecurityInfo")


def encode_security_infos(infos) -> bytes:
    """Encode a SET OF SecurityInfo, elements in the order given (chips do not always sort them)."""
    return tlv.encode(0x31, b"".join(encode_security_info(i) for i in infos))
