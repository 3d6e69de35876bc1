"""DG2: the encoded face (ICAO 9303-10 §4.7.2, ISO/IEC 19794-5:2005, ISO/IEC 39794-5:2019).

::

    75 L                                   DG2
       7F61 L                              biometric information group template
          02 01 n                          number of instances
          7F60 L                           biometric information template (one per face)
             A1 L                          biometric header template (ISO/IEC 7816-11)
                80 02 0101  81 01 02  87 02 0101  88 02 0008 ...
             5F2E L <19794-5 record>       "FAC\\0" binary record, or
             7F2E L <39794-5 block>        DER FaceImageDataBlock (ISO/IEC 39794-5)

The image bytes are returned byte for byte (the chip photo is evidence). ``width`` and
``height`` are the image's own, read from the JPEG SOF / JPEG 2000 SIZ (or ``ihdr``) header,
pure Python, no image library; what the record header claims is kept as ``header_width`` /
``header_height`` and a disagreement is a warning. Real CCCDs disagree on every sample: the
19794-5 header says 480 x 400 while the JPEG is 300 x 400 (``/work/shared/data/cccd/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.errors import InputError, LimitExceededError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.face_19794 import encode_19794_5, parse_19794_5
from verifier.icao.lds.face_39794 import encode_39794_5, parse_39794_5
from verifier.icao.lds.face_image import MAX_FACES, FaceImage
from verifier.icao.lds.files import open_file
from verifier.icao.lds.image_headers import image_format, image_size

DG2_TAG = 0x75
BIT_GROUP_TAG = 0x7F61
BIT_TAG = 0x7F60
BHT_TAG = 0xA1
BDB_TAG = 0x5F2E  # biometric data block, ISO/IEC 19794-5
BDB_CONSTRUCTED_TAG = 0x7F2E  # biometric data block, ISO/IEC 39794-5 (DER)


@dataclass(frozen=True)
class DG2:
    raw: bytes = field(repr=False)
    faces: tuple[FaceImage, ...]
    header: dict = field(default_factory=dict, compare=False)  # first biometric header template, tag -> bytes


def parse_dg2(raw: bytes) -> DG2:
    """Parse DG2 (ICAO 9303-10 §4.7.2). Raises :class:`ParseError` on malformed content."""
    raw = bytes(raw)
    try:
        outer = open_file(raw, "DG2")
        group = outer.find(BIT_GROUP_TAG)
        if group is None:
            raise ParseError("DG2: biometric information group template 7F61 missing")
        children = group.children()
        templates = [c for c in children if c.tag == BIT_TAG]  # the count (02) is advisory
        if not templates:
            raise ParseError("DG2: no biometric information template 7F60")
        if len(templates) > MAX_FACES:
            raise LimitExceededError(f"DG2: {len(templates)} biometric templates, at most {MAX_FACES} allowed")
        faces: list[FaceImage] = []
        header: dict = {}
        for i, bit in enumerate(templates):
            where = f"DG2 template {i + 1}"
            parts = {c.tag: c for c in bit.children()}
            if not header and BHT_TAG in parts:
                header = {c.tag: c.value for c in parts[BHT_TAG].children()}
            if BDB_TAG in parts:
                faces.extend(parse_19794_5(parts[BDB_TAG].value, where))
            elif BDB_CONSTRUCTED_TAG in parts:
                faces.extend(parse_39794_5(parts[BDB_CONSTRUCTED_TAG].value, where))
            else:
                raise ParseError(f"{where}: no biometric data block (5F2E or 7F2E)")
        if len(faces) > MAX_FACES:
            raise LimitExceededError(f"DG2: {len(faces)} faces, at most {MAX_FACES} allowed")
        return DG2(raw=outer.raw, faces=tuple(faces), header=header)
    except TLVError as e:
        raise ParseError(f"DG2 is not valid BER-TLV: {e}") from e


def _bht(format_type: int) -> bytes:
    # ICAO header version 1.1, biometric type face (02), subtype none, format owner ISO/IEC JTC1 SC37 (0101)
    return tlv.encode(BHT_TAG, tlv.encode(0x80, b"\x01\x01") + tlv.encode(0x81, b"\x02") + tlv.encode(0x82, b"\x00")
                      + tlv.encode(0x87, b"\x01\x01") + tlv.encode(0x88, format_type.to_bytes(2, "big")))


def encode_dg2(image_bytes: bytes, width: int | None = None, height: int | None = None, format: str | None = None,
               *, standard: str = "19794-5", **record_fields) -> bytes:
    """Encode DG2 holding one face. ``width``/``height``/``format`` default to what the image header says."""
    image_bytes = bytes(image_bytes)
    fmt = format or image_format(image_bytes)
    if fmt not in ("jpeg", "jpeg2000"):
        raise InputError(f"DG2 image: expected JPEG or JPEG 2000 data, found {image_bytes[:4].hex()}")
    if width is None or height is None:
        size = image_size(image_bytes)
        if size is None:
            raise InputError("DG2 image: width/height not given and not readable from the image header")
        width, height = size
    if standard == "19794-5":
        bdb = tlv.encode(BDB_TAG, encode_19794_5(image_bytes, width, height, fmt, **record_fields))
        header = _bht(0x0008)
    elif standard == "39794-5":
        bdb = tlv.encode(BDB_CONSTRUCTED_TAG, encode_39794_5(image_bytes, width, height, fmt, **record_fields))
        header = _bht(0x0040)
    else:
        raise InputError(f"DG2 standard: expected 19794-5 or 39794-5, found {standard!r}")
    bit = tlv.encode(BIT_TAG, header + bdb)
    group = tlv.encode(BIT_GROUP_TAG, tlv.encode(0x02, b"\x01") + bit)
    return tlv.encode(DG2_TAG, group)
