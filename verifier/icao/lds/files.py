"""The elementary files of the eMRTD application and the master file (ICAO 9303-10 §3.6, §4.6).

One table, used by the reader session, the emulated chip and the report: file name ->
file identifier (FID), short file identifier (SFI) and the tag its content starts with.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import InputError, LimitExceededError, ParseError
from verifier.icao import tlv

#: AID of the LDS1 eMRTD application (ICAO 9303-10 §3.6.2).
EMRTD_AID = bytes.fromhex("A0000002471001")


@dataclass(frozen=True)
class EFInfo:
    name: str
    fid: int
    sfi: int | None
    tag: int | None  # first tag of the content, None for files without a wrapper tag
    dg: int | None = None  # data group number
    in_master_file: bool = False


_FILES = [
    EFInfo("CardAccess", 0x011C, 0x1C, None, in_master_file=True),
    EFInfo("CardSecurity", 0x011D, 0x1D, None, in_master_file=True),
    EFInfo("ATR/INFO", 0x2F01, 0x01, None, in_master_file=True),
    EFInfo("COM", 0x011E, 0x1E, 0x60),
    EFInfo("SOD", 0x011D, 0x1D, 0x77),
]
_DG_TAGS = {1: 0x61, 2: 0x75, 3: 0x63, 4: 0x76, 5: 0x65, 6: 0x66, 7: 0x67, 8: 0x68, 9: 0x69,
            10: 0x6A, 11: 0x6B, 12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F, 16: 0x70}
for _n, _tag in _DG_TAGS.items():
    _FILES.append(EFInfo(f"DG{_n}", 0x0100 + _n, _n, _tag, dg=_n))

FILES: dict[str, EFInfo] = {f.name: f for f in _FILES}
#: DG number -> tag, and tag -> DG number (EF.COM lists tags).
DG_TAG = dict(_DG_TAGS)
TAG_DG = {tag: n for n, tag in _DG_TAGS.items()}

#: What a CCCD reader reads, in order (DG3 is EAC-protected and reported as not readable).
CCCD_READ_ORDER = ("COM", "SOD", "DG1", "DG2", "DG13", "DG14", "DG15")


def ef(name: str) -> EFInfo:
    """Look up a file by name ("COM", "SOD", "DG2", "CardAccess", ...)."""
    try:
        return FILES[name]
    except KeyError as e:
        raise InputError(f"unknown elementary file {name!r}: expected one of {', '.join(FILES)}") from e


def dg_name(n: int) -> str:
    if n not in DG_TAG:
        raise InputError(f"data group number {n} out of range 1-16")
    return f"DG{n}"


def open_file(raw: bytes, name: str) -> tlv.TLV:
    """Decode the outer object of LDS file ``name`` and check its tag (ICAO 9303-10 §4.6, §4.7:
    every EF.COM / EF.DGx starts with the tag of :data:`FILES`). Bytes after it are ignored
    (some chips pad files). The one opener of the LDS parsers; a malformed start is a
    :class:`ParseError`
    naming the file: :class:`LimitExceededError` for hostile sizes, a plain :class:`ParseError`
    (never a bare :class:`TLVError`, so a caller's own TLV handler does not wrap it twice)."""
    label = name if name.startswith("DG") else f"EF.{name}"
    expected = FILES[name].tag
    try:
        outer = tlv.decode_first(raw)
    except LimitExceededError as e:
        raise LimitExceededError(f"{label}: {e.message}") from e
    except ParseError as e:
        raise ParseError(f"{label} is not valid BER-TLV: {e.message}") from e
    if outer.tag != expected:
        raise ParseError(f"{label}: expected tag {expected:02X}, found tag {outer.tag:02X}")
    return outer
