"""Same-person / different-person decisions on the shared photos and a chip-like JPEG 2000 portrait."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from biometrics import compare
from biometrics.compare import Thresholds, decide, score
from biometrics.verify import FaceResult, FaceVerifier
from verifier.errors import BiometricsError, ImageError

SAME = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"]
OTHERS = ["biden.jpg", "astronaut.png", "grace_hopper.jpg"]


def _decision(a, b, references):
    """Decision for chip side ``a`` vs camera side ``b`` from the cached encodings (both encoded once)."""
    dist = compare.distance(references[a].encoding, references[b].encoding)
    return compare.decide(dist), dist


def test_same_person_pairs_are_accepted_or_referred(references):
    decisions = []
    for a, b in itertools.combinations(SAME, 2):
        decision, dist = _decision(a, b, references)
        assert decision in (compare.MATCH, compare.REFER), (a, b, dist)
        decisions.append(decision)
    assert decisions.count(compare.MATCH) >= 9  # of 10: most of them automatically


def test_different_people_are_never_accepted(references):
    everyone = SAME + OTHERS
    for a, b in itertools.combinations(everyone, 2):
        if a in SAME and b in SAME:
            continue
        decision, dist = _decision(a, b, references)
        assert decision == compare.NO_MATCH, (a, b, dist)
        assert compare.score(dist) < compare.SCORE_REFER


@pytest.mark.parametrize("probe", SAME + OTHERS)
def test_verify_each_photo_as_the_camera_picture(face_verifier, references, photos, probe):
    result = face_verifier.verify(references["obama.jpg"], photos[probe])
    expected = (compare.MATCH,) if probe in SAME else (compare.NO_MATCH,)
    if probe == "obama.jpg":
        assert result.distance == pytest.approx(0.0, abs=1e-6) and result.score == 100
    assert result.decision in expected, (probe, result)
    assert result.reasons and result.reasons[0].code == result.decision


def test_chip_portrait_against_camera_photos(face_verifier, chip_portrait, photos):
    ref = face_verifier.encode_reference(chip_portrait)
    assert ref.issue is None and ref.encoding.shape == (128,)
    assert ref.grey  # camera faces are compared in grey against it
    for name in SAME:
        result = face_verifier.verify(ref, photos[name])
        assert result.decision in (compare.MATCH, compare.REFER), (name, result)
    assert face_verifier.verify(ref, photos["obama.jpg"]).decision == compare.MATCH
    for name in OTHERS:
        assert face_verifier.verify(ref, photos[name]).decision == compare.NO_MATCH, name


def test_colour_portraits_are_compared_in_colour(references):
    assert not references["obama.jpg"].grey


def test_to_json_has_the_cli_fields(face_verifier, references, photos):
    result = face_verifier.verify(references["obama.jpg"], photos["obama2.jpg"])
    out = result.to_json()
    assert {"decision", "distance", "score", "reasons", "elapsed_ms"} <= set(out)
    assert out["decision"] == "match" and 0 <= out["score"] <= 100 and out["elapsed_ms"] > 0
    assert all({"code", "en", "vi"} == set(r) for r in out["reasons"])
    assert out["reasons"][0]["vi"] != out["reasons"][0]["en"]
    assert "encoding" not in out and "template" not in out  # nothing biometric in the JSON
    assert len(result.template) == 512 and len(references["obama.jpg"].template) == 512


def test_no_face_on_either_side(face_verifier, references, photos):
    blank = np.full((480, 640, 3), 128, np.uint8)
    result = face_verifier.verify(references["obama.jpg"], blank)
    assert result.decision == compare.NO_FACE and result.distance is None and result.score is None
    assert "camera" in result.reasons[0].en
    ref = face_verifier.encode_reference(blank)
    assert ref.encoding is None
    result = face_verifier.verify(ref, photos["obama.jpg"])
    assert result.decision == compare.NO_FACE and "chip portrait" in result.reasons[0].en
    assert "chip" in result.reasons[0].vi


def test_compare_bytes_and_bad_bytes(face_verifier, faces_dir):
    a = (faces_dir / "obama.jpg").read_bytes()
    b = (faces_dir / "biden.jpg").read_bytes()
    assert face_verifier.compare(a, b).decision == compare.NO_MATCH
    with pytest.raises(ImageError, match="image B: corrupt or truncated"):
        face_verifier.compare(a, b[: len(b) // 2])
    with pytest.raises(ImageError, match="image A: empty file"):
        face_verifier.compare(b"", b)


def test_reference_encoded_in_the_background(face_verifier, chip_portrait, photos):
    pending = face_verifier.encode_reference_async(chip_portrait)
    result = face_verifier.verify(pending.result(timeout=60), photos["obama2.jpg"])
    assert result.decision in (compare.MATCH, compare.REFER)


def test_frame_with_known_faces_skips_detection(face_verifier, references, camera_frames):
    from biometrics.verify import Frame

    frame, face = camera_frames["obama.jpg"]
    fast = face_verifier.verify(references["obama2.jpg"], Frame(frame, (face,)))
    slow = face_verifier.verify(references["obama2.jpg"], frame)
    assert fast.decision == slow.decision == compare.MATCH
    assert fast.distance == pytest.approx(slow.distance, abs=1e-6)


def test_decision_bands_and_score():
    t = Thresholds(0.45, 0.60)
    assert [decide(d, t) for d in (0.0, 0.45, 0.4501, 0.60, 0.61, 1.2)] == \
        ["match", "match", "refer", "refer", "no_match", "no_match"]
    assert score(0.0, t) == 100 and score(0.45, t) == 75 and score(0.4501, t) == 74
    assert score(0.60, t) == 50 and score(0.6001, t) == 49 and score(1.5, t) == 0
    scores = [score(d, t) for d in np.linspace(0, 1.2, 50)]
    assert scores == sorted(scores, reverse=True)
    loose = Thresholds(0.55, 0.65)
    assert decide(0.5, loose) == "match" and score(0.55, loose) == 75


def test_bad_thresholds_refused():
    with pytest.raises(BiometricsError, match="0 < match <= no_match < 1"):
        Thresholds(0.7, 0.5)
    with pytest.raises(BiometricsError):
        Thresholds(0.0, 0.5)


def test_stricter_threshold_turns_matches_into_refer(models, references, photos):
    strict = FaceVerifier(Thresholds(0.2, 0.6), models=models)
    result = strict.verify(references["obama.jpg"], photos["obama2.jpg"])
    assert result.decision == compare.REFER and isinstance(result, FaceResult)


def test_nothing_biometric_is_logged(face_verifier, references, photos, caplog):
    import logging

    with caplog.at_level(logging.DEBUG):
        result = face_verifier.verify(references["obama.jpg"], photos["obama2.jpg"])
    import re

    mine = [r.getMessage() for r in caplog.records if r.name.startswith("biometrics")]
    assert mine, "the decision is logged (without biometric data)"
    for message in mine:  # decision and timing only: no distance, score, template or image
        assert re.fullmatch(r"face decision (match|refer|no_match|no_face|multiple_faces|poor_quality) in \d+ ms",
                            message), message
    assert result.decision == "match"


def test_verifier_image_limits(models, faces_dir):
    small = FaceVerifier(models=models, max_pixels=500_000)
    with pytest.raises(ImageError, match="exceeds the limit of 500000 pixels"):
        small.encode_reference((faces_dir / "obama.jpg").read_bytes())


def test_very_small_chip_portrait(face_verifier, photos, main_faces):
    from biometrics.images import chip_like_portrait

    tiny = chip_like_portrait(photos["obama.jpg"], box=main_faces["obama.jpg"].box(), size=(120, 160),
                              target_bytes=3000)
    assert len(tiny) < 3500
    ref = face_verifier.encode_reference(tiny)
    assert ref.issue is None and ref.face.width < 80  # found by the 2x upsampling retry
    assert face_verifier.verify(ref, photos["obama2.jpg"]).decision in (compare.MATCH, compare.REFER)
    assert face_verifier.verify(ref, photos["biden.jpg"]).decision == compare.NO_MATCH
