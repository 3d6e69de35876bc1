"""The face step of the counter: chip portrait vs a camera picture, through ``biometrics``.

In demo mode the "camera" yields the photo of the emulated card's holder shipped in
``drivers/emulator/demo/`` (never a live camera), and the decision is marked demo.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from verifier.errors import CameraError

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parents[2] / "drivers" / "emulator" / "demo"
_DEMO_NAMES = ("camera.jpg", "camera_holder.jpg", "holder_camera.jpg", "camera.png", "holder.jpg")


def demo_camera_file() -> Path | None:
    for name in _DEMO_NAMES:
        if (DEMO_DIR / name).is_file():
            return DEMO_DIR / name
    found = sorted(p for p in DEMO_DIR.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png") and "camera" in p.name.lower())
    return found[0] if found else None


class FaceService:
    """Wraps :class:`biometrics.verify.FaceVerifier` (loaded on first use: the models take a while)."""

    def __init__(self, config: Any, demo: bool, verifier: Any = None, camera_file: Path | None = None) -> None:
        self.config = config
        self.demo = demo
        self._verifier = verifier
        self._lock = threading.Lock()
        self.camera_file = camera_file

    @property
    def verifier(self):
        with self._lock:
            if self._verifier is None:
                from biometrics.verify import FaceVerifier

                thresholds = None
                try:  # the face.* settings of engineer B, when declared
                    from biometrics.compare import Thresholds

                    thresholds = Thresholds(match=self.config["face.match_threshold"], no_match=self.config["face.no_match_threshold"])
                except Exception:  # noqa: BLE001 - fall back to the calibrated defaults
                    thresholds = None
                self._verifier = FaceVerifier(thresholds) if thresholds is not None else FaceVerifier()
            return self._verifier

    def compare(self, reference: bytes, probe: bytes) -> dict:
        result = self.verifier.compare(reference, probe, names=("chip portrait", "camera picture"))
        out = result.to_json() if hasattr(result, "to_json") else dict(result)
        out["demo"] = self.demo
        return out

    def capture(self) -> bytes:
        """One camera picture as encoded image bytes."""
        if self.demo:
            path = self.camera_file or demo_camera_file()
            if path is None:
                raise CameraError("demo mode: no camera photo of the emulated card's holder in drivers/emulator/demo/")
            return path.read_bytes()
        try:
            from biometrics import camera  # engineer B's capture module
            from biometrics.images import encode_jpeg
        except ImportError as e:
            raise CameraError("camera capture is not available in this build") from e
        source = None
        try:
            source = self.config["camera.device"]
        except Exception:  # noqa: BLE001
            source = 0
        frame = camera.capture_best_frame(source, consent=True)
        image = getattr(frame, "image", frame)
        return encode_jpeg(image)
