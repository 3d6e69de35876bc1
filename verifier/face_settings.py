"""The ``face.*`` and ``camera.*`` settings as the objects :mod:`biometrics` takes.

``biometrics`` never reads the configuration (ARCHITECTURE.md, layer rules): the counter's face
step (:mod:`verifier.api.face`) and ``chipid face`` (:mod:`verifier.commands.face`) both build
its thresholds, quality limits and camera arguments here, from the one :class:`~verifier.config.Config`.
"""

from __future__ import annotations

from typing import Any


def thresholds_from_config(cfg: Any):
    """:class:`biometrics.compare.Thresholds` from ``face.match_threshold`` / ``face.no_match_threshold``."""
    from biometrics.compare import Thresholds

    return Thresholds(match=float(cfg["face.match_threshold"]), no_match=float(cfg["face.no_match_threshold"]))


def limits_from_config(cfg: Any):
    """:class:`biometrics.quality.QualityLimits` from the ``face.min_*`` / ``face.max_*`` settings."""
    from biometrics.quality import QualityLimits

    return QualityLimits(min_face_px=int(cfg["face.min_face_px"]), min_brightness=float(cfg["face.min_brightness"]),
                         max_brightness=float(cfg["face.max_brightness"]), min_sharpness=float(cfg["face.min_sharpness"]),
                         max_yaw=float(cfg["face.max_yaw"]), min_eye_openness=float(cfg["face.min_eye_openness"]))


def verifier_from_config(cfg: Any):
    """A :class:`biometrics.verify.FaceVerifier` with the configured thresholds and limits (models load on first use)."""
    from biometrics.verify import FaceVerifier

    return FaceVerifier(thresholds_from_config(cfg), limits_from_config(cfg))


def camera_kwargs(cfg: Any) -> dict:
    """Keyword arguments of :func:`biometrics.camera.capture_best_frame` from the ``camera.*`` settings."""
    return {"burst": int(cfg["camera.burst"]), "warmup": int(cfg["camera.warmup_frames"]),
            "width": int(cfg["camera.width"]), "height": int(cfg["camera.height"]),
            "timeout_s": float(cfg["camera.timeout_s"])}
