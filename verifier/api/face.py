"""The face step of the counter: chip portrait vs the person at the counter, through ``biometrics``.

The camera starts only once the customer's consent is recorded for the scan (Decree 13/2023);
the chip portrait is encoded while the camera warms up. In demo mode the "camera" yields the
photo of the emulated card's holder shipped in ``drivers/emulator/demo/card/`` (never a live
camera), and the decision is marked demo.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from biometrics.camera import capture_best_frame
from biometrics.consent import Consent
from biometrics.images import encode_jpeg
from verifier.face_settings import camera_kwargs, verifier_from_config
from verifier.results import FaceDecision, is_demo
from verifier.scan import DEMO_CARD_DIR

DEMO_CAMERA_FILE = DEMO_CARD_DIR / "camera.jpg"


class FaceService:
    """Wraps :class:`biometrics.verify.FaceVerifier` (loaded on first use: the models take a while)."""

    def __init__(self, config: Any, demo: bool, verifier: Any = None, camera_file: Path | None = None) -> None:
        self.config = config
        self.demo = demo
        self._verifier = verifier
        self._lock = threading.Lock()
        self.camera_file = camera_file or DEMO_CAMERA_FILE

    @property
    def verifier(self):
        with self._lock:
            if self._verifier is None:
                self._verifier = verifier_from_config(self.config)
            return self._verifier

    def decide(self, scan_id: str, portrait: bytes, *, camera: bool, image: bytes | None = None,
               demo_scan: bool = False) -> tuple[FaceDecision, bytes, bytes | None]:
        """Compare the chip portrait with a camera capture (``camera``) or with ``image``.

        Returns (the :class:`FaceDecision`, demo when this service or the scan (``demo_scan``)
        is; the probe image bytes; the probe's face template: what is kept instead of the frame).
        Raises ImageError / CameraError / BiometricsError from :mod:`verifier.errors`.
        """
        verifier = self.verifier
        pending = verifier.encode_reference_async(portrait)  # while the camera warms up
        if camera and not self.demo:
            frame = capture_best_frame(self.config["camera.source"], consent=Consent.now(scan_id),
                                       **camera_kwargs(self.config))
            result = verifier.verify(pending.result(), frame)
            probe, source = encode_jpeg(frame.image), "camera"
        else:
            probe = self.camera_file.read_bytes() if camera else image
            source = "demo_camera" if camera else "upload"
            result = verifier.verify(pending.result(), probe)
        decision = FaceDecision.from_result(result, source=source, demo=is_demo(self.demo, demo_scan))
        return decision, probe, result.template
