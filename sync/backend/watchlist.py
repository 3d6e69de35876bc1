"""Watchlists: stolen-item serials / IMEIs / frame and engine numbers / plates, wanted ID numbers
and wanted people by name and birth date.

Values are normalised (upper-case alphanumerics, as :func:`sync.backend.index.norm_code`)
so that a pawn matches however the clerk or the inspector typed the number, and stored as
their blind index (``value``, the same as an entry's key: ``id`` for ID numbers,
``serial`` for serials) with the value and the note encrypted (``value_enc``, ``note``;
AAD ``watchlist|item_id|0`` and ``watchlist-note|item_id|0``, :mod:`sync.backend.vault`). A matching pawn
raises a ``watchlist`` alert at ingest (:mod:`sync.backend.ingest`). CSV upload accepts a
header row with ``kind,value,note`` (kind ``serial`` or ``id_number``); a file without a
header is read as ``kind,value[,note]`` rows. A ``person`` value is a name and a birth date,
``Nguyễn Văn An|12/03/1985`` (:func:`sync.backend.index.parse_person`; key type ``namedob``).
"""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import text

from sync.backend.db import Database
from sync.backend.index import norm_code, parse_person
from verifier.errors import InputError, LimitExceededError
from verifier.ledger.entry import utc_now

KINDS = ("serial", "id_number", "person")
MAX_CSV_BYTES = 5 << 20
MAX_ROWS = 100_000
_ALIASES = {"imei": "serial", "serial": "serial", "serial_no": "serial", "id": "id_number", "id_number": "id_number",
            "cccd": "id_number", "plate": "serial", "frame_no": "serial", "engine_no": "serial", "frame": "serial",
            "person": "person", "name_dob": "person"}


# watchlist kind -> entry key type (blind-index domain)
KEY_TYPE = {"id_number": "id", "serial": "serial", "person": "namedob"}


def normalise(kind: str, value) -> str:
    """The value as the entry keys hold it: a person's :func:`~sync.backend.index.parse_person`, else upper-case alphanumerics."""
    return parse_person(value) if kind == "person" else norm_code(value)


def _kind(kind: str) -> str:
    k = _ALIASES.get((kind or "").strip().lower())
    if k is None:
        raise InputError(f"watchlist kind: expected serial, id_number or person, found {kind!r}")
    return k


def add_items(db: Database, items: list[dict], added_by: str) -> dict:
    """Add (or re-activate) items; returns counts. Each item: {kind, value, note?}."""
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"watchlist item #{i + 1}: expected an object")
        kind = _kind(str(item.get("kind", "")))
        value = normalise(kind, item.get("value"))
        if not value:
            want = "a name and a birth date (Nguyễn Văn An|12/03/1985)" if kind == "person" else "a serial or ID number"
            raise InputError(f"watchlist item #{i + 1}: expected {want}, found {item.get('value')!r}")
        rows.append((kind, value, str(item.get("note") or "")[:500]))
    added = updated = 0
    vault = db.vault
    with db.write() as conn:
        for kind, value, note in rows:
            blind = vault.blind(KEY_TYPE[kind], value)
            old = conn.execute(text("SELECT item_id FROM watchlist WHERE kind = :k AND value = :v"), {"k": kind, "v": blind}).first()
            if old:
                conn.execute(text("UPDATE watchlist SET note = :n, active = 1 WHERE item_id = :i"),
                             {"n": vault.seal(note, "watchlist-note", old[0], 0), "i": old[0]})
                updated += 1
            else:
                item_id = uuid.uuid4().hex
                conn.execute(
                    text("INSERT INTO watchlist (item_id, kind, value, value_enc, note, added_by, created_at, active) "
                         "VALUES (:i, :k, :v, :ve, :n, :u, :t, 1)"),
                    {"i": item_id, "k": kind, "v": blind, "ve": vault.seal(value, "watchlist", item_id, 0),
                     "n": vault.seal(note, "watchlist-note", item_id, 0), "u": added_by, "t": utc_now()},
                )
                added += 1
    return {"added": added, "updated": updated}


def parse_csv(data: bytes) -> list[dict]:
    if len(data) > MAX_CSV_BYTES:
        raise LimitExceededError(f"watchlist CSV is {len(data)} bytes, at most {MAX_CSV_BYTES} allowed")
    try:
        textdata = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError("watchlist CSV: expected UTF-8 text") from e
    rows = [r for r in csv.reader(io.StringIO(textdata)) if r and any(c.strip() for c in r)]
    if len(rows) > MAX_ROWS + 1:
        raise LimitExceededError(f"watchlist CSV has more than {MAX_ROWS} rows")
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    if "value" in header:
        idx = {name: header.index(name) for name in ("kind", "value", "note") if name in header}
        if "kind" not in idx:
            raise InputError("watchlist CSV: header has 'value' but no 'kind' column")
        body = rows[1:]
        get = lambda r, n: r[idx[n]].strip() if n in idx and idx[n] < len(r) else ""  # noqa: E731
    else:
        body = rows
        get = lambda r, n: (r[{"kind": 0, "value": 1, "note": 2}[n]].strip() if {"kind": 0, "value": 1, "note": 2}[n] < len(r) else "")  # noqa: E731
    return [{"kind": get(r, "kind"), "value": get(r, "value"), "note": get(r, "note")} for r in body]


def list_items(db: Database, active_only: bool = True) -> list[dict]:
    sql = "SELECT item_id, kind, value_enc, note, added_by, created_at, active FROM watchlist"
    if active_only:
        sql += " WHERE active = 1"
    op = db.vault.open
    with db.read() as conn:
        return [{"item_id": r["item_id"], "kind": r["kind"], "value": op(r["value_enc"], "watchlist", r["item_id"], 0),
                 "note": op(r["note"], "watchlist-note", r["item_id"], 0), "added_by": r["added_by"],
                 "created_at": r["created_at"], "active": bool(r["active"])}
                for r in conn.execute(text(sql + " ORDER BY created_at DESC")).mappings()]


def deactivate(db: Database, item_id: str) -> bool:
    with db.write() as conn:
        return conn.execute(text("UPDATE watchlist SET active = 0 WHERE item_id = :i AND active = 1"), {"i": item_id}).rowcount == 1


def existing_matches(db: Database, kind: str, value: str, limit: int = 50) -> list[dict]:
    """Pawns already stored that match a watchlist value (shown when an item is added)."""
    from sync.backend.search import Query, search_entries

    kind = _kind(kind)
    if kind == "person":
        from sync.backend.investigate import keyed_entries

        with db.read() as conn:
            return keyed_entries(conn, db, db.vault, [("namedob", normalise(kind, value))], kind="transaction", limit=limit)
    q = Query(id_number=value, limit=limit) if kind == "id_number" else Query(serial=value, limit=limit)
    return search_entries(db, q)


WATCH_WORDS = {"id_number": ("số CCCD bị truy nã", "wanted ID number"), "serial": ("tài sản bị mất trộm", "stolen item"),
               "person": ("người bị truy tìm (họ tên và ngày sinh)", "wanted person (name and birth date)")}


def hit_alert(kind: str, value: str, note: str) -> dict:
    """The structured part of a watchlist alert (:func:`sync.backend.alerts.raise_alert`'s
    ``rule`` and ``data``); the links come from the entry (its shop, device and seq)."""
    return {"rule": f"watchlist_{kind}", "data": {"watch": kind, "value": value, "note": note}}
