"""The ledger's SQLite file: its tables, their migrations, and the connections to it.

``DATA_DIR/ledger.sqlite`` (plain :mod:`sqlite3`), every connection in WAL mode with
``synchronous=FULL`` (a COMMIT returns once it is on disk). One connection writes (the writer
thread's, :mod:`verifier.ledger.writer`); every other thread reads through its own connection,
opened on first use and set ``query_only`` so that nothing can write past the one write path.

Tables of the ledger itself (the pawn book's projection tables are declared and migrated by
:mod:`verifier.ledger.pawn_store`):

* ``meta``: device id, device public key, data-key check;
* ``entries``: the chain (payload sealed with AES-256-GCM, ``canon``: the entry's canonical form,
  NULL for the legacy one); triggers refuse UPDATE and DELETE;
* ``checkpoints``: signed heads, append-only like entries;
* ``outbox`` and ``sync_state``: what the police backend has not acknowledged, what it has;
  a trigger keeps ``acked_seq`` and ``backend_cp_seq`` from going back (RFC 9162 §2.1.4 style);
* ``access_log``: who read which record, when;
* ``failed_appends``: appends reported as failed, reconciled at start (fail-stop).

Migrations are numbered scripts applied in order; the ledger's number is ``PRAGMA user_version``.
A part that owns tables of its own keeps its number in ``meta`` (:func:`migrate_part`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

DB_NAME = "ledger.sqlite"

#: The ledger's migrations, applied in order at start-up; ``PRAGMA user_version`` is the last one applied.
#: Migration 1 once also created the pawn book's tables (an existing ledger keeps them; a new one gets
#: them from :mod:`verifier.ledger.pawn_store`, whose script creates them only if they are missing).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        demo INTEGER NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE TRIGGER entries_append_only_u BEFORE UPDATE ON entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
    CREATE TRIGGER entries_append_only_d BEFORE DELETE ON entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
    CREATE TABLE checkpoints (seq INTEGER PRIMARY KEY, head_hash TEXT NOT NULL, ts TEXT NOT NULL, signature TEXT NOT NULL);
    CREATE TABLE outbox (seq INTEGER PRIMARY KEY, priority INTEGER NOT NULL DEFAULT 1);
    CREATE INDEX outbox_order ON outbox (priority, seq);
    CREATE TABLE sync_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        acked_seq INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt TEXT,
        last_success TEXT,
        failures INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO sync_state (id) VALUES (1);
    CREATE TABLE access_log (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        user TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        record TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX access_log_ts ON access_log (ts);
    """,
    """
    CREATE TRIGGER checkpoints_append_only_u BEFORE UPDATE ON checkpoints
        BEGIN SELECT RAISE(ABORT, 'ledger checkpoints are append-only'); END;
    CREATE TRIGGER checkpoints_append_only_d BEFORE DELETE ON checkpoints
        BEGIN SELECT RAISE(ABORT, 'ledger checkpoints are append-only'); END;
    ALTER TABLE sync_state ADD COLUMN backend_cp_seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sync_state ADD COLUMN backend_cp_hash TEXT;
    CREATE TRIGGER sync_state_monotonic BEFORE UPDATE ON sync_state
        WHEN NEW.acked_seq < OLD.acked_seq OR NEW.backend_cp_seq < OLD.backend_cp_seq
        BEGIN SELECT RAISE(ABORT, 'what the police backend acknowledged never goes back'); END;
    CREATE TRIGGER sync_state_kept BEFORE DELETE ON sync_state
        BEGIN SELECT RAISE(ABORT, 'the sync state is kept'); END;
    CREATE TABLE failed_appends (
        id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        retry_key TEXT,
        txn_id TEXT,
        contract_no TEXT,
        failed_at TEXT NOT NULL,
        error TEXT NOT NULL,
        recovered INTEGER NOT NULL,
        claimed INTEGER NOT NULL DEFAULT 0,
        reconciled_at TEXT NOT NULL
    );
    CREATE INDEX failed_appends_key ON failed_appends (retry_key) WHERE recovered = 1 AND claimed = 0;
    """,
    # the canonical form each entry is hashed over (verifier/ledger/canonical.py): NULL for the
    # entries written before RFC 8785 (legacy form), 'jcs' since; it is part of the hashed body
    """
    ALTER TABLE entries ADD COLUMN canon TEXT;
    """,
)


def split_sql(script: str) -> list[str]:
    """Split a migration script into statements (triggers keep their BEGIN ... END)."""
    statements, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            buf = []
    if "\n".join(buf).strip():
        statements.append("\n".join(buf).strip())
    return statements


def apply(conn: sqlite3.Connection, scripts: Sequence[str], version: int, name: str) -> int:
    """Run the scripts numbered above ``version`` (from 1) inside the caller's transaction; the new number."""
    for number, script in enumerate(scripts, start=1):
        if number <= version:
            continue
        for statement in split_sql(script):
            conn.execute(statement)
        log.info("%s migration %d applied", name, number)
        version = number
    return version


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the ledger's own tables to the last of :data:`MIGRATIONS` (one ``BEGIN IMMEDIATE`` transaction)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        new = apply(conn, MIGRATIONS, version, "ledger")
        if new != version:
            conn.execute(f"PRAGMA user_version={int(new)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def migrate_part(conn: sqlite3.Connection, name: str, scripts: Sequence[str]) -> None:
    """Bring the tables of part ``name`` to its last script, its number kept in ``meta`` as ``schema.<name>``.

    Runs inside a write transaction (pass it to the ledger's ``write``)."""
    key = f"schema.{name}"
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    version = int(row[0]) if row else 0
    new = apply(conn, scripts, version, name)
    if new != version:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (key, str(new)))


class Database:
    """The connections to one ledger file: the writer's, and one per reading thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        #: The one connection that writes; used only by the writer thread (and migrations before it starts).
        self.writer = self._connect()

    def _connect(self, query_only: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        if query_only:
            conn.execute("PRAGMA query_only=ON")
        with self._lock:
            self._conns.append(conn)
        return conn

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (opened on first use; it cannot write)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(query_only=True)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except sqlite3.Error:  # pragma: no cover
                    pass
            self._conns.clear()
