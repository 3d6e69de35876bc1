"""The backend's side of the downlink (issue 19 item 2): messages to the shops, signed and kept.

Every message (:mod:`sync.downlink`: ``hold``, ``hold_release``, ``notice``, ``trust``) is numbered per
shop (1, 2, 3...), signed with the backend key (:mod:`sync.backend.downlink_key`) and stored once in the
append-only ``downlink`` table (its canonical JSON sealed by the vault, AAD ``shop_id|downlink|version``:
a hold's reason or a notice may name people); the shop's relay fetches what follows the last version it
applied. Nothing is updated: a hold is released by another message, and the holds an inspector sees are
the fold of a shop's messages (:func:`holds`).

A hold names a contract by its number; the backend finds the contract among the entries the shop
delivered (its id goes in the message, so the shop needs no search) and refuses an unknown one.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date
from typing import Any, Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from sync import downlink as wire
from sync.backend.db import Database
from verifier.errors import InputError, NotFoundError
from verifier.ledger.entry import utc_now

MAX_FETCH = 100


def _seal(db: Database, shop_id: str, version: int, message: dict) -> str:
    return db.vault.seal(wire.canonical(message).decode("utf-8"), shop_id, "downlink", version)


def _open(db: Database, shop_id: str, version: int, stored: str) -> dict:
    return json.loads(db.vault.open(stored, shop_id, "downlink", version))


def publish(db: Database, key: Ed25519PrivateKey, shop_id: str, kind: str, body: dict, *, issued_by: str) -> dict:
    """Number, sign and store one message for ``shop_id``; returns ``{"version", "message", "signature"}``."""
    wire.check_body(kind, body)
    with db.write() as conn:
        lock = " FOR UPDATE" if db.dialect == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE already serialises
        if conn.execute(text(f"SELECT shop_id FROM shops WHERE shop_id = :s{lock}"), {"s": shop_id}).first() is None:
            raise NotFoundError(f"no shop {shop_id!r}")
        version = int(conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM downlink WHERE shop_id = :s"),
                                   {"s": shop_id}).scalar()) + 1
        message = wire.build(shop_id, version, kind, body, issued_at=utc_now(), issued_by=issued_by)
        signature = wire.sign(message, key)
        conn.execute(
            text("INSERT INTO downlink (shop_id, version, kind, hold_id, message, signature, issued_at, issued_by) "
                 "VALUES (:s, :v, :k, :h, :m, :sig, :t, :by)"),
            {"s": shop_id, "v": version, "k": kind, "h": body.get("hold_id"), "m": _seal(db, shop_id, version, message),
             "sig": signature, "t": message["issued_at"], "by": issued_by},
        )
    return {"version": version, "message": message, "signature": signature}


def fetch(db: Database, shop_id: str, after: int, limit: int = MAX_FETCH) -> dict:
    """The signed messages of ``shop_id`` after version ``after`` (what the shop's relay asks for)."""
    with db.read() as conn:
        rows = conn.execute(
            text("SELECT version, message, signature FROM downlink WHERE shop_id = :s AND version > :a "
                 "ORDER BY version LIMIT :n"), {"s": shop_id, "a": int(after), "n": int(limit)}).all()
        latest = int(conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM downlink WHERE shop_id = :s"),
                                  {"s": shop_id}).scalar())
    return {"shop_id": shop_id, "latest_version": latest,
            "messages": [{"message": _open(db, shop_id, v, m), "signature": sig} for v, m, sig in rows]}


def messages(db: Database, *, shop_id: str | None = None, kind: str | None = None) -> list[dict]:
    """Every stored message (opened), oldest first, optionally of one shop and one kind."""
    where, params = [], {}
    if shop_id:
        where.append("shop_id = :s")
        params["s"] = shop_id
    if kind:
        where.append("kind = :k")
        params["k"] = kind
    sql = "SELECT shop_id, version, message, signature FROM downlink"
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY issued_at, shop_id, version"
    with db.read() as conn:
        rows = conn.execute(text(sql), params).all()
    return [dict(_open(db, s, v, m), signature=sig) for s, v, m, sig in rows]


# --- holds -------------------------------------------------------------------------------------
def _contract(db: Database, shop_id: str, contract_no: str) -> dict:
    with db.read() as conn:
        row = conn.execute(
            text("SELECT device_id, seq, body FROM entries WHERE shop_id = :s AND contract_no = :c AND kind = 'transaction' "
                 "ORDER BY seq LIMIT 1"), {"s": shop_id, "c": contract_no}).first()
    if row is None:
        raise NotFoundError(f"shop {shop_id!r} has delivered no contract {contract_no!r}")
    body = json.loads(db.vault.open_entry(row[2], shop_id, row[0], row[1]))
    return body["payload"]


