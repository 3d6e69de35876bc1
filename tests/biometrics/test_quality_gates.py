"""Quality gates on synthetic degradations of 640x480 camera-like frames: each refused with a clear reason."""

from __future__ import annotations

import numpy as np
import pytest

from biometrics import compare
from biometrics import synthetic as S
from biometrics.faces import Face, detect_faces
from biometrics.quality import QualityLimits, assess, pose


def _codes(result):
    return [r.code for r in result.reasons]


def test_good_frame_passes_every_gate(face_verifier, references, camera_frames):
    for name in ("obama.jpg", "grace_hopper.jpg", "biden.jpg"):
        frame, face = camera_frames[name]
        q = assess(frame, face)
        assert q.ok, (name, q)
    frame, _ = camera_frames["obama.jpg"]
    assert face_verifier.verify(references["obama2.jpg"], frame).decision == compare.MATCH


def test_dark_frame(face_verifier, references, camera_frames):
    frame, _ = camera_frames["obama.jpg"]
    result = face_verifier.verify(references["obama2.jpg"], S.darken(frame, 0.25))
    assert result.decision == compare.POOR_QUALITY
    assert "too_dark" in _codes(result)
    reason = next(r for r in result.reasons if r.code == "too_dark")
    assert "too dark" in reason.en and "quá tối" in reason.vi
    assert result.distance is not None  # computed, shown to the clerk, but not decided on


def test_overexposed_frame(face_verifier, references, camera_frames):
    frame, _ = camera_frames["grace_hopper.jpg"]
    result = face_verifier.verify(references["obama.jpg"], S.overexpose(frame, 2.5))
    assert result.decision == compare.POOR_QUALITY and "overexposed" in _codes(result)


def test_blurred_frame(face_verifier, references, camera_frames):
    frame, face = camera_frames["obama.jpg"]
    result = face_verifier.verify(references["obama2.jpg"], S.blur(frame, face))
    assert result.decision == compare.POOR_QUALITY and "blurred" in _codes(result)
    assert "mờ" in next(r.vi for r in result.reasons if r.code == "blurred")


def test_tiny_face(face_verifier, references, photos, main_faces):
    frame, _ = S.camera_frame(photos["obama.jpg"], main_faces["obama.jpg"], face_px=60)
    result = face_verifier.verify(references["obama2.jpg"], frame)
    assert result.decision == compare.POOR_QUALITY, result
    assert "face_too_small" in _codes(result)
    assert "move closer" in next(r.en for r in result.reasons if r.code == "face_too_small")


def test_two_faces(face_verifier, references, camera_frames):
    a, _ = camera_frames["obama.jpg"]
    b, _ = camera_frames["biden.jpg"]
    both = S.side_by_side(a[:, 120:520], b[:, 120:520])
    result = face_verifier.verify(references["obama2.jpg"], both)
    assert result.decision == compare.MULTIPLE_FACES and result.distance is None
    assert "2 faces" in result.reasons[0].en and "2 khuôn mặt" in result.reasons[0].vi


def test_a_small_background_face_is_not_a_second_person(face_verifier, references, camera_frames, photos, main_faces):
    frame, _ = camera_frames["obama.jpg"]
    small, _ = S.camera_frame(photos["biden.jpg"], main_faces["biden.jpg"], size=(200, 160), face_px=85)
    frame = frame.copy()
    frame[:160, :200] = small
    faces = detect_faces(face_verifier.models, frame)
    assert len(faces) == 2 and faces[1].width < 0.5 * faces[0].width
    result = face_verifier.verify(references["obama2.jpg"], frame)
    assert result.decision == compare.MATCH, result


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "biden.jpg"])
def test_eyes_closed(face_verifier, references, camera_frames, name):
    frame, face = camera_frames[name]
    closed = S.close_eyes(frame, face)
    result = face_verifier.verify(references[name], closed)
    assert result.decision == compare.POOR_QUALITY and "eyes_closed" in _codes(result), result.quality
    assert "nhắm mắt" in next(r.vi for r in result.reasons if r.code == "eyes_closed")


def test_off_frontal_face():
    # landmarks of a head turned far to the side: the nose beyond the eye on the image's right
    face = Face(100, 100, 300, 300, 1.0, ((260.0, 180.0), (230.0, 180.0), (150.0, 180.0), (180.0, 180.0),
                                          (275.0, 240.0)))
    yaw, roll = pose(face)
    assert yaw == pytest.approx((275 - 205) / 80) and roll == pytest.approx(0.0)
    frame = np.random.default_rng(0).integers(60, 200, (400, 400, 3), dtype=np.uint8)
    q = assess(frame, face)
    assert "off_frontal" in [r.code for r in q.issues]
    assert q.measures["yaw"] > QualityLimits().max_yaw


def test_limits_are_configurable(camera_frames):
    frame, face = camera_frames["obama.jpg"]
    strict = QualityLimits(min_face_px=400, min_brightness=250.0)
    codes = [r.code for r in assess(frame, face, strict).issues]
    assert codes[:2] == ["face_too_small", "too_dark"]
