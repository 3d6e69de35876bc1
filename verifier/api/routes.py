"""REST API under /api/v1 (OpenAPI at /docs). Every route but /health needs a user."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import date

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from verifier.api import item_photos
from verifier.api.auth import current_user, end_browser_session, need, set_session_cookie
from verifier.api.errors import ERROR_RESPONSES, ApiError, request_language
from verifier.api.models import (
    EventCreate,
    EventCreated,
    FaceRequest,
    LoginRequest,
    ScanCreated,
    ScanRequest,
    ScanView,
    TransactionCreate,
    TransactionCreated,
    TransactionPage,
    UserCreate,
)
from verifier.errors import InputError, LoginLockedError, NotFoundError, ReaderBusyError
from verifier.ledger.admission import ContractRefused
from verifier.ledger.idempotency import KEEP_HOURS, IdempotencyConflict, IdempotencyKeys
from verifier.ledger.pawn_search import BadSearch
from verifier.results import is_demo
from verifier.users import User

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

#: Largest export served by the API (the bundle is built in memory); the CLI has no limit.
MAX_API_EXPORT = 200_000


def svc(request: Request):
    return request.app.state.svc


# --- health and session ------------------------------------------------------------------
@router.get("/health", tags=["service"], summary="Service status (no authentication)")
def health(request: Request) -> dict:
    return svc(request).health()


@router.post("/auth/login", tags=["auth"], summary="Log in with a password; sets the session cookie")
def login(request: Request, response: Response, body: LoginRequest) -> dict:
    s = svc(request)
    try:
        user = s.users.check_password(body.name, body.password)
    except LoginLockedError as e:
        raise ApiError(429, "too_many_failed_logins", str(e)) from e
    if user is None or user.role == "integrator":
        raise ApiError(401, "bad_credentials", "wrong user name or password")
    sid, csrf = s.users.create_session(user)
    set_session_cookie(response, s.cfg, sid)
    return {"name": user.name, "role": user.role, "csrf": csrf}


@router.post("/auth/logout", tags=["auth"], summary="End the browser session")
def logout(request: Request, response: Response, user: User = Depends(current_user)) -> dict:
    end_browser_session(request, response)
    return {"ok": True}


@router.get("/me", tags=["auth"], summary="Who am I, and what may I do")
def me(user: User = Depends(current_user)) -> dict:
    from verifier.users import PERMISSIONS

    return {"name": user.name, "role": user.role, "permissions": sorted(p for p in PERMISSIONS if user.can(p))}


@router.post("/users", status_code=201, tags=["auth"], summary="Create a user (admin); returns the one-time password or token")
def add_user(request: Request, body: UserCreate, user: User = Depends(need("users.manage"))) -> dict:
    try:
        return svc(request).users.add(body.name, body.role)
    except InputError as e:
        raise ApiError(409, "user_exists", str(e)) from e


# --- scans -------------------------------------------------------------------------------
@router.post("/scans", status_code=202, response_model=ScanCreated, tags=["scans"], summary="Start reading the card on the reader")
def start_scan(request: Request, body: ScanRequest | None = None, user: User = Depends(need("scan"))) -> dict:
    s = svc(request)
    try:
        scan = s.scans.start(user.name, body.access() if body else None)
    except ReaderBusyError as e:
        raise ApiError(409, "reader_busy", str(e)) from e
    return {"id": scan.id}


def _scan(request: Request, scan_id: str):
    scan = svc(request).scans.get(scan_id)
    if scan is None:
        raise ApiError(404, "scan_not_found", f"no scan {scan_id!r} (unknown, or forgotten after privacy.scan_ttl_minutes)")
    return scan


@router.get("/scans/{scan_id}", response_model=ScanView, tags=["scans"], summary="Scan status and result (`chipid read --json` shape)")
def get_scan(request: Request, scan_id: str, user: User = Depends(need("scan"))) -> dict:
    scan = _scan(request, scan_id)
    if scan.result is not None:
        svc(request).ledger.log_access(user.name, user.role, "read_scan", f"scan:{scan.id}")
    return scan.to_json(request_language(request))


def _image_response(data: bytes, *, portrait: bool = False) -> Response:
    from verifier.api.images import to_browser_image

    content, media = to_browser_image(data, portrait=portrait)
    return Response(content, media_type=media, headers={"Cache-Control": "no-store"})


@router.get("/scans/{scan_id}/portrait", tags=["scans"], summary="The chip's face photo (JPEG/PNG for browsers)",
            responses={200: {"content": {"image/jpeg": {}}}})
def scan_portrait(request: Request, scan_id: str, user: User = Depends(need("scan"))) -> Response:
    scan = _scan(request, scan_id)
    if not scan.portrait:
        raise ApiError(404, "no_portrait", "this scan has no chip photo")
    svc(request).ledger.log_access(user.name, user.role, "read_photo", f"scan:{scan.id}", "chip")
    return _image_response(scan.portrait, portrait=True)


@router.get("/scans/{scan_id}/camera", tags=["scans"], summary="The camera picture taken for the face comparison",
            responses={200: {"content": {"image/jpeg": {}}}})
def scan_camera(request: Request, scan_id: str, user: User = Depends(need("scan"))) -> Response:
    scan = _scan(request, scan_id)
    if not scan.camera_image:
        raise ApiError(404, "no_camera_image", "no camera picture has been taken for this scan")
    svc(request).ledger.log_access(user.name, user.role, "read_photo", f"scan:{scan.id}", "camera")
    return _image_response(scan.camera_image)


@router.post("/scans/{scan_id}/face", tags=["scans"], summary="Compare the chip photo with the customer (needs consent)")
def scan_face(request: Request, scan_id: str, body: FaceRequest, user: User = Depends(need("face"))) -> dict:
    s = svc(request)
    scan = _scan(request, scan_id)
    if not body.consent:
        raise ApiError(422, "consent_required", "the customer's consent is required before a face comparison (consent: true)")
    if scan.status != "done":
        raise ApiError(409, "scan_not_finished", f"the scan is {scan.status!r}; the face step needs a finished scan")
    if not scan.portrait:
        raise ApiError(409, "no_portrait", "this scan has no chip photo to compare with")
    image = None
    if not body.camera:
        try:
            image = base64.b64decode(body.image_base64 or "", validate=True)
        except (binascii.Error, ValueError) as e:
            raise ApiError(422, "bad_image", "image_base64: expected base64 text") from e
        if not image:
            raise ApiError(422, "bad_image", "image_base64: empty image")
    # every attempt is kept on the scan; a copy of the chip portrait is refused (verifier/api/face.py)
    decision = s.face.attempt(scan, user=user.name, camera=body.camera, image=image)
    s.bus.publish("face", {"scan_id": scan.id, "decision": decision.decision})
    return decision.to_json()


# --- events: GET /events is verifier/api/event_stream.py ---------------------------------


# --- transactions --------------------------------------------------------------------------
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", description=(
    f"One key per contract or event (a UUID): the same key and body get the first answer again (same status and "
    f"body, nothing recorded twice); the same key with another body is a 409. Kept {KEEP_HOURS} hours, across restarts."))


def _refused(status: int, e: ContractRefused | BadSearch | IdempotencyConflict, code: str | None = None,
             details: dict | None = None) -> ApiError:
    """An :class:`ApiError` for a refusal; its text in the caller's language comes from the catalogue by code."""
    details = dict(details if details is not None else getattr(e, "details", None) or {})
    return ApiError(status, code or getattr(e, "code", "conflict"), str(e), details)


