"""Face-descriptor distance -> decision (match / refer / no_match) and a 0-100 score for the clerk.

Calibration (settings ``face.match_threshold`` and ``face.no_match_threshold``)
--------------------------------------------------------------------------------
dlib's ResNet descriptor puts two photos of one person at a Euclidean distance below
about 0.6 (its authors' operating point: 99.38 % on LFW; ``face_recognition``'s default
``tolerance=0.6``). That model is known to separate East-Asian faces less well (see
ageitgey/face_recognition issues #431 and #412, where users drop to 0.45-0.5), and a
CCCD chip portrait is small, grey and heavily compressed. So a single cut-off is not used:

* ``distance <= 0.45``: **match** (automatic accept);
* ``0.45 < distance <= 0.60``: **refer**: the clerk compares both photos and decides;
* ``distance > 0.60``: **no_match**.

On ``shared/data/faces`` (run ``python -m benchmarks.bench_face``) same-person pairs
measure 0.24-0.45 photo-to-photo and up to 0.56 from a grey 13.5 KB JPEG 2000
chip-like portrait to a photo (the camera face is compared in grey when the portrait is
grey); different people 0.66-0.89. On those 84 pairs: 27 of 30 same-person pairs match
automatically and 3 go to the clerk (refer), 0 of 54 different-person pairs are
accepted or referred; ``face_recognition`` at 0.6 accepts all 30 and rejects all 54. The no-match cut-off equals ``face_recognition``'s tolerance, so every
pair it rejects we reject too, and the automatic-accept cut-off is stricter: the
refer band trades clerk time for false accepts. Tighten ``face.match_threshold`` first
if a shop sees look-alikes accepted.

Score: a piecewise-linear map of the distance the clerk can read, 100 = identical,
>= 75 match, 50-75 refer, < 50 no match (whatever the thresholds are set to):
0 -> 100, match_threshold -> 75, no_match_threshold -> 50, 1.0 -> 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verifier.errors import BiometricsError

MATCH = "match"
REFER = "refer"
NO_MATCH = "no_match"
NO_FACE = "no_face"
MULTIPLE_FACES = "multiple_faces"
POOR_QUALITY = "poor_quality"
DECISIONS = (MATCH, REFER, NO_MATCH, NO_FACE, MULTIPLE_FACES, POOR_QUALITY)

SCORE_MATCH = 75
SCORE_REFER = 50


@dataclass(frozen=True)
class Thresholds:
    match: float = 0.45
    no_match: float = 0.60

    def __post_init__(self) -> None:
        if not (0.0 < self.match <= self.no_match < 1.0):
            raise BiometricsError(f"face thresholds: expected 0 < match <= no_match < 1, found match={self.match} "
                                  f"no_match={self.no_match}")


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two 128-D descriptors (as ``face_recognition.face_distance``)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def decide(dist: float, thresholds: Thresholds = Thresholds()) -> str:
    if dist <= thresholds.match:
        return MATCH
    if dist <= thresholds.no_match:
        return REFER
    return NO_MATCH


def score(dist: float, thresholds: Thresholds = Thresholds()) -> int:
    """0-100; >= 75 match, 50-75 refer, < 50 no match."""
    xs = [0.0, thresholds.match, thresholds.no_match, max(1.0, thresholds.no_match + 0.05)]
    ys = [100.0, SCORE_MATCH, SCORE_REFER, 0.0]
    return int(np.floor(float(np.interp(dist, xs, ys)) + 1e-9))  # floor: 74.9 is not a match
