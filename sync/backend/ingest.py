"""Batch ingest: verify, then store exactly once.

Order of checks (the first failure decides the answer):

0. the batch format: one older than ``chipid-sync-batch/4`` (a shop that has not updated chipid)
   is answered HTTP 426 ``upgrade_required`` (the shop must update; no alert, nothing read);
1. envelope and structure (400, no alert: anyone can send garbage);
2. device known (401 ``unknown-device``, no alert);
3. Ed25519 signature with the enrolled device key, over the header and each line's SHA-256
   (401 ``signature``, tamper alert);
4. entry lines (each the canonical JSON of an entry in the form its body names: RFC 8785 for
   ``"canon": "jcs"``, the legacy form for an entry written before; see :mod:`sync.batch`), hash
   links inside the batch, head hash (422 ``tampered``, alert);
5. checkpoint signature (422 ``checkpoint``, alert);
6. under the device lock: the byte-identical batch already accepted -> the stored answer
   again (idempotent, ``X-Chipid-Duplicate: 1``); an older ``sent_at`` -> ``replay``;
   ``first_seq`` beyond head + 1 -> ``gap``; entries already stored must be identical
   (else ``conflict``: same seq, other content); the first new entry must link to the
   stored head (else ``fork``); stored checkpoints must match the chain, and the batch's
   checkpoint may not be older than one held nor a seq-0 one name a head other than the
   genesis (else ``checkpoint``: a rolled-back ledger).
   All 409 with an alert, nothing stored.

An accepted batch's answer is ``{"status": "accepted", "device_id", "first_seq",
"last_seq", "acked_seq", "head_hash"}``: the same for a re-sent batch covering stored entries.
"""

from __future__ import annotations

import gc
import json
import logging
import struct
import threading
import uuid
from dataclasses import dataclass, field, replace

from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from sync import batch as batch_mod
from sync.backend.alerts import raise_alert
from sync.backend.db import Database
from sync.backend.index import index_entry
from sync.backend.schema import has_keys
from sync.backend.watchlist import KEY_TYPE
from verifier.errors import InputError, LimitExceededError, TamperError
from verifier.ledger.entry import GENESIS, Checkpoint, Entry, load_public_key_b64, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResponse:
    status_code: int
    body: dict
    duplicate: bool = False
    stored: int = 0
    queued: bool = False  # this process was busy with another batch when this one came: it waited


@dataclass
class _Refusal(Exception):
    status_code: int
    reason: str
    detail: str
    alert_kind: str | None = None
    seq: int | None = None
    extra: dict = field(default_factory=dict)


_DEVICE_SQL = (
    "SELECT d.shop_id, d.device_id, d.public_key, d.head_seq, d.head_hash, d.last_sent_at, "
    "d.last_batch_digest, d.last_batch_response, s.province FROM devices d "
    "JOIN shops s ON s.shop_id = d.shop_id WHERE d.device_id = :dev"
)


def ingest(db: Database, raw: bytes, content_encoding: str | None = "gzip") -> IngestResponse:
    """Verify and store one wire batch; never raises for bad input (the answer says why)."""
    queued = not _one_at_a_time.acquire(blocking=False)
    if queued:
        _one_at_a_time.acquire()
    try:
        collecting = gc.isenabled()
        gc.disable()
        try:
            result = _ingest(db, raw, content_encoding)
        finally:
            if collecting:
                gc.enable()
    finally:
        _one_at_a_time.release()
    return replace(result, queued=True) if queued else result


# One batch at a time per process: a batch is CPU work in Python, and two threads of one
# process only take turns at the interpreter lock, paying for every switch (measured: a third
# more CPU per entry). Run more worker processes than cores instead (``--workers``), so that
# one process works while another waits for the database.
# Python's cyclic garbage collector pauses meanwhile: a parsed batch is tens of thousands of
# small acyclic objects (JSON) that it would otherwise walk again and again (a third of ingest's
# CPU time); reference counting frees them when the batch is done.
_one_at_a_time = threading.Lock()