def idempotent(request: Request, user: User, key: str | None, body: dict, keys: IdempotencyKeys | None = None):
    """(the :class:`~verifier.ledger.idempotency.Request` under the client's Idempotency-Key ``key``, the stored
    answer or None); ``keys``: the pawn book's unless given. 409 ``idempotency_key_reused``, 400 ``bad_idempotency_key``."""
    if key is None:
        return None, None
    keys = keys or svc(request).book.keys
    try:
        req = keys.request(user.name, key, request.url.path, body)
        return req, keys.answered(req)
    except IdempotencyConflict as e:
        raise _refused(409, e, "idempotency_key_reused") from e
    except InputError as e:
        raise ApiError(400, "bad_idempotency_key", str(e)) from e


@router.post("/transactions", status_code=201, response_model=TransactionCreated, tags=["transactions"],
             summary="Record a pawn contract from a finished scan")
def create_transaction(request: Request, body: TransactionCreate, user: User = Depends(need("txn.create")),
                       idempotency_key: str | None = IDEMPOTENCY_KEY):
    s = svc(request)
    idem, answered = idempotent(request, user, idempotency_key, body.model_dump(mode="json"))
    if answered is not None:  # before the scan: it may be forgotten (restart, privacy.scan_ttl_minutes)
        return JSONResponse(answered.body, status_code=answered.status)
    scan = _scan(request, body.scan_id)
    if scan.status != "done" or not scan.result:
        raise ApiError(409, "scan_not_finished", f"the scan is {scan.status!r}; a contract needs a finished scan")
    face = scan.face
    confirmed_by = user.name if (body.face_refer_confirmed and face and face.decision == "refer") else None
    # The camera frame is kept only when the operator chose to (privacy.store_camera_photo);
    # the face template always is. Both encrypted, purged after privacy.face_retention_days.
    camera = scan.camera_image if s.cfg["privacy.store_camera_photo"] else None
    photos = {k: v for k, v in (("chip", scan.portrait), ("camera", camera), ("camera_template", scan.face_template)) if v}
    photos.update(item_photos.for_contract(request.app, scan.id, body.items))  # item-<n>, held with the scan
    form = body.model_dump(exclude={"scan_id", "face_refer_confirmed", "override_reason"})
    form["items"] = [i.model_dump(exclude_none=True) for i in body.items]
    try:
        # anything read under demo trust or in demo mode stays marked demo in the ledger
        created = s.book.create(scan.result, form, user=user.name, role=user.role, face=face,
                                face_confirmed_by=confirmed_by, override_reason=body.override_reason, photos=photos,
                                scan_id=scan.id, demo=is_demo(scan, s.demo, s.cfg["trust.demo"]), idempotency=idem)
    except ContractRefused as e:
        raise ApiError(403 if e.code == "override_needs_manager" else 422, e.code, e.message, e.details) from e
    except IdempotencyConflict as e:  # the key was used meanwhile for another body
        raise _refused(409, e, "idempotency_key_reused") from e
    item_photos.held(request.app).release(scan.id)
    return created


