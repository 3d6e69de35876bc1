"""ISO/IEC 19794-5:2005 facial records (``"FAC\\0"``, version ``010``), as DG2's 5F2E block carries them.

ICAO 9303-10 §4.7.2; the record layout and code tables are ISO/IEC 19794-5:2005 §5.4-5.7
(facial record header, facial information, feature points, image information). Other editions
(``030``, ISO/IEC 19794-5:2011) are read by locating the image from its magic bytes, with a warning.
"""

from __future__ import annotations

import struct

from verifier.errors import LimitExceededError, ParseError
from verifier.icao.lds.face_image import MAX_FACES, FaceImage, FeaturePoint, code_for, face_from_record
from verifier.icao.lds.image_headers import J2K_MAGIC, JP2_MAGIC

MAX_FEATURE_POINTS = 1000

# ISO/IEC 19794-5:2005 §5.5 code tables
GENDER_19794 = {0: "unspecified", 1: "male", 2: "female", 0xFF: "unknown"}
EYE_19794 = {0: "unspecified", 1: "black", 2: "blue", 3: "brown", 4: "gray", 5: "green", 6: "multi-coloured",
             7: "pink", 0xFF: "unknown"}
HAIR_19794 = {0: "unspecified", 1: "bald", 2: "black", 3: "blonde", 4: "brown", 5: "gray", 6: "white", 7: "red",
              0xFF: "unknown"}
FACE_IMAGE_TYPE_19794 = {0: "basic", 1: "full frontal", 2: "token frontal"}
IMAGE_DATA_TYPE_19794 = {0: "jpeg", 1: "jpeg2000"}


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
        faces.append(face_from_record(dict(
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
    return face_from_record(
        dict(image=data[min(starts):record_length], width=0, height=0, standard=f"19794-5:{version}",
             warnings=[f"19794-5 version {version!r}: header not decoded, image located by its magic bytes"]),
        None, where)


def encode_19794_5(image: bytes, width: int, height: int, format: str, *, gender: str = "unspecified",
                   eye_colour: str = "unspecified", hair_colour: str = "unspecified",
                   face_image_type: str = "full frontal", colour_space: int = 0, source_type: int = 2,
                   device_type: int = 0, quality: int = 0) -> bytes:
    """One-face ISO/IEC 19794-5:2005 record (version 010)."""
    dtype = code_for(IMAGE_DATA_TYPE_19794, format, "image format")
    facial_info = struct.pack(">IHBBB", 20 + 12 + len(image), 0, code_for(GENDER_19794, gender, "gender"),
                              code_for(EYE_19794, eye_colour, "eye colour"),
                              code_for(HAIR_19794, hair_colour, "hair colour"))
    facial_info += b"\x00" * 3 + b"\x00\x00" + b"\x00" * 6
    image_info = struct.pack(">BBHHBBHH", code_for(FACE_IMAGE_TYPE_19794, face_image_type, "face image type"), dtype,
                             width, height, colour_space, source_type, device_type, quality)
    body = facial_info + image_info + bytes(image)
    return b"FAC\x00" + b"010\x00" + struct.pack(">IH", 14 + len(body), 1) + body
