"""One face of DG2 (ICAO 9303-10 §4.7.2) as either record standard carries it (ISO/IEC 19794-5:2005, 39794-5:2019).

:func:`face_from_record` builds a :class:`FaceImage` from a record's fields: the image bytes are kept
byte for byte (the chip photo is evidence), ``width`` / ``height`` are the image's own
(:mod:`verifier.icao.lds.image_headers`), the record's claim is kept as ``header_width`` /
``header_height`` and a disagreement is a warning (real CCCDs disagree on every sample,
``/work/shared/data/cccd/README.md``). :func:`code_for` turns a code table's text back into its
code for the encoders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.errors import InputError, ParseError
from verifier.icao.lds.image_headers import image_format, image_size

#: Faces in one DG2 or one biometric record: more is hostile.
MAX_FACES = 16


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


def face_from_record(face: dict, declared_format: str | None, where: str) -> FaceImage:
    """The :class:`FaceImage` of one record's ``face`` fields (``image``, the record's ``width`` /
    ``height``, optional ``warnings``, the rest as :class:`FaceImage` names them); ``where`` names
    the record in errors. Raises :class:`ParseError` when the image is neither JPEG nor JPEG 2000."""
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


def code_for(mapping: dict, value: str, what: str) -> int:
    """The code of ``value`` in a code table (code -> text); :class:`InputError` names ``what``."""
    for k, v in mapping.items():
        if v == value:
            return k
    raise InputError(f"{what}: expected one of {', '.join(mapping.values())}, found {value!r}")
