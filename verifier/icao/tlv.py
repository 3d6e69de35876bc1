"""BER-TLV codec for ICAO 9303 data objects (ISO/IEC 7816-4 §5.2, ICAO 9303-10 §4.4).

Sans-I/O and defensive: every length is checked against the bytes actually present,
tags are at most 4 bytes, lengths at most 4 bytes (0x84 ...), nesting is bounded.
Raw bytes are kept so callers can hash exactly what was read.
X.509 / CMS structures are read with :mod:`verifier.trust.der` instead (its docstring says why).
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import LimitExceededError, TLVError

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4
MAX_DEPTH = 32


@dataclass(frozen=True)
class TLV:
    tag: int
    value: bytes
    raw: bytes  # tag || length || value, exactly as read

    @property
    def constructed(self) -> bool:
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)

    def children(self) -> list["TLV"]:
        return decode_all(self.value)

    def find(self, tag: int) -> "TLV | None":
        for child in self.children():
            if child.tag == tag:
                return child
        return None


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TLVError(f"expected a tag at offset {pos}, found end of data")
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        count = 1
        while True:
            if pos >= len(data):
                raise TLVError("multi-byte tag runs past end of data")
            b = data[pos]
            pos += 1
            count += 1
            if count > MAX_TAG_BYTES:
                raise LimitExceededError(f"tag longer than {MAX_TAG_BYTES} bytes at offset {pos - count}")
            tag = (tag << 8) | b
            if not b & 0x80:
                break
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int | None, int]:
    """Returns (length, new_pos); length None means BER indefinite form (0x80)."""
    if pos >= len(data):
        raise TLVError(f"expected a length at offset {pos}, found end of data")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    if first == 0x80:
        return None, pos
    n = first & 0x7F
    if n > MAX_LENGTH_BYTES:
        raise LimitExceededError(f"length field of {n} bytes at offset {pos - 1}: at most {MAX_LENGTH_BYTES} allowed")
    if pos + n > len(data):
        raise TLVError(f"length field of {n} bytes runs past end of data")
    return int.from_bytes(data[pos : pos + n], "big"), pos + n


def read_header(data: bytes, pos: int = 0) -> tuple[int, int | None, int]:
    """Parse tag and length at ``pos``: returns (tag, length, header_size).

    Used on the first bytes of a file to learn its total size before reading it.
    """
    tag, p = _read_tag(data, pos)
    length, p = _read_length(data, p)
    return tag, length, p - pos


def _decode_one(data: bytes, pos: int, depth: int) -> tuple[TLV, int]:
    if depth > MAX_DEPTH:
        raise LimitExceededError(f"TLV nesting deeper than {MAX_DEPTH}")
    start = pos
    if pos + 1 < len(data) and data[pos] & 0x1F != 0x1F and data[pos + 1] < 0x80:
        # a one-byte tag and a one-byte length, most TLVs: what _read_tag and _read_length give, without the calls
        tag, length, pos = data[pos], data[pos + 1], pos + 2
    else:
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
    if length is None:
        # Indefinite length: constructed contents end with 00 00.
        p = pos
        while True:
            if p + 2 > len(data):
                raise TLVError("indefinite-length value has no end-of-contents marker")
            if data[p] == 0 and data[p + 1] == 0:
                value = data[pos:p]
                return TLV(tag, value, data[start : p + 2]), p + 2
            _, p = _decode_one(data, p, depth + 1)
    end = pos + length
    if end > len(data):
        raise TLVError(f"tag {tag:X} at offset {start}: length {length} but only {len(data) - pos} bytes remain")
    return TLV(tag, data[pos:end], data[start:end]), end


def decode(data: bytes) -> TLV:
    """Decode exactly one TLV; trailing bytes are an error."""
    tlv, end = _decode_one(bytes(data), 0, 0)
    if end != len(data):
        raise TLVError(f"{len(data) - end} trailing bytes after tag {tlv.tag:X}")
    return tlv


def decode_first(data: bytes) -> TLV:
    """Decode the first TLV and ignore what follows (e.g. padding after a file)."""
    return _decode_one(bytes(data), 0, 0)[0]


def decode_all(data: bytes) -> list[TLV]:
    """Decode a concatenation of TLVs."""
    data = bytes(data)
    out, pos = [], 0
    while pos < len(data):
        tlv, pos = _decode_one(data, pos, 0)
        out.append(tlv)
    return out


def der_elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int]] | None:
    """The elements filling ``data[start:end]`` as (tag, contents start, contents end), read in place, when
    every one is in plain DER: a one-byte tag and the shortest definite length, of at most two bytes (X.690
    §10.1); None for anything else. For the in-place readers of the encodings every issuer writes (the
    LDSSecurityObject of EF.SOD, an RSA key), whose full readers decide every other form."""
    out = []
    while start < end:
        if start + 2 > end or data[start] & 0x1F == 0x1F:
            return None
        length = data[start + 1]
        pos = start + 2
        if length == 0x81:
            if pos >= end or data[pos] < 0x80:
                return None
            length = data[pos]
            pos += 1
        elif length == 0x82:
            if pos + 2 > end or data[pos] == 0:
                return None
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif length & 0x80:
            return None
        if pos + length > end:
            return None
        out.append((data[start], pos, pos + length))
        start = pos + length
    return out


def encode_tag(tag: int) -> bytes:
    if tag < 0:
        raise TLVError(f"negative tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise LimitExceededError(f"length {length} needs more than {MAX_LENGTH_BYTES} bytes")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    """Encode one TLV with a definite, minimal length."""
    return encode_tag(tag) + encode_length(len(value)) + bytes(value)
