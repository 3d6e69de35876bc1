"""Chip portraits are decoded within their own limits, checked from the header before decoding
(issue 15 item 14: a 141-byte JPEG 2000 codestream decodes to 6000 x 6000 under the general 40 MP cap)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from biometrics.images import MAX_PORTRAIT_PIXELS, check_portrait, decode_image, decode_portrait
from verifier.errors import ImageError

REPO = Path(__file__).resolve().parents[2]
DEMO_PORTRAIT = (REPO / "drivers" / "emulator" / "demo" / "card" / "photo.jpg").read_bytes()

#: A JPEG 2000 codestream (SIZ 6000 x 6000, one grey component, one constant tile) made by
#: Pillow/OpenJPEG: 141 bytes that decode to 36 megapixels.
J2K_BOMB = bytes.fromhex(
    "ff4fff510029000000001770000017700000000000000000000017700000177000000000000000000001070101ff52000c"
    "00000001000504040001ff5c00134040484850484850484850484850484850ff640025000143726561746564206279204f"
    "70656e4a5045472076657273696f6e20322e352e34ff90000a0000000000140001ff93808080808080ffd9")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _jp2_claiming(width: int, height: int, codestream: bytes) -> bytes:
    """A JP2 file whose ihdr box claims width x height around ``codestream`` (which may say otherwise)."""
    ihdr = _box(b"ihdr", struct.pack(">IIHBBBB", height, width, 1, 7, 7, 0, 0))
    colr = _box(b"colr", bytes([1, 0, 0]) + struct.pack(">I", 17))
    return (bytes.fromhex("0000000C6A5020200D0A870A") + _box(b"ftyp", b"jp2 \0\0\0\0jp2 ")
            + _box(b"jp2h", ihdr + colr) + _box(b"jp2c", codestream))


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF0 header is patched to claim width x height."""
    out = io.BytesIO()
    Image.new("L", (64, 48), 100).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def loads(monkeypatch):
    """Counts pixel decodes (``Image.load`` on a file-backed image): a refusal must come before any."""
    calls = []
    original = Image.Image.load

    def counting(self):
        if getattr(self, "fp", None) is not None:
            calls.append(self.size)
        return original(self)

    monkeypatch.setattr(Image.Image, "load", counting)
    return calls


def test_the_bomb_is_real_under_the_general_cap():
    assert len(J2K_BOMB) == 141
    assert Image.open(io.BytesIO(J2K_BOMB)).size == (6000, 6000)
    assert 6000 * 6000 < 40_000_000  # the general cap lets it through


@pytest.mark.parametrize("bomb", [J2K_BOMB, _jpeg_claiming(6000, 6000), _jpeg_claiming(2500, 300)],
                         ids=["j2k-6000x6000", "jpeg-6000x6000", "jpeg-2500-wide"])
def test_portrait_bombs_are_refused_from_the_header(bomb, loads):
    with pytest.raises(ImageError, match="limit") as e:
        decode_portrait(bomb)
    assert "chip portrait" in str(e.value)
    assert loads == []  # refused before any pixel was decoded
    with pytest.raises(ImageError, match="limit"):
        check_portrait(bomb)


def test_jp2_whose_box_hides_a_larger_codestream_is_refused():
    with pytest.raises(ImageError):
        decode_portrait(_jp2_claiming(300, 400, J2K_BOMB))


def test_real_shaped_portrait_decodes():
    rgb = decode_portrait(DEMO_PORTRAIT)
    assert rgb.shape == (400, 300, 3)
    assert check_portrait(DEMO_PORTRAIT) == (300, 400)
    assert 300 * 400 < MAX_PORTRAIT_PIXELS


def test_portrait_must_be_jpeg_or_jpeg2000():
    out = io.BytesIO()
    Image.new("RGB", (300, 400)).save(out, "PNG")
    with pytest.raises(ImageError, match="JPEG"):
        decode_portrait(out.getvalue())
    assert decode_image(out.getvalue()).shape == (400, 300, 3)  # a PNG upload is still fine elsewhere


def test_browser_image_of_a_chip_portrait_is_held_to_the_portrait_limits(loads):
    from verifier.api.images import to_browser_image

    with pytest.raises(ImageError, match="limit"):
        to_browser_image(J2K_BOMB, portrait=True)
    with pytest.raises(ImageError, match="limit"):
        to_browser_image(_jpeg_claiming(6000, 6000), portrait=True)  # even a JPEG that would pass through
    assert loads == []
    assert to_browser_image(DEMO_PORTRAIT, portrait=True) == (DEMO_PORTRAIT, "image/jpeg")


def test_face_reference_from_chip_bytes_is_held_to_the_portrait_limits(loads):
    from biometrics.verify import FaceVerifier

    verifier = FaceVerifier()  # models load lazily: the refusal comes first
    with pytest.raises(ImageError, match="limit"):
        verifier.encode_reference(J2K_BOMB, chip=True)
    with pytest.raises(ImageError, match="limit"):
        verifier.encode_reference_async(J2K_BOMB).result(timeout=30)  # the counter's path (verifier/api/face.py)
    verifier.close()
    assert loads == []
