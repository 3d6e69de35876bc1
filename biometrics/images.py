"""Decode untrusted image bytes (chip portraits, uploads, files) into RGB arrays, within fixed limits.

Formats: JPEG, JPEG 2000 (``.jp2`` box format and raw ``.j2k`` codestreams, as found in
ICAO 9303-10 §4.7.2 / ISO/IEC 19794-5 face records), PNG, BMP, TIFF, WebP. Pillow does the
decoding (its wheel bundles libjpeg-turbo and OpenJPEG).

Hostile input is refused *before* decoding: more than :data:`MAX_BYTES` of data, or a
header declaring more than :data:`MAX_PIXELS` pixels (a decompression bomb) raises
:class:`~verifier.errors.ImageError`; so does an empty, truncated or corrupt file.
Nothing here logs pixel data.

Chip portraits (DG2, read from an untrusted chip) go through :func:`decode_portrait`, the one
place that decodes them (face comparison, the counter page): JPEG or JPEG 2000 only, at most
:data:`MAX_PORTRAIT_BYTES`, and a header declaring more than :data:`MAX_PORTRAIT_PIXELS` or
more than :data:`MAX_PORTRAIT_SIDE` pixels a side is refused before any pixel is decoded. The
general 40-megapixel cap is for camera pictures and uploads; under it a 141-byte JPEG 2000
codestream still decodes to 6000 x 6000 (36 MP, 0.4 s, ~150 MB inside OpenJPEG).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from verifier.errors import ImageError

#: Largest encoded image accepted (bytes).
MAX_BYTES = 20 * 1024 * 1024
#: Largest decoded image accepted (pixels): 40 megapixels.
MAX_PIXELS = 40_000_000
#: Smallest sensible image side (pixels).
MIN_SIDE = 16

#: Chip portrait limits. Real CCCD portraits are 300 x 400 (0.12 MP, about 15 KB); an ISO/IEC
#: 19794-5 full-frontal image of a 35 x 45 mm photo scanned at 600 dpi is about 830 x 1060
#: (0.9 MP). No chip portrait comes near 2 MP or 2000 pixels a side (a DG2 file is read over a
#: contactless link and is far below 1 MB), and at 2 MP the decoded image stays under 2 MB per
#: 8-bit band (8 MB inside OpenJPEG's 32-bit buffers): the memory bound of decoding an untrusted
#: chip image, against 36 MP for the 141-byte bomb.
MAX_PORTRAIT_PIXELS = 2_000_000
MAX_PORTRAIT_SIDE = 2000
MAX_PORTRAIT_BYTES = 1024 * 1024
_PORTRAIT_FORMATS = ("JPEG", "JPEG2000")

_FORMATS = ("JPEG", "JPEG2000", "PNG", "BMP", "TIFF", "WEBP", "PPM")


def sniff_format(data: bytes) -> str | None:
    """The image format named by the magic bytes, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or data[:4] == b"\xff\x4f\xff\x51":
        return "JPEG2000"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] in (b"P5", b"P6"):
        return "PPM"
    return None


def decode_portrait(data: bytes, *, name: str = "chip portrait") -> np.ndarray:
    """Decode a chip portrait (DG2 image: JPEG or JPEG 2000, ICAO 9303-10 §4.7.2) within the
    portrait limits: the header's size is checked before decoding (see the module docstring).
    Raises :class:`ImageError` for anything else."""
    return decode_image(data, name=name, max_bytes=MAX_PORTRAIT_BYTES, max_pixels=MAX_PORTRAIT_PIXELS,
                        max_side=MAX_PORTRAIT_SIDE, formats=_PORTRAIT_FORMATS)


def check_portrait(data: bytes, *, name: str = "chip portrait") -> tuple[int, int]:
    """(width, height) from a chip portrait's header, refused like :func:`decode_portrait` refuses,
    without decoding: for callers that pass a portrait on as it is (e.g. a JPEG to a browser)."""
    with _opened(data, name, MAX_PORTRAIT_BYTES, MAX_PORTRAIT_PIXELS, MAX_PORTRAIT_SIDE, _PORTRAIT_FORMATS) as img:
        return img.size


def decode_image(data: bytes, *, name: str = "image", max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS, max_side: int | None = None,
                 formats: tuple[str, ...] = _FORMATS) -> np.ndarray:
    """Decode ``data`` to an ``H x W x 3`` RGB ``uint8`` array (grey images are expanded).

    EXIF orientation is applied (phone and camera photos). ``name`` only labels errors.
    ``max_side`` caps each side, ``formats`` the accepted formats (Pillow names).
    Raises :class:`ImageError` for empty, oversized, unknown, corrupt or truncated input.
    """
    with _opened(data, name, max_bytes, max_pixels, max_side, formats) as img:
        try:
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode != "RGB":
                if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                    img = _to_8bit(img)
                img = img.convert("RGB")
            return np.asarray(img, dtype=np.uint8).copy()
        except MemoryError as e:
            raise ImageError(f"{name}: not enough memory to decode the image") from e
        except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, struct.error ... on bad data
            raise ImageError(f"{name}: corrupt or truncated {img.format} image ({type(e).__name__}: {e})") from e


