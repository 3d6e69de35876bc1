"""Find, align and encode faces with dlib (HOG detector, 5-point landmarks, ResNet descriptor).

The pipeline mirrors ``face_recognition``'s ``model="small"`` path (same models, same
150x150 alignment with 25 % padding), without its import-time loading of the
non-commercial 68-point model.

Large images are searched at most :data:`DETECT_MAX_SIDE` pixels a side (faster, and a
face in an ID photo or a counter camera frame is never tiny), with one retry at 2x
upsampling when nothing is found; landmarks and the aligned chip are computed on the
full-resolution image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dlib
import numpy as np

from biometrics.models import Models

DETECT_MAX_SIDE = 800
CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class Face:
    """A detected face in image pixel coordinates (``score``: HOG detector confidence).

    ``landmarks``: dlib's 5 points (see :func:`eye_points`): outer and inner corner of the
    eye on the image's right, outer and inner corner of the eye on the image's left, base
    of the nose.
    """

    left: int
    top: int
    right: int
    bottom: int
    score: float
    landmarks: tuple[tuple[float, float], ...]
    shape: object = field(default=None, compare=False, repr=False)

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def box(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)


def eye_points(face: Face) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((outer, inner) of the eye on the image's right, (outer, inner) of the eye on the image's left).

    dlib's 5-point model: 0/1 = outer/inner corner of the eye seen on the image's right,
    2/3 = outer/inner corner of the eye on the image's left, 4 = base of the nose.
    """
    p = [np.asarray(q, dtype=np.float64) for q in face.landmarks]
    return (p[0], p[1]), (p[2], p[3])


def nose_point(face: Face) -> np.ndarray:
    return np.asarray(face.landmarks[4], dtype=np.float64)


def detect_faces(models: Models, rgb: np.ndarray, *, max_side: int = DETECT_MAX_SIDE,
                 retry_upsample: bool = True) -> list[Face]:
    """All faces found (detector score >= 0), largest first, with their 5 landmarks."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = rgb
    if scale < 1.0:
        import cv2

        small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    with models.lock:
        rects, scores, _ = models.detector.run(small, 0, 0.0)
        if not rects and retry_upsample:
            rects, scores, _ = models.detector.run(small, 1, 0.0)
        faces = []
        for rect, score in zip(rects, scores):
            full = dlib.rectangle(int(rect.left() / scale), int(rect.top() / scale),
                                  int(rect.right() / scale), int(rect.bottom() / scale))
            shape = models.shape5(rgb, full)
            points = tuple((float(p.x), float(p.y)) for p in shape.parts())
            faces.append(Face(full.left(), full.top(), full.right(), full.bottom(), float(score), points, shape))
    faces.sort(key=lambda f: f.area, reverse=True)
    return faces


def landmarks_in(models: Models, rgb: np.ndarray, box: tuple[int, int, int, int]) -> Face:
    """Landmarks for a known face box (e.g. a box found while the camera was capturing)."""
    rect = dlib.rectangle(*[int(v) for v in box])
    with models.lock:
        shape = models.shape5(rgb, rect)
    points = tuple((float(p.x), float(p.y)) for p in shape.parts())
    return Face(rect.left(), rect.top(), rect.right(), rect.bottom(), 0.0, points, shape)


def face_chip(rgb: np.ndarray, face: Face, size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> np.ndarray:
    """The aligned face (eyes level, fixed scale): what the descriptor and the quality gates look at."""
    shape = face.shape
    if shape is None:
        rect = dlib.rectangle(face.left, face.top, face.right, face.bottom)
        shape = dlib.full_object_detection(rect, [dlib.point(round(x), round(y)) for x, y in face.landmarks])
    return np.asarray(dlib.get_face_chip(np.ascontiguousarray(rgb), shape, size=size, padding=padding))


def encode_chip(models: Models, chip: np.ndarray, jitters: int = 0) -> np.ndarray:
    """The 128-D descriptor of an aligned 150x150 face chip (float64, Euclidean space)."""
    with models.encode_lock:
        return np.asarray(models.encoder.compute_face_descriptor(np.ascontiguousarray(chip), jitters),
                          dtype=np.float64)
