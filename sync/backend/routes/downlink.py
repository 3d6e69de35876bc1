"""The downlink to the shops and the item photos from them (issue 19 items 2 and 5).

Inspector side (a session; trust updates need an admin):

    POST /api/v1/holds                      place a hold on a contract's item (shop, contract number, reason, case, until)
    GET  /api/v1/holds                      holds, ?shop_id=, ?active=true
    POST /api/v1/holds/{hold_id}/release    release it (another signed message)
    POST /api/v1/notices                    a notice to one shop, several, or all (shop_ids empty)
    GET  /api/v1/notices                    notices sent, ?shop_id=
    POST /api/v1/trust-updates (admin)      CSCA certificates, CRLs, master lists to the shops
    GET  /api/v1/trust-updates              trust updates sent, ?shop_id=
    GET  /api/v1/shops/{shop}/contracts/{txn_id}/photos          the item photos held (no bytes)
    GET  /api/v1/shops/{shop}/contracts/{txn_id}/photos/{kind}   one photo (each read is in access_log)

Device side, each request signed by the enrolled device key (:func:`sync.downlink.request_message`):

    GET  /api/v1/devices/{device_id}/downlink?after=N   the shop's signed messages after version N
    POST /api/v1/devices/{device_id}/photos             one item photo of a delivered contract
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from sync import downlink as wire
from sync.backend import auth, downlink, downlink_key, photos
from sync.backend.db import Database
from sync.backend.routes.deps import admin_user, current_user, get_db
from sync.backend.search import log_access
from verifier.error_shape import ApiError
from verifier.errors import InputError, NotFoundError, TamperError
from verifier.ledger.entry import load_public_key_b64

router = APIRouter(tags=["downlink"])
MAX_PHOTO_REQUEST = photos.MAX_PHOTO_BYTES * 4 // 3 + 4096


class HoldBody(BaseModel):
    shop_id: str = Field(min_length=1, max_length=100)
    contract_no: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=wire.MAX_TEXT)
    case_no: str | None = Field(None, max_length=100)
    until: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="last day of the hold (Vietnam), YYYY-MM-DD")


class ReleaseBody(BaseModel):
    note: str | None = Field(None, max_length=wire.MAX_TEXT)


class NoticeBody(BaseModel):
    shop_ids: list[str] = Field(default_factory=list, max_length=10000, description="empty: every shop")
    text: str = Field(min_length=1, max_length=wire.MAX_TEXT)


class TrustItem(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    data: str = Field(min_length=1, description="base64 of the certificate, CRL or master list (DER or PEM)")


class TrustBody(BaseModel):
    shop_ids: list[str] = Field(default_factory=list, max_length=10000, description="empty: every shop")
    items: list[TrustItem] = Field(min_length=1, max_length=50)


class PhotoBody(BaseModel):
    contract_no: str = Field(min_length=1, max_length=100)
    txn_id: str = Field(min_length=1, max_length=100)
    kind: str = Field(min_length=1, max_length=20)
    data: str = Field(min_length=1, description="base64 of the image")


def _key(request: Request):
    key = downlink_key.for_app(request.app)
    if key is None:
        raise ApiError(503, "downlink_unavailable", f"no downlink signing key: set {downlink_key.SIGNING_KEY_ENV} "
                                                    "or give the backend a data directory")
    return key


def _refused(e: Exception) -> ApiError:
    if isinstance(e, NotFoundError):
        msg = str(e)
        if msg.startswith("no shop"):
            return ApiError(404, "shop_not_found", msg, {"shop_id": msg[len("no shop "):].strip("'")})
        if msg.startswith("no hold"):
            return ApiError(404, "hold_not_found", msg)
        return ApiError(404, "contract_not_delivered", msg)
    if "already released" in str(e):
        return ApiError(409, "hold_already_released", str(e))
    return ApiError(400, "invalid_input", str(e))


# --- inspector side ---------------------------------------------------------------------------
@router.post("/api/v1/holds", status_code=201, summary="Place a hold on a contract's item (a signed message to the shop)")
def post_hold(body: HoldBody, request: Request, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    key = _key(request)
    try:
        out = downlink.place_hold(db, key, shop_id=body.shop_id, contract_no=body.contract_no, reason=body.reason,
                                  case_no=body.case_no, until=body.until, by=user.name)
    except InputError as e:
        raise _refused(e) from e
    return {"hold_id": out["message"]["body"]["hold_id"], "shop_id": body.shop_id, "version": out["version"],
            "message": out["message"]}


@router.get("/api/v1/holds", summary="Holds placed (folded from the messages)")
def get_holds(shop_id: str | None = None, active: bool = False, _user: auth.User = Depends(current_user),
              db: Database = Depends(get_db)) -> dict:
    return {"holds": downlink.holds(db, shop_id=shop_id, active_only=active)}


@router.post("/api/v1/holds/{hold_id}/release", status_code=201, summary="Release a hold (another signed message)")
def post_release(hold_id: str, request: Request, body: ReleaseBody | None = None, user: auth.User = Depends(current_user),
                 db: Database = Depends(get_db)) -> dict:
    key = _key(request)
    try:
        out = downlink.release_hold(db, key, hold_id, note=body.note if body else None, by=user.name)
    except InputError as e:
        raise _refused(e) from e
    return {"hold_id": hold_id, "shop_id": out["message"]["shop_id"], "version": out["version"], "message": out["message"]}


@router.post("/api/v1/notices", status_code=201, summary="Send a notice, shown at the counter until acknowledged")
def post_notice(body: NoticeBody, request: Request, user: auth.User = Depends(current_user),
                db: Database = Depends(get_db)) -> dict:
    key = _key(request)
    try:
        sent = downlink.send_notice(db, key, shops=body.shop_ids, text_=body.text, by=user.name)
    except InputError as e:
        raise _refused(e) from e
    return {"sent": [{"shop_id": s["message"]["shop_id"], "version": s["version"]} for s in sent]}


@router.get("/api/v1/notices", summary="Notices sent")
def get_notices(shop_id: str | None = None, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    return {"notices": [_summary(m) for m in downlink.messages(db, shop_id=shop_id, kind="notice")]}


@router.post("/api/v1/trust-updates", status_code=201, summary="Publish CSCA certificates, CRLs or master lists (admin)")
def post_trust(body: TrustBody, request: Request, user: auth.User = Depends(admin_user),
               db: Database = Depends(get_db)) -> dict:
    key = _key(request)
    files = []
    for item in body.items:
        try:
            files.append((item.name, base64.b64decode(item.data, validate=True)))
        except (binascii.Error, ValueError) as e:
            raise ApiError(400, "invalid_input", f"{item.name}: expected base64 data") from e
    try:
        sent = downlink.publish_trust(db, key, shops=body.shop_ids, files=files, by=user.name)
    except InputError as e:
        raise _refused(e) from e
    return {"sent": [{"shop_id": s["message"]["shop_id"], "version": s["version"]} for s in sent]}


@router.get("/api/v1/trust-updates", summary="Trust updates published")
def get_trust(shop_id: str | None = None, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    out = []
    for m in downlink.messages(db, shop_id=shop_id, kind="trust"):
        s = _summary(m)
        s["body"] = {"items": [{"name": i["name"], "bytes": len(base64.b64decode(i["data"]))} for i in m["body"]["items"]]}
        out.append(s)
    return {"trust_updates": out}


def _summary(m: dict) -> dict:
    return {k: m[k] for k in ("shop_id", "version", "kind", "issued_at", "issued_by", "body")}


@router.get("/api/v1/shops/{shop_id}/contracts/{txn_id}/photos", summary="Item photos held for a contract")
def get_photo_list(shop_id: str, txn_id: str, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    return {"photos": photos.listing(db, shop_id, txn_id)}


@router.get("/api/v1/shops/{shop_id}/contracts/{txn_id}/photos/{kind}", summary="One item photo (the read is logged)",
            responses={200: {"content": {"image/jpeg": {}}}})
def get_photo(shop_id: str, txn_id: str, kind: str, user: auth.User = Depends(current_user),
              db: Database = Depends(get_db)) -> Response:
    try:
        data = photos.read(db, shop_id, txn_id, kind)
    except NotFoundError as e:
        raise ApiError(404, "photo_not_found", str(e)) from e
    log_access(db, user.name, "item_photo", f"shop={shop_id} txn={txn_id} kind={kind}", 1)
    media = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


# --- device side ------------------------------------------------------------------------------
def device_request(db: Database, request: Request, device_id: str, body: bytes = b"") -> str:
    """The shop id of ``device_id`` when the request carries its valid signature (:mod:`sync.downlink`), else 401."""
    h = request.headers
    if h.get(wire.HEADER_DEVICE) != device_id:
        raise ApiError(401, "device_auth_failed", f"expected the {wire.HEADER_DEVICE} header to name {device_id}")
    ts = h.get(wire.HEADER_TIMESTAMP) or ""
    try:
        at = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError("no offset")
    except ValueError as e:
        raise ApiError(401, "device_auth_failed", f"expected {wire.HEADER_TIMESTAMP} as an ISO 8601 UTC time, found {ts!r:.40}") from e
    skew = abs((datetime.now(timezone.utc) - at).total_seconds())
    if skew > wire.REQUEST_SKEW_S:
        raise ApiError(401, "device_auth_failed", f"request time is {skew:.0f} s away from the backend's clock "
                                                  f"(at most {wire.REQUEST_SKEW_S} s): check the shop computer's clock")
    with db.read() as conn:
        row = conn.execute(text("SELECT shop_id, public_key FROM devices WHERE device_id = :d"), {"d": device_id}).first()
    if row is None:
        raise ApiError(404, "device_not_enrolled", f"device {device_id!r} is not enrolled", {"device_id": device_id})
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        sig = base64.b64decode(h.get(wire.HEADER_SIGNATURE) or "", validate=True)
        load_public_key_b64(row[1]).verify(sig, wire.request_message(request.method, path, ts, body))
    except (binascii.Error, ValueError, InvalidSignature, TamperError) as e:
        raise ApiError(401, "device_auth_failed", "the request signature does not verify with the enrolled device key") from e
    return str(row[0])


@router.get("/api/v1/devices/{device_id}/downlink", summary="The shop's signed messages after version N (device-signed)")
def get_downlink(device_id: str, request: Request, after: int = Query(0, ge=0), db: Database = Depends(get_db)) -> dict:
    shop_id = device_request(db, request, device_id)
    _key(request)
    return downlink.fetch(db, shop_id, after)


@router.post("/api/v1/devices/{device_id}/photos", summary="One item photo of a delivered contract (device-signed)")
async def post_photo(device_id: str, request: Request) -> dict:
    db = get_db(request)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_PHOTO_REQUEST:
            raise ApiError(413, "too_large", f"body exceeds {MAX_PHOTO_REQUEST} bytes")
    raw = bytes(raw)
    shop_id = await run_in_threadpool(device_request, db, request, device_id, raw)
    try:
        body = PhotoBody.model_validate(json.loads(raw))
        data = base64.b64decode(body.data, validate=True)
    except (ValueError, binascii.Error) as e:
        raise ApiError(400, "invalid_input", f"expected {{contract_no, txn_id, kind, data: base64}}: {e}"[:300]) from e
    try:
        return await run_in_threadpool(photos.store, db, shop_id=shop_id, device_id=device_id, contract_no=body.contract_no,
                                       txn_id=body.txn_id, kind=body.kind, data=data)
    except photos.PhotoMismatch as e:
        raise ApiError(409, "photo_mismatch", str(e)) from e
    except NotFoundError as e:
        raise ApiError(404, "contract_not_delivered", str(e)) from e
    except InputError as e:
        raise ApiError(400, "invalid_input", str(e)) from e


# --- the inspector's page (sync/backend/pages/holds.html, Vietnamese) ---------------------------------------
def _page(request: Request, user: auth.User, *, message: str | None = None, error: bool = False, status: int = 200):
    from fastapi.responses import HTMLResponse
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from sync.backend.pages import COOKIE, csrf_token
    from sync.backend.pages.words import WORDS
    from verifier.local_time import local_date, local_time

    env = Environment(loader=FileSystemLoader(str(Path(__file__).parents[1] / "pages")),
                      autoescape=select_autoescape(["html"]))
    env.filters.update(local_time=local_time, local_date=local_date)
    db = get_db(request)
    rows = downlink.holds(db)
    rows.sort(key=lambda h: (not h["active"], h["placed_at"]), reverse=False)
    shown = {h["hold_id"]: photos.listing(db, h["shop_id"], h["txn_id"]) for h in rows[:50]}
    token = request.cookies.get(COOKIE, "")
    html = env.get_template("holds.html").render(
        user=user, csrf=csrf_token(token) if token else "", path=request.url.path, lang="vi", query="",
        t=lambda key, **f: WORDS.get(key, (key, key))[0].format(**f) if f else WORDS.get(key, (key, key))[0],
        when=lambda v: local_time(v, "vi"), holds=rows, photos=shown, message=message, error=error)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "Content-Language": "vi"})


def _vi(e: Exception) -> str:
    """A refusal in Vietnamese, for the page (the catalogue's sentence)."""
    from verifier import messages

    err = _refused(e)
    return messages.text(err.code, "vi", err.details if isinstance(err.details, dict) else {})


def _page_user(request: Request) -> auth.User:
    from sync.backend.routes.deps import optional_user

    user = optional_user(request)
    if user is None:
        raise ApiError(401, "unauthenticated", "login required")
    return user


def _check_csrf(request: Request, csrf: str) -> None:
    import hmac

    from sync.backend.pages import COOKIE, csrf_token

    token = request.cookies.get(COOKIE, "")
    if not token or not hmac.compare_digest(csrf or "", csrf_token(token)):
        raise ApiError(403, "csrf", "the form's CSRF token does not match the session")


@router.get("/holds", include_in_schema=False)
def holds_page(request: Request):
    from fastapi.responses import RedirectResponse

    from sync.backend.routes.deps import optional_user

    user = optional_user(request)
    if user is None:
        return RedirectResponse("/login?next=/holds", status_code=303)
    return _page(request, user)


@router.post("/holds", include_in_schema=False)
def holds_place_form(request: Request, csrf: str = Form(""), shop_id: str = Form(...), contract_no: str = Form(...),
                     reason: str = Form(...), case_no: str = Form(""), until: str = Form("")):
    user = _page_user(request)
    _check_csrf(request, csrf)
    try:
        out = downlink.place_hold(get_db(request), _key(request), shop_id=shop_id.strip(), contract_no=contract_no,
                                  reason=reason, case_no=case_no or None, until=until or None, by=user.name)
    except InputError as e:
        return _page(request, user, message=f"Không đặt được lệnh tạm giữ: {_vi(e)}", error=True, status=400)
    return _page(request, user, message=f"Đã gửi lệnh tạm giữ hợp đồng {contract_no} tới cửa hàng {shop_id} "
                                        f"(lệnh số {out['version']}).")


@router.post("/holds/{hold_id}/release", include_in_schema=False)
def holds_release_form(request: Request, hold_id: str, csrf: str = Form(""), note: str = Form("")):
    user = _page_user(request)
    _check_csrf(request, csrf)
    try:
        out = downlink.release_hold(get_db(request), _key(request), hold_id, note=note or None, by=user.name)
    except InputError as e:
        return _page(request, user, message=f"Không giải tỏa được: {_vi(e)}", error=True, status=400)
    return _page(request, user, message=f"Đã gửi lệnh giải tỏa (lệnh số {out['version']}).")


@router.post("/holds/notice", include_in_schema=False)
def holds_notice_form(request: Request, csrf: str = Form(""), shop_id: str = Form(""), text_: str = Form(..., alias="text")):
    user = _page_user(request)
    _check_csrf(request, csrf)
    try:
        sent = downlink.send_notice(get_db(request), _key(request), shops=[shop_id.strip()] if shop_id.strip() else None,
                                    text_=text_, by=user.name)
    except InputError as e:
        return _page(request, user, message=f"Không gửi được thông báo: {_vi(e)}", error=True, status=400)
    return _page(request, user, message=f"Đã gửi thông báo tới {len(sent)} cửa hàng.")
