"""Image decoding: formats, and hostile input (empty, truncated, corrupt, huge) as ImageError, never a crash."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from biometrics.images import MAX_BYTES, decode_image, read_image_file, sniff_format
from verifier.errors import ImageError


def _encode(rgb: np.ndarray, fmt: str, mode: str = "RGB", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).convert(mode).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample(photos):
    return photos["grace_hopper.jpg"][:200, :160].copy()


@pytest.mark.parametrize("fmt,mode", [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "L"), ("JPEG2000", "L"),
                                      ("JPEG2000", "RGB"), ("BMP", "RGB"), ("WEBP", "RGB"), ("TIFF", "RGB")])
def test_formats_decode_to_rgb(sample, fmt, mode):
    data = _encode(sample, fmt, mode)
    rgb = decode_image(data)
    assert rgb.shape == (200, 160, 3) and rgb.dtype == np.uint8
    if fmt in ("PNG", "BMP", "TIFF") and mode == "RGB":
        assert np.array_equal(rgb, sample)  # lossless formats round-trip exactly


def test_jpeg2000_codestream_and_chip_portrait(chip_portrait):
    assert sniff_format(chip_portrait) == "JPEG2000"
    assert 12_000 <= len(chip_portrait) <= 15_000
    rgb = decode_image(chip_portrait)
    assert rgb.shape == (480, 360, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 1])  # grey
    raw = Image.open(io.BytesIO(chip_portrait))
    j2k = io.BytesIO()
    raw.save(j2k, format="JPEG2000", no_jp2=True)
    assert sniff_format(j2k.getvalue()) == "JPEG2000"
    assert decode_image(j2k.getvalue()).shape == (480, 360, 3)


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        read_image_file(empty)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_image_file(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="not a regular file|directory"):
        read_image_file(tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "JPEG2000"])
def test_truncated_images(sample, fmt):
    data = _encode(sample, fmt)
    for cut in (len(data) // 2, len(data) * 3 // 4, 40):
        with pytest.raises(ImageError, match="corrupt or truncated|too small|not a recognised"):
            decode_image(data[:cut])


def test_truncated_chip_portrait(chip_portrait):
    with pytest.raises(ImageError, match="corrupt or truncated"):
        decode_image(chip_portrait[: len(chip_portrait) // 3])


def test_corrupt_body_and_garbage(sample):
    data = bytearray(_encode(sample, "PNG"))
    data[60:400] = b"\x00" * 340
    with pytest.raises(ImageError, match="corrupt or truncated"):
        decode_image(bytes(data))
    with pytest.raises(ImageError, match="not a recognised image"):
        decode_image(b"%PDF-1.7 not an image at all")
    with pytest.raises(ImageError, match="expected image bytes"):
        decode_image("a string")  # type: ignore[arg-type]


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_huge_declared_dimensions_refused_before_decoding():
    bomb = _png_header_only(60_000, 60_000)  # 3.6 gigapixels declared in ~100 bytes
    with pytest.raises(ImageError, match="decompression bomb"):
        decode_image(bomb)
    with pytest.raises(ImageError, match="8000x6000 = 48000000 pixels exceeds the limit"):
        decode_image(_png_header_only(8000, 6000))


def test_oversized_file_refused_before_reading(tmp_path, sample):
    data = _encode(sample, "PNG")
    with pytest.raises(ImageError, match="larger than"):
        decode_image(data, max_bytes=len(data) - 1)
    big = tmp_path / "big.jpg"
    with big.open("wb") as fh:  # sparse file: larger than the limit, never read
        fh.seek(MAX_BYTES + 1)
        fh.write(b"\0")
    with pytest.raises(ImageError, match="larger than"):
        read_image_file(big)


def test_a_big_real_image_within_limits_decodes():
    rgb = np.zeros((3000, 4000, 3), np.uint8)  # 12 MP
    rgb[::7] = 200
    assert decode_image(_encode(rgb, "JPEG", quality=50)).shape == (3000, 4000, 3)
    with pytest.raises(ImageError, match="exceeds the limit"):
        decode_image(_encode(rgb, "JPEG", quality=50), max_pixels=10_000_000)


def test_tiny_image_refused(sample):
    with pytest.raises(ImageError, match="too small"):
        decode_image(_encode(sample[:8, :8], "PNG"))


def test_sixteen_bit_grey_png():
    a = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    rgb = decode_image(buf.getvalue())
    assert rgb.shape == (64, 64, 3) and rgb.max() == 255


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600), st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"\xff\x4f\xff\x51",
                                                  b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"BM", b"II*\x00"]))
def test_fuzzed_headers_give_image_error_or_an_image(body, magic):
    try:
        rgb = decode_image(magic + body)
    except ImageError:
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3


def test_jpeg2000_declaring_a_huge_size_is_refused(sample):
    buf = io.BytesIO()
    Image.fromarray(sample).convert("L").save(buf, format="JPEG2000", no_jp2=True)
    j2k = bytearray(buf.getvalue())
    assert j2k[:4] == b"\xff\x4f\xff\x51"
    j2k[8:16] = struct.pack(">II", 50_000, 50_000)  # SIZ Xsiz, Ysiz (ISO/IEC 15444-1 A.5.1)
    with pytest.raises(ImageError, match="decompression bomb|exceeds the limit|corrupt"):
        decode_image(bytes(j2k))
    j2k[8:16] = struct.pack(">II", 7000, 7000)  # 49 MP: over our 40 MP limit, under Pillow's
    with pytest.raises(ImageError, match="7000x7000 = 49000000 pixels exceeds the limit"):
        decode_image(bytes(j2k))