@router.get("/transactions", response_model=TransactionPage, tags=["transactions"], summary="Search contracts (paginated, newest first)")
def list_transactions(
    request: Request,
    id_number: str | None = Query(None, max_length=20, description="The pawner's ID number: 12 digits (CCCD), 9 (CMND), "
                                  "or its last 4-6 digits. Anything else is a 400 (bad_id_number)."),
    name: str | None = Query(None, max_length=200, description="Whole words of the pawner's name (accents optional)."),
    serial: str | None = Query(None, max_length=100, description="An item's serial number, whole or its last 4-6 characters."),
    status: str | None = Query(None, pattern="^(active|redeemed|forfeited|liquidated|cancelled|overdue)$"),
    flagged: bool | None = Query(None, description="Only contracts flagged suspicious (true) or not (false)."),
    from_: date | None = Query(None, alias="from", description="Created on or after this day (YYYY-MM-DD, Vietnam time)."),
    to: date | None = Query(None, description="Created on or before this day (YYYY-MM-DD, Vietnam time)."),
    page: int = Query(1, ge=1, le=100000),
    page_size: int = Query(20, ge=1, le=200),
    user: User = Depends(need("txn.read")),
) -> dict:
    s = svc(request)
    try:
        rows, total = s.book.search(
            id_number=id_number, name=name, serial=serial, status=status, flagged=flagged,
            date_from=from_.isoformat() if from_ else None, date_to=to.isoformat() if to else None,
            limit=page_size, offset=(page - 1) * page_size,
        )
    except BadSearch as e:
        raise _refused(400, e) from e
    except InputError as e:
        raise ApiError(422, "invalid_request", str(e)) from e
    if rows:
        filters = ",".join(k for k, v in (("id_number", id_number), ("name", name), ("serial", serial), ("status", status)) if v)
        s.ledger.log_access(user.name, user.role, "search", "contracts:" + ",".join(r["contract_no"] for r in rows),
                            f"filters={filters or 'none'}; results={len(rows)} of {total}")
    return {"items": rows, "total": total, "page": page, "page_size": page_size}


