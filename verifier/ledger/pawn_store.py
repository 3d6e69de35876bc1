"""The pawn book's tables in the ledger's SQLite file, and every query on them.

The tables are a projection of the chain (the chain is the record; these can be rebuilt from it),
written by the pawn book's projector inside the transaction of the entry they come from
(:mod:`verifier.ledger.chain`), read through the ledger's read connection (:meth:`Ledger.reader`):

* ``transactions``: one row per contract: number, status, flagged, due date, first and last seq;
* ``txn_terms``: blind-index search terms (HMAC-SHA256 of the normalised ID number, name words and
  item serials; :meth:`verifier.ledger.keys.Sealer.blind`), never the plaintext;
* ``txn_entries``: which entries belong to which contract;
* ``photos``: chip and camera images and face templates, AES-256-GCM with associated data
  ``photo|<txn_id>|<kind>``; the face images (:data:`FACE_KINDS`) are purged after
  ``privacy.face_retention_days``, item photos stay with the contract.

The pawn book's rules are in :mod:`verifier.ledger.pawn_events` (which event leads where) and
:mod:`verifier.ledger.pawn_search` (what is searched); :mod:`verifier.ledger.pawn` runs the projection.
"""

from __future__ import annotations

import hashlib
import sqlite3

from verifier.ledger.chain import ENTRY_COLUMNS
from verifier.ledger.entry import Entry
from verifier.ledger.schema import migrate_part
from verifier.ledger.store import Ledger