def place_hold(db: Database, key: Ed25519PrivateKey, *, shop_id: str, contract_no: str, reason: str,
               case_no: str | None = None, until: str | None = None, by: str) -> dict:
    """Hold the item(s) of a contract: the shop may not redeem, liquidate or cancel it until released
    (or until the end of ``until``, a date in Vietnam)."""
    contract_no = (contract_no or "").strip()
    if until:
        try:
            if date.fromisoformat(until) < date.today():
                raise InputError(f"until: expected a date from today on, found {until}")
        except ValueError as e:
            raise InputError(f"until: expected a date YYYY-MM-DD, found {until!r}") from e
    payload = _contract(db, shop_id, contract_no)
    body = {"hold_id": str(uuid.uuid4()), "contract_no": contract_no, "txn_id": str(payload["id"]),
            "reason": (reason or "").strip(), "case_no": (case_no or "").strip() or None, "until": until or None}
    return publish(db, key, shop_id, "hold", body, issued_by=by)


def release_hold(db: Database, key: Ed25519PrivateKey, hold_id: str, *, note: str | None = None, by: str) -> dict:
    """Release a hold (another message); a hold already released is refused."""
    with db.read() as conn:
        rows = conn.execute(text("SELECT shop_id, kind, version, message FROM downlink WHERE hold_id = :h ORDER BY version"),
                            {"h": hold_id}).all()
    placed = [r for r in rows if r[1] == "hold"]
    if not placed:
        raise NotFoundError(f"no hold {hold_id!r}")
    if any(r[1] == "hold_release" for r in rows):
        raise InputError(f"hold {hold_id} is already released")
    shop_id, _, version, stored = placed[0]
    hold = _open(db, shop_id, version, stored)["body"]
    body = {"hold_id": hold_id, "contract_no": hold["contract_no"], "txn_id": hold["txn_id"]}
    if note and note.strip():
        body["note"] = note.strip()
    return publish(db, key, shop_id, "hold_release", body, issued_by=by)


def holds(db: Database, *, shop_id: str | None = None, active_only: bool = False) -> list[dict]:
    """The holds, folded from the messages: each with its release (None while held) and ``active``
    (not released, ``until`` not past)."""
    out: dict[str, dict] = {}
    for m in messages(db, shop_id=shop_id):
        b = m["body"]
        if m["kind"] == "hold":
            out[b["hold_id"]] = {"hold_id": b["hold_id"], "shop_id": m["shop_id"], "contract_no": b["contract_no"],
                                 "txn_id": b["txn_id"], "reason": b["reason"], "case_no": b.get("case_no"),
                                 "until": b.get("until"), "version": m["version"], "placed_at": m["issued_at"],
                                 "placed_by": m["issued_by"], "released": None}
        elif m["kind"] == "hold_release" and b["hold_id"] in out:
            out[b["hold_id"]]["released"] = {"version": m["version"], "at": m["issued_at"], "by": m["issued_by"],
                                             "note": b.get("note")}
    today = date.today().isoformat()
    rows = []
    for h in out.values():
        h["active"] = h["released"] is None and (h["until"] is None or h["until"] >= today)
        if h["active"] or not active_only:
            rows.append(h)
    return rows


# --- notices and trust updates -----------------------------------------------------------------
def shop_ids(db: Database, wanted: Iterable[str] | None) -> list[str]:
    """The shops named (each must exist), or every shop when ``wanted`` is empty."""
    with db.read() as conn:
        known = [r[0] for r in conn.execute(text("SELECT shop_id FROM shops ORDER BY shop_id")).all()]
    wanted = [s for s in (wanted or []) if s]
    if not wanted:
        return known
    missing = [s for s in wanted if s not in known]
    if missing:
        raise NotFoundError(f"no shop {', '.join(missing)}")
    return wanted


def send_notice(db: Database, key: Ed25519PrivateKey, *, shops: Iterable[str] | None, text_: str, by: str) -> list[dict]:
    return [publish(db, key, s, "notice", {"text": (text_ or "").strip()}, issued_by=by) for s in shop_ids(db, shops)]


def publish_trust(db: Database, key: Ed25519PrivateKey, *, shops: Iterable[str] | None, files: list[tuple[str, bytes]],
                  by: str) -> list[dict]:
    """A trust update (CSCA certificates, CRLs, master lists) to the shops, verified by each shop as
    ``chipid trust import`` does (the backend stays out of the verifier core: it checks only the shape)."""
    if not files:
        raise InputError("trust update: expected at least one file")
    body: dict[str, Any] = {"items": [{"name": name, "data": base64.b64encode(data).decode()} for name, data in files]}
    return [publish(db, key, s, "trust", body, issued_by=by) for s in shop_ids(db, shops)]
