"""Inspector search across shops, a person's history, a shop's status.

Key filters (``id_number``, ``name``, ``serial``) match the entry's blind keys (one GIN
lookup of ``entries.keys`` on PostgreSQL, ``entry_keys`` rows on SQLite; see
:mod:`sync.backend.schema`): the query's normalised value is blinded as ingest blinded the
entry's (:mod:`sync.backend.vault`) and matched exactly (a name matches on whole trailing
words: "van an" and "an" find "nguyen van an"). ``q`` is a substring of the normalised item
text (trigram index on PostgreSQL); result bodies are decrypted on the way out; ``shop``,
``province``, ``from`` and ``to`` narrow by column (a bare date is a whole day in Vietnam, as at
the counter). Every search by a person is written to
``access_log``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import text

from sync.backend.db import Database
from sync.backend.evidence_verdicts import with_verdicts
from sync.backend.index import MAX_KEY, contract_ref, norm_code, norm_text
from sync.backend.schema import has_keys
from verifier.errors import InputError
from verifier.ledger.entry import utc_bound, utc_now

MAX_LIMIT = 500


@dataclass(frozen=True)
class Query:
    id_number: str | None = None
    name: str | None = None
    serial: str | None = None
    q: str | None = None
    shop: str | None = None
    province: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    kind: str | None = "transaction"
    limit: int = 100
    offset: int = 0

    def describe(self) -> str:
        parts = {k: v for k, v in self.__dict__.items() if v not in (None, "") and k not in ("limit", "offset", "kind")}
        return json.dumps(parts, ensure_ascii=False, sort_keys=True)

    def is_empty(self) -> bool:
        return not any((self.id_number, self.name, self.serial, self.q, self.shop, self.province, self.date_from, self.date_to))


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _build(db: Database, query: Query) -> tuple[str, dict]:
    where, params = [], {}
    key_filters = []
    if query.id_number:
        v = norm_code(query.id_number)
        if not v:
            raise InputError(f"id_number: expected digits, found {query.id_number!r}")
        key_filters.append(("id", v))
    if query.serial:
        v = norm_code(query.serial)
        if not v:
            raise InputError(f"serial: expected letters or digits, found {query.serial!r}")
        key_filters.append(("serial", v))
    if query.name:
        v = norm_text(query.name)
        if not v:
            raise InputError("name: expected some letters")
        key_filters.append(("name", v[:MAX_KEY]))
    if key_filters:
        cond, key_params = has_keys(db.dialect, db.vault.blind_keys(key_filters))
        where.append(cond)
        params.update(key_params)
    if query.q:
        v = norm_text(query.q)
        if v:
            params["q"] = "%" + _like_escape(v) + "%"
            # "<> ''" is implied by the pattern; said, it lets PostgreSQL use the partial trigram index
            where.append("e.search_text <> '' AND e.search_text LIKE :q ESCAPE '\\'")
    if query.shop:
        params["shop"] = query.shop.strip()
        params["shop_name"] = "%" + _like_escape(norm_text(query.shop)) + "%"
        where.append("(e.shop_id = :shop OR e.shop_id IN (SELECT shop_id FROM shops WHERE name_norm LIKE :shop_name ESCAPE '\\' "
                     "OR license_no = :shop))")
    if query.province:
        params["province"] = norm_code(query.province)
        where.append("e.province = :province")
    if query.date_from:  # a bare date is a day in Vietnam, as at the counter
        params["dfrom"] = utc_bound(query.date_from.strip(), start=True)
        where.append("e.ts >= :dfrom")
    if query.date_to:  # ... and includes that whole day
        params["dto"] = utc_bound(query.date_to.strip(), start=False)
        where.append("e.ts <= :dto")
    if query.kind:
        params["kind"] = query.kind
        where.append("e.kind = :kind")
    sql = (
        "SELECT e.shop_id, e.device_id, e.seq, e.ts, e.kind, e.hash, e.demo, e.contract_no, e.event_type, e.body, "
        "s.name AS shop_name, s.license_no, s.province FROM entries e JOIN shops s ON s.shop_id = e.shop_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY e.ts DESC, e.seq DESC LIMIT :limit OFFSET :offset"
    params["limit"] = min(max(int(query.limit), 1), MAX_LIMIT)
    params["offset"] = max(int(query.offset), 0)
    return sql, params


def _row(db: Database, r) -> dict:
    body = json.loads(db.vault.open_entry(r["body"], r["shop_id"], r["device_id"], int(r["seq"])))
    return {
        "shop": {"shop_id": r["shop_id"], "name": r["shop_name"], "license_no": r["license_no"], "province": r["province"]},
        "device_id": r["device_id"],
        "seq": int(r["seq"]),
        "ts": r["ts"],
        "kind": r["kind"],
        "hash": r["hash"],
        "demo": bool(r["demo"]),
        "contract_no": r["contract_no"],
        "event_type": r["event_type"],
        "payload": body.get("payload", {}),
    }


def search_entries(db: Database, query: Query, *, user: str | None = None, action: str = "search") -> list[dict]:
    if query.is_empty() and query.kind == "transaction" and user is not None and query.limit > 100:
        query = Query(**{**query.__dict__, "limit": 100})
    sql, params = _build(db, query)
    with db.read() as conn:
        rows = [_row(db, r) for r in conn.execute(text(sql), params).mappings()]
        with_verdicts(conn, rows)  # shop_verdict and backend_verdict of each contract (sync/backend/evidence_verdicts.py)
    if user is not None:
        log_access(db, user, action, query.describe(), len(rows))
    return rows


def person_history(db: Database, id_number: str, *, user: str | None = None) -> dict:
    """Every pawn by this ID number across shops, oldest first, with the events on those contracts."""
    txns = search_entries(db, Query(id_number=id_number, limit=MAX_LIMIT), user=user, action="person")
    txns.sort(key=lambda e: (e["ts"], e["seq"]))
    refs = sorted({r for e in txns if isinstance(e["payload"], dict) and (r := contract_ref(e["payload"]))})
    devices = {(e["shop"]["shop_id"], e["device_id"]) for e in txns}
    events: list[dict] = []
    if refs:
        cond, params = has_keys(db.dialect, db.vault.blind_keys(("txn", ref) for ref in refs), any_of=True)
        q = text(
            "SELECT e.shop_id, e.device_id, e.seq, e.ts, e.kind, e.hash, e.demo, e.contract_no, e.event_type, e.body, "
            "s.name AS shop_name, s.license_no, s.province FROM entries e JOIN shops s ON s.shop_id = e.shop_id "
            f"WHERE e.kind = 'event' AND {cond} ORDER BY e.ts"
        )
        with db.read() as conn:
            for r in conn.execute(q, params).mappings():
                if (r["shop_id"], r["device_id"]) in devices:
                    events.append(_row(db, r))
    shops = sorted({e["shop"]["shop_id"] for e in txns})
    return {"id_number": norm_code(id_number), "transactions": txns, "events": events, "shops": shops}


def list_shops(db: Database) -> list[dict]:
    with db.read() as conn:
        rows = conn.execute(text(
            "SELECT s.shop_id, s.name, s.license_no, s.province, "
            "(SELECT COUNT(*) FROM devices d WHERE d.shop_id = s.shop_id) AS devices, "
            "(SELECT MAX(d.last_sync_at) FROM devices d WHERE d.shop_id = s.shop_id) AS last_sync_at, "
            "(SELECT COALESCE(SUM(d.backlog), 0) FROM devices d WHERE d.shop_id = s.shop_id) AS backlog, "
            "(SELECT COUNT(*) FROM alerts a WHERE a.shop_id = s.shop_id AND a.ack_at IS NULL) AS open_alerts "
            "FROM shops s ORDER BY s.province, s.name"
        )).mappings().all()
    return [dict(r) | {"backlog": int(r["backlog"]), "open_alerts": int(r["open_alerts"]), "devices": int(r["devices"])} for r in rows]


def shop_status(db: Database, shop_id: str) -> dict | None:
    from sync.backend.alerts import list_alerts

    with db.read() as conn:
        shop = conn.execute(text("SELECT shop_id, name, license_no, province, created_at FROM shops WHERE shop_id = :s"),
                            {"s": shop_id}).mappings().first()
        if shop is None:
            return None
        devices = [dict(r) | {"head_seq": int(r["head_seq"]), "backlog": int(r["backlog"])} for r in conn.execute(text(
            "SELECT device_id, enrolled_at, head_seq, head_hash, last_sync_at, backlog FROM devices WHERE shop_id = :s "
            "ORDER BY device_id"), {"s": shop_id}).mappings()]
        alerts = list_alerts(conn, db.vault, shop_id=shop_id, limit=100)
    open_alerts = [a for a in alerts if a["ack_at"] is None]
    last_sync = max((d["last_sync_at"] for d in devices if d["last_sync_at"]), default=None)
    return {
        **dict(shop),
        "devices": devices,
        "last_sync_at": last_sync,
        "backlog": sum(d["backlog"] for d in devices),
        "entries": sum(d["head_seq"] for d in devices),
        "open_alerts": len(open_alerts),
        "alerts": alerts,
    }


def log_access(db: Database, user: str, action: str, query: str, results: int) -> None:
    """One access-log row; the query (it names the person searched for) is encrypted like an
    entry body, with AAD ``access_log|<log_id>|0`` (``db.vault.open(query, "access_log", log_id, 0)``)."""
    log_id = uuid.uuid4().hex
    with db.write() as conn:
        conn.execute(
            text("INSERT INTO access_log (log_id, user_name, action, query, results, at) VALUES (:i, :u, :a, :q, :r, :t)"),
            {"i": log_id, "u": user, "a": action, "q": db.vault.seal(query[:2000], "access_log", log_id, 0), "r": results,
             "t": utc_now()},
        )
