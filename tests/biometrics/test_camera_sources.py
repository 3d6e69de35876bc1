"""Camera sources: image file, folder, video file, missing/busy/black cameras, streams, and consent."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrics import camera
from biometrics import synthetic as S
from biometrics.camera import FrameSource, capture_best_frame, capture_frames, describe_source
from biometrics.consent import Consent
from biometrics.liveness import NOT_PERFORMED, Challenge, check_liveness
from verifier.errors import BiometricsError, CameraError

CONSENT = Consent.now("test-scan")


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_still_image_source(tmp_path, models, camera_frames):
    frame, _ = camera_frames["obama.jpg"]
    src = _write_png(tmp_path / "cam.png", frame)
    best = capture_best_frame(str(src), consent=CONSENT, models=models)
    assert best.image.shape == (480, 640, 3) and len(best.faces) == 1
    assert best.quality.ok and best.source == str(src)


def test_video_source_keeps_the_best_frame(tmp_path, models, camera_frames):
    frame, face = camera_frames["obama.jpg"]
    frames = [np.zeros_like(frame)] * 2 + [S.blur(frame, face), S.darken(frame, 0.3), frame, S.blur(frame, face, 1 / 80)]
    video = _write_video(tmp_path / "burst.avi", frames)
    best = capture_best_frame(str(video), consent=CONSENT, models=models, burst=6, warmup=0)
    assert best.quality is not None and best.quality.ok, best.quality
    assert best.quality.measures["sharpness"] > 4 and best.quality.measures["brightness"] > 100


def test_black_frames(tmp_path, models):
    video = _write_video(tmp_path / "black.avi", [np.zeros((480, 640, 3), np.uint8)] * 5)
    with pytest.raises(CameraError, match="only black frames"):
        capture_best_frame(str(video), consent=CONSENT, models=models)
    with pytest.raises(CameraError, match="black frames"):
        capture_frames(str(video), consent=CONSENT)


def test_no_face_in_any_frame(tmp_path, models):
    scene = np.random.default_rng(0).integers(40, 220, (480, 640, 3), dtype=np.uint8)
    best = capture_best_frame(str(_write_png(tmp_path / "wall.png", scene)), consent=CONSENT, models=models)
    assert best.faces == () and best.quality is None


def test_missing_camera_sources():
    with pytest.raises(CameraError, match="no camera at /dev/video97: the device does not exist"):
        FrameSource("/dev/video97")
    with pytest.raises(CameraError, match="no camera at 97"):
        FrameSource("97")
    with pytest.raises(CameraError, match="not found"):
        FrameSource("/nonexistent/cam.jpg")
    with pytest.raises(CameraError, match="no camera configured"):
        FrameSource("")


def test_corrupt_image_and_video_files(tmp_path):
    bad = tmp_path / "cam.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    with pytest.raises(CameraError, match="camera image: .*cam.jpg: corrupt or truncated"):
        FrameSource(str(bad))
    junk = tmp_path / "cam.avi"
    junk.write_bytes(b"RIFF nonsense")
    with pytest.raises(CameraError):
        capture_best_frame(str(junk), consent=CONSENT)
    empty = tmp_path / "frames"
    empty.mkdir()
    with pytest.raises(CameraError, match="holds no images"):
        FrameSource(str(empty))


def test_stream_that_does_not_answer_fails_quickly():
    t0 = time.monotonic()
    with pytest.raises(CameraError, match=r"rtsp://\*\*\*@127.0.0.1:9/live cannot be opened"):
        FrameSource("rtsp://admin:secret@127.0.0.1:9/live", timeout_s=2.0)
    assert time.monotonic() - t0 < 30  # a hang would hit the pytest timeout; credentials never shown
    assert describe_source("rtsp://admin:secret@cam/x") == "rtsp://***@cam/x"


class _BusyCapture:
    """A V4L2 camera that opens but never delivers a frame (held by another program).
    Real cameras cannot exist in CI: this fakes only the device edge."""

    def __init__(self, *args, **kwargs):
        pass

    def isOpened(self):
        return True

    def set(self, *args):
        return True

    def read(self):
        return False, None

    def get(self, *args):
        return 0.0

    def release(self):
        pass


def test_busy_camera(monkeypatch, models):
    monkeypatch.setattr(camera.cv2, "VideoCapture", _BusyCapture)
    with pytest.raises(CameraError, match="busy"):
        capture_best_frame("0", consent=CONSENT, models=models, timeout_s=1.0)


def test_capture_requires_consent(camera_frames, tmp_path):
    frame, _ = camera_frames["obama.jpg"]
    src = str(_write_png(tmp_path / "cam.png", frame))
    for missing in (None, True, "yes"):
        with pytest.raises(BiometricsError, match="no consent recorded"):
            capture_best_frame(src, consent=missing)  # type: ignore[arg-type]
        with pytest.raises(BiometricsError, match="no consent recorded"):
            capture_frames(src, consent=missing)  # type: ignore[arg-type]


def test_folder_and_video_sequences_for_liveness(tmp_path, models, camera_frames):
    frame, _ = camera_frames["grace_hopper.jpg"]
    folder = tmp_path / "seq"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        _write_png(folder / f"{i:03d}.png", S.jitter(frame, rng))
    frames = capture_frames(str(folder), consent=CONSENT)
    assert [round(f.t, 3) for f in frames] == [round(i / 15, 3) for i in range(6)]
    video = _write_video(tmp_path / "seq.avi", [frame] * 10, fps=10.0)
    frames = capture_frames(str(video), consent=CONSENT)
    assert len(frames) == 10 and frames[-1].t == pytest.approx(0.9)
    still = capture_frames(str(_write_png(tmp_path / "still.png", frame)), consent=CONSENT)
    assert len(still) == 1
    assert check_liveness(still, Challenge(("blink",)), models=models).status == NOT_PERFORMED