def _txn(request: Request, txn_id: str, user: User, action: str = "read") -> dict:
    s = svc(request)
    view = s.book.get(txn_id)
    if view is None:
        raise ApiError(404, "transaction_not_found", f"no contract {txn_id!r}")
    s.ledger.log_access(user.name, user.role, action, f"contract:{view['contract_no']}", f"id={txn_id}")
    return view


@router.get("/transactions/{txn_id}", tags=["transactions"], summary="One contract with its events (access is logged)")
def get_transaction(request: Request, txn_id: str, user: User = Depends(need("txn.read"))) -> dict:
    return _txn(request, txn_id, user)


@router.post("/transactions/{txn_id}/events", status_code=201, response_model=EventCreated, tags=["transactions"],
             summary="Record a lifecycle event (nothing is edited or deleted in place)")
def add_event(request: Request, txn_id: str, body: EventCreate, user: User = Depends(need("txn.event")),
              idempotency_key: str | None = IDEMPOTENCY_KEY):
    """A ``correction`` (hủy with ``cancel: true``, or đính chính with ``fields``) is a manager's (403 otherwise)
    and needs a written ``reason`` (400 without)."""
    s = svc(request)
    data = body.model_dump(exclude_none=True)
    idem, answered = idempotent(request, user, idempotency_key, data)
    if answered is not None:
        return JSONResponse(answered.body, status_code=answered.status)
    try:
        out = s.book.add_event(txn_id, body.type, data, user=user.name, role=user.role, idempotency=idem)
    except NotFoundError as e:
        raise ApiError(404, "transaction_not_found", f"no contract {txn_id!r}") from e
    except IdempotencyConflict as e:
        raise _refused(409, e, "idempotency_key_reused") from e
    except ContractRefused as e:
        status = {"bad_transition": 409, "item_on_hold": 409, "amount_changed": 409, "correction_needs_manager": 403}.get(e.code, 422)
        if e.code == "reason_required" and body.type == "correction":
            status = 400
        raise _refused(status, e) from e
    return out


@router.get("/transactions/{txn_id}/photos/{kind}", tags=["transactions"], summary="Stored chip, camera or item photo (item-<n>) of a contract",
            responses={200: {"content": {"image/jpeg": {}}}})
def txn_photo(request: Request, txn_id: str, kind: str, user: User = Depends(need("txn.read"))) -> Response:
    s = svc(request)
    if kind not in ("chip", "camera") and not item_photos.ITEM_KIND.match(kind):
        raise ApiError(404, "not_found", "photo kind: expected chip, camera or item-<n>")
    data = s.book.photo(txn_id, kind)
    if data is None:
        raise ApiError(404, "photo_not_found", f"no {kind} photo for {txn_id!r} (never taken, or purged after privacy.face_retention_days)")
    s.ledger.log_access(user.name, user.role, "read_photo", f"contract-id:{txn_id}", kind)
    return _image_response(data, portrait=kind == "chip")


@router.get("/transactions/{txn_id}/contract.pdf", tags=["transactions"], summary="The contract/receipt as PDF (Vietnamese)",
            responses={200: {"content": {"application/pdf": {}}}})
