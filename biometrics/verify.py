"""Chip portrait vs camera frame: :class:`FaceVerifier`, the API the scan service calls.

::

    verifier = FaceVerifier(Thresholds(match=0.45, no_match=0.60))
    pending = verifier.encode_reference_async(dg2_jpeg_or_jp2)   # while the camera runs
    frame = capture_best_frame(source, consent=consent)          # biometrics.camera
    result = verifier.verify(pending.result(), frame)
    result.decision, result.score, result.to_json()

The reference (chip portrait) is encoded once; after the frame is taken only the
frame's face is encoded (its detection was done during capture) and compared.
Decisions: ``match`` / ``refer`` / ``no_match`` (see :mod:`biometrics.compare` for the
calibration), or ``no_face`` / ``multiple_faces`` / ``poor_quality`` with reasons.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrics import compare
from biometrics.compare import Thresholds
from biometrics.faces import Face, detect_faces, encode_chip, face_chip
from biometrics.images import MAX_BYTES, MAX_PIXELS, decode_image, decode_portrait
from biometrics.models import Models, shared_models
from biometrics.quality import Quality, QualityLimits, Reason, assess, other_faces, reason, what
from verifier.errors import ImageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One picture of the customer (RGB), with the faces found in it when already known."""

    image: np.ndarray = field(repr=False)
    faces: tuple[Face, ...] | None = None
    taken_at: float = 0.0  # time.monotonic() when grabbed
    source: str = ""
    quality: Quality | None = None


@dataclass(frozen=True)
class Reference:
    """The encoded chip portrait. ``issue`` is set (and ``encoding`` None) when it has no usable face."""

    encoding: np.ndarray | None = field(default=None, repr=False)
    face: Face | None = None
    quality: Quality | None = None
    issue: tuple[str, Reason] | None = None  # (decision, reason)
    elapsed_ms: float = 0.0
    #: the portrait is grey (CCCD chips store grey JPEG 2000): camera faces are then compared in grey too
    grey: bool = False
    #: the aligned face crop that was encoded (for :mod:`biometrics.portrait_copy`)
    chip: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def template(self) -> bytes | None:
        """The 128-D template as little-endian float32 bytes (512 bytes), for storage."""
        return None if self.encoding is None else self.encoding.astype("<f4").tobytes()


@dataclass(frozen=True)
class FaceResult:
    """What the face step decides: the decision, the descriptor distance and the clerk's score,
    the thresholds the distance was judged against (:mod:`biometrics.compare`), the reasons and
    the image quality measures. (No liveness: that is ``chipid face liveness``'s challenge.)"""

    decision: str
    distance: float | None
    score: int | None
    reasons: tuple[Reason, ...]
    elapsed_ms: float
    quality: dict = field(default_factory=dict)
    encoding: np.ndarray | None = field(default=None, repr=False, compare=False)
    thresholds: Thresholds | None = None
    #: the aligned face crop of the probe that was encoded (for :mod:`biometrics.portrait_copy`)
    chip: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def template(self) -> bytes | None:
        """The camera face's template (float32 bytes) to keep instead of the frame."""
        return None if self.encoding is None else self.encoding.astype("<f4").tobytes()

    def to_json(self) -> dict:
        return {
            "decision": self.decision,
            "distance": None if self.distance is None else round(self.distance, 4),
            "score": self.score,
            "reasons": [r.to_json() for r in self.reasons],
            "elapsed_ms": round(self.elapsed_ms, 1),
            "quality": self.quality,
            "thresholds": None if self.thresholds is None else {"match": self.thresholds.match,
                                                                "no_match": self.thresholds.no_match},
        }


_DECISION_TEXT = {
    compare.MATCH: ("Same person (score {score}/100).", "Cùng một người (điểm {score}/100)."),
    compare.REFER: ("Uncertain (score {score}/100): compare the two photos yourself and decide.",
                    "Chưa chắc chắn (điểm {score}/100): nhân viên tự so sánh hai ảnh và quyết định."),
    compare.NO_MATCH: ("Not the same person (score {score}/100).", "Không phải cùng một người (điểm {score}/100)."),
}


def _decision_reason(decision: str, score: int) -> Reason:
    en, vi = _DECISION_TEXT[decision]
    return Reason(decision, en.format(score=score), vi.format(score=score))


