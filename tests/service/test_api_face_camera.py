"""The counter's face step with a live (file-backed) camera: consent, capture, decision."""

from __future__ import annotations

from pathlib import Path

from verifier.api.face import FaceService
from verifier.config import Config

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"


def test_camera_capture_path_decides_against_the_chip_portrait():
    cfg = Config().with_overrides(camera__source=str(SHARED / "obama2.jpg"))
    service = FaceService(cfg, demo=False)
    portrait = (SHARED / "obama.jpg").read_bytes()
    decision, probe, template = service.decide("scan-1", portrait, camera=True)
    assert decision.decision == "match", decision
    assert len(template) == 512  # 128 float32: what is kept instead of the frame
    assert decision.demo is False and decision.source == "camera"
    assert decision.thresholds == {"match": cfg["face.match_threshold"], "no_match": cfg["face.no_match_threshold"]}
    assert decision.distance <= decision.thresholds["match"] and decision.score >= 75
    assert probe[:2] == b"\xff\xd8"  # the chosen frame, as JPEG, for the clerk's screen

    cfg = cfg.with_overrides(camera__source=str(SHARED / "biden.jpg"))
    decision, _, _ = FaceService(cfg, demo=False, verifier=service.verifier).decide("scan-2", portrait, camera=True)
    assert decision.decision == "no_match", decision
    # a demo scan makes the decision demo, whatever the service
    decision, _, _ = FaceService(cfg, demo=False, verifier=service.verifier).decide("scan-3", portrait, camera=True,
                                                                                  demo_scan=True)
    assert decision.demo is True
