"""Inspector side of the backend API: ledger search, person history, shops, export bundles, alerts.

Every route needs a logged-in inspector (:func:`sync.backend.routes.deps.current_user`);
acknowledging an alert needs the admin role. Reads of personal data are logged by
:mod:`sync.backend.search` (ARCHITECTURE.md: every read of it by a person is itself logged).

    GET  /api/v1/entries?id_number&name&serial&q&shop&province&from&to&kind&limit&offset
    GET  /api/v1/persons/{id_number}    one person's history across shops
    GET  /api/v1/shops, /api/v1/shops/{shop_id}     status: last sync, backlog, alerts
    GET  /api/v1/shops/{shop_id}/export[?device=ID] self-verifying chipid-ledger-export/1 bundle
    GET  /api/v1/alerts, POST /api/v1/alerts/{shop_id}/{alert_id}/ack (admin)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sync.backend import alerts as alerts_mod
from sync.backend import auth, export, search
from sync.backend.db import Database
from sync.backend.routes.deps import admin_user, current_user, get_db
from verifier.error_shape import ApiError
from verifier.errors import InputError

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
    return search.person_history(db, id_number, user=user.name)


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


@router.post("/api/v1/alerts/{shop_id}/{alert_id}/ack")
def ack(shop_id: str, alert_id: str, user: auth.User = Depends(admin_user), db: Database = Depends(get_db)) -> dict:
    with db.write() as conn:
        ok = alerts_mod.ack_alert(conn, shop_id, alert_id, user.name)
    if not ok:
        raise ApiError(404, "alert_not_found", "no such open alert", {"shop_id": shop_id, "alert_id": alert_id})
    return {"status": "acknowledged"}
