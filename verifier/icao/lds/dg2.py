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

import struct
from dataclasses import dataclass, field

from verifier.errors import InputError, LimitExceededError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.files import open_file

DG2_TAG = 0x75
BIT_GROUP_TAG = 0x7F61
BIT_TAG = 0x7F60
BHT_TAG = 0xA1
BDB_TAG = 0x5F2E  # biometric data block, ISO/IEC 19794-5
BDB_CONSTRUCTED_TAG = 0x7F2E  # biometric data block, ISO/IEC 39794-5 (DER)
MAX_FACES = 16
MAX_FEATURE_POINTS = 1000

JPEG_MAGIC = b"\xff\xd8"
J2K_MAGIC = b"\xff\x4f\xff\x51"
JP2_MAGIC = bytes.fromhex("0000000C6A5020200D0A870A")

# ISO/IEC 19794-5:2005 §5.5 code tables
GENDER_19794 = {0: "unspecified", 1: "male", 2: "female", 0xFF: "unknown"}
EYE_19794 = {0: "unspecified", 1: "black", 2: "blue", 3: "brown", 4: "gray", 5: "green", 6: "multi-coloured",
             7: "pink", 0xFF: "unknown"}
HAIR_19794 = {0: "unspecified", 1: "bald", 2: "black", 3: "blonde", 4: "brown", 5: "gray", 6: "white", 7: "red",
              0xFF: "unknown"}
FACE_IMAGE_TYPE_19794 = {0: "basic", 1: "full frontal", 2: "token frontal"}
IMAGE_DATA_TYPE_19794 = {0: "jpeg", 1: "jpeg2000"}
# ISO/IEC 39794-5 code tables
GENDER_39794 = {0: "unknown", 1: "other", 2: "male", 3: "female"}
EYE_39794 = {0: "unknown", 1: "other", 2: "black", 3: "blue", 4: "brown", 5: "gray", 6: "green", 7: "hazel",
             8: "multi-coloured", 9: "pink"}
HAIR_39794 = {0: "unknown", 1: "other", 2: "bald", 3: "black", 4: "blonde", 5: "brown", 6: "gray", 7: "white",
              8: "red", 9: "known coloured"}
IMAGE_FORMAT_39794 = {2: "jpeg", 3: "jpeg2000", 4: "jpeg2000"}


@dataclass(frozen=True)
class FeaturePoint:
    type: int
    code: int  # major << 4 | minor (ISO/IEC 14496-2 feature point)
    x: int
    y: int


@dataclass(frozen=True)
class FaceImage:
    format: str  # "jpeg" | "jpeg2000"
    width: int  # the image's own (from its header); the record's claim when the image header is unreadable
    height: int
    image: bytes = field(repr=False)  # byte for byte as stored on the chip
    standard: str = "19794-5"  # or "39794-5"
    gender: str = "unspecified"
    eye_colour: str = "unspecified"
    hair_colour: str = "unspecified"
    feature_mask: int = 0
    expression: int = 0
    pose_angle: tuple[int, int, int] = (0, 0, 0)  # yaw, pitch, roll (encoded)
    pose_angle_uncertainty: tuple[int, int, int] = (0, 0, 0)
    feature_points: tuple[FeaturePoint, ...] = ()
    face_image_type: str = "basic"
    colour_space: int = 0
    source_type: int = 0
    device_type: int = 0
    quality: int = 0
    image_width: int | None = None  # from the image's own header, None if it could not be read
    image_height: int | None = None
    warnings: tuple[str, ...] = ()
    header_width: int = 0  # what the biometric record header declares (0: nothing declared)
    header_height: int = 0


@dataclass(frozen=True)
class DG2:
    raw: bytes = field(repr=False)
    faces: tuple[FaceImage, ...]
    header: dict = field(default_factory=dict, compare=False)  # first biometric header template, tag -> bytes


# --------------------------------------------------------------------------- image headers

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


