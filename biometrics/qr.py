"""The QR code printed on a CCCD, read from a camera frame with OpenCV's own detector (issue 17 item 11).

``cv2.QRCodeDetector`` (OpenCV's built-in ISO/IEC 18004 reader; no extra service or library) finds
and decodes the code; what the text means is :func:`verifier.cccd.qr.parse_card_qr`'s business.
:func:`read_qr_from_camera` opens ``camera.source`` (a USB camera, a stream, or an image file or
folder in tests and the demo), reads frames until one decodes or the time is up, and keeps nothing:
the frames stay in memory and are dropped. Reading the card's QR is not a face capture, so it
needs no face-comparison consent; no frame is stored or logged. It holds the source's
:func:`~biometrics.camera.camera_gate` while it reads (the counter's QR watch lets go of the camera).
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from biometrics.camera import FrameSource, camera_gate, describe_source, is_black
from verifier.errors import CameraError

#: frames read from a live camera before giving up (besides ``timeout_s``)
MAX_FRAMES = 60


def decode_qr(rgb: np.ndarray) -> str | None:
    """The text of the QR code in ``rgb`` (None when there is none or it does not decode).

    Tries the picture as it is, then its grey levels equalised (cards under counter lights)."""
    detector = cv2.QRCodeDetector()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    for picture in (grey, cv2.equalizeHist(grey)):
        try:
            text, points, _ = detector.detectAndDecode(picture)
        except cv2.error:
            continue
        if points is not None and text:
            return text
    return None


def read_qr_from_camera(source: str | int, *, timeout_s: float = 5.0, width: int = 640, height: int = 480,
                        max_frames: int = MAX_FRAMES) -> str | None:
    """Read frames from ``source`` until one holds a QR code that decodes; its text, or None when
    ``max_frames`` frames (one for a still image) or ``timeout_s`` gave none.
    Raises :class:`~verifier.errors.CameraError` when the camera cannot be opened."""
    with camera_gate(source).exclusive(timeout_s, describe_source(str(source))), \
            FrameSource(source, width=width, height=height, timeout_s=timeout_s) as src:
        deadline = time.monotonic() + timeout_s
        frames = 1 if src.is_still else max_frames
        for _ in range(frames):
            if time.monotonic() > deadline:
                break
            text = read_qr_frame(src)
            if text:
                return text
            if text is None and not src.is_live:
                break  # the end of a file or folder
    return None


def read_qr_frame(src: FrameSource) -> str | None:
    """The QR text in the next frame of ``src``; ``""`` when a frame came but holds no QR code (or is
    black), None when no frame came (the end of a file or folder, a live camera that gave nothing)."""
    rgb = src.read()
    if rgb is None:
        return None
    if is_black(rgb):
        return ""
    return decode_qr(rgb) or ""


def qr_image(text: str, *, module_px: int = 8, border_modules: int = 4) -> np.ndarray:
    """An RGB picture of ``text`` as a QR code (``cv2.QRCodeEncoder``): test cards, the demo camera."""
    if not hasattr(cv2, "QRCodeEncoder"):  # pragma: no cover - OpenCV >= 4.5.3 has it
        raise CameraError("this OpenCV has no QRCodeEncoder")
    params = cv2.QRCodeEncoder.Params()
    params.mode = cv2.QRCodeEncoder_MODE_BYTE  # UTF-8 bytes: Vietnamese names
    code = cv2.QRCodeEncoder.create(params).encode(text)
    code = cv2.copyMakeBorder(code, border_modules, border_modules, border_modules, border_modules,
                              cv2.BORDER_CONSTANT, value=255)
    code = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(code, cv2.COLOR_GRAY2RGB)
