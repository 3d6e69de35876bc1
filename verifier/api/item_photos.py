"""Photos of pawned items (issue 18): one optional photo per item, taken at the counter before the contract.

``POST /api/v1/scans/{scan_id}/item-photo`` takes a frame from the counter camera (``camera.source``,
held as the face step holds it: :func:`biometrics.camera.camera_gate`) or accepts an uploaded JPEG/PNG
(``image_base64``), checks that it decodes (:func:`biometrics.images.decode_image`; a corrupt picture is a 400
``bad_image``, nothing kept) and holds it in memory with the scan (:class:`HeldPhotos`, at most
:data:`MAX_PER_SCAN`, forgotten with the scan after ``privacy.scan_ttl_minutes``). The answer names it by the
SHA-256 of its bytes (``photo_sha256``), which the item of the contract carries; at ``POST /transactions``
(:func:`for_contract`) each referenced photo is stored encrypted in the pawn book's ``photos`` table as kind
``item-<n>`` (n: the 1-based item) in the contract's own write, and its hash is in the ledger entry's item, so
the chain covers it. ``GET /api/v1/transactions/{id}/photos/item-<n>`` serves it later (access logged).

A camera frame is re-encoded as JPEG once (the bytes hashed are the bytes stored); an upload is kept as sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from verifier.api.auth import need
from verifier.api.errors import ERROR_RESPONSES, ApiError
from verifier.api.models import ItemPhotoRequest
from verifier.errors import CameraError, ImageError
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

#: Most photos one scan may hold (an item may be photographed again; items per contract: at most 50).
MAX_PER_SCAN = 60
#: The photo kinds of items in the pawn book (``item-1`` ... ``item-50``).
ITEM_KIND = re.compile(r"^item-([1-9][0-9]?)$")


class HeldPhotos:
    """Item photos by scan, in memory until the contract is recorded or the scan is forgotten."""

    def __init__(self, scans: Any) -> None:
        self._scans = scans  # verifier.api.scans.ScanRegistry: a scan it forgot takes its photos along
        self._held: dict[str, dict[str, bytes]] = {}
        self._lock = threading.Lock()

    def _expire(self) -> None:
        with self._lock:
            ids = list(self._held)
        gone = [i for i in ids if self._scans.get(i) is None]
        with self._lock:
            for i in gone:
                self._held.pop(i, None)

    def add(self, scan_id: str, data: bytes) -> str:
        """Hold ``data`` for ``scan_id``; its SHA-256 (hex)."""
        self._expire()
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            held = self._held.setdefault(scan_id, {})
            if sha not in held and len(held) >= MAX_PER_SCAN:
                raise ApiError(409, "too_many_item_photos", f"a scan holds at most {MAX_PER_SCAN} item photos",
                               {"max": MAX_PER_SCAN})
            held[sha] = data
        return sha

    def get(self, scan_id: str, sha: str) -> bytes | None:
        self._expire()
        with self._lock:
            return self._held.get(scan_id, {}).get(sha)

    def release(self, scan_id: str) -> None:
        with self._lock:
            self._held.pop(scan_id, None)


def held(app: Any) -> HeldPhotos:
    return app.state.item_photos


def capture_frame(cfg: Any) -> bytes:
    """One frame from ``camera.source`` as JPEG: a live camera warms up for ``camera.warmup_frames`` first.
    :class:`~verifier.errors.CameraError` when it gives no picture."""
    from biometrics.camera import FrameSource, camera_gate, describe_source, is_black
    from biometrics.images import encode_jpeg

    source, timeout = cfg["camera.source"], float(cfg["camera.timeout_s"])
    with camera_gate(source).exclusive(timeout, describe_source(str(source))), \
            FrameSource(source, width=int(cfg["camera.width"]), height=int(cfg["camera.height"]), timeout_s=timeout) as src:
        frame = None
        for _ in range(int(cfg["camera.warmup_frames"]) + 1 if src.is_live else 1):
            frame = src.read()
            if frame is None:
                break
        if frame is None:
            raise CameraError(f"camera {src.label} gives no picture: busy or disconnected", step="item photo")
        if is_black(frame):
            raise CameraError(f"camera {src.label} delivers only black frames: lens covered or no light", step="item photo")
    return encode_jpeg(frame)


def checked_upload(text: str) -> bytes:
    """The uploaded picture's bytes once they decode as a JPEG or PNG; 400 ``bad_image`` otherwise."""
    from biometrics.images import decode_image

    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ApiError(400, "bad_image", "image_base64: expected base64 text") from e
    try:
        decode_image(data, name="item photo", formats=("JPEG", "PNG"))
    except ImageError as e:
        raise ApiError(400, "bad_image", f"item photo: {e}") from e
    return data


@router.post("/scans/{scan_id}/item-photo", tags=["scans"],
             summary="Take (camera) or upload (JPEG/PNG) an item's photo; held with the scan until the contract")
def item_photo(request: Request, scan_id: str, body: ItemPhotoRequest, user: User = Depends(need("txn.create"))) -> dict:
    """``{"photo_sha256", "preview_url", "source"}``; put ``photo_sha256`` in the item of ``POST /transactions``.
    400 ``bad_image`` (not a JPEG/PNG that decodes), 404 ``scan_not_found``, 409 ``too_many_item_photos``,
    503 ``camera_error``."""
    s = request.app.state.svc
    if s.scans.get(scan_id) is None:
        raise ApiError(404, "scan_not_found", f"no scan {scan_id!r} (unknown, or forgotten after privacy.scan_ttl_minutes)")
    data = capture_frame(s.cfg) if body.camera else checked_upload(body.image_base64 or "")
    sha = held(request.app).add(scan_id, data)
    return {"photo_sha256": sha, "preview_url": f"/api/v1/scans/{scan_id}/item-photos/{sha}",
            "source": "camera" if body.camera else "upload"}


@router.get("/scans/{scan_id}/item-photos/{sha256}", tags=["scans"], summary="An item photo held with the scan",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
def item_photo_preview(request: Request, scan_id: str, sha256: str, user: User = Depends(need("scan"))) -> Response:
    data = held(request.app).get(scan_id, sha256)
    if data is None:
        raise ApiError(404, "photo_not_found", "no such item photo held with this scan")
    request.app.state.svc.ledger.log_access(user.name, user.role, "read_photo", f"scan:{scan_id}", "item")
    media = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


def for_contract(app: Any, scan_id: str, items: list) -> dict[str, bytes]:
    """The photos of a contract's ``items`` (models with ``photo_sha256``) held with scan ``scan_id``, as pawn-book
    photo kinds ``item-<n>``; 422 ``item_photo_not_found`` naming the item whose photo is not held."""
    photos = {}
    for n, item in enumerate(items, 1):
        sha = getattr(item, "photo_sha256", None)
        if not sha:
            continue
        data = held(app).get(scan_id, sha)
        if data is None:
            raise ApiError(422, "item_photo_not_found", f"item {n}: no photo {sha[:12]}... held with scan {scan_id}",
                           {"item": n})
        photos[f"item-{n}"] = data
    return photos


def install(app) -> None:
    app.state.item_photos = HeldPhotos(app.state.svc.scans)
    app.include_router(router)