def _finish(face: dict, declared_format: str | None, where: str) -> FaceImage:
    image = face["image"]
    warnings = list(face.pop("warnings", []))
    fmt = image_format(image)
    if fmt is None:
        raise ParseError(f"{where}: image data is neither JPEG (FFD8) nor JPEG 2000 (FF4FFF51 or JP2 box), "
                         f"found {image[:4].hex() or 'nothing'}")
    if declared_format and declared_format != fmt:
        warnings.append(f"record declares {declared_format} but the image is {fmt}")
    size = image_size(image)
    if size is None:
        warnings.append(f"could not read width/height from the {fmt} header")
        iw = ih = None
    else:
        iw, ih = size
    hw, hh = face.pop("width"), face.pop("height")
    width, height = (iw, ih) if size is not None else (hw, hh)
    if size is not None and (hw, hh) != (0, 0) and (iw, ih) != (hw, hh):
        warnings.append(f"record declares {hw}x{hh} but the image itself is {iw}x{ih}: the image's size is reported")
    return FaceImage(format=fmt, width=width, height=height, image_width=iw, image_height=ih,
                     header_width=hw, header_height=hh, warnings=tuple(warnings), **face)


# --------------------------------------------------------------------------- ISO/IEC 19794-5

def parse_19794_5(data: bytes, where: str = "DG2") -> list[FaceImage]:
    """Parse an ISO/IEC 19794-5:2005 facial record ("FAC\\0", version "010\\0")."""
    data = bytes(data)
    if len(data) < 14 or data[:4] != b"FAC\x00":
        raise ParseError(f"{where}: expected an ISO/IEC 19794-5 record starting with 'FAC\\0', found {data[:4].hex()}")
    version = data[4:8]
    if version[3:4] != b"\x00":
        raise ParseError(f"{where}: malformed 19794-5 version field {version.hex()}")
    if version != b"010\x00":
        return [_scan_for_image(data, version[:3].decode("ascii", "replace"), where)]
    record_length = int.from_bytes(data[8:12], "big")
    count = int.from_bytes(data[12:14], "big")
    if record_length > len(data):
        raise ParseError(f"{where}: 19794-5 record length {record_length} but only {len(data)} bytes present")
    if record_length < 14:
        raise ParseError(f"{where}: 19794-5 record length {record_length} is shorter than its header")
    if count == 0:
        raise ParseError(f"{where}: 19794-5 record holds no face")
    if count > MAX_FACES:
        raise LimitExceededError(f"{where}: {count} faces in one record, at most {MAX_FACES} allowed")
    faces = []
    pos = 14
    for i in range(count):
        w = f"{where} face {i + 1}"
        if pos + 20 > record_length:
            raise ParseError(f"{w}: facial information block runs past the record end")
        (block_len, n_points, gender, eye, hair) = struct.unpack(">IHBBB", data[pos : pos + 9])
        feature_mask = int.from_bytes(data[pos + 9 : pos + 12], "big")
        expression = int.from_bytes(data[pos + 12 : pos + 14], "big")
        pose = tuple(data[pos + 14 : pos + 17])
        pose_unc = tuple(data[pos + 17 : pos + 20])
        end = pos + block_len
        if n_points > MAX_FEATURE_POINTS:
            raise LimitExceededError(f"{w}: {n_points} feature points, at most {MAX_FEATURE_POINTS} allowed")
        header_len = 20 + 8 * n_points + 12
        if block_len < header_len or end > record_length:
            raise ParseError(f"{w}: facial record block length {block_len} does not fit "
                             f"(needs at least {header_len}, {record_length - pos} bytes left)")
        p = pos + 20
        points = []
        for _ in range(n_points):
            ptype, code, x, y = struct.unpack(">BBHH", data[p : p + 6])
            points.append(FeaturePoint(ptype, code, x, y))
            p += 8
        (ftype, dtype, width, height, colour, source, device, quality) = struct.unpack(">BBHHBBHH", data[p : p + 12])
        p += 12
        image = data[p:end]
        if not image:
            raise ParseError(f"{w}: no image data")
        faces.append(_finish(dict(
            image=image, width=width, height=height, standard="19794-5",
            gender=GENDER_19794.get(gender, f"code {gender}"), eye_colour=EYE_19794.get(eye, f"code {eye}"),
            hair_colour=HAIR_19794.get(hair, f"code {hair}"), feature_mask=feature_mask, expression=expression,
            pose_angle=pose, pose_angle_uncertainty=pose_unc, feature_points=tuple(points),
            face_image_type=FACE_IMAGE_TYPE_19794.get(ftype, f"code {ftype}"), colour_space=colour,
            source_type=source, device_type=device, quality=quality,
        ), IMAGE_DATA_TYPE_19794.get(dtype), w))
        pos = end
    return faces


