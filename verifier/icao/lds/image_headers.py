"""Width, height and kind of a face image, read from its own header: pure Python, no image library.

JPEG: the first start-of-frame segment's Y and X (ISO/IEC 10918-1 §B.2.2); JPEG 2000: the SIZ
marker's Xsiz - XOsiz, Ysiz - YOsiz (ISO/IEC 15444-1 §A.5.1), in a JP2 file the ``ihdr`` box
(ISO/IEC 15444-1 Annex I.5.3.1). Hostile headers give ``None``, never an exception or a loop:
the DG2 parsers (ICAO 9303-10 §4.7.2) report what the image itself says next to what the
biometric record claims.
"""

from __future__ import annotations

import struct

JPEG_MAGIC = b"\xff\xd8"
J2K_MAGIC = b"\xff\x4f\xff\x51"
JP2_MAGIC = bytes.fromhex("0000000C6A5020200D0A870A")


def image_format(data: bytes) -> str | None:
    """"jpeg", "jpeg2000" or None, from the magic bytes."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(J2K_MAGIC) or data.startswith(JP2_MAGIC):
        return "jpeg2000"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 9 > n:
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        if marker == 0xDA:  # start of scan before any SOF
            return None
        pos += 2 + length
    return None


def _j2k_size(data: bytes, pos: int = 0) -> tuple[int, int] | None:
    # SOC FF4F, SIZ FF51 Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz(4) YOsiz(4)  (ISO/IEC 15444-1 §A.5.1)
    if data[pos : pos + 4] != J2K_MAGIC or pos + 24 > len(data):
        return None
    xsiz, ysiz, xo, yo = struct.unpack(">IIII", data[pos + 8 : pos + 24])
    if xsiz < xo or ysiz < yo:
        return None
    return xsiz - xo, ysiz - yo


def _jp2_size(data: bytes) -> tuple[int, int] | None:
    # JP2 boxes (ISO/IEC 15444-1 Annex I): ... jp2h { ihdr: HEIGHT(4) WIDTH(4) ... } ... jp2c <codestream>
    def boxes(start: int, end: int):
        pos = start
        count = 0
        while pos + 8 <= end and count < 64:
            count += 1
            length, box_type = struct.unpack(">I4s", data[pos : pos + 8])
            header = 8
            if length == 1:
                if pos + 16 > end:
                    return
                length = int.from_bytes(data[pos + 8 : pos + 16], "big")
                header = 16
            elif length == 0:
                length = end - pos
            if length < header or pos + length > end:
                return
            yield box_type, pos + header, pos + length
            pos += length

    for box_type, start, end in boxes(0, len(data)):
        if box_type == b"jp2h":
            for sub_type, s, e in boxes(start, end):
                if sub_type == b"ihdr" and e - s >= 8:
                    height, width = struct.unpack(">II", data[s : s + 8])
                    return width, height
        if box_type == b"jp2c":
            return _j2k_size(data, start)
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a JPEG or JPEG 2000 header, or None when it cannot be read."""
    fmt = image_format(data)
    if fmt == "jpeg":
        return _jpeg_size(data)
    if data.startswith(J2K_MAGIC):
        return _j2k_size(data)
    if data.startswith(JP2_MAGIC):
        return _jp2_size(data)
    return None
