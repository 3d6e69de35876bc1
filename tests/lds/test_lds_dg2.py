"""DG2 face records: ISO/IEC 19794-5 and 39794-5, JPEG and JPEG 2000 (ICAO 9303-10 §4.7.2)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import LimitExceededError, ParseError
from verifier.icao import tlv
from verifier.icao.lds.dg2 import encode_dg2, parse_dg2
from verifier.icao.lds.face_19794 import encode_19794_5, parse_19794_5
from verifier.icao.lds.face_39794 import encode_39794_5, parse_39794_5
from verifier.icao.lds.image_headers import image_format, image_size

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
SAMPLE = (DATA / "dg2" / "iso19794-5_sample.bin").read_bytes()
SAMPLE_JPEG = (DATA / "dg2" / "iso19794-5_sample_face.jpg").read_bytes()


def _jp2(size=(360, 480)) -> bytes:
    """A grey JPEG 2000 portrait in the JP2 box format (older CCCD-like chips' DG2 image)."""
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).save(out, "JPEG2000", irreversible=True)
    return out.getvalue()


DEMO_JP2 = _jp2()


def _wrap(bdb: bytes, tag: int = 0x5F2E) -> bytes:
    bit = tlv.encode(0x7F60, tlv.encode(0xA1, tlv.encode(0x81, b"\x02")) + tlv.encode(tag, bdb))
    return tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + bit))


def test_sample_record_yields_the_jpeg_byte_for_byte():
    faces = parse_19794_5(SAMPLE)
    assert len(faces) == 1
    face = faces[0]
    assert face.image == SAMPLE_JPEG
    assert face.format == "jpeg"
    assert (face.width, face.height) == (148, 70)
    assert (face.image_width, face.image_height) == (148, 70)
    assert face.standard == "19794-5"


def test_sample_inside_a_dg2():
    raw = _wrap(SAMPLE)
    dg2 = parse_dg2(raw)
    assert dg2.raw == raw
    assert dg2.faces[0].image == SAMPLE_JPEG
    assert dg2.header[0x81] == b"\x02"


def test_sample_declared_type_mismatch_is_a_warning():
    # the sample's image-data-type byte says JPEG 2000 while the bytes are a JPEG
    assert any("jpeg2000" in w for w in parse_19794_5(SAMPLE)[0].warnings)


def test_jp2_portrait_size_from_ihdr():
    assert image_format(DEMO_JP2) == "jpeg2000"
    assert image_size(DEMO_JP2) == (360, 480)


def test_j2k_codestream_size_from_siz():
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (37, 23), 128).save(out, "JPEG2000", no_jp2=True)
    data = out.getvalue()
    assert data.startswith(b"\xff\x4f\xff\x51")
    assert image_size(data) == (37, 23)
    face = parse_dg2(encode_dg2(data)).faces[0]
    assert (face.format, face.width, face.height, face.image) == ("jpeg2000", 37, 23, data)


def test_encode_dg2_jp2_round_trip_19794():
    raw = encode_dg2(DEMO_JP2, gender="male")
    face = parse_dg2(raw).faces[0]
    assert face.image == DEMO_JP2
    assert (face.format, face.width, face.height, face.gender) == ("jpeg2000", 360, 480, "male")
    assert face.warnings == ()


def test_encode_dg2_39794_round_trip():
    raw = encode_dg2(SAMPLE_JPEG, standard="39794-5", gender="female")
    assert b"\x7f\x2e" in raw
    face = parse_dg2(raw).faces[0]
    assert face.standard == "39794-5"
    assert face.image == SAMPLE_JPEG
    assert (face.width, face.height, face.gender) == (148, 70, "female")


def test_39794_without_application_wrapper_and_size_block():
    # a block that is just the SEQUENCE body, no [APPLICATION 5], no image size: size comes from the image
    full = tlv.decode(encode_39794_5(SAMPLE_JPEG, 0, 0, "jpeg"))
    face = parse_39794_5(tlv.encode(0x30, full.value))[0]
    assert (face.width, face.height) == (148, 70)


def test_declared_size_mismatch_is_a_warning_and_the_image_size_is_reported():
    face = parse_19794_5(encode_19794_5(SAMPLE_JPEG, 150, 70, "jpeg"))[0]
    assert (face.width, face.height) == (148, 70)
    assert (face.image_width, face.image_height) == (148, 70)
    assert (face.header_width, face.header_height) == (150, 70)
    assert any("150x70" in w and "148x70" in w for w in face.warnings)