def _scan_for_image(data: bytes, version: str, where: str) -> FaceImage:
    """Other 19794-5 editions (e.g. "030", ISO/IEC 19794-5:2011) have another header layout:
    take the image from its magic bytes to the end of the record, and say so."""
    record_length = min(int.from_bytes(data[8:12], "big"), len(data))
    starts = [i for i in (data.find(b"\xff\xd8\xff", 14), data.find(J2K_MAGIC, 14), data.find(JP2_MAGIC, 14))
              if 0 <= i < record_length]
    if not starts:
        raise ParseError(f"{where}: 19794-5 version {version!r} record holds no JPEG or JPEG 2000 image")
    return _finish(dict(image=data[min(starts):record_length], width=0, height=0, standard=f"19794-5:{version}",
                        warnings=[f"19794-5 version {version!r}: header not decoded, image located by its magic bytes"]),
                   None, where)


def _code(mapping: dict, value: str, what: str) -> int:
    for k, v in mapping.items():
        if v == value:
            return k
    raise InputError(f"{what}: expected one of {', '.join(mapping.values())}, found {value!r}")


def encode_19794_5(image: bytes, width: int, height: int, format: str, *, gender: str = "unspecified",
                   eye_colour: str = "unspecified", hair_colour: str = "unspecified",
                   face_image_type: str = "full frontal", colour_space: int = 0, source_type: int = 2,
                   device_type: int = 0, quality: int = 0) -> bytes:
    """One-face ISO/IEC 19794-5:2005 record (version 010)."""
    dtype = _code(IMAGE_DATA_TYPE_19794, format, "image format")
    facial_info = struct.pack(">IHBBB", 20 + 12 + len(image), 0, _code(GENDER_19794, gender, "gender"),
                              _code(EYE_19794, eye_colour, "eye colour"), _code(HAIR_19794, hair_colour, "hair colour"))
    facial_info += b"\x00" * 3 + b"\x00\x00" + b"\x00" * 6
    image_info = struct.pack(">BBHHBBHH", _code(FACE_IMAGE_TYPE_19794, face_image_type, "face image type"), dtype,
                             width, height, colour_space, source_type, device_type, quality)
    body = facial_info + image_info + bytes(image)
    return b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14 + len(body), 1) + body


# --------------------------------------------------------------------------- ISO/IEC 39794-5

def _ctx(node: tlv.TLV) -> dict[int, tlv.TLV]:
    """Context-specific children by tag number ([n] -> TLV)."""
    out = {}
    for child in node.children():
        first = child.tag
        if first > 0xFF:  # multi-byte tags are never context-specific here
            continue
        if first & 0xC0 == 0x80:
            out.setdefault(first & 0x1F, child)
    return out


def _int(node: tlv.TLV | None, default: int | None = None) -> int | None:
    if node is None:
        return default
    value = node.value
    if node.constructed:  # explicitly tagged: [n] { INTEGER } or a CHOICE { code [0] INTEGER }
        kids = node.children()
        if not kids:
            return default
        return _int(kids[0], default)
    if not value or len(value) > 8:
        raise ParseError(f"39794-5: integer of {len(value)} bytes")
    return int.from_bytes(value, "big", signed=True)


