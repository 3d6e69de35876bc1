"""Consent before capture, and what may be kept (Decree 13/2023/ND-CP on personal data protection).

A face image is *sensitive* personal data (biometric data, Decree 13/2023 Art. 2(4)(g)).
Processing it needs the subject's consent (Art. 11), given freely, for a stated purpose,
recorded in a form that can be shown later. The camera functions in
:mod:`biometrics.camera` refuse to run without a :class:`Consent` for the scan.

What is kept: the 128-number face template of each side (``FaceResult.template`` /
``Reference.template``) and the decision. The counter service keeps the camera frame
with a contract only when the operator sets ``privacy.store_camera_photo`` (encrypted, purged
after ``privacy.face_retention_days``); this package itself never writes a frame.
Nothing biometric (images, templates, distances) is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from verifier.errors import BiometricsError

#: Purpose stated to the customer, shown on the consent screen.
PURPOSE_VI = ("Đối chiếu khuôn mặt của quý khách với ảnh trong chip thẻ căn cước để xác minh "
              "danh tính khi giao dịch cầm đồ (Nghị định 13/2023/NĐ-CP).")
PURPOSE_EN = ("Compare your face with the photo in your ID card's chip to verify your identity "
              "for this pawn transaction (Decree 13/2023/ND-CP).")


@dataclass(frozen=True)
class Consent:
    """The customer's consent for one scan: who recorded it, when and how."""

    scan_id: str
    recorded_at: datetime
    method: str = "clerk-confirmed"  # e.g. "signature-pad", "clerk-confirmed", "operator-cli"
    purpose: str = PURPOSE_EN

    @classmethod
    def now(cls, scan_id: str, method: str = "clerk-confirmed") -> "Consent":
        return cls(scan_id, datetime.now(timezone.utc), method)


def require_consent(consent: object) -> Consent:
    """Return ``consent`` or raise :class:`BiometricsError` when it is missing or malformed."""
    if not isinstance(consent, Consent) or not consent.scan_id or consent.recorded_at is None:
        raise BiometricsError("no consent recorded for this scan: the camera is not started before the "
                              "customer has agreed (Decree 13/2023 Art. 11) / chưa ghi nhận sự đồng ý của khách",
                              step="face capture")
    return consent
