"""EF.DG15: the Active Authentication public key (ICAO 9303-10 §4.7.15, ICAO 9303-11 §6.1).

``6F L SubjectPublicKeyInfo`` (RSA or EC). The key is kept as the SubjectPublicKeyInfo DER
exactly as read; :mod:`verifier.icao.chip_keys` interprets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import ParseError
from verifier.icao import tlv
from verifier.icao.lds.files import open_file

DG15_TAG = 0x6F


@dataclass(frozen=True)
class DG15:
    raw: bytes
    public_key_info: bytes  # SubjectPublicKeyInfo DER, exactly as read


def parse_dg15(raw: bytes) -> DG15:
    raw = bytes(raw)
    outer = open_file(raw, "DG15")
    try:
        spki = tlv.decode(outer.value)
    except ParseError as e:
        raise ParseError(f"EF.DG15: SubjectPublicKeyInfo: {e.message}") from e
    if spki.tag != 0x30:
        raise ParseError(f"EF.DG15: expected a SubjectPublicKeyInfo SEQUENCE (tag 30), found tag {spki.tag:02X}")
    return DG15(raw, spki.raw)


def encode_dg15(spki_der: bytes) -> bytes:
    return tlv.encode(DG15_TAG, bytes(spki_der))
