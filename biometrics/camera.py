"""Camera capture with OpenCV: USB cameras, RTSP/HTTP streams, and image/video files or folders.

``camera.source`` forms:

* ``"0"``, ``"1"`` ... : USB/V4L2 camera by index; ``"/dev/video0"``: by device path;
* ``"rtsp://..."``, ``"http(s)://..."``: an IP camera stream (FFmpeg backend, with open
  and read time-outs);
* a still image file (``.jpg .jpeg .png .bmp .jp2 .webp``): the same picture every time
  (tests, demo). A still image can never pass liveness;
* a folder of images: its images in name order, one per frame (synthetic sequences);
* any other existing file: a video file.

:func:`capture_best_frame` warms the camera up (auto-exposure settles), grabs a short
burst and keeps the best frame: exactly one face, big enough, sharp and frontal.
:func:`capture_frames` records a few seconds of timed frames for the liveness challenge.
Both refuse to start without a recorded :class:`~biometrics.consent.Consent`.

Errors (:class:`~verifier.errors.CameraError`) name the source and the likely cause: no
camera, camera busy (opened but no picture), black frames (lens covered, privacy shutter).
Frames stay in memory; nothing is written or logged.

One camera, several users in one process: the face step and the QR read (foreground, a clerk
waits) and the counter's QR watch (background, :mod:`verifier.api.qr_watch`). :func:`camera_gate`
gives each source one :class:`CameraGate`; the foreground captures here hold it
(:meth:`CameraGate.exclusive`) and the watch only takes it when nobody wants it and lets go as soon
as someone does, so two never hold the device at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Iterator
from pathlib import Path

import cv2
import numpy as np

from biometrics.consent import Consent, require_consent
from biometrics.faces import detect_faces
from biometrics.images import read_image_file
from biometrics.models import Models, shared_models
from biometrics.quality import QualityLimits, assess, other_faces
from biometrics.verify import Frame
from verifier.errors import CameraError, ImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".jp2", ".j2k", ".webp", ".tif", ".tiff"}
#: mean grey level and spread under which a frame counts as black.
BLACK_MEAN = 12.0
BLACK_STD = 6.0


def describe_source(source: str) -> str:
    """The source as shown in errors and logs (stream credentials removed)."""
    if "://" in source and "@" in source:
        scheme, rest = source.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return source


class CameraGate:
    """Who holds one camera source now: a foreground capture or the background QR watch, never both.

    A foreground user (:meth:`exclusive`) says it wants the camera, then waits for it; the background
    user (:meth:`try_background`) takes it only when free and nobody wants it, and checks
    :meth:`wanted` between frames to let go (:meth:`release_background`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._wanting = 0

    def wanted(self) -> bool:
        """Whether a foreground capture waits for (or holds) the camera."""
        with self._state:
            return self._wanting > 0

    @contextlib.contextmanager
    def exclusive(self, timeout_s: float, label: str = "camera") -> Iterator[None]:
        """Hold the camera for a foreground capture; :class:`CameraError` when it stays taken ``timeout_s``."""
        with self._state:
            self._wanting += 1
        try:
            if not self._lock.acquire(timeout=max(0.1, timeout_s)):
                raise CameraError(f"camera {label} is in use by another capture of this service: try again")
            try:
                yield
            finally:
                self._lock.release()
        finally:
            with self._state:
                self._wanting -= 1

    def try_background(self) -> bool:
        """Take the camera for the background watch if it is free and no foreground capture wants it."""
        if self.wanted():
            return False
        return self._lock.acquire(blocking=False)

    def release_background(self) -> None:
        self._lock.release()


_GATES: dict[str, CameraGate] = {}
_GATES_LOCK = threading.Lock()


def camera_gate(source: str | int) -> CameraGate:
    """The one :class:`CameraGate` of ``source`` in this process."""
    key = str(source).strip()
    with _GATES_LOCK:
        return _GATES.setdefault(key, CameraGate())


class FrameSource:
    """Frames from one source, RGB. Use as a context manager."""

    def __init__(self, source: str | int, *, width: int = 640, height: int = 480, timeout_s: float = 5.0) -> None:
        self.source = str(source).strip()
        self.label = describe_source(self.source)
        self.timeout_s = timeout_s
        self.is_still = False
        self._still: np.ndarray | None = None
        self._files: list[Path] = []
        self._cap: cv2.VideoCapture | None = None
        self._open(width, height)

    def _open(self, width: int, height: int) -> None:
        src = self.source
        if not src:
            raise CameraError("no camera configured: set camera.source (e.g. \"0\", /dev/video0, an rtsp:// URL "
                              "or an image file)")
        path = Path(src)
        quiet = getattr(getattr(cv2, "utils", None), "logging", None)
        previous = quiet.setLogLevel(quiet.LOG_LEVEL_ERROR) if quiet else None  # no VIDEOIO warnings on stderr
        try:
            self._open_source(src, path, width, height)
        finally:
            if quiet and previous is not None:
                quiet.setLogLevel(previous)

    def _open_source(self, src: str, path: Path, width: int, height: int) -> None:
        if src.isdigit() or src.startswith("/dev/video"):
            index = int(src) if src.isdigit() else src
            if isinstance(index, str) and not os.path.exists(index):
                raise CameraError(f"no camera at {src}: the device does not exist (is the camera plugged in?)")
            cap = cv2.VideoCapture(index, cv2.CAP_V4L2) if hasattr(cv2, "CAP_V4L2") else cv2.VideoCapture(index)
            if not cap.isOpened():
                cap.release()
                device = src if src.startswith("/dev/") else f"/dev/video{src}"
                if os.path.exists(device):
                    raise CameraError(f"camera {src} ({device}) exists but cannot be opened: busy (used by another "
                                      f"program?) or no permission (add the service user to the 'video' group)")
                raise CameraError(f"no camera at {src}: nothing to open (is the camera plugged in?)")
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            self._cap = cap
        elif "://" in src:
            ms = int(self.timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            cap = cv2.VideoCapture(src, cv2.CAP_FFMPEG, params)
            if not cap.isOpened():
                cap.release()
                raise CameraError(f"camera stream {self.label} cannot be opened within {self.timeout_s:.0f} s "
                                  f"(wrong URL or credentials, camera offline, or network down)")
            self._cap = cap
        elif path.is_dir():
            self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise CameraError(f"camera folder {src} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        elif path.is_file():
            if path.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    self._still = read_image_file(path)
                except ImageError as e:
                    raise CameraError(f"camera image: {e.message}") from e
                self.is_still = True
            else:
                cap = cv2.VideoCapture(str(path))
                if not cap.isOpened():
                    cap.release()
                    raise CameraError(f"camera video {src} cannot be opened (not a video OpenCV can decode)")
                self._cap = cap
        else:
            raise CameraError(f"camera source {self.label!r} not found: expected a camera index, /dev/videoN, an "
                              f"rtsp:// or http:// URL, or an existing image/video file or folder")

    def read(self) -> np.ndarray | None:
        """The next frame (RGB), or None at the end of a file/folder. Raises CameraError on a dead camera."""
        if self._still is not None:
            return self._still
        if self._files:
            path = self._files.pop(0)
            try:
                return read_image_file(path)
            except ImageError as e:
                raise CameraError(f"camera folder frame: {e.message}") from e
        if self._files == [] and self._cap is None:
            return None
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        if bgr.ndim == 2:
            return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    @property
    def is_live(self) -> bool:
        return self._cap is not None and not Path(self.source).is_file()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_black(rgb: np.ndarray) -> bool:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(grey.mean()) < BLACK_MEAN and float(grey.std()) < BLACK_STD


@dataclass(frozen=True)
class TimedFrame:
    t: float  # seconds since the first frame
    image: np.ndarray


def _grab(src: FrameSource, count: int, deadline: float) -> list[tuple[float, np.ndarray]]:
    frames, failures = [], 0
    while len(frames) < count:
        if time.monotonic() > deadline:
            break
        img = src.read()
        if img is None:
            if not src.is_live:
                break  # end of the file
            failures += 1
            if failures >= 5:
                break
            time.sleep(0.05)
            continue
        frames.append((time.monotonic(), img))
        if src.is_still:
            break
    return frames


def capture_best_frame(source: str | int, *, consent: Consent, burst: int = 5, warmup: int = 5,
                       width: int = 640, height: int = 480, timeout_s: float = 5.0,
                       models: Models | None = None, limits: QualityLimits = QualityLimits()) -> Frame:
    """Grab ``warmup`` + ``burst`` frames and return the best one, its faces found and its quality assessed.

    The best frame has exactly one face (no other face at least half its size), no quality
    issue if possible, then the highest sharpness x frontality x size. When no frame has a
    face the sharpest frame is returned with ``faces=()``: the caller reports ``no_face``.
    """
    require_consent(consent)
    models = models or shared_models()
    with camera_gate(source).exclusive(timeout_s, describe_source(str(source))), \
            FrameSource(source, width=width, height=height, timeout_s=timeout_s) as src:
        deadline = time.monotonic() + timeout_s
        if src.is_live and warmup > 0:
            _grab(src, warmup, deadline)
        frames = _grab(src, max(1, burst), deadline)
        if not frames:
            if src.is_live:
                raise CameraError(f"camera {src.label} opened but gives no picture: busy (used by another "
                                  f"program?) or disconnected", step="face capture")
            raise CameraError(f"camera source {src.label} holds no frame", step="face capture")
        lit = [(t, img) for t, img in frames if not is_black(img)]
        if not lit:
            raise CameraError(f"camera {src.label} delivers only black frames: lens covered, privacy shutter "
                              f"closed, or no light", step="face capture")
        best, best_key = None, None
        for t, img in lit:
            faces = tuple(detect_faces(models, img))
            if faces and not other_faces(list(faces), limits):
                q = assess(img, faces[0], limits)
                m = q.measures
                value = m["sharpness"] * (1 - min(abs(m["yaw"]), 0.9)) * min(m["face_px"], 300)
                key = (2, -len(q.issues), value)
            elif faces:
                q, key = None, (1, 0, 0.0)
            else:
                grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
                q, key = None, (0, 0, float(cv2.Laplacian(grey, cv2.CV_64F).var()))
            if best_key is None or key > best_key:
                best, best_key = Frame(img, faces, t, src.label, q), key
        return best


def capture_frames(source: str | int, *, consent: Consent, seconds: float = 4.0, max_frames: int = 120,
                   width: int = 640, height: int = 480, timeout_s: float = 5.0) -> list[TimedFrame]:
    """Record up to ``seconds`` of frames (for :func:`biometrics.liveness.check_liveness`).

    A still-image source yields a single frame (liveness will be ``not_performed``).
    """
    require_consent(consent)
    with camera_gate(source).exclusive(timeout_s, describe_source(str(source))), \
            FrameSource(source, width=width, height=height, timeout_s=timeout_s) as src:
        deadline = time.monotonic() + seconds if src.is_live else float("inf")
        frames = _grab(src, max_frames, deadline)
        if not frames:
            raise CameraError(f"camera {src.label} gives no picture: busy or disconnected", step="liveness capture")
        if all(is_black(img) for _, img in frames):
            raise CameraError(f"camera {src.label} delivers only black frames", step="liveness capture")
        fps = src._cap.get(cv2.CAP_PROP_FPS) if src._cap is not None and not src.is_live else 0.0
        t0 = frames[0][0]
        if fps and fps > 0:  # a video file: use its own clock
            return [TimedFrame(i / fps, img) for i, (_, img) in enumerate(frames)]
        if not src.is_live:  # a folder: assume 15 frames per second
            return [TimedFrame(i / 15.0, img) for i, (_, img) in enumerate(frames)]
        return [TimedFrame(t - t0, img) for t, img in frames]
