"""Inspector side of the backend API: ledger search, person history, shops, export bundles, alerts.

Every route needs a logged-in inspector (:func:`sync.backend.routes.deps.current_user`);
acknowledging an alert needs the admin role. Reads of personal data are logged by
:mod:`sync.backend.search` (ARCHITECTURE.md: every read of it by a person is itself logged).

    GET  /api/v1/entries?id_number&name&serial&q&shop&province&from&to&kind&limit&offset
    GET  /api/v1/persons/{id_number}    one person's history across shops
    GET  /api/v1/shops, /api/v1/shops/{shop_id}     status: last sync, backlog, alerts
    GET  /api/v1/shops/{shop_id}/export[?device=ID] self-verifying chipid-ledger-export/1 bundle
    GET  /api/v1/alerts, POST /api/v1/alerts/{shop_id}/{alert_id}/ack (admin)
    GET  /api/v1/alerts/stream          server-sent events, one ``alert`` event per new or counted-up alert
    GET  /api/v1/alerts/{shop_id}/{alert_id}
    GET  /api/v1/persons/{id_number}/linked    people sharing an address or phone
    GET  /api/v1/items/{serial}         an item's history across shops
    GET  /api/v1/shops/{shop_id}/contracts/{txn_id}   a contract with its events, holds, photos, alerts
    GET  /api/v1/shops/{shop_id}/compliance
    GET  /api/v1/provinces, /api/v1/provinces/{code}   the 34 units since 2025 (old codes and names found too)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from sync.backend import alerts as alerts_mod
from sync.backend import auth, export, investigate, search
from sync.backend.db import Database
from sync.backend.routes.deps import admin_user, current_user, get_db, session_token
from verifier.error_shape import ApiError
from verifier.errors import InputError
from verifier.ledger.entry import utc_now

router = APIRouter()


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


@router.get("/api/v1/entries")
def get_entries(request: Request, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    query = query_from(request.query_params)
    rows = search.search_entries(db, query, user=user.name)
    return {"count": len(rows), "limit": query.limit, "offset": query.offset, "entries": rows}


@router.get("/api/v1/persons/{id_number}")
def get_person(id_number: str, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    """The person across shops: ``transactions`` (each with ``photos``), ``events``, ``payments``,
    ``holds``, ``shops`` (ids), ``shops_visited`` (name, address, licence, province), ``alerts`` about them, ``linked`` people."""
    return investigate.person_view(db, id_number, user=user.name)


@router.get("/api/v1/persons/{id_number}/linked")
def get_linked(id_number: str, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    """People whose contracts give the same normalised address or phone as this person's."""
    history = search.person_history(db, id_number, user=user.name)
    return {"id_number": history["id_number"],
            "linked": investigate.linked_people(db, history["transactions"], exclude=history["id_number"])}