def test_cccd_header_quirk_480x400_for_a_300x400_jpeg():
    """Every real CCCD sample: the 19794-5 header says 480 x 400, the JPEG is 300 x 400 (cccd/README.md)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 400), (120, 110, 100)).save(out, "JPEG")
    jpeg = out.getvalue()
    face = parse_dg2(encode_dg2(jpeg, 480, 400, gender="male")).faces[0]
    assert (face.format, face.width, face.height) == ("jpeg", 300, 400)
    assert (face.header_width, face.header_height) == (480, 400)
    assert face.image == jpeg and len(face.warnings) == 1


def test_unreadable_image_header_falls_back_to_the_record():
    face = parse_19794_5(encode_19794_5(b"\xff\xd8\xff\xe0garbage", 300, 400, "jpeg"))[0]
    assert (face.width, face.height) == (300, 400) and face.image_width is None
    assert any("could not read" in w for w in face.warnings)


def test_feature_points_are_read():
    rec = bytearray(encode_19794_5(SAMPLE_JPEG, 148, 70, "jpeg"))
    # insert two feature points: bump counts and lengths
    points = struct.pack(">BBHHH", 1, 0x31, 10, 20, 0) + struct.pack(">BBHHH", 1, 0x32, 30, 40, 0)
    block_len = struct.unpack(">I", rec[14:18])[0] + 16
    rec[14:18] = struct.pack(">I", block_len)
    rec[18:20] = struct.pack(">H", 2)
    rec[8:12] = struct.pack(">I", len(rec) + 16)
    rec[34:34] = points
    face = parse_19794_5(bytes(rec))[0]
    assert [(p.code, p.x, p.y) for p in face.feature_points] == [(0x31, 10, 20), (0x32, 30, 40)]
    assert face.image == SAMPLE_JPEG


@pytest.mark.parametrize("mutate, message", [
    (lambda r: b"XAC\x00" + r[4:], "FAC"),
    (lambda r: r[:8] + struct.pack(">I", len(r) + 100) + r[12:], "record length"),
    (lambda r: r[:12] + b"\x00\x00" + r[14:], "no face"),
    (lambda r: r[:14] + struct.pack(">I", 10) + r[18:], "block length"),
    (lambda r: r[:14] + struct.pack(">I", len(r)) + r[18:], "block length"),
    (lambda r: r[:46] + b"GIF89a" + r[52:], "neither JPEG"),
    (lambda r: r[:46], "record length"),
])
def test_malformed_19794_is_a_parse_error(mutate, message):
    with pytest.raises(ParseError, match=message):
        parse_19794_5(mutate(SAMPLE))


def test_too_many_faces_is_refused():
    with pytest.raises(LimitExceededError):
        parse_19794_5(SAMPLE[:12] + b"\x10\x00" + SAMPLE[14:])


@pytest.mark.parametrize("raw, message", [
    (b"", "BER-TLV"),
    (b"\x75\x05\x7f\x61", "BER-TLV"),
    (tlv.encode(0x61, b""), "expected tag 75"),
    (tlv.encode(0x75, tlv.encode(0x02, b"\x01")), "7F61 missing"),
    (tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01"))), "no biometric information template"),
    (tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x7F60, tlv.encode(0xA1, b"")))), "5F2E or 7F2E"),
    (_wrap(b"\x30\x00", 0x7F2E), "versionBlock"),
    (_wrap(tlv.encode(0x65, tlv.encode(0xA0, b"") + tlv.encode(0xA1, b"")), 0x7F2E), "no representation"),
])
def test_malformed_dg2_is_a_parse_error(raw, message):
    with pytest.raises(ParseError, match=message):
        parse_dg2(raw)


def test_garbage_never_crashes():
    for n in range(0, len(SAMPLE), 97):
        try:
            parse_dg2(_wrap(SAMPLE[:n]))
        except ParseError:
            pass


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 65535), st.integers(0, 65535), st.sampled_from(["jpeg", "jpeg2000"]),
       st.sampled_from(["unspecified", "male", "female"]), st.sampled_from(["19794-5", "39794-5"]))
def test_round_trip(payload, width, height, fmt, gender, standard):
    image = (b"\xff\xd8" if fmt == "jpeg" else b"\xff\x4f\xff\x51") + payload
    extra = {"gender": gender} if standard == "19794-5" or gender != "unspecified" else {}
    dg2 = parse_dg2(encode_dg2(image, width, height, fmt, standard=standard, **extra))
    face = dg2.faces[0]
    assert face.image == image
    assert face.format == fmt
    assert face.standard == standard
    assert face.gender == gender
    if image_size(image) is None:
        assert (face.width, face.height) == (width, height) or 0 in (width, height)


def test_other_19794_editions_fall_back_to_the_image_magic():
    header = b"FAC\x00030\x00" + struct.pack(">IH", 17 + 40 + len(SAMPLE_JPEG), 1) + b"\x00\x00\x00"
    record = header + b"\x00" * 40 + SAMPLE_JPEG
    face = parse_19794_5(record)[0]
    assert face.image == SAMPLE_JPEG and (face.width, face.height) == (148, 70)
    assert face.standard == "19794-5:030" and face.warnings
    with pytest.raises(ParseError, match="no JPEG"):
        parse_19794_5(header + b"\x00" * 60)


@pytest.mark.parametrize("args, kwargs, message", [
    ((b"GIF89a",), {}, "JPEG or JPEG 2000"),
    ((b"\xff\xd8\xff\xe0",), {}, "width/height"),
    ((SAMPLE_JPEG,), {"standard": "19794-4"}, "standard"),
    ((SAMPLE_JPEG,), {"gender": "robot"}, "gender"),
])
def test_encoder_refuses_bad_input(args, kwargs, message):
    from verifier.errors import InputError

    with pytest.raises(InputError, match=message):
        encode_dg2(*args, **kwargs)
