"""``POST /api/v1/scans/from-camera``: the access key without typing (issue 17 item 11).

The counter's camera (``camera.source``) reads the QR code printed on the front of the CCCD
(:func:`biometrics.qr.read_qr_from_camera`, OpenCV's own ``QRCodeDetector``), the text is checked to
be a CCCD QR (:func:`verifier.cccd.qr.parse_card_qr`: ``ID12|oldID9|name|DDMMYYYY|sex|address|DDMMYYYY``)
and the scan starts with it as its access key, exactly as ``POST /scans`` with ``{"qr": text}``
(a handheld USB QR scanner that types the text and Enter into the page's access-key field takes
that path). The event stream gets a ``qr`` event (the scan id only: the QR text is personal data).

:func:`start_scan_from_qr` is the one way a QR seen by the camera starts a scan: this endpoint (a
click on "Đọc QR bằng camera") and the counter's QR watch (:mod:`verifier.api.qr_watch`, no click)
both call it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.errors import ChipidError, ReaderBusyError
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


def start_scan_from_qr(svc: Any, user: str, text: str, *, started_by: str = "button"):
    """Start the scan of the card whose QR text the camera read, as ``user``, and announce it with a
    ``qr`` event (``scan_id`` and ``started_by``: ``button`` or ``watch``; never the text).

    Raises the :class:`~verifier.errors.ChipidError` of :func:`~verifier.cccd.qr.parse_card_qr` for a
    QR that is not a CCCD's, :class:`~verifier.errors.ReaderBusyError` when a scan is running."""
    from verifier.cccd.qr import parse_card_qr

    parse_card_qr(text)
    scan = svc.scans.start(user, {"qr": text})
    svc.bus.publish("qr", {"scan_id": scan.id, "started_by": started_by})
    return scan


@router.post("/scans/from-camera", status_code=202, tags=["scans"],
             summary="Read the card's QR code with the counter camera and start the scan with it")
def scan_from_camera(request: Request, user: User = Depends(need("scan"))) -> dict:
    """202 ``{"id", "access": "qr"}``; 422 ``qr_not_found`` (no QR code in view within
    ``camera.timeout_s``), 422 ``qr_not_cccd`` (a QR code that is not a CCCD's), 409 ``reader_busy``,
    503 when the camera cannot be opened."""
    from biometrics.qr import read_qr_from_camera

    s = request.app.state.svc
    cfg = s.cfg
    text = read_qr_from_camera(cfg["camera.source"], timeout_s=float(cfg["camera.timeout_s"]),
                               width=int(cfg["camera.width"]), height=int(cfg["camera.height"]))
    if not text:
        raise ApiError(422, "qr_not_found", "no QR code found in the camera picture: hold the card's front to the camera")
    try:
        scan = start_scan_from_qr(s, user.name, text)
    except ReaderBusyError as e:
        raise ApiError(409, "reader_busy", str(e)) from e
    except ChipidError as e:
        raise ApiError(422, "qr_not_cccd", "the QR code in view is not the QR code of a CCCD card") from e
    return {"id": scan.id, "access": "qr"}


def install(app) -> None:
    app.include_router(router)
