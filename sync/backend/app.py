"""The police backend's HTTP service (FastAPI). Stateless over the database.

Device side (authenticated by signatures, not sessions):
    POST /api/v1/enroll                 one-time token + device public key + proof
    POST /api/v1/ingest                 a signed, gzip'd batch (see :mod:`sync.batch`)
    GET  /api/v1/devices/{id}/head      where the stored chain of a device ends

Inspector side (``Authorization: Bearer TOKEN`` from ``POST /api/v1/login``, or the page cookie):
    GET  /api/v1/entries?id_number&name&serial&q&shop&province&from&to&kind&limit&offset
    GET  /api/v1/persons/{id_number}    one person's history across shops
    GET  /api/v1/shops, /api/v1/shops/{shop_id}     status: last sync, backlog, alerts
    GET  /api/v1/shops/{shop_id}/export[?device=ID] self-verifying chipid-ledger-export/1 bundle
    GET  /api/v1/alerts, POST /api/v1/alerts/{shop_id}/{alert_id}/ack (admin)
    GET/POST /api/v1/watchlist, POST /api/v1/watchlist/csv, DELETE /api/v1/watchlist/{item_id}
    POST /api/v1/devices (admin)        issue an enrolment token
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sync.backend import alerts as alerts_mod
from sync.backend import auth, enroll, export, search, watchlist
from sync.backend.db import Database
from sync.backend.ingest import device_head, ingest
from sync.batch import MAX_WIRE_BYTES
from verifier.errors import ChipidError, InputError, LimitExceededError, SyncError

log = logging.getLogger(__name__)

SESSION_COOKIE = "chipid_backend_session"


class EnrollBody(BaseModel):
    token: str = Field(min_length=8, max_length=200)
    device_id: str = Field(min_length=1, max_length=200)
    public_key: str = Field(min_length=1, max_length=200)
    proof: str = Field(min_length=1, max_length=400)


class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=500)


class DeviceBody(BaseModel):
    shop: str = Field(min_length=1, max_length=200)
    license_no: str = Field(min_length=1, max_length=100)
    province: str = Field(min_length=1, max_length=20)


class WatchItem(BaseModel):
    kind: str = Field(max_length=20)
    value: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=500)


class WatchBody(BaseModel):
    items: list[WatchItem] = Field(max_length=10000)


def create_app(db: Database) -> FastAPI:
    app = FastAPI(title="chipid police backend", version="1", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.db = db

    @app.exception_handler(ChipidError)
    async def _chipid_error(_request: Request, exc: ChipidError):
        status = 413 if isinstance(exc, LimitExceededError) else 400 if isinstance(exc, InputError) else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    def current_user(request: Request) -> auth.User:
        token = None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        if not token:
            token = request.cookies.get(SESSION_COOKIE)
        user = auth.session_user(db, token)
        if user is None:
            raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Bearer"})
        return user

    def admin_user(user: auth.User = Depends(current_user)) -> auth.User:
        if user.role != "admin":
            raise HTTPException(403, "admin role required")
        return user

    # --- devices --------------------------------------------------------------------
    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/api/v1/enroll")
    def post_enroll(body: EnrollBody) -> dict:
        try:
            return enroll.enroll_device(db, token=body.token, device_id=body.device_id, public_key=body.public_key, proof=body.proof)
        except InputError as e:
            raise HTTPException(400, str(e)) from e
        except SyncError as e:
            raise HTTPException(409, str(e)) from e

    @app.post("/api/v1/ingest")
    async def post_ingest(request: Request) -> Response:
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_WIRE_BYTES:
                return JSONResponse({"status": "refused", "reason": "too-large", "detail": f"body exceeds {MAX_WIRE_BYTES} bytes"}, 413)
        result = await run_in_threadpool(ingest, db, bytes(raw), request.headers.get("content-encoding"))
        headers = {"X-Chipid-Duplicate": "1" if result.duplicate else "0"}
        if result.queued:
            # This worker process was busy, so the batch waited. Letting the connection go sends
            # the shop's next batch to whichever worker accepts first, which is a free one: a
            # kept-alive connection would tie that shop to this busy process (measured, 8 shops
            # on 3 workers: kept alive, half to nine tenths of the cores busy, varying from run to
            # run with how the connections happened to spread; shed, nine tenths in every run).
            headers["Connection"] = "close"
        return JSONResponse(result.body, status_code=result.status_code, headers=headers)

    @app.get("/api/v1/devices/{device_id}/head")
    def get_head(device_id: str) -> dict:
        head = device_head(db, device_id)
        if head is None:
            raise HTTPException(404, f"device {device_id!r} is not enrolled")
        return head

    @app.post("/api/v1/devices")
    def post_device(body: DeviceBody, _user: auth.User = Depends(admin_user)) -> dict:
        return enroll.add_device_token(db, shop=body.shop, license_no=body.license_no, province=body.province)

    # --- sessions -------------------------------------------------------------------
    @app.post("/api/v1/login")
    def post_login(body: LoginBody) -> dict:
        result = auth.login(db, body.name, body.password)
        if result is None:
            raise HTTPException(401, "wrong user name or password")
        user, token = result
        return {"token": token, "name": user.name, "role": user.role}

    @app.post("/api/v1/logout")
    def post_logout(request: Request, _user: auth.User = Depends(current_user)) -> dict:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE, "")
        auth.logout(db, token)
        return {"status": "logged out"}

    # --- inspector ------------------------------------------------------------------
    @app.get("/api/v1/entries")
    def get_entries(request: Request, user: auth.User = Depends(current_user)) -> dict:
        query = query_from(request.query_params)
        rows = search.search_entries(db, query, user=user.name)
        return {"count": len(rows), "limit": query.limit, "offset": query.offset, "entries": rows}

    @app.get("/api/v1/persons/{id_number}")
    def get_person(id_number: str, user: auth.User = Depends(current_user)) -> dict:
        return search.person_history(db, id_number, user=user.name)

    @app.get("/api/v1/shops")
    def get_shops(_user: auth.User = Depends(current_user)) -> dict:
        return {"shops": search.list_shops(db)}

    @app.get("/api/v1/shops/{shop_id}")
    def get_shop(shop_id: str, _user: auth.User = Depends(current_user)) -> dict:
        status = search.shop_status(db, shop_id)
        if status is None:
            raise HTTPException(404, f"shop {shop_id!r} not found")
        return status

    @app.get("/api/v1/shops/{shop_id}/export")
    def get_export(shop_id: str, device: str | None = None, user: auth.User = Depends(current_user)) -> dict:
        devices = export.shop_devices(db, shop_id)
        if not devices:
            raise HTTPException(404, f"shop {shop_id!r} has no enrolled device")
        if device is None:
            if len(devices) > 1:
                raise HTTPException(400, f"shop {shop_id!r} has {len(devices)} devices: choose one with ?device= ({', '.join(devices)})")
            device = devices[0]
        elif device not in devices:
            raise HTTPException(404, f"device {device!r} does not belong to shop {shop_id!r}")
        bundle = export.export_device(db, device)
        search.log_access(db, user.name, "export", f'{{"shop":"{shop_id}","device":"{device}"}}', len(bundle["entries"]))
        return bundle

    @app.get("/api/v1/alerts")
    def get_alerts(shop: str | None = None, open: bool = False, kind: str | None = None, limit: int = 200,
                   _user: auth.User = Depends(current_user)) -> dict:
        with db.read() as conn:
            return {"alerts": alerts_mod.list_alerts(conn, db.vault, shop_id=shop, open_only=open, kind=kind, limit=limit)}

    @app.post("/api/v1/alerts/{shop_id}/{alert_id}/ack")
    def ack(shop_id: str, alert_id: str, user: auth.User = Depends(admin_user)) -> dict:
        with db.write() as conn:
            ok = alerts_mod.ack_alert(conn, shop_id, alert_id, user.name)
        if not ok:
            raise HTTPException(404, "no such open alert")
        return {"status": "acknowledged"}

    @app.get("/api/v1/watchlist")
    def get_watchlist(_user: auth.User = Depends(current_user)) -> dict:
        return {"items": watchlist.list_items(db)}

    @app.post("/api/v1/watchlist")
    def post_watchlist(body: WatchBody, user: auth.User = Depends(current_user)) -> dict:
        return watchlist.add_items(db, [i.model_dump() for i in body.items], user.name)

    @app.post("/api/v1/watchlist/csv")
    async def post_watchlist_csv(file: UploadFile, user: auth.User = Depends(current_user)) -> dict:
        data = await file.read(watchlist.MAX_CSV_BYTES + 1)
        items = watchlist.parse_csv(data)
        return watchlist.add_items(db, items, user.name)

    @app.delete("/api/v1/watchlist/{item_id}")
    def delete_watchlist(item_id: str, _user: auth.User = Depends(current_user)) -> dict:
        if not watchlist.deactivate(db, item_id):
            raise HTTPException(404, "no such active watchlist item")
        return {"status": "removed"}

    from sync.backend.pages import add_pages

    add_pages(app, db, current_user_optional=lambda request: _optional_user(db, request))
    return app


WORKER_ENV_DIR = "CHIPID_BACKEND_WORKER_DATA_DIR"
WORKER_ENV_URL = "CHIPID_BACKEND_WORKER_DATABASE_URL"
# names (not values) of the key variables when backend.data_key_env / backend.index_key_env are not the defaults
WORKER_ENV_DATA_KEY_ENV = "CHIPID_BACKEND_WORKER_DATA_KEY_ENV"
WORKER_ENV_INDEX_KEY_ENV = "CHIPID_BACKEND_WORKER_INDEX_KEY_ENV"


def app_from_env() -> FastAPI:
    """uvicorn factory for ``chipid backend serve --workers N``: each worker process opens the
    database named by the environment the serve command set (schema already migrated)."""
    import os

    from sync.backend.vault import DATA_KEY_ENV, INDEX_KEY_ENV

    url = os.environ.get(WORKER_ENV_URL) or None
    return create_app(Database.open(os.environ.get(WORKER_ENV_DIR), url, migrate=False,
                                    data_key_env=os.environ.get(WORKER_ENV_DATA_KEY_ENV) or DATA_KEY_ENV,
                                    index_key_env=os.environ.get(WORKER_ENV_INDEX_KEY_ENV) or INDEX_KEY_ENV))


def _optional_user(db: Database, request: Request) -> auth.User | None:
    return auth.session_user(db, request.cookies.get(SESSION_COOKIE))


def query_from(params: Any) -> search.Query:
    """A :class:`~sync.backend.search.Query` from query parameters (the API's and the search page's); bad values are InputErrors."""
    def get(name: str) -> str | None:
        v = params.get(name)
        return v.strip() if isinstance(v, str) and v.strip() else None

    def num(name: str, default: int) -> int:
        v = get(name)
        if v is None:
            return default
        try:
            return int(v)
        except ValueError as e:
            raise InputError(f"{name}: expected an integer, found {v!r}") from e

    kind = get("kind") or "transaction"
    if kind not in ("transaction", "event", "all"):
        raise InputError(f"kind: expected transaction, event or all, found {kind!r}")
    return search.Query(
        id_number=get("id_number"), name=get("name"), serial=get("serial"), q=get("q"), shop=get("shop"),
        province=get("province"), date_from=get("from"), date_to=get("to"), kind=None if kind == "all" else kind,
        limit=num("limit", 100), offset=num("offset", 0),
    )