def parse_39794_5(data: bytes, where: str = "DG2") -> list[FaceImage]:
    """Parse an ISO/IEC 39794-5 FaceImageDataBlock (DER, implicit context tags).

    FaceImageDataBlock ::= [APPLICATION 5] SEQUENCE { versionBlock [0], representationBlocks [1] SEQUENCE OF
    RepresentationBlock { representationId [0], imageRepresentation [1] { base [0] { 2D [0] {
    representationData2D [0] OCTET STRING, imageInformation2DBlock [1] { imageDataFormat [0],
    imageSizeBlock [7] { width [0], height [1] } } } } }, identityMetadataBlock [8] { gender [0],
    eyeColour [1], hairColour [2] } } }
    """
    try:
        node = tlv.decode_first(bytes(data))
        # Unwrap [APPLICATION 5] / [1] / SEQUENCE wrappers until versionBlock [0] + representationBlocks [1].
        for _ in range(4):
            ctx = _ctx(node)
            if 1 in ctx and 0 in ctx and ctx[1].constructed:
                break
            kids = node.children()
            if len(kids) != 1 or not kids[0].constructed:
                raise ParseError(f"{where}: 39794-5 block has no versionBlock [0] / representationBlocks [1]")
            node = kids[0]
        else:
            raise ParseError(f"{where}: 39794-5 block nested too deeply")
        blocks = [c for c in ctx[1].children() if c.constructed]
        if blocks and 1 in _ctx(ctx[1]) and 0 in _ctx(ctx[1]):
            blocks = [ctx[1]]  # a single RepresentationBlock without the SEQUENCE OF wrapper
        if not blocks:
            raise ParseError(f"{where}: 39794-5 block holds no representation")
        if len(blocks) > MAX_FACES:
            raise LimitExceededError(f"{where}: {len(blocks)} representations, at most {MAX_FACES} allowed")
        faces = []
        for i, block in enumerate(blocks):
            w = f"{where} face {i + 1}"
            rb = _ctx(block)
            if 1 not in rb:
                raise ParseError(f"{w}: representation has no imageRepresentation [1]")
            # imageRepresentation [1] CHOICE base [0] -> ImageRepresentationBase CHOICE 2D [0] -> the 2D block,
            # recognised by its representationData2D [0] OCTET STRING (primitive).
            node = rb[1]
            for _ in range(4):
                r2 = _ctx(node) if node.constructed else {}
                if 0 in r2 and not r2[0].constructed:
                    break
                if 0 not in r2:
                    raise ParseError(f"{w}: no representationData2D [0] OCTET STRING")
                node = r2[0]
            else:
                raise ParseError(f"{w}: imageRepresentation nested too deeply")
            image = r2[0].value
            info = _ctx(r2[1]) if 1 in r2 and r2[1].constructed else {}
            fmt_code = _int(info.get(0))
            width = height = 0
            if 7 in info and info[7].constructed:
                size = _ctx(info[7])
                width, height = _int(size.get(0), 0), _int(size.get(1), 0)
            meta = _ctx(rb[8]) if 8 in rb and rb[8].constructed else {}
            g, e, h = _int(meta.get(0)), _int(meta.get(1)), _int(meta.get(2))
            faces.append(_finish(dict(
                image=image, width=width, height=height, standard="39794-5",
                gender="unspecified" if g is None else GENDER_39794.get(g, f"code {g}"),
                eye_colour="unspecified" if e is None else EYE_39794.get(e, f"code {e}"),
                hair_colour="unspecified" if h is None else HAIR_39794.get(h, f"code {h}"),
                face_image_type="mrtd",
            ), IMAGE_FORMAT_39794.get(fmt_code) if fmt_code is not None else None, w))
        return faces
    except TLVError as e:
        raise ParseError(f"{where}: 39794-5 block is not valid DER: {e}") from e


def _der_int(tag: int, n: int) -> bytes:
    length = max(1, (n.bit_length() + 8) // 8)
    return tlv.encode(tag, n.to_bytes(length, "big", signed=True))


def encode_39794_5(image: bytes, width: int, height: int, format: str, *, gender: str | None = None) -> bytes:
    """One-face ISO/IEC 39794-5 FaceImageDataBlock, DER, [APPLICATION 5] (for tests and emulated chips)."""
    fmt = {"jpeg": 2, "jpeg2000": 3}.get(format)
    if fmt is None:
        raise InputError(f"image format: expected jpeg or jpeg2000, found {format!r}")
    info = tlv.encode(0xA0, _der_int(0x80, fmt)) + tlv.encode(0xA7, _der_int(0x80, width) + _der_int(0x81, height))
    rep2d = tlv.encode(0x80, bytes(image)) + tlv.encode(0xA1, info)
    rep = tlv.encode(0xA1, tlv.encode(0xA0, tlv.encode(0xA0, rep2d)))
    block = _der_int(0x80, 1) + rep
    if gender is not None:
        block += tlv.encode(0xA8, tlv.encode(0xA0, _der_int(0x80, _code(GENDER_39794, gender, "gender"))))
    version = tlv.encode(0xA0, _der_int(0x80, 1) + _der_int(0x81, 2019))
    body = version + tlv.encode(0xA1, tlv.encode(0x30, block))
    return tlv.encode(0x65, body)


# --------------------------------------------------------------------------- DG2

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