#: Migrations of the pawn book's tables (number kept in ``meta`` as ``schema.pawn``). Ledgers created
#: before the split already have these tables from the ledger's migration 1: ``IF NOT EXISTS`` keeps them.
SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS transactions (
        id TEXT PRIMARY KEY,
        contract_no TEXT NOT NULL UNIQUE,
        number INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        flagged INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        due_date TEXT NOT NULL,
        loan_vnd INTEGER NOT NULL,
        demo INTEGER NOT NULL,
        updated_seq INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS transactions_created ON transactions (created_at);
    CREATE INDEX IF NOT EXISTS transactions_status ON transactions (status);
    CREATE TABLE IF NOT EXISTS txn_terms (term TEXT NOT NULL, txn_id TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS txn_terms_term ON txn_terms (term);
    CREATE TABLE IF NOT EXISTS txn_entries (txn_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (txn_id, seq));
    CREATE TABLE IF NOT EXISTS photos (
        id INTEGER PRIMARY KEY,
        txn_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS photos_txn ON photos (txn_id);
    """,
    # 2: "corrected" marks a contract with a correction event (a cancellation sets status 'cancelled');
    # the ID number and serial tails (blind terms of their last 4-6 characters) are added by PawnBook.
    """
    ALTER TABLE transactions ADD COLUMN corrected INTEGER NOT NULL DEFAULT 0;
    """,
)


#: The photos of a person (the chip portrait, the camera frame and its face template), purged after
#: ``privacy.face_retention_days``; every other kind (``item-<n>``) is kept with the contract.
FACE_KINDS = ("chip", "camera", "camera_template")


def _photo_aad(txn_id: str, kind: str) -> bytes:
    return f"photo|{txn_id}|{kind}".encode()


class PawnStore:
    """The pawn book's tables in ``ledger`` (created or migrated when constructed)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        ledger.write(lambda conn: migrate_part(conn, "pawn", SCHEMA))

    # --- inside the entry's write transaction ------------------------------------------------
    @staticmethod
    def record_contract(conn: sqlite3.Connection, entry: Entry, terms: set[str]) -> None:
        p = entry.payload
        conn.execute(
            "INSERT INTO transactions (id, contract_no, number, seq, status, flagged, created_at, due_date, loan_vnd, demo, updated_seq)"
            " VALUES (?, ?, ?, ?, 'active', 0, ?, ?, ?, ?, ?)",
            (p["id"], p["contract_no"], p["number"], entry.seq, entry.ts, p["due_date"], int(p["loan_vnd"]), int(entry.demo), entry.seq),
        )
        conn.executemany("INSERT INTO txn_terms (term, txn_id) VALUES (?, ?)", [(t, p["id"]) for t in terms])
        conn.execute("INSERT INTO txn_entries (txn_id, seq) VALUES (?, ?)", (p["id"], entry.seq))

    @staticmethod
    def record_event(conn: sqlite3.Connection, txn_id: str, seq: int, *, status: str | None = None, due_date: str | None = None,
                     flagged: bool = False, corrected: bool = False, terms: set[str] = frozenset()) -> None:
        """An event entry of contract ``txn_id``: its link, and what it changes."""
        conn.execute("INSERT INTO txn_entries (txn_id, seq) VALUES (?, ?)", (txn_id, seq))
        if corrected:
            conn.execute("UPDATE transactions SET corrected = 1, updated_seq = ? WHERE id = ?", (seq, txn_id))
        if status:
            conn.execute("UPDATE transactions SET status = ?, updated_seq = ? WHERE id = ?", (status, seq, txn_id))
        if due_date:
            conn.execute("UPDATE transactions SET due_date = ?, updated_seq = ? WHERE id = ?", (due_date, seq, txn_id))
        if flagged:
            conn.execute("UPDATE transactions SET flagged = 1, updated_seq = ? WHERE id = ?", (seq, txn_id))
        conn.executemany("INSERT INTO txn_terms (term, txn_id) VALUES (?, ?)", [(t, txn_id) for t in terms])

    @staticmethod
    def next_number(conn: sqlite3.Connection) -> int:
        """The next contract number (inside the write that records it, so numbers never repeat)."""
        return conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM transactions").fetchone()[0]

    def entries_in(self, conn: sqlite3.Connection, txn_id: str) -> list[Entry]:
        """The entries of contract ``txn_id`` (contract first) read through ``conn``: inside a write, what an event's
        amounts are computed from (:func:`verifier.ledger.pawn_events.event_money`), so two concurrent payments
        never use the same state. An entry that cannot be opened raises :class:`~verifier.errors.TamperError`."""
        rows = conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE seq IN (SELECT seq FROM txn_entries WHERE txn_id = ?) ORDER BY seq",
            (txn_id,)).fetchall()
        return [self.ledger.chain.entry_from_row(r) for r in rows]

    @staticmethod
    def status_in(conn: sqlite3.Connection, txn_id: str) -> str | None:
        row = conn.execute("SELECT status FROM transactions WHERE id = ?", (txn_id,)).fetchone()
        return row[0] if row else None

    def store_photo(self, conn: sqlite3.Connection, txn_id: str, kind: str, data: bytes, created_at: str) -> None:
        conn.execute(
            "INSERT INTO photos (txn_id, kind, sha256, created_at, data) VALUES (?, ?, ?, ?, ?)",
            (txn_id, kind, hashlib.sha256(data).hexdigest(), created_at, self.ledger.sealer.seal(data, _photo_aad(txn_id, kind))),
        )

    def purge_photos(self, before: str) -> int:
        """Delete the face images (:data:`FACE_KINDS`) stored before ``before`` (UTC text); how many. Item photos
        (``item-<n>``) describe the pawned goods, not the person: they stay with the contract."""
        marks = ",".join("?" * len(FACE_KINDS))
        return self.ledger.write(lambda conn: conn.execute(
            f"DELETE FROM photos WHERE created_at < ? AND kind IN ({marks})", (before, *FACE_KINDS)).rowcount)

    # --- reading -----------------------------------------------------------------------------
    def contract(self, txn_id: str) -> dict | None:
        """The projected state of one contract (None when unknown): what the clear columns say, so it
        can be shown even when its ledger entry is damaged."""
        row = self.ledger.reader().execute(
            f"SELECT {_SUMMARY} FROM transactions t WHERE id = ?", (txn_id,)).fetchone()
        return None if row is None else summary(row)

    def entry_seqs(self, txn_id: str) -> list[int]:
        return [r[0] for r in self.ledger.reader().execute("SELECT seq FROM txn_entries WHERE txn_id = ? ORDER BY seq", (txn_id,))]

    def photo_kinds(self, txn_id: str) -> list[str]:
        return [r[0] for r in self.ledger.reader().execute("SELECT kind FROM photos WHERE txn_id = ? ORDER BY id", (txn_id,))]

    def photo(self, txn_id: str, kind: str) -> bytes | None:
        row = self.ledger.reader().execute("SELECT data FROM photos WHERE txn_id = ? AND kind = ? ORDER BY id DESC LIMIT 1",
                                           (txn_id, kind)).fetchone()
        if row is None:
            return None
        return self.ledger.sealer.open(row[0], _photo_aad(txn_id, kind), f"photo {kind} of {txn_id}")

    def add_terms(self, conn: sqlite3.Connection, txn_id: str, terms: set[str]) -> None:
        conn.executemany("INSERT INTO txn_terms (term, txn_id) VALUES (?, ?)", [(t, txn_id) for t in terms])

    def all_contract_seqs(self, conn: sqlite3.Connection) -> list[tuple[str, list[int]]]:
        """Every contract and the seqs of its entries (for re-indexing inside a write)."""
        out: dict[str, list[int]] = {}
        for txn_id, seq in conn.execute("SELECT txn_id, seq FROM txn_entries ORDER BY seq"):
            out.setdefault(txn_id, []).append(seq)
        return list(out.items())

    def find(self, terms: list[str | tuple[str, ...]], *, status: str | None = None, overdue_on: str | None = None, flagged: bool | None = None,
             created_from: str | None = None, created_to: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[tuple], int]:
        """Contracts holding every blind term (a tuple: any of its terms), newest first: ``([summary], total)``
        (:func:`summary` dicts).

        ``status`` is a stored status; ``overdue_on`` (a date) selects active contracts due before it."""
        where, args = [], []
        for term in dict.fromkeys(terms):
            group = term if isinstance(term, tuple) else (term,)
            where.append(f"t.id IN (SELECT txn_id FROM txn_terms WHERE term IN ({','.join('?' * len(group))}))")
            args.extend(group)
        if overdue_on:
            where.append("t.status = 'active' AND t.due_date < ?")
            args.append(overdue_on)
        if status:
            where.append("t.status = ?")
            args.append(status)
        if flagged is not None:
            where.append("t.flagged = ?")
            args.append(int(flagged))
        if created_from:
            where.append("t.created_at >= ?")
            args.append(created_from)
        if created_to:
            where.append("t.created_at <= ?")
            args.append(created_to)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        conn = self.ledger.reader()
        total = conn.execute(f"SELECT COUNT(*) FROM transactions t{clause}", args).fetchone()[0]
        rows = conn.execute(
            f"SELECT {_SUMMARY} FROM transactions t{clause} ORDER BY t.number DESC LIMIT ? OFFSET ?",
            [*args, int(limit), int(offset)],
        ).fetchall()
        return [summary(r) for r in rows], total


_SUMMARY = "t.id, t.seq, t.status, t.flagged, t.due_date, t.demo, t.contract_no, t.created_at, t.loan_vnd, t.corrected"


def summary(row: tuple) -> dict:
    """A contract's clear columns: what the list shows even when its entry cannot be read."""
    txn_id, seq, status, flagged, due, demo, contract_no, created_at, loan, corrected = row
    return {"id": txn_id, "seq": seq, "status": status, "flagged": bool(flagged), "due_date": due, "demo": bool(demo),
            "contract_no": contract_no, "created_at": created_at, "loan_vnd": loan, "corrected": bool(corrected)}
