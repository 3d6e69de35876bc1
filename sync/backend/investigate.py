"""Investigation views (issue 19 item 4): a person across shops, people linked by address or
phone, an item's history by serial, a shop's compliance, a province's dashboard.

Everything is found through the entries' blind keys (:mod:`sync.backend.index`: ``id``,
``serial``, ``txn``, ``addr``, ``phone``) and decrypted on the way out; every view that shows
personal data writes an ``access_log`` row (:func:`sync.backend.search.log_access`).

A shop is shown with its name, address, licence and province from the latest ``shop_profile``
entry it sent (payload ``{"type": "shop_profile", "name", "address", "license", "representative",
"phone", "province"}``, :mod:`verifier.ledger.shop_profile`), else from its enrolment record;
its province is the unit in force since 1 July 2025 (:mod:`sync.backend.provinces`), whatever
code or name (old or new) the shop gave.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sync.backend import provinces
from sync.backend.db import Database
from sync.backend.evidence_verdicts import with_verdicts
from sync.backend.index import contract_ref, index_entry, norm_code
from sync.backend.schema import has_keys
from sync.backend.vault import Vault
from verifier.errors import InputError
from verifier.ledger.entry import utc_now
from verifier.ledger.interest import MONEY_EVENTS
from verifier.local_time import parse_utc

MAX_ROWS = 500
PAYMENT_EVENTS = MONEY_EVENTS  # the events that move money (verifier/ledger/interest.py): đóng lãi, trả gốc, chuộc...
ENTRY_SQL = ("SELECT e.shop_id, e.device_id, e.seq, e.ts, e.kind, e.hash, e.demo, e.contract_no, e.event_type, e.body "
              "FROM entries e")


def entry_row(vault: Vault, r) -> dict:
    body = json.loads(vault.open_entry(r["body"], r["shop_id"], r["device_id"], int(r["seq"])))
    payload = body.get("payload")
    return {"shop_id": r["shop_id"], "device_id": r["device_id"], "seq": int(r["seq"]), "ts": r["ts"], "kind": r["kind"],
            "hash": r["hash"], "demo": bool(r["demo"]), "contract_no": r["contract_no"], "event_type": r["event_type"],
            "payload": payload if isinstance(payload, dict) else {}}


def load_entry(conn: Connection, vault: Vault, shop_id: str, device_id: str, seq: int) -> dict | None:
    r = conn.execute(text(ENTRY_SQL + " WHERE e.shop_id = :s AND e.device_id = :d AND e.seq = :q"),
                     {"s": shop_id, "d": device_id, "q": seq}).mappings().first()
    return with_verdicts(conn, [entry_row(vault, r)])[0] if r else None


def keyed_entries(conn: Connection, db_or_dialect: Any, vault: Vault, keys: Iterable[tuple[str, str]], *,
                  any_of: bool = False, kind: str | None = None, shop_id: str | None = None,
                  since: str | None = None, until: str | None = None, limit: int = MAX_ROWS) -> list[dict]:
    """Entries holding the (plain, normalised) keys, oldest first, decrypted."""
    keys = list(keys)
    if not keys:
        return []
    dialect = getattr(db_or_dialect, "dialect", db_or_dialect)
    cond, params = has_keys(dialect, vault.blind_keys(keys), any_of=any_of)
    where = [cond]
    for col, op, val, name in (("e.kind", "=", kind, "kind"), ("e.shop_id", "=", shop_id, "shop"),
                               ("e.ts", ">=", since, "since"), ("e.ts", "<=", until, "until")):
        if val is not None:
            where.append(f"{col} {op} :{name}")
            params[name] = val
    params["limit"] = limit
    sql = ENTRY_SQL + " WHERE " + " AND ".join(where) + " ORDER BY e.ts, e.seq LIMIT :limit"
    # every contract the inspector API returns carries both verdicts (sync/backend/evidence_verdicts.py)
    return with_verdicts(conn, [entry_row(vault, r) for r in conn.execute(text(sql), params).mappings()])


def transaction_of(conn: Connection, vault: Vault, shop_id: str, txn_id: Any) -> dict | None:
    """The contract entry of ``txn_id`` at ``shop_id``."""
    if not isinstance(txn_id, str) or not txn_id:
        return None
    rows = keyed_entries(conn, conn.dialect.name, vault, [("txn", txn_id[:200])], kind="transaction", shop_id=shop_id, limit=1)
    return rows[0] if rows else None


def keys_of(payload: dict) -> list[tuple[str, str]]:
    return list(index_entry(SimpleNamespace(kind="transaction", payload=payload)).keys)


def contract_links(vault: Vault, entry: dict) -> dict:
    """Links of a contract entry: ``contract`` (device_id, seq, txn_id, contract_no), ``person``
    (the ID number's blind key, the ID number, the name) and ``serial`` (the first item's)."""
    p = entry["payload"]
    keys = dict((k, v) for k, v in reversed(keys_of(p)))  # first value of each type
    pawner = p.get("pawner") if isinstance(p.get("pawner"), dict) else {}
    links: dict[str, Any] = {"shop_id": entry["shop_id"],
                             "contract": {"device_id": entry["device_id"], "seq": entry["seq"], "txn_id": contract_ref(p),
                                          "contract_no": entry.get("contract_no") or p.get("contract_no")}}
    if "id" in keys:
        links["person"] = {"key": vault.blind("id", keys["id"]), "id_number": keys["id"],
                           "full_name": pawner.get("full_name") if isinstance(pawner.get("full_name"), str) else None}
    if "serial" in keys:
        links["serial"] = keys["serial"]
    return links


def alert_facts(conn: Connection, vault: Vault, a: dict) -> tuple[str, dict, dict]:
    """(rule, data, links) of an alert raised with a plain detail, from the entry at its seq: the
    contract it is about; for a watchlist hit the item that matched, for a suspicious event the
    shop's reason. ``(rule, {}, {})`` when the entry is not stored (a refused batch, a priority
    event not yet in the chain)."""
    rule = a.get("rule") or a["kind"]
    entry = load_entry(conn, vault, a["shop_id"], a["device_id"], a["seq"])
    if entry is None:
        return rule, {}, {}
    data: dict = {}
    if entry["kind"] == "event":
        ev = entry
        entry = transaction_of(conn, vault, a["shop_id"], ev["payload"].get("txn_id"))
        if a["kind"] == "suspicious":
            p = ev["payload"]
            reason = p.get("reason") or p.get("note") or p.get("notes") or ""
            data = {"reason": str(reason)[:300], "contract_no": (entry or {}).get("contract_no") or p.get("txn_id")}
        if entry is None:
            return rule, data, {}
    if entry["kind"] != "transaction":
        return rule, data, {}
    links = contract_links(vault, entry)
    if a["kind"] == "watchlist":
        hit = watchlist_match(conn, vault, entry)
        if hit:
            rule, data = f"watchlist_{hit['watch']}", hit
            if hit["watch"] == "serial":
                links["serial"] = hit["value"]
    return rule, data, links


def watchlist_match(conn: Connection, vault: Vault, entry: dict) -> dict | None:
    """The watchlist item (active or not: it was active when the alert was raised) a contract matches."""
    from sync.backend.watchlist import KEY_TYPE, WATCH_WORDS  # noqa: F401 - one table of kinds

    by_type = {v: k for k, v in KEY_TYPE.items()}
    wanted = [(kt, v) for kt, v in keys_of(entry["payload"]) if kt in by_type]
    if not wanted:
        return None
    blinds = vault.blind_keys(wanted)
    rows = conn.execute(text("SELECT item_id, kind, value, value_enc, note FROM watchlist")).mappings().all() \
        if len(blinds) > 50 else [r for b in set(blinds) for r in conn.execute(
            text("SELECT item_id, kind, value, value_enc, note FROM watchlist WHERE value = :v"), {"v": b}).mappings()]
    for r in rows:
        for (kt, _v), b in zip(wanted, blinds):
            if int(r["value"]) == b and KEY_TYPE.get(r["kind"]) == kt:
                return {"watch": r["kind"], "value": vault.open(r["value_enc"], "watchlist", r["item_id"], 0),
                        "note": vault.open(r["note"], "watchlist-note", r["item_id"], 0)}
    return None


# --- shops ------------------------------------------------------------------------------------------
class ShopInfo:
    """Shops as an inspector reads them, looked up once per view."""

    def __init__(self, conn: Connection, vault: Vault) -> None:
        self.conn, self.vault, self._cache = conn, vault, {}

    def get(self, shop_id: str) -> dict:
        if shop_id not in self._cache:
            self._cache[shop_id] = shop_info(self.conn, self.vault, shop_id)
        return self._cache[shop_id]


def province_json(value: Any) -> dict | None:
    p = provinces.find_province(value)
    return {"code": p.code, "name": p.name, "name_en": p.name_en} if p else None


def shop_info(conn: Connection, vault: Vault, shop_id: str) -> dict:
    """Name, address, licence, representative, phone and province (since 2025) of a shop."""
    row = conn.execute(text("SELECT shop_id, name, license_no, province FROM shops WHERE shop_id = :s"),
                       {"s": shop_id}).mappings().first()
    info = {"shop_id": shop_id, "name": row["name"] if row else shop_id, "address": None,
            "license": row["license_no"] if row else None, "representative": None, "phone": None,
            "province_code": row["province"] if row else None, "profile_seq": None}
    prof = conn.execute(text(ENTRY_SQL + " WHERE e.shop_id = :s AND e.event_type = 'shop_profile' "
                             "ORDER BY e.ts DESC, e.seq DESC LIMIT 1"), {"s": shop_id}).mappings().first()
    province_text = None
    if prof is not None:
        p = entry_row(vault, prof)["payload"]
        for field, key in (("name", "name"), ("address", "address"), ("license", "license"),
                           ("representative", "representative"), ("phone", "phone")):
            v = p.get(key)
            if isinstance(v, str) and v.strip():
                info[field] = v.strip()[:300]
        province_text = p.get("province") if isinstance(p.get("province"), str) else None
        info["profile_seq"] = int(prof["seq"])
    info["province"] = (province_json(province_text) if province_text else None) or province_json(info["province_code"]) \
        or province_json(info["address"])
    return info


# --- a person ---------------------------------------------------------------------------------------
def person_view(db: Database, id_number: str, *, user: str | None = None) -> dict:
    """One person across shops: contracts, payments, holds, shops visited (with their details),
    photos of items where the shop sent them, alerts about them and the people linked to them."""
    from sync.backend import downlink, photos
    from sync.backend.search import person_history

    history = person_history(db, id_number, user=user)
    vault = db.vault
    with db.read() as conn:
        shops = ShopInfo(conn, vault)
        history["shops_visited"] = [shops.get(s) for s in history["shops"]]
        alerts = _alerts_about(conn, vault, {t["shop"]["shop_id"] for t in history["transactions"]},
                               lambda a: (a["links"].get("person") or {}).get("id_number") == history["id_number"],
                               person_key=vault.blind("id", history["id_number"])) if history["id_number"] else []
    history["payments"] = [e for e in history["events"] if e["event_type"] in PAYMENT_EVENTS]
    txn_ids = {(t["shop"]["shop_id"], contract_ref(t["payload"])) for t in history["transactions"]}
    history["holds"] = [h for s in {s for s, _ in txn_ids} for h in downlink.holds(db, shop_id=s) if (s, h["txn_id"]) in txn_ids]
    for t in history["transactions"]:
        t["photos"] = photos.listing(db, t["shop"]["shop_id"], contract_ref(t["payload"]) or "")
        t["txn_id"] = contract_ref(t["payload"])
    history["alerts"] = alerts
    history["linked"] = linked_people(db, history["transactions"], exclude=history["id_number"])
    return history


def linked_people(db: Database, transactions: list[dict], *, exclude: str | None = None) -> list[dict]:
    """Other people whose contracts give the same normalised address or phone as these contracts:
    ``[{"id_number", "full_name", "via": ["address" | "phone"], "contracts", "shops"}]``."""
    mine: dict[tuple[str, str], str] = {}
    for t in transactions:
        for kt, v in keys_of(t["payload"]):
            if kt in ("addr", "phone"):
                mine[(kt, v)] = "address" if kt == "addr" else "phone"
    if not mine:
        return []
    with db.read() as conn:
        found = keyed_entries(conn, db, db.vault, list(mine), any_of=True, kind="transaction")
    people: dict[str, dict] = {}
    for e in found:
        keys = keys_of(e["payload"])
        who = dict(keys).get("id")
        if not who or who == exclude:
            continue
        pawner = e["payload"].get("pawner") if isinstance(e["payload"].get("pawner"), dict) else {}
        p = people.setdefault(who, {"id_number": who, "full_name": pawner.get("full_name"), "via": [], "contracts": 0,
                                    "shops": []})
        p["contracts"] += 1
        if e["shop_id"] not in p["shops"]:
            p["shops"].append(e["shop_id"])
        for k in keys:
            if k in mine and mine[k] not in p["via"]:
                p["via"].append(mine[k])
    return sorted(people.values(), key=lambda p: (-p["contracts"], p["id_number"]))


def _alerts_about(conn: Connection, vault: Vault, shop_ids: Iterable[str], about, **key) -> list[dict]:
    """Alerts raised with this person's or item's blind key (``person_key=`` / ``serial_key=``), and
    alerts of the given shops whose links (given or from their entry) ``about`` accepts; newest first."""
    from sync.backend.alerts import list_alerts

    found = {(a["shop_id"], a["alert_id"]): a for a in list_alerts(conn, vault, limit=500, **key)}
    for shop in sorted(shop_ids):
        for a in list_alerts(conn, vault, shop_id=shop, limit=500):
            if about(a):
                found.setdefault((a["shop_id"], a["alert_id"]), a)
    return sorted(found.values(), key=lambda a: a["last_at"], reverse=True)


# --- an item ----------------------------------------------------------------------------------------
def item_history(db: Database, serial: str, *, user: str | None = None) -> dict:
    """Every contract naming this serial / IMEI / frame / plate across shops, with the events on
    those contracts, the shops (with their details), the alerts about it and the photos kept."""
    from sync.backend import photos
    from sync.backend.search import log_access

    code = norm_code(serial)
    if not code:
        raise InputError(f"serial: expected letters or digits, found {serial!r}")
    vault = db.vault
    with db.read() as conn:
        txns = keyed_entries(conn, db, vault, [("serial", code)], kind="transaction")
        refs = sorted({(t["shop_id"], r) for t in txns if (r := contract_ref(t["payload"]))})
        events = [e for e in keyed_entries(conn, db, vault, [("txn", r) for _, r in refs], any_of=True, kind="event")
                  if (e["shop_id"], e["payload"].get("txn_id")) in set(refs)] if refs else []
        shops = ShopInfo(conn, vault)
        for t in txns:
            t["shop"] = shops.get(t["shop_id"])
            t["txn_id"] = contract_ref(t["payload"])
        for e in events:
            e["shop"] = shops.get(e["shop_id"])
        txn_refs = {(t["shop_id"], t["txn_id"]) for t in txns}
        alerts = _alerts_about(conn, vault, {t["shop_id"] for t in txns},
                               lambda a: a["links"].get("serial") == code
                               or (a["shop_id"], (a["links"].get("contract") or {}).get("txn_id")) in txn_refs,
                               serial_key=vault.blind("serial", code))
    for t in txns:
        t["photos"] = photos.listing(db, t["shop_id"], t["txn_id"] or "")
    if user is not None:
        log_access(db, user, "item", json.dumps({"serial": code}), len(txns))
    return {"serial": code, "transactions": txns, "events": events, "alerts": alerts,
            "shops": list(dict.fromkeys(t["shop_id"] for t in txns))}


# --- a contract -------------------------------------------------------------------------------------
def contract_view(db: Database, shop_id: str, txn_id: str, *, user: str | None = None) -> dict | None:
    """One contract with its events, holds, photos and alerts; None when the shop has no such contract."""
    from sync.backend import downlink, photos
    from sync.backend.alerts import list_alerts
    from sync.backend.search import log_access

    vault = db.vault
    with db.read() as conn:
        txn = transaction_of(conn, vault, shop_id, txn_id)
        if txn is None:
            return None
        events = keyed_entries(conn, db, vault, [("txn", txn_id)], kind="event", shop_id=shop_id)
        shop = ShopInfo(conn, vault).get(shop_id)
        alerts = [a for a in list_alerts(conn, vault, shop_id=shop_id, limit=500)
                  if (a["links"].get("contract") or {}).get("txn_id") == txn_id]
    if user is not None:
        log_access(db, user, "contract", json.dumps({"shop": shop_id, "txn_id": txn_id}), 1)
    return {"shop": shop, "contract": txn, "txn_id": txn_id, "links": contract_links(vault, txn), "events": events,
            "holds": [h for h in downlink.holds(db, shop_id=shop_id) if h["txn_id"] == txn_id],
            "photos": photos.listing(db, shop_id, txn_id), "alerts": alerts}


# --- a shop's compliance --------------------------------------------------------------------------
def _hours_since(ts: str | None, now: str) -> float | None:
    if not ts:
        return None
    return round((parse_utc(now) - parse_utc(ts)).total_seconds() / 3600, 1)


def shop_compliance(db: Database, shop_id: str, *, silent_hours: float = 48.0) -> dict | None:
    """A shop's compliance: its details, each device's last batch, backlog and silence, chain gaps
    and other tamper alerts, contracts the backend could not verify (``evidence_*`` alerts), open
    alerts, contracts delivered in the last day and week."""
    from sync.backend.alerts import TAMPER_KINDS
    from sync.backend.search import shop_status

    status = shop_status(db, shop_id)
    if status is None:
        return None
    now = utc_now()
    vault = db.vault
    with db.read() as conn:
        info = shop_info(conn, vault, shop_id)
        counts = {}
        for label, days in (("day", 1), ("week", 7)):
            since = (parse_utc(now) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            counts[label] = int(conn.execute(text("SELECT COUNT(*) FROM entries WHERE shop_id = :s AND kind = 'transaction' "
                                                  "AND ts >= :t"), {"s": shop_id, "t": since}).scalar())
        from sync.backend.alerts import list_alerts

        alerts = list_alerts(conn, vault, shop_id=shop_id, limit=200)
    for d in status["devices"]:
        d["hours_since_sync"] = _hours_since(d["last_sync_at"], now)
        d["silent"] = d["hours_since_sync"] is not None and d["hours_since_sync"] >= silent_hours
    open_alerts = [a for a in alerts if a["ack_at"] is None]
    return {**status, "shop": info, "alerts": alerts, "contracts_last_day": counts["day"], "contracts_last_week": counts["week"],
            "gaps": [a for a in open_alerts if a["kind"] == "gap"],
            "tamper": [a for a in open_alerts if a["kind"] in TAMPER_KINDS],
            "unverifiable": [a for a in alerts if a["kind"].startswith("evidence_")],
            "silent_devices": [d["device_id"] for d in status["devices"] if d["silent"]],
            "silent_hours": silent_hours}


# --- provinces --------------------------------------------------------------------------------------
def _shops_by_province(db: Database) -> dict[str, list[dict]]:
    from sync.backend.search import list_shops

    out: dict[str, list[dict]] = {}
    with db.read() as conn:
        infos = ShopInfo(conn, db.vault)
        for s in list_shops(db):
            info = infos.get(s["shop_id"])
            s["info"] = info
            out.setdefault(info["province"]["code"] if info["province"] else "", []).append(s)
    return out


def provinces_overview(db: Database) -> list[dict]:
    """The 34 units with their shops, open alerts and shops behind (backlog)."""
    by = _shops_by_province(db)
    rows = []
    for p in provinces.PROVINCES.values():
        shops = by.get(p.code, [])
        rows.append({**p.to_json(), "shops": len(shops), "open_alerts": sum(s["open_alerts"] for s in shops),
                     "backlog": sum(s["backlog"] for s in shops)})
    if by.get(""):
        rows.append({"code": "", "name": "(không rõ tỉnh)", "name_en": "(unknown province)", "city": False, "old_codes": [],
                     "old_names": [], "shops": len(by[""]), "open_alerts": sum(s["open_alerts"] for s in by[""]),
                     "backlog": sum(s["backlog"] for s in by[""])})
    return rows


def province_dashboard(db: Database, code: str) -> dict | None:
    """One unit since 2025 (by its code, an old code or a name): its shops with their status,
    contracts in the last day and week, open alerts by kind."""
    p = provinces.find_province(code)
    if p is None:
        return None
    shops = _shops_by_province(db).get(p.code, [])
    ids = [s["shop_id"] for s in shops]
    now = parse_utc(utc_now())
    by_kind: Counter = Counter()
    contracts: dict[str, Counter] = {"day": Counter(), "week": Counter()}
    if ids:
        with db.read() as conn:
            marks = ", ".join(f":s{i}" for i in range(len(ids)))
            params = {f"s{i}": s for i, s in enumerate(ids)}
            for kind, n in conn.execute(text(f"SELECT kind, COUNT(*) FROM alerts WHERE ack_at IS NULL AND shop_id IN ({marks}) "
                                             "GROUP BY kind"), params).all():
                by_kind[kind] = int(n)
            for label, days in (("day", 1), ("week", 7)):
                since = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                for shop, n in conn.execute(text(f"SELECT shop_id, COUNT(*) FROM entries WHERE kind = 'transaction' AND ts >= :t "
                                                 f"AND shop_id IN ({marks}) GROUP BY shop_id"), {**params, "t": since}).all():
                    contracts[label][shop] = int(n)
    for s in shops:
        s["contracts_last_day"] = contracts["day"][s["shop_id"]]
        s["contracts_last_week"] = contracts["week"][s["shop_id"]]
    return {"province": p.to_json(), "shops": shops, "open_alerts_by_kind": dict(by_kind),
            "open_alerts": sum(by_kind.values()), "contracts_last_day": sum(contracts["day"].values()),
            "contracts_last_week": sum(contracts["week"].values()), "backlog": sum(s["backlog"] for s in shops)}
