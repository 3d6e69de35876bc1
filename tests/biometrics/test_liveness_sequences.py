"""Liveness on synthetic frame sequences: a still photo never passes; blink and head turn are seen in order."""

from __future__ import annotations

import random

import numpy as np
import pytest

from biometrics import synthetic as S
from biometrics.camera import TimedFrame
from biometrics.liveness import (BLINK, FAILED, NOT_PERFORMED, PASSED, TURN_LEFT, TURN_RIGHT, Challenge,
                                 check_liveness, new_challenge)
from verifier.errors import InputError


@pytest.fixture(scope="module")
def clips(camera_frames):
    """Pieces of a 15 fps recording of obama.jpg's frame: open eyes, a blink, a turn to the customer's left."""
    frame, face = camera_frames["obama.jpg"]
    rng = np.random.default_rng(7)
    return {
        "open": [S.jitter(frame, rng) for _ in range(16)],
        "closed": [S.jitter(S.close_eyes(frame, face), rng) for _ in range(2)],
        # nose toward the picture's right = the customer's left in an unmirrored camera
        "left": [S.jitter(S.turn_head(frame, face, 0.7), rng) for _ in range(4)],
        "right": [S.jitter(S.turn_head(frame, face, -0.7), rng) for _ in range(4)],
        "still": frame,
    }


def _seq(*parts):
    frames = [f for part in parts for f in part]
    return [TimedFrame(i / 15.0, f) for i, f in enumerate(frames)]


def test_single_still_image_is_not_performed(models, clips):
    result = check_liveness([clips["still"]], Challenge((BLINK,)), models=models)
    assert result.status == NOT_PERFORMED
    assert "single picture" in result.reason.en and result.reason.vi
    short = _seq(clips["open"][:3])
    assert check_liveness(short, Challenge((BLINK,)), models=models).status == NOT_PERFORMED


def test_still_photo_repeated_fails(models, clips):
    frames = _seq([clips["still"]] * 30)
    for steps in [(BLINK,), (TURN_LEFT,), (TURN_RIGHT, BLINK)]:
        result = check_liveness(frames, Challenge(steps), models=models)
        assert result.status == FAILED and result.reason.code == "no_movement"


def test_photo_with_camera_noise_fails(models, clips):
    result = check_liveness(_seq(clips["open"], clips["open"]), Challenge((BLINK,)), models=models)
    assert result.status == FAILED and result.reason.code == "blink_not_seen"


def test_blink_passes(models, clips):
    o = clips["open"]
    result = check_liveness(_seq(o[:6], clips["closed"], o[6:]), Challenge((BLINK,)), models=models)
    assert result.status == PASSED, result
    assert result.details["steps_done"][0]["step"] == BLINK
    best = result.best_frame
    assert best is not None and not 6 <= best < 8  # never a closed-eye frame


def test_head_turn_direction(models, clips):
    o = clips["open"]
    frames = _seq(o[:6], clips["left"], o[6:])
    assert check_liveness(frames, Challenge((TURN_LEFT,)), models=models).status == PASSED
    wrong = check_liveness(frames, Challenge((TURN_RIGHT,)), models=models)
    assert wrong.status == FAILED and wrong.reason.code == "turn_right_not_seen"
    assert "Quay đầu sang phải" in wrong.reason.vi
    # a mirrored camera swaps the picture's sides
    assert check_liveness(frames, Challenge((TURN_RIGHT,)), models=models, mirrored=True).status == PASSED


def test_steps_must_come_in_order(models, clips):
    o = clips["open"]
    frames = _seq(o[:5], clips["closed"], o[5:8], clips["right"], o[8:])
    assert check_liveness(frames, Challenge((BLINK, TURN_RIGHT)), models=models).status == PASSED
    result = check_liveness(frames, Challenge((TURN_RIGHT, BLINK)), models=models)
    assert result.status == FAILED and result.reason.code == "blink_not_seen"
    assert result.details["steps_done"][0]["step"] == TURN_RIGHT


def test_tilted_printed_photo_does_not_count_as_a_turn(models, clips):
    rng = np.random.default_rng(3)
    still = clips["still"]
    angles = list(range(0, 36, 5)) + list(range(35, -36, -5)) + [0, 0, 0]
    frames = _seq([S.jitter(still, rng)] * 3, [S.jitter(S.tilt_photo(still, a), rng) for a in angles])
    for step in (TURN_LEFT, TURN_RIGHT):
        result = check_liveness(frames, Challenge((step,)), models=models)
        assert result.status == FAILED, (step, result.details)


def test_face_missing_fails(models, clips):
    blank = np.full_like(clips["still"], 90)
    frames = _seq(clips["open"][:3], [blank] * 20)
    result = check_liveness(frames, Challenge((BLINK,)), models=models)
    assert result.status == FAILED and result.reason.code == "face_lost"


def test_challenges_are_random_and_complete():
    seen = {new_challenge(random.Random(seed)).steps for seed in range(40)}
    assert len(seen) == 4  # blink first or second, left or right
    for steps in seen:
        assert BLINK in steps and len(steps) == 2
    assert "Chớp mắt" in Challenge((BLINK, TURN_LEFT)).prompt()["vi"]
    with pytest.raises(InputError):
        Challenge(("smile",))
    with pytest.raises(InputError):
        Challenge(())


def test_result_json(models, clips):
    result = check_liveness([clips["still"]], Challenge((BLINK,)), models=models)
    out = result.to_json()
    assert out["status"] == "not_performed" and out["reason"] and out["reason_vi"] and out["code"]
