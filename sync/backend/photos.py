"""Item photos of delivered contracts, shop -> backend (issue 19 item 5).

The shop keeps each item's photo in its pawn book (``photos`` table, kind ``item-<n>``) and its SHA-256
in the contract entry's item (``items[i].photo_sha256``). Its relay uploads the photos of contracts the
backend already holds (``POST /api/v1/devices/{id}/photos``, device-signed); the backend accepts a photo
only when its SHA-256 is the ``photo_sha256`` of an item of that contract in the stored entry (the chain
vouches for the photo), and seals it with the vault like an entry body (AAD
``shop_id|photo|<txn_id>|<kind>|<seq>``) in ``item_photos``. Inspectors read them through
``GET /api/v1/shops/{shop}/contracts/{txn_id}/photos/{kind}``, each read logged in ``access_log``.
"""

from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy import text

from sync.backend.db import Database
from verifier.errors import InputError, NotFoundError, TamperError
from verifier.ledger.entry import utc_now

MAX_PHOTO_BYTES = 8 << 20
KIND = re.compile(r"item-[0-9]{1,3}")


class PhotoMismatch(TamperError):
    """The photo's SHA-256 is not the ``photo_sha256`` of any item of the contract."""


def _aad_device(txn_id: str, kind: str) -> str:
    return f"photo|{txn_id}|{kind}"


def _contract(db: Database, shop_id: str, device_id: str, contract_no: str, txn_id: str) -> tuple[int, dict]:
    with db.read() as conn:
        row = conn.execute(
            text("SELECT seq, body FROM entries WHERE shop_id = :s AND device_id = :d AND contract_no = :c "
                 "AND kind = 'transaction' ORDER BY seq LIMIT 1"),
            {"s": shop_id, "d": device_id, "c": contract_no}).first()
    if row is None:
        raise NotFoundError(f"device {device_id} has delivered no contract {contract_no!r}")
    payload = json.loads(db.vault.open_entry(row[1], shop_id, device_id, row[0]))["payload"]
    if str(payload.get("id")) != txn_id:
        raise NotFoundError(f"contract {contract_no!r} of device {device_id} is not {txn_id!r}")
    return int(row[0]), payload


def store(db: Database, *, shop_id: str, device_id: str, contract_no: str, txn_id: str, kind: str, data: bytes) -> dict:
    """Check and keep one item photo; the same photo again is accepted once more (idempotent)."""
    if not KIND.fullmatch(kind or ""):
        raise InputError(f"photo kind: expected item-<n>, found {kind!r:.40}")
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise InputError(f"photo: expected 1 to {MAX_PHOTO_BYTES} bytes, found {len(data)}")
    sha = hashlib.sha256(data).hexdigest()
    seq, payload = _contract(db, shop_id, device_id, contract_no, txn_id)
    items = payload.get("items") or []
    if not any(isinstance(i, dict) and i.get("photo_sha256") == sha for i in items):
        raise PhotoMismatch(f"photo {kind} of contract {contract_no}: SHA-256 {sha} is not the photo_sha256 of any of "
                            "its items in the delivered entry")
    sealed = db.vault.seal_entry(data, shop_id, _aad_device(txn_id, kind), seq)
    with db.write() as conn:
        old = conn.execute(text("SELECT sha256 FROM item_photos WHERE shop_id = :s AND txn_id = :t AND kind = :k"),
                           {"s": shop_id, "t": txn_id, "k": kind}).first()
        if old is not None:
            if old[0] != sha:
                raise PhotoMismatch(f"photo {kind} of contract {contract_no} is already stored with another SHA-256")
            return {"status": "duplicate", "txn_id": txn_id, "kind": kind, "sha256": sha}
        conn.execute(
            text("INSERT INTO item_photos (shop_id, txn_id, kind, device_id, seq, contract_no, sha256, data, received_at) "
                 "VALUES (:s, :t, :k, :d, :q, :c, :h, :b, :r)"),
            {"s": shop_id, "t": txn_id, "k": kind, "d": device_id, "q": seq, "c": contract_no, "h": sha, "b": sealed,
             "r": utc_now()})
    return {"status": "stored", "txn_id": txn_id, "kind": kind, "sha256": sha}


def listing(db: Database, shop_id: str, txn_id: str) -> list[dict]:
    """The photos held for a contract (no image bytes)."""
    with db.read() as conn:
        rows = conn.execute(text("SELECT kind, sha256, received_at FROM item_photos WHERE shop_id = :s AND txn_id = :t "
                                 "ORDER BY kind"), {"s": shop_id, "t": txn_id}).all()
    return [{"kind": k, "sha256": h, "received_at": r,
             "url": f"/api/v1/shops/{shop_id}/contracts/{txn_id}/photos/{k}"} for k, h, r in rows]


def read(db: Database, shop_id: str, txn_id: str, kind: str) -> bytes:
    with db.read() as conn:
        row = conn.execute(text("SELECT device_id, seq, sha256, data FROM item_photos WHERE shop_id = :s AND txn_id = :t "
                                "AND kind = :k"), {"s": shop_id, "t": txn_id, "k": kind}).first()
    if row is None:
        raise NotFoundError(f"no photo {kind!r} of contract {txn_id!r} in shop {shop_id!r}")
    data = db.vault.open_entry(row[3], shop_id, _aad_device(txn_id, kind), row[1])
    if hashlib.sha256(data).hexdigest() != row[2]:
        raise TamperError(f"photo {kind} of contract {txn_id}: stored bytes do not match their SHA-256")
    return data
