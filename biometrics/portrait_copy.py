"""Is the face step's probe the chip portrait itself, or a near-copy of it? (issue 17 item 7)

The face step must compare the chip portrait (ICAO 9303-10 §4.7.2, DG2; ISO/IEC 19794-5) with
*the person at the counter*. An upload of the chip's own portrait, as read (distance 0.0), re-encoded,
rescaled or cropped, proves nothing about who is standing there, so it is refused before any decision
is recorded. Three rules, cheapest first:

``same_bytes``
    the probe's bytes are the portrait's bytes.
``same_pixels``
    both decode to the same picture (same size, mean absolute difference below
    :data:`SAME_PIXELS_MAE` on 0-255): the portrait saved again losslessly (PNG, BMP...).
``near_copy``
    the face descriptors are closer than :data:`COPY_DISTANCE_FLOOR` **and** the two aligned face
    crops (the 150x150 chips that were encoded, :func:`biometrics.faces.face_chip`) correlate at
    least :data:`COPY_SIMILARITY_FLOOR` (zero-mean normalised cross-correlation of their grey levels).

The floors were measured on the demo card's portrait (``drivers/emulator/demo/card/photo.jpg``,
300x400, made from the press photo ``faces/obama.jpg``) against the shared photos in
``/work/shared/data/faces`` and copies of the portrait (dlib ResNet descriptor, no jitter):

=====================================================  ==========  ===========
probe                                                  distance    similarity
=====================================================  ==========  ===========
the portrait's own bytes / saved again as PNG          0.000       1.000
re-encoded JPEG quality 70                             0.054       0.988
rescaled 0.9x (JPEG 85) / 1.5x (JPEG 90)               0.046/0.045 0.991/0.992
cropped 8 % each side                                  0.064       0.927
pasted on a wider page (padding)                       0.044       0.980
the press photo the portrait was made from (obama)     0.075       0.983
another photo of the same man (demo camera, obama2)    0.361       0.329
a third photo of the same man (obama3)                 0.328       -0.127
other people (biden, grace_hopper)                     0.81-0.85   0.13-0.20
=====================================================  ==========  ===========

Copies sit at 0.04-0.08 and correlate above 0.92; genuine other pictures of the same person sit at
0.33 or more and correlate below 0.35. The floors (0.12 and 0.85) leave a wide margin on both
sides; the distance alone would not do (a live capture of a very still sitter can come close), so
both must hold. No liveness is claimed: an uploaded press photo that is *not* the portrait still
passes this check, which is why the contract records where the probe came from and who gave it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

#: descriptor distance below which two faces may be the same picture (measured above)
COPY_DISTANCE_FLOOR = 0.12
#: aligned face-crop correlation at or above which two faces are the same picture (measured above)
COPY_SIMILARITY_FLOOR = 0.85
#: mean absolute difference (0-255) below which two equally sized pictures are the same pixels
SAME_PIXELS_MAE = 1.0


@dataclass(frozen=True)
class CopyFinding:
    """Why a probe is taken for the chip portrait: ``rule`` (same_bytes / same_pixels / near_copy) and
    the measures, with the clerk's sentence in English (``reason``) and Vietnamese (``reason_vi``)."""

    rule: str
    distance: float | None = None
    similarity: float | None = None

    @property
    def reason(self) -> str:
        return ("The picture of the customer is the chip's own photo (or a copy of it): take a picture of the "
                "customer with the camera.")

    @property
    def reason_vi(self) -> str:
        return ("Ảnh khách hàng chính là ảnh trong chip (hoặc bản sao của nó): hãy chụp khách hàng bằng camera.")

    def to_json(self) -> dict:
        return {"rule": self.rule, "distance": None if self.distance is None else round(self.distance, 4),
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "reason": self.reason, "reason_vi": self.reason_vi}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _grey(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 3:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return rgb.astype(np.float64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Zero-mean normalised cross-correlation of two equally sized pictures' grey levels (-1..1)."""
    ga, gb = _grey(a), _grey(b)
    if ga.shape != gb.shape:
        gb = cv2.resize(gb, (ga.shape[1], ga.shape[0]), interpolation=cv2.INTER_AREA)
    ga = (ga - ga.mean()) / (ga.std() + 1e-9)
    gb = (gb - gb.mean()) / (gb.std() + 1e-9)
    return float((ga * gb).mean())


def same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """Same size and (nearly) the same grey levels: one picture saved twice."""
    ga, gb = _grey(a), _grey(b)
    return ga.shape == gb.shape and float(np.abs(ga - gb).mean()) < SAME_PIXELS_MAE


def before_comparison(portrait: bytes, probe: bytes, portrait_rgb: np.ndarray | None = None,
                      probe_rgb: np.ndarray | None = None) -> CopyFinding | None:
    """The rules that need no face model: ``same_bytes``, then ``same_pixels`` (when both decoded)."""
    if probe == portrait:
        return CopyFinding("same_bytes", 0.0, 1.0)
    if portrait_rgb is not None and probe_rgb is not None and same_pixels(portrait_rgb, probe_rgb):
        return CopyFinding("same_pixels", None, 1.0)
    return None


def after_comparison(distance: float | None, portrait_chip: np.ndarray | None,
                     probe_chip: np.ndarray | None) -> CopyFinding | None:
    """``near_copy``: a distance below :data:`COPY_DISTANCE_FLOOR` and aligned crops that correlate
    at least :data:`COPY_SIMILARITY_FLOOR`."""
    if distance is None or distance >= COPY_DISTANCE_FLOOR or portrait_chip is None or probe_chip is None:
        return None
    sim = similarity(portrait_chip, probe_chip)
    return CopyFinding("near_copy", distance, sim) if sim >= COPY_SIMILARITY_FLOOR else None