class FaceVerifier:
    """Compares a chip portrait with camera frames. Thread-safe; load once per process."""

    def __init__(self, thresholds: Thresholds = Thresholds(), limits: QualityLimits = QualityLimits(), *,
                 models: Models | None = None, jitters: int = 0, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS) -> None:
        self.thresholds = thresholds
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.limits = limits
        self.jitters = jitters
        self._models = models
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def models(self) -> Models:
        if self._models is None:
            self._models = shared_models()
        return self._models

    # --- the chip side ------------------------------------------------------------
    def encode_reference(self, image: bytes | np.ndarray, *, name: str = "chip portrait",
                         chip: bool = False) -> Reference:
        """Find and encode the face of the chip portrait (JPEG / JPEG 2000 bytes or an RGB array).

        ``chip``: the bytes come from a chip's DG2 and are decoded within the portrait limits
        (:func:`biometrics.images.decode_portrait`); otherwise within the general image limits.
        Raises :class:`ImageError` when the bytes are not a decodable image; a decodable
        image without a usable face gives a :class:`Reference` with ``issue`` set.
        """
        t0 = time.perf_counter()
        if isinstance(image, np.ndarray):
            rgb = _check_array(image, name)
        elif chip:
            rgb = decode_portrait(image, name=name)
        else:
            rgb = decode_image(image, name=name, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        faces = detect_faces(self.models, rgb)
        ms = lambda: (time.perf_counter() - t0) * 1000  # noqa: E731
        if not faces:
            return Reference(issue=(compare.NO_FACE, reason("no_face", **what("reference"))), elapsed_ms=ms())
        others = other_faces(faces, self.limits)
        if others:
            return Reference(issue=(compare.MULTIPLE_FACES,
                                    reason("multiple_faces", n=1 + len(others), **what("reference"))),
                             elapsed_ms=ms())
        face = faces[0]
        quality = assess(rgb, face, self.limits, check_eyes=False)
        chip = face_chip(rgb, face)
        grey = _is_grey(chip)
        encoding = encode_chip(self.models, chip, self.jitters)
        return Reference(encoding, face, quality, None, ms(), grey, chip)

    def encode_reference_async(self, image: bytes | np.ndarray, *, chip: bool = True) -> "Future[Reference]":
        """Start encoding the chip portrait in a worker thread (call before the camera starts);
        bytes are decoded within the chip portrait limits unless ``chip`` is False."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-reference")
            return self._pool.submit(self.encode_reference, image, chip=chip)

    # --- the camera side -------------------------------------------------------------
    def verify(self, reference: Reference, frame: Frame | np.ndarray | bytes, *, name: str = "camera picture",
               started: float | None = None) -> FaceResult:
        """Decide whether the face in ``frame`` is the chip portrait's. ``elapsed_ms`` counts from
        ``started`` (a ``time.perf_counter()`` value) or from the call."""
        t0 = time.perf_counter() if started is None else started
        if isinstance(frame, Frame):
            rgb, faces = frame.image, frame.faces
        elif isinstance(frame, np.ndarray):
            rgb, faces = _check_array(frame, name), None
        else:
            rgb, faces = decode_image(frame, name=name, max_bytes=self.max_bytes, max_pixels=self.max_pixels), None

        def done(decision, reasons, dist=None, score=None, quality=None, encoding=None, chip=None) -> FaceResult:
            ms = (time.perf_counter() - t0) * 1000
            log.debug("face decision %s in %.0f ms", decision, ms)
            return FaceResult(decision, dist, score, tuple(reasons), ms, quality or {}, encoding, self.thresholds, chip)

        ref_quality = reference.quality.measures if reference.quality else None
        if reference.issue is not None:
            decision, why = reference.issue
            return done(decision, [why], quality={"reference": ref_quality, "frame": None})
        if faces is None:
            faces = tuple(detect_faces(self.models, rgb))
        if not faces:
            return done(compare.NO_FACE, [reason("no_face", **what("frame"))],
                        quality={"reference": ref_quality, "frame": None})
        others = other_faces(list(faces), self.limits)
        if others:
            return done(compare.MULTIPLE_FACES, [reason("multiple_faces", n=1 + len(others), **what("frame"))],
                        quality={"reference": ref_quality, "frame": None})
        face = faces[0]
        q = assess(rgb, face, self.limits)
        chip = face_chip(rgb, face)
        if reference.grey:  # like with like: a grey chip portrait against a grey camera face
            chip = _to_grey(chip)
        encoding = encode_chip(self.models, chip, self.jitters)
        dist = compare.distance(reference.encoding, encoding)
        sc = compare.score(dist, self.thresholds)
        quality = {"reference": ref_quality, "frame": q.measures}
        if q.issues:
            return done(compare.POOR_QUALITY, q.issues, dist, sc, quality, encoding, chip)
        decision = compare.decide(dist, self.thresholds)
        return done(decision, [_decision_reason(decision, sc)], dist, sc, quality, encoding, chip)

    def compare(self, reference_image: bytes | np.ndarray, probe_image: bytes | np.ndarray, *,
                names: tuple[str, str] = ("image A", "image B")) -> FaceResult:
        """Both sides from images (the CLI's ``face compare``); ``elapsed_ms`` covers both."""
        t0 = time.perf_counter()
        ref = self.encode_reference(reference_image, name=names[0])
        return self.verify(ref, probe_image, name=names[1], started=t0)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def _is_grey(rgb: np.ndarray) -> bool:
    a = rgb.astype(np.int16)
    return bool(np.abs(a[..., 0] - a[..., 1]).max() <= 2 and np.abs(a[..., 1] - a[..., 2]).max() <= 2)


def _to_grey(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB))


def _check_array(rgb: np.ndarray, name: str) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError(f"{name}: expected an H x W x 3 uint8 RGB array, found {rgb.dtype} {rgb.shape}")
    return np.ascontiguousarray(rgb)
