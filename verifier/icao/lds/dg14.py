"""EF.DG14: security options of the chip (ICAO 9303-10 §4.7.14, ICAO 9303-11 §9.2).

``6E L SecurityInfos``: the Chip Authentication public key(s), ChipAuthenticationInfo,
ActiveAuthenticationInfo and, on PACE chips, PACEInfo. The bytes are kept exactly as read
(passive authentication hashes ``raw``).
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.icao import tlv
from verifier.icao.lds.files import open_file
from verifier.icao.lds.security_infos import SecurityInfos, encode_security_infos, parse_security_infos

DG14_TAG = 0x6E


@dataclass(frozen=True)
class DG14:
    raw: bytes
    security_infos: SecurityInfos


def parse_dg14(raw: bytes) -> DG14:
    """Parse EF.DG14; trailing bytes after the 6E object are ignored (some chips pad files)."""
    raw = bytes(raw)
    outer = open_file(raw, "DG14")
    return DG14(raw, parse_security_infos(outer.value, what="EF.DG14 SecurityInfos"))


def encode_dg14(infos) -> bytes:
    """``6E L SET OF SecurityInfo`` for personalisation (``infos``: SecurityInfo objects in order)."""
    return tlv.encode(DG14_TAG, encode_security_infos(infos))
