"""DG1: the MRZ as stored on the chip (ICAO 9303-10 §4.7.1).

::

    61 L
       5F1F L  <MRZ characters, 90 for TD1 (no line breaks), 88 for TD3>

The MRZ text itself is parsed by :mod:`verifier.icao.mrz`; here only the wrapper.
Check digits are not enforced when parsing the chip's copy (``strict=False``): a
mismatch is reported in ``mrz.check_digits_ok`` so the verdict can grade it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.errors import MRZError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.files import open_file
from verifier.icao.mrz import MRZ, parse_mrz

DG1_TAG = 0x61
MRZ_TAG = 0x5F1F


@dataclass(frozen=True)
class DG1:
    raw: bytes = field(repr=False)
    mrz: MRZ


def parse_dg1(raw: bytes) -> DG1:
    """Parse DG1. Raises :class:`ParseError` (an :class:`MRZError` for a malformed MRZ)."""
    raw = bytes(raw)
    try:
        outer = open_file(raw, "DG1")
        inner = outer.find(MRZ_TAG)
    except TLVError as e:
        raise ParseError(f"DG1 is not valid BER-TLV: {e}") from e
    if inner is None:
        raise ParseError("DG1: MRZ data object 5F1F missing")
    try:
        text = inner.value.decode("ascii")
    except UnicodeDecodeError as e:
        raise MRZError(f"DG1: MRZ is not ASCII: {inner.value[:8].hex()}") from e
    if len(text) not in (88, 90):
        raise MRZError(f"DG1: expected a TD1 (90) or TD3 (88) MRZ, found {len(text)} characters")
    return DG1(raw=outer.raw, mrz=parse_mrz(text, strict=False))


def encode_dg1(mrz_text: str) -> bytes:
    """Encode DG1 from MRZ text (line breaks and whitespace are dropped)."""
    flat = "".join(str(mrz_text).split())
    parse_mrz(flat, strict=False)  # refuses what is not an MRZ
    return tlv.encode(DG1_TAG, tlv.encode(MRZ_TAG, flat.encode("ascii")))