def _ingest(db: Database, raw: bytes, content_encoding: str | None) -> IngestResponse:
    try:
        signed = batch_mod.decode(raw, content_encoding)
    except LimitExceededError as e:
        return _refused(413, "too-large", str(e))
    except InputError as e:
        if getattr(e, "code", None) == batch_mod.UPGRADE_REQUIRED:  # an old shop: RFC 9110 §15.5.22
            return _refused(426, batch_mod.UPGRADE_REQUIRED, str(e), format=batch_mod.FORMAT)
        return _refused(400, "malformed", str(e))
    device_id = signed.batch.device_id
    try:
        with db.read() as conn:
            dev = conn.execute(text(_DEVICE_SQL), {"dev": device_id}).mappings().first()
    except SQLAlchemyError as e:
        log.error("device lookup failed in the database: %s", e.__class__.__name__)
        return _refused(503, "unavailable", "the backend database is unavailable; retry later")
    if dev is None:
        return _refused(401, "unknown-device", f"device {device_id!r} is not enrolled")
    try:
        try:
            signed.verify(load_public_key_b64(dev["public_key"]))
        except TamperError as e:
            raise _Refusal(401, "signature", str(e), "signature", signed.batch.first_seq) from e
        try:
            cb = batch_mod.checked(signed)
        except TamperError as e:
            raise _Refusal(422, "tampered", str(e), "tampered", signed.batch.first_seq) from e
        b = cb.batch
        if b.checkpoint is not None:
            try:
                b.checkpoint.verify(load_public_key_b64(dev["public_key"]))
            except TamperError as e:
                raise _Refusal(422, "checkpoint", str(e), "checkpoint", b.checkpoint.seq) from e
        with db.write() as conn:
            return _store(db, conn, cb, signed.digest)
    except _Refusal as r:
        return _refuse_with_alert(db, dev, r)
    except SQLAlchemyError as e:
        log.error("ingest of device %s failed in the database: %s", device_id, e.__class__.__name__)
        return _refused(503, "unavailable", "the backend database is unavailable; retry later")


def _refused(status: int, reason: str, detail: str, **extra) -> IngestResponse:
    return IngestResponse(status, {"status": "refused", "reason": reason, "detail": detail, **extra})


def _refuse_with_alert(db: Database, dev, r: _Refusal) -> IngestResponse:
    alert_id = None
    try:
        with db.write() as conn:
            if r.alert_kind:
                alert_id = raise_alert(conn, db.vault, shop_id=dev["shop_id"], device_id=dev["device_id"], kind=r.alert_kind, detail=r.detail, seq=r.seq)
            cur = conn.execute(
                text("SELECT head_seq, head_hash, last_sent_at FROM devices WHERE device_id = :dev"), {"dev": dev["device_id"]}
            ).first()
    except SQLAlchemyError as e:
        log.error("could not record alert for device %s: %s", dev["device_id"], e.__class__.__name__)
        return _refused(503, "unavailable", "the backend database is unavailable; retry later")
    log.warning("refused batch from device %s: %s (%s)", dev["device_id"], r.reason, r.detail)
    return _refused(
        r.status_code, r.reason, r.detail, device_id=dev["device_id"], alert_id=alert_id,
        head_seq=int(cur[0]), head_hash=cur[1], last_sent_at=cur[2], **r.extra,
    )


def _lock_device(db: Database, conn: Connection, device_id: str):
    sql = _DEVICE_SQL + (" FOR UPDATE OF d" if db.dialect == "postgresql" else "")
    return conn.execute(text(sql), {"dev": device_id}).mappings().first()


