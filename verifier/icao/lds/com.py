"""EF.COM: LDS version, Unicode version and the list of data groups present (ICAO 9303-10 §4.6.1).

::

    60 L
       5F01 04 "0107"        LDS version  aabb  -> "1.7"
       5F36 06 "040000"      Unicode version aabbcc -> "4.0.0"
       5C   L  61 75 6D ...  tag list (one tag per data group present)

EF.COM is not covered by the SOD: it is a hint of what to read, never evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import InputError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.files import DG_TAG, TAG_DG, open_file

COM_TAG = 0x60
LDS_VERSION_TAG = 0x5F01
UNICODE_VERSION_TAG = 0x5F36
TAG_LIST_TAG = 0x5C


@dataclass(frozen=True)
class COM:
    raw: bytes
    lds_version: str  # "1.7"
    unicode_version: str  # "4.0.0"
    dg_numbers: tuple[int, ...]  # in the order the tag list gives them
    unknown_tags: tuple[int, ...] = ()  # tags in the list that name no data group


def _version_text(value: bytes, parts: int, what: str) -> str:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError as e:
        raise ParseError(f"EF.COM {what}: expected {2 * parts} ASCII digits, found {value.hex()}") from e
    if len(text) != 2 * parts or not text.isdigit():
        raise ParseError(f"EF.COM {what}: expected {2 * parts} digits, found {text!r}")
    return ".".join(str(int(text[i : i + 2])) for i in range(0, len(text), 2))


def _version_bytes(version: str, parts: int, what: str) -> bytes:
    pieces = version.split(".")
    if len(pieces) != parts or not all(p.isdigit() and 0 <= int(p) <= 99 for p in pieces):
        raise InputError(f"{what}: expected {parts} dot-separated numbers 0-99, found {version!r}")
    return "".join(f"{int(p):02d}" for p in pieces).encode("ascii")


def parse_com(raw: bytes) -> COM:
    """Parse EF.COM (ICAO 9303-10 §4.6.1). Raises :class:`ParseError` on malformed content."""
    raw = bytes(raw)
    try:
        outer = open_file(raw, "COM")
        children = outer.children()
    except TLVError as e:
        raise ParseError(f"EF.COM is not valid BER-TLV: {e}") from e
    by_tag = {c.tag: c for c in children}
    for needed, name in ((LDS_VERSION_TAG, "LDS version (5F01)"), (UNICODE_VERSION_TAG, "Unicode version (5F36)"),
                         (TAG_LIST_TAG, "tag list (5C)")):
        if needed not in by_tag:
            raise ParseError(f"EF.COM: {name} missing")
    lds_version = _version_text(by_tag[LDS_VERSION_TAG].value, 2, "LDS version")
    unicode_version = _version_text(by_tag[UNICODE_VERSION_TAG].value, 3, "Unicode version")
    dgs: list[int] = []
    unknown: list[int] = []
    for b in by_tag[TAG_LIST_TAG].value:
        if b in TAG_DG:
            if TAG_DG[b] not in dgs:
                dgs.append(TAG_DG[b])
        else:
            unknown.append(b)
    return COM(raw=outer.raw, lds_version=lds_version, unicode_version=unicode_version,
               dg_numbers=tuple(dgs), unknown_tags=tuple(unknown))


def encode_com(dg_numbers, lds_version: str = "1.7", unicode_version: str = "4.0.0") -> bytes:
    """Encode EF.COM listing ``dg_numbers`` (e.g. ``(1, 2, 13, 14, 15)``)."""
    tags = bytearray()
    for n in dg_numbers:
        if n not in DG_TAG:
            raise InputError(f"EF.COM: data group number {n} out of range 1-16")
        tags.append(DG_TAG[n])
    body = (tlv.encode(LDS_VERSION_TAG, _version_bytes(lds_version, 2, "LDS version"))
            + tlv.encode(UNICODE_VERSION_TAG, _version_bytes(unicode_version, 3, "Unicode version"))
            + tlv.encode(TAG_LIST_TAG, bytes(tags)))
    return tlv.encode(COM_TAG, body)
