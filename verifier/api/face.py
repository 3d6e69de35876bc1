"""The face step of the counter: chip portrait vs the person at the counter, through ``biometrics``.

The camera starts only once the customer's consent is recorded for the scan (Decree 13/2023);
the chip portrait is encoded while the camera warms up. In demo mode the "camera" yields the
photo of the emulated card's holder shipped in ``drivers/emulator/demo/card/`` (never a live
camera), and the decision is marked demo.

What the face step proves, and what it cannot (issue 17 item 7): each decision records where the
probe came from (``camera``, ``demo_camera`` or ``upload``) and who ran the step (``probe_by``); a
probe that is the chip portrait itself or a near-copy of it (:mod:`biometrics.portrait_copy`) is
refused with a Vietnamese sentence; every attempt is kept on the scan in order, refused ones too, and
the decision handed to the contract carries them all (``identity_check.face_attempts``), so a later
``match`` never hides an earlier ``no_match``.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from biometrics import portrait_copy
from biometrics.camera import capture_best_frame
from biometrics.consent import Consent
from biometrics.images import decode_image, decode_portrait, encode_jpeg
from verifier.api.errors import ApiError
from verifier.face_settings import camera_kwargs, verifier_from_config
from verifier.ledger.entry import utc_now
from verifier.results import FaceDecision, face_attempt, is_demo
from verifier.scan import DEMO_CARD_DIR

DEMO_CAMERA_FILE = DEMO_CARD_DIR / "camera.jpg"

#: the ``decision`` an attempt records when its probe was the chip portrait (or a copy) and was refused
PORTRAIT_COPY = "portrait_copy"


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

    def _compare(self, scan_id: str, portrait: bytes, camera: bool, image: bytes | None):
        """(FaceResult, probe bytes, source, the portrait's Reference); ``same_bytes``/``same_pixels``
        copies of the portrait are refused before the face model runs (:class:`_Copy`)."""
        verifier = self.verifier
        pending = verifier.encode_reference_async(portrait)  # while the camera warms up
        if camera and not self.demo:
            frame = capture_best_frame(self.config["camera.source"], consent=Consent.now(scan_id),
                                       **camera_kwargs(self.config))
            reference = pending.result()
            return verifier.verify(reference, frame), encode_jpeg(frame.image), "camera", reference
        probe = self.camera_file.read_bytes() if camera else image
        source = "demo_camera" if camera else "upload"
        if source == "upload":
            finding = portrait_copy.before_comparison(portrait, probe, *_decoded(portrait, probe))
            if finding is not None:
                raise _Copy(finding, probe, source)
        reference = pending.result()
        return verifier.verify(reference, probe), probe, source, reference

    def decide(self, scan_id: str, portrait: bytes, *, camera: bool, image: bytes | None = None,
               demo_scan: bool = False, probe_by: str | None = None) -> tuple[FaceDecision, bytes, bytes | None]:
        """Compare the chip portrait with a camera capture (``camera``) or with ``image``.

        Returns (the :class:`FaceDecision`, demo when this service or the scan (``demo_scan``)
        is; the probe image bytes; the probe's face template: what is kept instead of the frame).
        Raises ImageError / CameraError / BiometricsError from :mod:`verifier.errors`, and
        :class:`ApiError` ``face_probe_is_chip_portrait`` (422) for a copy of the chip portrait.
        """
        try:
            result, probe, source, reference = self._compare(scan_id, portrait, camera, image)
        except _Copy as c:
            raise c.api_error() from None
        finding = portrait_copy.after_comparison(result.distance, reference.chip, result.chip)
        if finding is not None:
            raise _Copy(finding, probe, source).api_error()
        decision = FaceDecision.from_result(result, source=source, demo=is_demo(self.demo, demo_scan), probe_by=probe_by)
        return decision, probe, result.template

    def attempt(self, scan: Any, *, user: str, camera: bool, image: bytes | None = None) -> FaceDecision:
        """One face attempt on a finished ``scan`` (:class:`verifier.api.scans.Scan`) by ``user``: decide,
        keep the attempt on ``scan.face_attempts`` (a refused copy of the portrait too), and make the
        decision, carrying every attempt so far, the scan's face decision. Raises what :meth:`decide` raises
        (the refused attempt is kept first)."""
        demo = is_demo(self.demo, scan.demo)
        n = len(scan.face_attempts) + 1
        try:
            decision, probe, template = self.decide(scan.id, scan.portrait, camera=camera, image=image,
                                                    demo_scan=scan.demo, probe_by=user)
        except ApiError as e:
            if e.code == "face_probe_is_chip_portrait":
                scan.face_attempts.append(face_attempt(
                    n, utc_now(), PORTRAIT_COPY, source=e.details.get("source"), probe_by=user, demo=demo,
                    distance=e.details.get("distance"), probe_sha256=e.details.get("probe_sha256"),
                    refused={"rule": e.details["rule"], "reason": e.details["reason"], "reason_vi": e.details["reason_vi"]}))
                if scan.face is not None:  # the last decision stands, now showing the refused attempt too
                    scan.face = dataclasses.replace(scan.face, attempts=tuple(scan.face_attempts))
            raise
        scan.face_attempts.append(face_attempt(n, utc_now(), decision.decision, source=decision.source, probe_by=user,
                                               demo=decision.demo, distance=decision.distance,
                                               probe_sha256=portrait_copy.sha256(probe)))
        decision = dataclasses.replace(decision, attempts=tuple(scan.face_attempts))
        scan.face, scan.camera_image, scan.face_template = decision, probe, template
        return decision


def _decoded(portrait: bytes, probe: bytes):
    """Both pictures decoded for the ``same_pixels`` rule; (None, None) when either is not an image
    (the comparison then reports the bad image in its own words)."""
    try:
        return decode_portrait(portrait), decode_image(probe, name="uploaded picture")
    except Exception:  # noqa: BLE001 - ImageError and friends: the comparison raises them properly
        return None, None


class _Copy(Exception):
    """Internal: the probe is the chip portrait (turned into the API's refusal by :meth:`api_error`)."""

    def __init__(self, finding: portrait_copy.CopyFinding, probe: bytes, source: str) -> None:
        super().__init__(finding.rule)
        self.finding, self.probe, self.source = finding, probe, source

    def api_error(self) -> ApiError:
        f = self.finding
        return ApiError(422, "face_probe_is_chip_portrait",
                        f"the picture of the customer is the chip portrait ({f.rule}): take one with the camera",
                        {**f.to_json(), "source": self.source, "probe_sha256": portrait_copy.sha256(self.probe)})