@router.get("/api/v1/items/{serial}")
def get_item(serial: str, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    """Every contract naming this serial / IMEI / frame / plate, across shops, with their events and alerts."""
    return investigate.item_history(db, serial, user=user.name)


@router.get("/api/v1/shops/{shop_id}/contracts/{txn_id}")
def get_contract(shop_id: str, txn_id: str, user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    view = investigate.contract_view(db, shop_id, txn_id, user=user.name)
    if view is None:
        raise ApiError(404, "contract_not_found", f"shop {shop_id!r} has no contract {txn_id!r}",
                       {"shop_id": shop_id, "txn_id": txn_id})
    return view


@router.get("/api/v1/shops/{shop_id}/compliance")
def get_compliance(shop_id: str, request: Request, _user: auth.User = Depends(current_user),
                   db: Database = Depends(get_db)) -> dict:
    """Last batch, backlog and silence per device, gaps and tamper alerts, unverifiable contracts, open alerts."""
    view = investigate.shop_compliance(db, shop_id, silent_hours=_silent_hours(request))
    if view is None:
        raise ApiError(404, "shop_not_found", f"shop {shop_id!r} not found", {"shop_id": shop_id})
    return view


def _silent_hours(request: Request) -> float:
    rules = getattr(request.app.state, "alert_rules", None)
    return rules.silent_hours if rules is not None else 48.0


@router.get("/api/v1/provinces")
def get_provinces(_user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    """The 34 provincial-level units since 1 July 2025 with their shops and open alerts."""
    return {"provinces": investigate.provinces_overview(db)}


@router.get("/api/v1/provinces/{code}")
def get_province(code: str, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    """A unit's dashboard; ``code`` may be its code, an old province's code or name, or a CCCD prefix."""
    view = investigate.province_dashboard(db, code)
    if view is None:
        raise ApiError(404, "province_not_found", f"no province {code!r}", {"province": code})
    return view


@router.get("/api/v1/shops")
def get_shops(_user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    return {"shops": search.list_shops(db)}


@router.get("/api/v1/shops/{shop_id}")
def get_shop(shop_id: str, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    status = search.shop_status(db, shop_id)
    if status is None:
        raise ApiError(404, "shop_not_found", f"shop {shop_id!r} not found", {"shop_id": shop_id})
    return status


@router.get("/api/v1/shops/{shop_id}/export")
def get_export(shop_id: str, device: str | None = None, user: auth.User = Depends(current_user),
               db: Database = Depends(get_db)) -> dict:
    devices = export.shop_devices(db, shop_id)
    if not devices:
        raise ApiError(404, "shop_has_no_device", f"shop {shop_id!r} has no enrolled device", {"shop_id": shop_id})
    if device is None:
        if len(devices) > 1:
            raise ApiError(400, "choose_device", f"shop {shop_id!r} has {len(devices)} devices: choose one with ?device= "
                           f"({', '.join(devices)})", {"shop_id": shop_id, "devices": devices})
        device = devices[0]
    elif device not in devices:
        raise ApiError(404, "device_not_in_shop", f"device {device!r} does not belong to shop {shop_id!r}",
                       {"shop_id": shop_id, "device_id": device})
    bundle = export.export_device(db, device)
    search.log_access(db, user.name, "export", f'{{"shop":"{shop_id}","device":"{device}"}}', len(bundle["entries"]))
    return bundle


@router.get("/api/v1/alerts")
def get_alerts(shop: str | None = None, open: bool = False, kind: str | None = None, limit: int = 200,
               _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    with db.read() as conn:
        return {"alerts": alerts_mod.list_alerts(conn, db.vault, shop_id=shop, open_only=open, kind=kind, limit=limit)}


STREAM_POLL_S = 1.0
STREAM_KEEPALIVE_S = 15.0
STREAM_RECHECK_S = 30.0


@router.get("/api/v1/alerts/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "text/event-stream: `event: alert`, `id:` (send it back as "
                                            "`Last-Event-ID` to resume), `data:` the alert as GET /api/v1/alerts lists it"}})
async def alert_stream(request: Request, last_event_id: str | None = None, user: auth.User = Depends(current_user),
                       db: Database = Depends(get_db)) -> StreamingResponse:
    """Server-sent events (HTML Living Standard §9.2): one ``alert`` event per new or counted-up alert,
    oldest first; with ``Last-Event-ID`` (header, or ``?last_event_id=``) the alerts after that one
    first, else only alerts from now on. A comment line every 15 s keeps proxies from closing it; the
    stream ends when the session does."""
    cursor = request.headers.get("last-event-id") or last_event_id
    token = session_token(request)
    await run_in_threadpool(search.log_access, db, user.name, "alert_stream", json.dumps({"last_event_id": cursor}), 0)

    def poll(cursor: str | None, seen: dict, strict: bool) -> list[dict]:
        with db.read() as conn:
            return alerts_mod.alerts_after(conn, db.vault, cursor, seen=seen, strict=strict, limit=200)

    async def events():
        nonlocal cursor
        loop = asyncio.get_running_loop()
        seen: dict[str, None] = {}
        strict = True
        if cursor is None:
            cursor = f"{utc_now()}~~~0"
        yield "retry: 3000\n\n"
        quiet_since = checked = loop.time()
        while not await request.is_disconnected():
            for a in await run_in_threadpool(poll, cursor, seen, strict):
                ev = alerts_mod.event_id(a)
                seen[ev] = None
                if ev > cursor:
                    cursor = ev
                yield f"id: {ev}\nevent: alert\ndata: {json.dumps(a, ensure_ascii=False)}\n\n"
                quiet_since = loop.time()
            strict = False
            while len(seen) > 2000:
                seen.pop(next(iter(seen)))
            now = loop.time()
            if now - quiet_since >= STREAM_KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = now
            if now - checked >= STREAM_RECHECK_S:
                checked = now
                if await run_in_threadpool(auth.session_user, db, token) is None:
                    return
            await asyncio.sleep(STREAM_POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/v1/alerts/{shop_id}/{alert_id}")
def get_alert(shop_id: str, alert_id: str, _user: auth.User = Depends(current_user), db: Database = Depends(get_db)) -> dict:
    with db.read() as conn:
        a = alerts_mod.get_alert(conn, db.vault, shop_id, alert_id)
    if a is None:
        raise ApiError(404, "alert_not_found", "no such alert", {"shop_id": shop_id, "alert_id": alert_id})
    return a


@router.post("/api/v1/alerts/{shop_id}/{alert_id}/ack")
def ack(shop_id: str, alert_id: str, user: auth.User = Depends(admin_user), db: Database = Depends(get_db)) -> dict:
    with db.write() as conn:
        ok = alerts_mod.ack_alert(conn, shop_id, alert_id, user.name)
    if not ok:
        raise ApiError(404, "alert_not_found", "no such open alert", {"shop_id": shop_id, "alert_id": alert_id})
    return {"status": "acknowledged"}
