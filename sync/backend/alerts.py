"""Alerts: tamper (gap, fork, conflict, replay, signature, tampered entry, checkpoint),
watchlist hits and suspicious events. An open alert of the same kind and detail for the same
device is counted up instead of repeated, so a relay stuck on a refused batch raises one alert.

``detail`` may quote personal data (a wanted ID number, the clerk's reason), so it is stored
encrypted (:mod:`sync.backend.vault`, AAD ``shop_id|alert_id|0``) and matched for repeats by
``detail_key``, the blind index (:meth:`sync.backend.vault.Vault.blind`) of kind and detail."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sync.backend.vault import Vault
from verifier.ledger.entry import utc_now

TAMPER_KINDS = ("gap", "fork", "conflict", "replay", "signature", "tampered", "checkpoint")
KINDS = TAMPER_KINDS + ("watchlist", "suspicious")


def raise_alert(conn: Connection, vault: Vault, *, shop_id: str, device_id: str | None, kind: str, detail: str, seq: int | None = None) -> str:
    now = utc_now()
    detail = detail[:2000]
    detail_key = vault.blind("alert", f"{kind}|{detail}")
    row = conn.execute(
        text(
            "SELECT alert_id FROM alerts WHERE shop_id = :shop AND kind = :kind AND ack_at IS NULL "
            "AND device_id = :dev AND detail_key = :dk LIMIT 1"
        ),
        {"shop": shop_id, "kind": kind, "dev": device_id or "", "dk": detail_key},
    ).first()
    if row:
        conn.execute(
            text("UPDATE alerts SET count = count + 1, last_at = :now WHERE shop_id = :shop AND alert_id = :id"),
            {"now": now, "shop": shop_id, "id": row[0]},
        )
        return row[0]
    alert_id = uuid.uuid4().hex
    conn.execute(
        text(
            "INSERT INTO alerts (shop_id, alert_id, device_id, kind, detail, detail_key, seq, created_at, last_at, count) "
            "VALUES (:shop, :id, :dev, :kind, :detail, :dk, :seq, :now, :now, 1)"
        ),
        {"shop": shop_id, "id": alert_id, "dev": device_id or "", "kind": kind, "detail": vault.seal(detail, shop_id, alert_id, 0), "dk": detail_key, "seq": seq, "now": now},
    )
    return alert_id


def list_alerts(conn: Connection, vault: Vault, *, shop_id: str | None = None, open_only: bool = False, kind: str | None = None, limit: int = 200) -> list[dict]:
    where, params = [], {"limit": min(max(limit, 1), 1000)}
    if shop_id:
        where.append("shop_id = :shop")
        params["shop"] = shop_id
    if open_only:
        where.append("ack_at IS NULL")
    if kind:
        where.append("kind = :kind")
        params["kind"] = kind
    sql = "SELECT shop_id, alert_id, device_id, kind, detail, seq, created_at, last_at, count, ack_by, ack_at FROM alerts"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY last_at DESC LIMIT :limit"
    return [dict(r._mapping) | {"detail": vault.open(r.detail, r.shop_id, r.alert_id, 0)} for r in conn.execute(text(sql), params)]


def ack_alert(conn: Connection, shop_id: str, alert_id: str, user: str) -> bool:
    res = conn.execute(
        text("UPDATE alerts SET ack_by = :u, ack_at = :now WHERE shop_id = :shop AND alert_id = :id AND ack_at IS NULL"),
        {"u": user, "now": utc_now(), "shop": shop_id, "id": alert_id},
    )
    return res.rowcount == 1