def _store(db: Database, conn: Connection, cb: batch_mod.CheckedBatch, digest: str) -> IngestResponse:
    b = cb.batch
    hashes = {e.seq: h for e, h in zip(b.entries, cb.hashes)}
    dev = _lock_device(db, conn, b.device_id)
    if dev["last_batch_digest"] == digest and dev["last_batch_response"]:
        return IngestResponse(200, json.loads(dev["last_batch_response"]), duplicate=True)
    if dev["last_sent_at"] and b.sent_at <= dev["last_sent_at"]:
        raise _Refusal(409, "replay", f"batch {b.first_seq}-{b.last_seq} sent at {b.sent_at} is not newer than the last "
                       f"accepted batch (sent at {dev['last_sent_at']}): replayed", "replay", b.first_seq)
    shop_id, device_id = dev["shop_id"], dev["device_id"]
    head_seq, head_hash = int(dev["head_seq"]), dev["head_hash"]
    if b.checkpoint is not None:
        _check_rollback(conn, dev, b.checkpoint)
    if b.priority:
        return _store_priority(db, conn, dev, b, hashes, digest)
    if b.first_seq > head_seq + 1:
        raise _Refusal(409, "gap", f"batch starts at seq {b.first_seq} but the stored chain ends at seq {head_seq}: "
                       f"entries {head_seq + 1}-{b.first_seq - 1} are missing", "gap", head_seq + 1)
    overlap = [e for e in b.entries if e.seq <= head_seq]
    new = [(e, c, h) for e, c, h in zip(b.entries, b.lines, cb.hashes) if e.seq > head_seq]
    if overlap:
        stored = dict(conn.execute(
            text("SELECT seq, hash FROM entries WHERE shop_id = :shop AND device_id = :dev AND seq BETWEEN :a AND :b"),
            {"shop": shop_id, "dev": device_id, "a": overlap[0].seq, "b": overlap[-1].seq},
        ).all())
        for e in overlap:
            if stored.get(e.seq) != hashes[e.seq]:
                raise _Refusal(409, "conflict", f"seq {e.seq} was stored with hash {str(stored.get(e.seq))[:16]}… "
                               f"but is now sent with hash {hashes[e.seq][:16]}…: same seq, other content", "conflict", e.seq)
    elif b.prev_hash != head_hash:
        raise _Refusal(409, "fork", f"batch at seq {b.first_seq} links to {b.prev_hash[:16]}… but the stored chain head "
                       f"(seq {head_seq}) is {head_hash[:16]}…: the chain forked", "fork", b.first_seq)
    now = utc_now()
    if new:
        _insert_entries(db, conn, dev, new, now)
        _check_priority(conn, dev, [e for e, _, _ in new], hashes)
    new_head_seq = max(head_seq, b.last_seq)
    new_head_hash = b.head_hash if new else head_hash
    _check_checkpoints(conn, dev, b.checkpoint, new_head_seq, hashes)
    response = {"status": "accepted", "device_id": device_id, "first_seq": b.first_seq, "last_seq": b.last_seq,
                "acked_seq": b.last_seq, "head_hash": b.head_hash}
    conn.execute(
        text("UPDATE devices SET head_seq = :hs, head_hash = :hh, last_sent_at = :sa, last_batch_digest = :dg, "
             "last_batch_response = :resp, last_sync_at = :now, backlog = :bl WHERE shop_id = :shop AND device_id = :dev"),
        {"hs": new_head_seq, "hh": new_head_hash, "sa": b.sent_at, "dg": digest, "resp": json.dumps(response),
         "now": now, "bl": b.backlog, "shop": shop_id, "dev": device_id},
    )
    return IngestResponse(200, response, duplicate=not new, stored=len(new))


_ENTRY_COLUMNS = ("shop_id", "device_id", "seq", "province", "ts", "kind", "hash", "prev_hash", "demo", "contract_no",
                  "event_type", "search_text", "body", "received_at")
# PostgreSQL's binary COPY carries no type names: each value must be of its column's exact type
_ENTRY_TYPES = ("text", "text", "int8", "text", "text", "text", "text", "text", "int4", "text", "text", "text", "bytea", "text")
_KEY_COLUMNS = ("shop_id", "device_id", "seq", "k")  # SQLite's entry_keys (see sync/backend/schema.py)
_WATCHED_KEYS = frozenset(KEY_TYPE.values())  # key types a watchlist can name