@contextlib.contextmanager
def _opened(data, name: str, max_bytes: int, max_pixels: int, max_side: int | None, formats: tuple[str, ...]):
    """Pillow's lazy open (headers only) of ``data`` after the size, format and pixel checks."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"{name}: expected image bytes, found {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes), expected a JPEG, JPEG 2000 or PNG image")
    if len(data) > max_bytes:
        raise ImageError(f"{name}: {len(data)} bytes is larger than the {max_bytes}-byte limit for an image")
    fmt = sniff_format(data)
    if fmt is None or fmt not in formats:
        raise ImageError(f"{name}: not a recognised image (expected {', '.join(formats)}; "
                         f"found bytes {data[:8].hex()})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # corrupt EXIF and the like: judged by the decode itself
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=(fmt,))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageError(f"{name}: refused as a decompression bomb ({e})") from e
        except MemoryError as e:
            raise ImageError(f"{name}: not enough memory to read the image header") from e
        except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, struct.error ... on bad data
            raise ImageError(f"{name}: corrupt or truncated {fmt} image ({type(e).__name__}: {e})") from e
        with img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageError(f"{name}: {width}x{height} = {width * height} pixels exceeds the limit of "
                                 f"{max_pixels} pixels")
            if max_side is not None and max(width, height) > max_side:
                raise ImageError(f"{name}: {width}x{height} exceeds the limit of {max_side} pixels a side")
            if min(width, height) < MIN_SIDE:
                raise ImageError(f"{name}: {width}x{height} is too small to hold a face (expected at least "
                                 f"{MIN_SIDE} pixels a side)")
            yield img


def _to_8bit(img: Image.Image) -> Image.Image:
    a = np.asarray(img, dtype=np.float64)
    hi = float(a.max()) or 1.0
    return Image.fromarray(np.clip(a * 255.0 / hi, 0, 255).astype(np.uint8), "L")


def read_image_file(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES,
                    max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read and decode an image file; the size is checked before the file is read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ImageError(f"{path}: not a regular file")
        if size > max_bytes:
            raise ImageError(f"{path}: {size} bytes is larger than the {max_bytes}-byte limit for an image")
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ImageError(f"{path}: no such file") from e
    except PermissionError as e:
        raise ImageError(f"{path}: permission denied") from e
    except IsADirectoryError as e:
        raise ImageError(f"{path}: is a directory, expected an image file") from e
    except OSError as e:
        raise ImageError(f"{path}: cannot be read ({e})") from e
    return decode_image(data, name=str(path), max_bytes=max_bytes, max_pixels=max_pixels)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB array (for showing a frame to the clerk or retaining it)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def chip_like_portrait(rgb: np.ndarray, *, size: tuple[int, int] = (360, 480), target_bytes: int = 13_500,
                       box: tuple[int, int, int, int] | None = None) -> bytes:
    """A grey JPEG 2000 portrait shaped like a CCCD chip's DG2 image (tests, demo, benchmarks).

    ``box`` = (left, top, right, bottom) of the face in ``rgb``; the crop follows the
    ICAO 9303-3 token-image proportions roughly (face about half the width). The
    compression ratio is chosen so the file lands near ``target_bytes``.
    """
    h, w = rgb.shape[:2]
    if box is not None:
        left, top, right, bottom = box
        fw = right - left
        cx, cy = (left + right) / 2, (top + bottom) / 2
        cw = fw / 0.55
        ch = cw * size[1] / size[0]
        x0, y0 = int(round(cx - cw / 2)), int(round(cy - ch * 0.45))
        x1, y1 = int(round(x0 + cw)), int(round(y0 + ch))
        pad = max(0, -x0, -y0, x1 - w, y1 - h)
        if pad:
            rgb = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
            x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 + pad, y1 + pad
        rgb = rgb[y0:y1, x0:x1]
    img = Image.fromarray(rgb).convert("L").resize(size, Image.LANCZOS)
    raw = size[0] * size[1]
    ratio = max(1.0, raw / target_bytes)
    out = b""
    for _ in range(6):
        buf = io.BytesIO()
        img.save(buf, format="JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[ratio])
        out = buf.getvalue()
        if abs(len(out) - target_bytes) < target_bytes * 0.05:
            break
        ratio *= len(out) / target_bytes
    return out
