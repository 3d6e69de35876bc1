"""What the police told the shop (issue 19 item 2): holds, notices, trust updates, as ledger events.

Each message of the signed downlink (:mod:`sync.downlink`) the shop receives becomes one ``event`` entry,
so the chain shows what the shop received and when, and the police backend gets it back with the
next batch. Payload types:

* ``police_hold`` / ``police_hold_release``: ``{"type", "version", "message", "signature", "applied",
  "txn_id", "reason"?}`` (``reason``: why it was not applied, e.g. no such contract here);
* ``police_notice``: ``{"type", "version", "message", "signature", "applied": true}``;
* ``police_trust_update``: ``{"type", "version", "message", "signature", "applied", "results" | "reason"}``
  (a certificate that fails the checks of ``chipid trust import`` is refused and recorded ``applied: false``);
* ``police_notice_ack``: ``{"type", "version", "by": {"user", "role"}}``: a clerk read the notice.

``message`` and ``signature`` are the message as received, so the chain keeps what the backend signed.
A version is applied once, in order: the append checks inside its write that it is the next one.

The projection (this part's tables, migrated as ``schema.police``, written inside each entry's write and caught up
from the chain, :mod:`verifier.ledger.projection`): ``police_messages`` (the versions applied), ``police_holds``
(hold id, contract, until, the seqs of its placing and release), ``police_notices`` (version, seq,
acknowledgement). The hold's reason and the notice's text stay in the (encrypted) entries and are read from there.

The counter's guard on :attr:`verifier.ledger.pawn.PawnBook.guards` (:mod:`verifier.api.police`) asks
:meth:`PoliceBook.blocking_hold` inside the event's write and refuses what would let a held item leave the
shop: ``redeemed``, ``liquidated`` and a cancelling ``correction`` while a hold is active (not released,
``until`` not past in Vietnam), with ``ContractRefused("item_on_hold")`` (the counter answers 409). This
module stays below the pawn book's rules, so the sync relay can record police messages with it.

``photo_uplink`` (not a projection: the relay's own bookkeeping) says which item photos the backend
has taken (or refused) (:mod:`sync.photo_uplink`).
"""

from __future__ import annotations

import sqlite3
import weakref
from datetime import datetime
from typing import Any

from verifier.errors import InputError, NotFoundError
from verifier.ledger import projection
from verifier.ledger.entry import VN_TZ, Entry, utc_now
from verifier.ledger.store import Ledger

TYPES = {"hold": "police_hold", "hold_release": "police_hold_release", "notice": "police_notice",
         "trust": "police_trust_update"}