def _insert_entries(db: Database, conn: Connection, dev, new: list[tuple[Entry, bytes, str]], now: str) -> None:
    shop_id, device_id, province = dev["shop_id"], dev["device_id"], dev["province"]
    pg = db.dialect == "postgresql"
    rows, keys, suspicious = [], [], []
    watched: dict[int, tuple[str, str, list]] = {}  # blind key -> (key type, plain value, [(entry, index)])
    blind_keys = db.vault.blind_keys
    bodies = db.vault.seal_entries(shop_id, device_id, [(e.seq, canonical) for e, canonical, _ in new])
    for (e, _, h), body in zip(new, bodies):
        ix = index_entry(e)
        blinds = blind_keys(ix.keys)
        row = (shop_id, device_id, e.seq, province, e.ts, e.kind, h, e.prev_hash, int(e.demo), ix.contract_no,
               ix.event_type, ix.search_text, body, now)
        if pg:  # the keys are an array column of the row
            rows.append((*row, blinds))
        else:
            rows.append(row)
            keys += [(shop_id, device_id, e.seq, k) for k in blinds]
        if e.kind == "transaction":
            for (kt, v), k in zip(ix.keys, blinds):
                if kt in _WATCHED_KEYS:
                    watched.setdefault(k, (kt, v, []))[2].append((e, ix))
        elif ix.event_type == "suspicious":
            suspicious.append((e, ix))
    if pg:
        bulk_insert(db, conn, "entries", _ENTRY_COLUMNS + ("keys",), rows, _ENTRY_TYPES + ("int8[]",))
    else:
        bulk_insert(db, conn, "entries", _ENTRY_COLUMNS, rows)
        bulk_insert(db, conn, "entry_keys", _KEY_COLUMNS, keys)
    for e, ix in suspicious:
        already = conn.execute(
            text("SELECT 1 FROM priority_events WHERE shop_id = :shop AND device_id = :dev AND seq = :seq"),
            {"shop": shop_id, "dev": device_id, "seq": e.seq},
        ).first()
        if not already:
            raise_alert(conn, db.vault, shop_id=shop_id, device_id=device_id, kind="suspicious",
                        detail=_suspicious_detail(db, conn, dev, e, ix), seq=e.seq)
    if watched:
        _watchlist_hits(db, conn, dev, watched)


def bulk_insert(db: Database, conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple],
                types: tuple[str, ...] = ()) -> None:
    """Insert many rows (tuples) in the open transaction: on PostgreSQL by binary ``COPY``, whose
    ``types`` name each column's exact PostgreSQL type; on SQLite by executemany."""
    if not rows:
        return
    raw = conn.connection.driver_connection
    if db.dialect == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            cur.adapters.register_dumper(None, _Int8ArrayDumper)  # this cursor's int8[] columns
            copy.set_types(types)
            write = copy.write_row
            for r in rows:
                write(r)
    else:
        marks = ", ".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class _Int8ArrayDumper(Dumper):
    """A list of integers (an entry's blind keys) as PostgreSQL's binary ``int8[]``: psycopg's own list
    dumper, written in Python for any element type, took 5 µs per entry of six keys; this takes 1."""

    format = Format.BINARY
    oid = postgres.types["int8"].array_oid

    def dump(self, keys: list[int]) -> bytes:
        if not keys:
            return _EMPTY_ARRAY
        return _ARRAY_HEAD(1, 0, _INT8_OID, len(keys), 1) + b"".join([_ARRAY_ELEMENT(8, k) for k in keys])


# binary array: dimensions, has-nulls flag, element type; per dimension its length and lower bound; then
# each element as its length and value (PostgreSQL's array_send)
_INT8_OID = postgres.types["int8"].oid
_ARRAY_HEAD = struct.Struct(">iiIii").pack
_ARRAY_ELEMENT = struct.Struct(">iq").pack
_EMPTY_ARRAY = struct.pack(">iiI", 0, 0, _INT8_OID)


def _suspicious_detail(db: Database, conn: Connection, dev, e: Entry, ix) -> str:
    about = ix.contract_no
    if not about and ix.txn_ref:  # an event names its contract by id: show the contract number when known
        cond, params = has_keys(db.dialect, [db.vault.blind("txn", ix.txn_ref)])
        row = conn.execute(text(
            f"SELECT e.contract_no FROM entries e WHERE e.shop_id = :shop AND e.device_id = :dev AND {cond} "
            "AND e.kind = 'transaction' LIMIT 1"),
            {"shop": dev["shop_id"], "dev": dev["device_id"], **params}).first()
        about = row[0] if row and row[0] else ix.txn_ref
    reason = e.payload.get("reason") or e.payload.get("note") or e.payload.get("notes") or ""
    return f"suspicious event at seq {e.seq} for contract {about or '?'}" + (f": {str(reason)[:300]}" if reason else "")


