"""EF.DG14: security options of the chip (ICAO 9303-10 §4.7.14, ICAO 9303-11 §9.2).

``6E L SecurityInfos``: the Chip Authentication public key(s), ChipAuthenticationInfo,
ActiveAuthenticationInfo and, on PACE chips, PACEInfo. The bytes are kept exactly as read
(passive authentication hashes ``raw``).
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import ParseError
from verifier.icao import tlv
from verifier.icao.lds.security_infos import SecurityInfos, encode_security_infos, parse_security_infos

DG14_TAG = 0x6E


@dataclass(frozen=True)
class DG14:
    raw: bytes
    security_infos: SecurityInfos


def parse_dg14(raw: bytes) -> DG14:
    """Parse EF.DG14; trailing bytes after the 6E object are ignored (some chips pad files)."""
    raw = bytes(raw)
    try:
        outer = tlv.decode_first(raw)
    except ParseError as e:
        raise ParseError(f"EF.DG14: {e.message}") from e
    if outer.tag != DG14_TAG:
        raise ParseError(f"EF.DG14: expected tag 6E, found tag {outer.tag:02X}")
    return DG14(raw, parse_security_infos(outer.value, what="EF.DG14 SecurityInfos"))


def encode_dg14(infos) -> bytes:
    """``6E L SET OF SecurityInfo`` for personalisation (``infos``: SecurityInfo objects in order)."""
    return tlv.encode(DG14_TAG, encode_security_infos(infos))
