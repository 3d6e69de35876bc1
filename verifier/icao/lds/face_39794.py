"""ISO/IEC 39794-5:2019 face image data blocks (DER, implicit context tags), as DG2's 7F2E block carries them.

ICAO 9303-10 §4.7.2 admits the extensible 39794-5 encoding next to 19794-5; this module reads
the FaceImageDataBlock's representations (image, format, size, gender, eye and hair colour) and
encodes one-face blocks for tests and emulated chips.
"""

from __future__ import annotations

from verifier.errors import InputError, LimitExceededError, ParseError, TLVError
from verifier.icao import tlv
from verifier.icao.lds.face_image import MAX_FACES, code_for, face_from_record

# ISO/IEC 39794-5 code tables
GENDER_39794 = {0: "unknown", 1: "other", 2: "male", 3: "female"}
EYE_39794 = {0: "unknown", 1: "other", 2: "black", 3: "blue", 4: "brown", 5: "gray", 6: "green", 7: "hazel",
             8: "multi-coloured", 9: "pink"}
HAIR_39794 = {0: "unknown", 1: "other", 2: "bald", 3: "black", 4: "blonde", 5: "brown", 6: "gray", 7: "white",
              8: "red", 9: "known coloured"}
IMAGE_FORMAT_39794 = {2: "jpeg", 3: "jpeg2000", 4: "jpeg2000"}


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
            faces.append(face_from_record(dict(
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
        block += tlv.encode(0xA8, tlv.encode(0xA0, _der_int(0x80, code_for(GENDER_39794, gender, "gender"))))
    version = tlv.encode(0xA0, _der_int(0x80, 1) + _der_int(0x81, 2019))
    body = version + tlv.encode(0xA1, tlv.encode(0x30, block))
    return tlv.encode(0x65, body)