def _watchlist_hits(db: Database, conn: Connection, dev, watched: dict) -> None:
    """Compare the batch's blinded ID numbers and serials with the watchlist's blind values."""
    if db.dialect == "postgresql":  # one comma-joined text parameter instead of a 1,000-element array to adapt
        q = text("SELECT kind, value, note, item_id FROM watchlist WHERE active = 1 "
                 "AND value = ANY(string_to_array(:values, ',')::bigint[])")
        values = ",".join(map(str, watched))
    else:
        q = text("SELECT kind, value, note, item_id FROM watchlist WHERE active = 1 "
                 "AND value IN (SELECT value FROM json_each(:values))")
        values = json.dumps(list(watched))
    vault = db.vault
    for wkind, blind, sealed_note, item_id in conn.execute(q, {"values": values}).all():
        key_type, value, found = watched[int(blind)]
        if KEY_TYPE.get(wkind) != key_type:
            continue
        note = vault.open(sealed_note, "watchlist-note", item_id, 0)
        what = "wanted ID number" if wkind == "id_number" else "stolen item serial"
        for e, ix in found:
            raise_alert(conn, vault, shop_id=dev["shop_id"], device_id=dev["device_id"], kind="watchlist", seq=e.seq,
                        detail=f"{what} {value} ({note}) in contract {ix.contract_no or '?'} at seq {e.seq}")


def _check_priority(conn: Connection, dev, new: list[Entry], hashes: dict) -> None:
    rows = conn.execute(
        text("SELECT seq, hash FROM priority_events WHERE shop_id = :shop AND device_id = :dev AND seq BETWEEN :a AND :b"),
        {"shop": dev["shop_id"], "dev": dev["device_id"], "a": new[0].seq, "b": new[-1].seq},
    ).all()
    for seq, h in rows:
        if hashes.get(seq) != h:
            raise _Refusal(409, "conflict", f"seq {seq} was reported ahead of the queue with hash {h[:16]}… but the chain "
                           f"brings hash {str(hashes.get(seq))[:16]}…: same seq, other content", "conflict", seq)


def _check_rollback(conn: Connection, dev, cp: Checkpoint) -> None:
    """A device's signed head only grows (RFC 9162 §2.1.4): a checkpoint older than one already
    held means the shop's ledger was rolled back (an old backup, entries cut) or an old
    checkpoint is replayed; a seq-0 checkpoint must sign the empty chain (:data:`GENESIS`)."""
    if cp.seq == 0 and cp.head_hash != GENESIS:
        raise _Refusal(409, "checkpoint", f"a signed checkpoint at seq 0 names head {cp.head_hash[:16]}… instead of the "
                       "empty chain's genesis hash", "checkpoint", 0)
    newest = conn.execute(
        text("SELECT MAX(seq) FROM checkpoints WHERE shop_id = :shop AND device_id = :dev"),
        {"shop": dev["shop_id"], "dev": dev["device_id"]},
    ).scalar()
    if newest is not None and cp.seq < int(newest):
        raise _Refusal(409, "checkpoint", f"the batch's signed checkpoint at seq {cp.seq} is older than the signed checkpoint "
                       f"at seq {newest} already held: the shop's ledger was rolled back", "checkpoint", cp.seq)