ACK = "police_notice_ack"
#: events that let the item leave the shop (a cancelling correction returns it too)
RELEASING = ("redeemed", "liquidated")

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS police_messages (
        version INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        seq INTEGER NOT NULL,
        applied INTEGER NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS police_holds (
        hold_id TEXT PRIMARY KEY,
        txn_id TEXT NOT NULL,
        contract_no TEXT NOT NULL,
        until TEXT,
        placed_seq INTEGER NOT NULL,
        released_seq INTEGER
    );
    CREATE INDEX IF NOT EXISTS police_holds_txn ON police_holds (txn_id);
    CREATE TABLE IF NOT EXISTS police_notices (
        version INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        acked_seq INTEGER,
        acked_by TEXT,
        acked_at TEXT
    );
    CREATE TABLE IF NOT EXISTS photo_uplink (
        txn_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        PRIMARY KEY (txn_id, kind)
    );
    """,
)

_books: "weakref.WeakKeyDictionary[Ledger, PoliceBook]" = weakref.WeakKeyDictionary()


class NotNext(InputError):
    """The message's version is not the next one to apply (already applied, or one is missing before it)."""


def project(conn: sqlite3.Connection, entry: Entry) -> None:
    """The projector, inside the entry's write (and when caught up from the chain: a message seen again changes
    nothing)."""
    p = entry.payload
    kind = p.get("type") if entry.kind == "event" else None
    if kind in TYPES.values():
        conn.execute("INSERT OR IGNORE INTO police_messages (version, kind, seq, applied, received_at) VALUES (?, ?, ?, ?, ?)",
                     (int(p["version"]), p["message"]["kind"], entry.seq, int(bool(p.get("applied"))), entry.ts))
        if not p.get("applied"):
            return
        body = p["message"]["body"]
        if kind == "police_hold":
            conn.execute("INSERT OR IGNORE INTO police_holds (hold_id, txn_id, contract_no, until, placed_seq) "
                         "VALUES (?, ?, ?, ?, ?)", (body["hold_id"], body["txn_id"], body["contract_no"],
                                                     body.get("until"), entry.seq))
        elif kind == "police_hold_release":
            conn.execute("UPDATE police_holds SET released_seq = ? WHERE hold_id = ? AND released_seq IS NULL",
                         (entry.seq, body["hold_id"]))
        elif kind == "police_notice":
            conn.execute("INSERT OR IGNORE INTO police_notices (version, seq) VALUES (?, ?)", (int(p["version"]), entry.seq))
    elif kind == ACK:
        conn.execute("UPDATE police_notices SET acked_seq = ?, acked_by = ?, acked_at = ? WHERE version = ? "
                     "AND acked_seq IS NULL", (entry.seq, p["by"]["user"], entry.ts, int(p["version"])))


class PoliceBook:
    """The police part of one ledger (use :meth:`of`: one per ledger); its projection attached once
    (:func:`verifier.ledger.projection.attach`)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        projection.attach(ledger, "police", SCHEMA, project, kinds=("event",))

    @classmethod
    def of(cls, ledger: Ledger) -> "PoliceBook":
        book = _books.get(ledger)
        if book is None:
            book = _books[ledger] = cls(ledger)
        return book

    # --- receiving ---------------------------------------------------------------------------------
    def applied_version(self) -> int:
        row = self.ledger.reader().execute("SELECT COALESCE(MAX(version), 0) FROM police_messages").fetchone()
        return int(row[0])

    def record(self, message: dict, signature: str, *, applied: bool, reason: str | None = None,
               extra: dict | None = None) -> Entry:
        """Append the event of one received message (:data:`TYPES`); :class:`NotNext` when its version is not
        the next one (checked inside the write, so two relays never apply one version twice)."""
        version = int(message["version"])
        payload: dict[str, Any] = {"type": TYPES[message["kind"]], "version": version, "message": message,
                                   "signature": signature, "applied": bool(applied)}
        if message["kind"] in ("hold", "hold_release"):
            payload["txn_id"] = message["body"]["txn_id"]
        if reason:
            payload["reason"] = reason
        payload.update(extra or {})

        def prepare(conn: sqlite3.Connection, p: dict) -> dict:
            last = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM police_messages").fetchone()[0])
            if version != last + 1:
                raise NotNext(f"police message {version}: expected version {last + 1}")
            return p

        return self.ledger.append("event", payload, prepare=prepare)

    def has_contract(self, txn_id: str) -> bool:
        try:
            return self.ledger.reader().execute("SELECT 1 FROM transactions WHERE id = ?", (txn_id,)).fetchone() is not None
        except sqlite3.OperationalError:  # a ledger whose pawn book never opened has no contracts
            return False

    # --- the guard's question ------------------------------------------------------------------------
    def blocking_hold(self, conn: sqlite3.Connection, txn_id: str, payload: dict) -> dict | None:
        """The active hold that forbids event ``payload`` on contract ``txn_id`` (one that lets the item leave
        the shop: :data:`RELEASING`, a cancelling correction), read inside the event's write; None when none.
        The counter's guard (:func:`verifier.api.police.install`) refuses the event with it."""
        releasing = payload.get("type") in RELEASING or (payload.get("type") == "correction" and payload.get("cancel"))
        if not releasing:
            return None
        row = conn.execute("SELECT placed_seq FROM police_holds WHERE txn_id = ? AND released_seq IS NULL "
                           "AND (until IS NULL OR until >= ?) ORDER BY placed_seq LIMIT 1",
                           (txn_id, _today())).fetchone()
        return None if row is None else self._hold(row[0])

    # --- reading -------------------------------------------------------------------------------------
    def _hold(self, placed_seq: int, released_seq: int | None = None) -> dict:
        entry = self.ledger.entries_by_seq([placed_seq])[0]
        m = entry.payload["message"]
        body = m["body"]
        return {"hold_id": body["hold_id"], "txn_id": body["txn_id"], "contract_no": body["contract_no"],
                "reason": body["reason"], "case_no": body.get("case_no"), "until": body.get("until"),
                "issued_at": m["issued_at"], "issued_by": m["issued_by"], "received_at": entry.ts, "version": m["version"],
                "seq": placed_seq, "released_seq": released_seq}

    def holds(self, txn_id: str | None = None, *, active_only: bool = True) -> list[dict]:
        """Holds (active ones by default), oldest first; ``active`` in each."""
        sql = "SELECT placed_seq, released_seq, until FROM police_holds"
        args: tuple = ()
        if txn_id is not None:
            sql += " WHERE txn_id = ?"
            args = (txn_id,)
        today = _today()
        out = []
        for placed, released, until in self.ledger.reader().execute(sql + " ORDER BY placed_seq", args).fetchall():
            active = released is None and (until is None or until >= today)
            if active or not active_only:
                out.append(dict(self._hold(placed, released), active=active))
        return out

    def notices(self, *, unacknowledged: bool = True) -> list[dict]:
        sql = "SELECT version, seq, acked_by, acked_at FROM police_notices"
        if unacknowledged:
            sql += " WHERE acked_seq IS NULL"
        rows = self.ledger.reader().execute(sql + " ORDER BY version").fetchall()
        entries = {e.seq: e for e in self.ledger.entries_by_seq([r[1] for r in rows])} if rows else {}
        out = []
        for version, seq, by, at in rows:
            m = entries[seq].payload["message"]
            out.append({"version": version, "text": m["body"]["text"], "issued_at": m["issued_at"], "issued_by": m["issued_by"],
                        "received_at": entries[seq].ts, "acknowledged": by is not None, "acknowledged_by": by,
                        "acknowledged_at": at})
        return out

    def acknowledge(self, version: int, *, user: str, role: str) -> dict:
        """A clerk read notice ``version`` (an event); acknowledging it again answers the first acknowledgement."""
        def prepare(conn: sqlite3.Connection, p: dict) -> dict:
            row = conn.execute("SELECT acked_seq FROM police_notices WHERE version = ?", (version,)).fetchone()
            if row is None:
                raise NotFoundError(f"no police notice {version}")
            if row[0] is not None:
                raise _AlreadyAcked()
            return p

        try:
            entry = self.ledger.append("event", {"type": ACK, "version": int(version), "by": {"user": user, "role": role}},
                                       prepare=prepare)
        except _AlreadyAcked:
            pass
        else:
            return {"version": version, "acknowledged": True, "seq": entry.seq, "at": entry.ts}
        row = self.ledger.reader().execute("SELECT acked_seq, acked_at FROM police_notices WHERE version = ?", (version,)).fetchone()
        return {"version": version, "acknowledged": True, "seq": row[0], "at": row[1]}

    # --- photo uplink bookkeeping ----------------------------------------------------------------------
    def photos_to_upload(self, acked_seq: int, limit: int = 20) -> list[dict]:
        """Item photos (kind ``item-<n>``) of contracts the backend acknowledged, not yet taken or refused by it."""
        try:
            rows = self.ledger.reader().execute(
                "SELECT p.txn_id, t.contract_no, p.kind, p.sha256 FROM photos p JOIN transactions t ON t.id = p.txn_id "
                "WHERE p.kind LIKE 'item-%' AND t.seq <= ? AND NOT EXISTS (SELECT 1 FROM photo_uplink u WHERE "
                "u.txn_id = p.txn_id AND u.kind = p.kind AND u.sha256 = p.sha256) ORDER BY t.seq, p.kind LIMIT ?",
                (int(acked_seq), int(limit))).fetchall()
        except sqlite3.OperationalError:  # a ledger whose pawn book never opened has no photos
            return []
        return [{"txn_id": r[0], "contract_no": r[1], "kind": r[2], "sha256": r[3]} for r in rows]

    def photo_sent(self, txn_id: str, kind: str, sha256: str, status: str, detail: str = "") -> None:
        self.ledger.write(lambda conn: conn.execute(
            "INSERT INTO photo_uplink (txn_id, kind, sha256, status, detail, at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (txn_id, kind) DO UPDATE SET sha256 = excluded.sha256, status = excluded.status, "
            "detail = excluded.detail, at = excluded.at", (txn_id, kind, sha256, status, detail[:500], utc_now())))


def _today() -> str:
    """Today in Vietnam (a hold's ``until`` is a Vietnamese calendar day)."""
    return datetime.now(VN_TZ).date().isoformat()


class _AlreadyAcked(Exception):
    pass