def contract_pdf(request: Request, txn_id: str, user: User = Depends(need("txn.read"))) -> Response:
    from verifier.api.contract import render_pdf
    from verifier.ledger.shop_profile import current

    view = _txn(request, txn_id, user, "print")
    pdf = render_pdf(view, svc(request).cfg, current(svc(request).ledger, svc(request).cfg))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": _disposition("inline", f"{view['contract_no']}.pdf"), "Cache-Control": "no-store"})


def _disposition(kind: str, filename: str) -> str:
    """RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 8187)."""
    from urllib.parse import quote

    ascii_name = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename.replace("Đ", "D").replace("đ", "d"))
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


disposition = _disposition  # the public name, for the other routers' downloads (reports, receipts)


# --- ledger and audit ----------------------------------------------------------------------
@router.get("/ledger/verify", tags=["ledger"], summary="Decrypt, re-hash and check the whole ledger")
def ledger_verify(request: Request, user: User = Depends(need("ledger.verify"))) -> dict:
    return svc(request).ledger.verify().to_json()


@router.get("/ledger/head", tags=["ledger"], summary="Head of the hash chain and the latest signed checkpoint")
def ledger_head(request: Request, user: User = Depends(need("ledger.verify"))) -> dict:
    led = svc(request).ledger
    seq, h = led.head()
    cp = led.latest_checkpoint()
    return {"device_id": led.device_id, "device_public_key": led.public_key_b64(), "head_seq": seq, "head_hash": h,
            "checkpoint": cp.to_json() if cp else None, "sync": led.sync_state()}


@router.get("/ledger/export", tags=["ledger"], summary="Self-verifying export bundle (chipid-ledger-export/1) for inspectors")
def ledger_export(
    request: Request,
    from_: date | None = Query(None, alias="from"),
    to: date | None = Query(None),
    user: User = Depends(need("ledger.export")),
) -> Response:
    from verifier.ledger.export import build_bundle, count_range

    s = svc(request)
    n = count_range(s.ledger, from_.isoformat() if from_ else None, to.isoformat() if to else None)
    if n > MAX_API_EXPORT:
        raise ApiError(413, "export_too_large", f"{n} entries in that range; the API exports at most {MAX_API_EXPORT}: "
                       "choose a narrower from/to or use `chipid ledger export`", {"entries": n, "max": MAX_API_EXPORT})
    bundle = build_bundle(s.ledger, from_.isoformat() if from_ else None, to.isoformat() if to else None)
    s.ledger.log_access(user.name, user.role, "export", f"ledger:{bundle['entries'][0]['seq'] if bundle['entries'] else 0}-"
                        f"{bundle['entries'][-1]['seq'] if bundle['entries'] else 0}", f"from={from_} to={to}")
    name = f"chipid-ledger-{s.ledger.device_id}-{from_ or 'start'}-{to or 'now'}.json"
    return Response(json.dumps(bundle, ensure_ascii=False), media_type="application/json",
                    headers={"Content-Disposition": _disposition("attachment", name), "Cache-Control": "no-store"})


@router.get("/sync", tags=["ledger"], summary="Delivery of the ledger to the police backend: backlog, last success, last error")
def sync_state(request: Request, user: User = Depends(current_user)) -> dict:
    return svc(request).sync_status()


@router.post("/ledger/checkpoint", tags=["ledger"], summary="Sign a checkpoint of the current head now")
def ledger_checkpoint(request: Request, user: User = Depends(need("ledger.export"))) -> dict:
    return svc(request).ledger.checkpoint().to_json()


@router.get("/audit", tags=["ledger"], summary="Access log: who read which personal record, when")
def audit(
    request: Request,
    user_name: str | None = Query(None, alias="user", max_length=64),
    record: str | None = Query(None, max_length=200),
    page: int = Query(1, ge=1, le=100000),
    page_size: int = Query(50, ge=1, le=500),
    user: User = Depends(need("audit.read")),
) -> dict:
    rows, total = svc(request).ledger.access_log(user=user_name, record=record, limit=page_size, offset=(page - 1) * page_size)
    return {"items": rows, "total": total, "page": page, "page_size": page_size}