def _check_checkpoints(conn: Connection, dev, cp: Checkpoint | None, head_seq: int, hashes: dict) -> None:
    shop_id, device_id = dev["shop_id"], dev["device_id"]
    if cp is not None and cp.seq > 0:
        old = conn.execute(
            text("SELECT head_hash FROM checkpoints WHERE shop_id = :shop AND device_id = :dev AND seq = :seq"),
            {"shop": shop_id, "dev": device_id, "seq": cp.seq},
        ).first()
        if old is None:
            conn.execute(
                text("INSERT INTO checkpoints (shop_id, device_id, seq, head_hash, ts, signature, verified) "
                     "VALUES (:shop, :dev, :seq, :hh, :ts, :sig, 0)"),
                {"shop": shop_id, "dev": device_id, "seq": cp.seq, "hh": cp.head_hash, "ts": cp.ts, "sig": cp.signature},
            )
        elif old[0] != cp.head_hash:
            raise _Refusal(409, "checkpoint", f"two signed checkpoints for seq {cp.seq} name different heads "
                           f"({old[0][:16]}… and {cp.head_hash[:16]}…)", "checkpoint", cp.seq)
    pending = conn.execute(
        text("SELECT seq, head_hash FROM checkpoints WHERE shop_id = :shop AND device_id = :dev AND verified = 0 AND seq <= :hs"),
        {"shop": shop_id, "dev": device_id, "hs": head_seq},
    ).all()
    for seq, want in pending:
        have = hashes.get(seq)
        if have is None:
            row = conn.execute(
                text("SELECT hash FROM entries WHERE shop_id = :shop AND device_id = :dev AND seq = :seq"),
                {"shop": shop_id, "dev": device_id, "seq": seq},
            ).first()
            have = row[0] if row else None
        if have != want:
            raise _Refusal(409, "checkpoint", f"signed checkpoint at seq {seq} names head {want[:16]}… but the chain's entry "
                           f"{seq} hashes to {str(have)[:16]}…", "checkpoint", seq)
        conn.execute(
            text("UPDATE checkpoints SET verified = 1 WHERE shop_id = :shop AND device_id = :dev AND seq = :seq"),
            {"shop": shop_id, "dev": device_id, "seq": seq},
        )


def _store_priority(db: Database, conn: Connection, dev, b: batch_mod.Batch, hashes: dict, digest: str) -> IngestResponse:
    """Suspicious events ahead of the queue: alert now, hold the hashes to check against the chain later."""
    shop_id, device_id, head_seq = dev["shop_id"], dev["device_id"], int(dev["head_seq"])
    now = utc_now()
    for e in b.entries:
        if e.seq <= head_seq:
            row = conn.execute(
                text("SELECT hash FROM entries WHERE shop_id = :shop AND device_id = :dev AND seq = :seq"),
                {"shop": shop_id, "dev": device_id, "seq": e.seq},
            ).first()
            if row and row[0] != hashes[e.seq]:
                raise _Refusal(409, "conflict", f"priority event seq {e.seq} differs from the stored entry", "conflict", e.seq)
            continue
        old = conn.execute(
            text("SELECT hash FROM priority_events WHERE shop_id = :shop AND device_id = :dev AND seq = :seq"),
            {"shop": shop_id, "dev": device_id, "seq": e.seq},
        ).first()
        if old:
            if old[0] != hashes[e.seq]:
                raise _Refusal(409, "conflict", f"priority event seq {e.seq} was reported with other content", "conflict", e.seq)
            continue
        ix = index_entry(e)
        conn.execute(
            text("INSERT INTO priority_events (shop_id, device_id, seq, hash, received_at) VALUES (:shop, :dev, :seq, :h, :now)"),
            {"shop": shop_id, "dev": device_id, "seq": e.seq, "h": hashes[e.seq], "now": now},
        )
        if ix.event_type == "suspicious":
            raise_alert(conn, db.vault, shop_id=shop_id, device_id=device_id, kind="suspicious", detail=_suspicious_detail(db, conn, dev, e, ix), seq=e.seq)
    response = {"status": "accepted", "device_id": device_id, "first_seq": b.first_seq, "last_seq": b.last_seq,
                "acked_seq": head_seq, "head_hash": b.head_hash, "priority": True}
    conn.execute(
        text("UPDATE devices SET last_sent_at = :sa, last_batch_digest = :dg, last_batch_response = :resp, last_sync_at = :now "
             "WHERE shop_id = :shop AND device_id = :dev"),
        {"sa": b.sent_at, "dg": digest, "resp": json.dumps(response), "now": now, "shop": shop_id, "dev": device_id},
    )
    return IngestResponse(200, response)


def device_head(db: Database, device_id: str) -> dict | None:
    with db.read() as conn:
        row = conn.execute(
            text("SELECT device_id, shop_id, head_seq, head_hash, last_sent_at, last_sync_at FROM devices WHERE device_id = :d"),
            {"d": device_id},
        ).mappings().first()
    return dict(row) | {"head_seq": int(row["head_seq"])} if row else None


def new_id() -> str:
    return uuid.uuid4().hex
