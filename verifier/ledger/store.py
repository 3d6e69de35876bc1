"""The shop's ledger on SQLite: append-only hash chain, signed checkpoints, outbox, one write path.

Storage (``DATA_DIR/ledger.sqlite``, plain :mod:`sqlite3`; WAL, ``synchronous=FULL``):

* ``entries``: one row per :class:`~verifier.ledger.entry.Entry`. ``seq``, ``ts``, ``kind``,
  ``demo``, ``prev_hash`` and ``hash`` are stored in clear; the payload (which holds the
  pawner's identity) is stored as AES-256-GCM of its canonical JSON, with associated data
  ``entry|<device_id>|<seq>``. The hash covers the *plaintext* canonical entry, so
  ``verify`` decrypts and re-hashes every entry. Triggers refuse UPDATE and DELETE.
* ``checkpoints``: Ed25519 signatures of the device over (device_id, seq, head hash, time),
  one every ``ledger.checkpoint_every`` entries and on demand.
* ``outbox``: the entries not yet acknowledged by the police backend (``suspicious`` events
  first); ``sync_state``: what the relay last achieved.
* projection tables of the pawn book (``verifier/ledger/pawn.py``), written in the same
  SQLite transaction as the entry they come from.

The chain is a plain hash chain (not a Merkle tree): entry *n* carries the SHA-256 of entry
*n-1*; the first links to :data:`GENESIS`. Simple to verify offline and linear to check.

**One write path**: every write goes through :meth:`Ledger._write`, served by one writer
thread with one connection, in ``BEGIN IMMEDIATE`` transactions (so other processes serialise
too). An entry, its chain link, its projection rows and its outbox row commit together or not
at all. Group commit: jobs waiting together share one transaction (each in its own SAVEPOINT,
so a refused job is rolled back alone) and one fsync; a caller is answered only after COMMIT.

**Fail-stop** (after "Can Applications Recover from fsync Failures?", USENIX ATC 2020): when a
write, COMMIT or its fsync fails (disk full, I/O error, read-only file system), the writer stops
taking writes for good (:class:`~verifier.errors.LedgerFailedError`, :attr:`Ledger.failed`),
because the state on disk is unknown. The appends of the failed group are noted
(:mod:`verifier.ledger.failed_appends`); at the next start an entry that was reported as failed
but came back from the write-ahead log is recorded (``failed_appends`` table,
:attr:`Ledger.recovered_after_failure`) and matched by its retry key, so a retry of the same
contract gets the recovered entry instead of a duplicate (:meth:`Ledger.claim_recovered`).

**Truncation** (RFC 9162 §2.1.4 style: a head once signed or acknowledged only grows):
checkpoints are append-only like entries; the clean shutdown signs the head
(:meth:`Ledger.close`); ``sync_state`` keeps the highest seq the police backend acknowledged and
the newest checkpoint it accepted, neither of which may go back; :meth:`Ledger.verify` fails
when the ledger ends before any of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.errors import LedgerError, LedgerFailedError, TamperError
from verifier.ledger import failed_appends
from verifier.ledger import keys as keymod
from verifier.ledger.entry import GENESIS, KINDS, Checkpoint, Entry, canonical_json, public_key_b64, utc_now

log = logging.getLogger(__name__)

DB_NAME = "ledger.sqlite"

#: Schema migrations, applied in order at start-up; ``schema_version`` records the last one.
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
    CREATE TABLE transactions (
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
    CREATE INDEX transactions_created ON transactions (created_at);
    CREATE INDEX transactions_status ON transactions (status);
    CREATE TABLE txn_terms (term TEXT NOT NULL, txn_id TEXT NOT NULL);
    CREATE INDEX txn_terms_term ON txn_terms (term);
    CREATE TABLE txn_entries (txn_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (txn_id, seq));
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        txn_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX photos_txn ON photos (txn_id);
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
)

#: SQLite primary result codes of a failed write or sync: the writer stops (fail-stop).
_FATAL_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL,
                          sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB})


def _fatal(e: BaseException) -> bool:
    return isinstance(e, sqlite3.Error) and (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in _FATAL_CODES

#: A projector runs inside the write transaction of each appended entry.
Projector = Callable[[sqlite3.Connection, Entry], None]


_PLAIN = re.compile(r"[0-9A-Za-z:.+_\-]*")


def _dumps(value: str) -> bytes:
    if _PLAIN.fullmatch(value):  # hex hashes, ISO times, ids: nothing to escape
        return b'"' + value.encode("ascii") + b'"'
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def canonical_from_parts(seq: int, device_id: str, ts: str, kind: str, payload_canonical: bytes, prev_hash: str, demo: bool) -> bytes:
    """``Entry.canonical()`` spliced from parts, without re-encoding the payload.

    Equal to ``canonical_json(entry.body())`` when ``payload_canonical`` is
    ``canonical_json(payload)`` (the form the ledger stores); keys in sorted order.
    """
    return b"".join(
        (
            b'{"demo":', b"true" if demo else b"false",
            b',"device_id":', _dumps(device_id),
            b',"kind":', _dumps(kind),
            b',"payload":', payload_canonical,
            b',"prev_hash":', _dumps(prev_hash),
            b',"seq":', str(int(seq)).encode(),
            b',"ts":', _dumps(ts),
            b"}",
        )
    )


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    checkpoints: int
    first_bad_seq: int | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "error": self.error,
        }


class Ledger:
    """The shop ledger. Open with :meth:`open`; thread-safe; one writer at a time."""

    def __init__(self, data_dir: Path, data_key: bytes, device_key: Ed25519PrivateKey, checkpoint_every: int = 100) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        self.sealer = keymod.Sealer(data_key)
        self._device_key = device_key
        self.checkpoint_every = max(1, int(checkpoint_every))
        self._lock = threading.RLock()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self.projectors: list[Projector] = []
        self._wconn = self._connect()
        self._migrate()
        self._closed = False
        self._failed: str | None = None
        self._last_appended = 0  # highest seq this process appended (committed)
        self._has_recovered = False
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._writer_loop, name="ledger-writer", daemon=True)
        self._writer.start()
        try:
            self.device_id = self._init_identity()
            self._reconcile()
        except BaseException:
            self.close()
            raise

    # --- opening -------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        data_dir: Path,
        key: bytes | None = None,
        *,
        config: Any = None,
        device_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
    ) -> "Ledger":
        """Open (creating on first start) the ledger in ``data_dir``.

        ``key`` is the 32-byte data key; when ``None`` it is resolved from the settings
        ``ledger.key_env`` / ``ledger.key_file`` of ``config`` (defaults when no config).
        """
        data_dir = Path(data_dir).expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        key_env = config["ledger.key_env"] if config is not None else keymod.DEFAULT_KEY_ENV
        key_file = config["ledger.key_file"] if config is not None else ""
        dev_file = config["ledger.device_key_file"] if config is not None else ""
        fresh = not (data_dir / DB_NAME).exists()  # keys are created with the ledger, never for an existing one
        if key is None:
            key = keymod.load_data_key(data_dir, key_env, key_file, create=fresh)
        if device_key is None:
            device_key = keymod.load_device_key(data_dir, dev_file, create=fresh)
        if checkpoint_every is None:
            checkpoint_every = config["ledger.checkpoint_every"] if config is not None else 100
        return cls(data_dir, key, device_key, checkpoint_every)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _read(self) -> sqlite3.Connection:
        """This thread's read connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _migrate(self) -> None:
        with self._lock:
            conn = self._wconn
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS, start=1):
                    if number <= version:
                        continue
                    for statement in _split_sql(script):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={number}")
                    log.info("ledger migration %d applied", number)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _init_identity(self) -> str:
        pub = public_key_b64(self._device_key.public_key())

        def init(conn: sqlite3.Connection) -> str:
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if "device_public_key" in rows:
                if rows["device_public_key"] != pub:
                    raise LedgerError("the device signing key does not match the key this ledger was created with")
                keymod.check_key(self.sealer, rows["key_check"])
                return str(rows["device_id"])
            device_id = "shop-" + hashlib.sha256(pub.encode()).hexdigest()[:16]
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("device_id", device_id), ("device_public_key", pub), ("key_check", keymod.check_key(self.sealer, None)), ("created_at", utc_now())],
            )
            return device_id

        return self._write(init)

    def close(self) -> None:
        """Sign the head if this process appended since the last checkpoint (a clean shutdown
        leaves a signed head, so a tail cut afterwards is seen), then stop the writer."""
        if not self._closed and self._failed is None and self._last_appended:
            try:
                self._write(self._sign_head_at_shutdown)
            except LedgerError as e:
                log.error("could not sign the ledger head at shutdown: %s", e)
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
            if self._writer.is_alive() and threading.current_thread() is not self._writer:
                self._writer.join(30)
        with self._conns_lock:
            for conn in self._conns:
                try:
                    conn.close()
                except sqlite3.Error:  # pragma: no cover
                    pass
            self._conns.clear()

    # --- the one write path ---------------------------------------------------------
    def _write(self, fn: Callable[[sqlite3.Connection], Any], retry_key: str | None = None) -> Any:
        """Run ``fn(conn)`` atomically on the one writer; returns once it is durably committed.

        Group commit: the writer thread takes every job waiting (up to :data:`GROUP_MAX`),
        runs each inside its own SAVEPOINT of one ``BEGIN IMMEDIATE`` transaction (a job
        that raises is rolled back alone and gets its exception), then commits once: one
        fsync for the group. Nobody is answered before the COMMIT succeeded. A write or sync
        error stops the writer for good (fail-stop, see the module docstring).
        """
        if threading.current_thread() is self._writer:  # nested write from inside a job
            return fn(self._wconn)
        job = _Job(fn, retry_key)
        if self._failed is not None:
            raise self._failed_error()
        if self._closed:
            raise LedgerError("the ledger is closed")
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            if isinstance(job.error, sqlite3.Error):
                raise LedgerError(f"ledger write failed: {job.error}") from job.error
            raise job.error
        return job.result

    def _writer_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < GROUP_MAX:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._run_group(batch)
            if stop:
                return

    def _run_group(self, batch: list["_Job"]) -> None:
        conn = self._wconn
        if self._failed is not None:  # queued before the failure
            for job in batch:
                job.error = self._failed_error()
                job.done.set()
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            if _fatal(e):
                self._fail(e, [])
            for job in batch:
                job.error = self._failed_error() if self._failed else LedgerError(f"cannot start a ledger write: {e}")
                job.done.set()
            return
        done: list[_Job] = []
        try:
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    job.result = job.fn(conn)
                    conn.execute("RELEASE job")
                    done.append(job)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    if _fatal(exc):
                        raise  # a write failed: the whole group fails, the ledger stops
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    job.error = exc
            conn.execute("COMMIT")
        except BaseException as e:  # noqa: BLE001 - the whole group failed: nobody is acknowledged
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:  # pragma: no cover
                pass
            if isinstance(e, sqlite3.Error):  # COMMIT, its fsync or a write failed: state on disk unknown
                self._fail(e, done)
            for job in batch:
                if job.error is None or self._failed is not None:
                    job.result = None
                    job.error = self._failed_error() if self._failed else LedgerError(f"ledger write failed: {e}")
        finally:
            for job in batch:
                job.done.set()

    # --- fail-stop -----------------------------------------------------------------------
    @property
    def failed(self) -> str | None:
        """Why the ledger stopped taking writes (None while it works)."""
        return self._failed

    def _failed_error(self) -> LedgerFailedError:
        return LedgerFailedError(
            f"the ledger failed to write ({self._failed}) and takes no more writes until the disk is fixed and the "
            "service restarted / Sổ cái ghi thất bại và ngừng nhận giao dịch mới; hãy kiểm tra ổ đĩa rồi khởi động lại dịch vụ"
        )

    def _fail(self, e: BaseException, done: list["_Job"]) -> None:
        """Stop taking writes; note the appends of the failed group for the next start."""
        self._failed = f"{type(e).__name__}: {e}"
        entries = [(j, j.result) for j in done if isinstance(j.result, Entry)]
        log.critical("ledger write failed (%s): the ledger takes no more writes (fail-stop); %d append(s) reported as "
                     "failed: seq %s", self._failed, len(entries), ", ".join(str(en.seq) for _, en in entries) or "none")
        if entries:
            now = utc_now()
            records = [{"seq": en.seq, "hash": en.hash, "retry_key": j.retry_key, "txn_id": _txn_ref(en.payload),
                        "contract_no": en.payload.get("contract_no"), "failed_at": now, "error": self._failed[:300]}
                       for j, en in entries]
            failed_appends.write(self.data_dir / failed_appends.NAME, records)

    def _reconcile(self) -> None:
        """At start: match the appends noted as failed with the chain (see the module docstring)."""
        note = self.data_dir / failed_appends.NAME
        records = failed_appends.read(note)
        if records:
            now = utc_now()

            def do(conn: sqlite3.Connection) -> list[tuple[dict, bool]]:
                out = []
                for r in records:
                    row = conn.execute("SELECT hash FROM entries WHERE seq = ?", (r["seq"],)).fetchone()
                    recovered = row is not None and row[0] == r["hash"]
                    conn.execute(
                        "INSERT INTO failed_appends (seq, hash, retry_key, txn_id, contract_no, failed_at, error, recovered, "
                        "reconciled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (r["seq"], r["hash"], r.get("retry_key"), r.get("txn_id"), r.get("contract_no"),
                         str(r.get("failed_at") or ""), str(r.get("error") or ""), int(recovered), now),
                    )
                    out.append((r, recovered))
                return out

            for r, recovered in self._write(do):
                if recovered:
                    log.warning("ledger entry seq %d (contract %s) was reported to its caller as failed but came back from "
                                "the write-ahead log at restart: it is in the chain, and a retry of it gets this entry",
                                r["seq"], r.get("contract_no") or r.get("txn_id") or "-")
                else:
                    log.warning("ledger append seq %d reported as failed is not in the chain: a retry records it", r["seq"])
        failed_appends.reserve(note)
        self._has_recovered = bool(self.recovered_after_failure)

    @property
    def recovered_after_failure(self) -> list[dict]:
        """Entries reported to their callers as failed that came back at restart, not yet claimed by a retry."""
        rows = self._read().execute(
            "SELECT seq, txn_id, contract_no, failed_at, reconciled_at FROM failed_appends "
            "WHERE recovered = 1 AND claimed = 0 ORDER BY seq"
        ).fetchall()
        return [{"seq": r[0], "txn_id": r[1], "contract_no": r[2], "failed_at": r[3], "reconciled_at": r[4]} for r in rows]

    def claim_recovered(self, retry_key: str) -> Entry | None:
        """The entry reported as failed but recovered whose append carried ``retry_key``, once:
        a retry gets it instead of appending a duplicate. None when there is none."""
        if not self._has_recovered or not retry_key:
            return None

        def do(conn: sqlite3.Connection) -> int | None:
            row = conn.execute("SELECT id, seq FROM failed_appends WHERE retry_key = ? AND recovered = 1 AND claimed = 0 "
                               "ORDER BY id LIMIT 1", (retry_key,)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE failed_appends SET claimed = 1 WHERE id = ?", (row[0],))
            return row[1]

        seq = self._write(do)
        if seq is None:
            return None
        self._has_recovered = bool(self.recovered_after_failure)
        log.warning("a retry matched ledger entry seq %d, recovered after a failed write: no duplicate recorded", seq)
        return self.entries_by_seq([seq])[0]

    def _sign_head_at_shutdown(self, conn: sqlite3.Connection) -> Checkpoint | None:
        row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, head = (row[0], row[1]) if row else (0, GENESIS)
        if seq < self._last_appended:
            log.error("the ledger ends at seq %d but this process appended up to seq %d: entries were removed; "
                      "the head is not signed", seq, self._last_appended)
            return None
        last = conn.execute("SELECT COALESCE(MAX(seq), -1) FROM checkpoints").fetchone()[0]
        return self._store_checkpoint(conn, seq, head) if seq > last else None

    def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Public access to the one write path (projections, access log, photos)."""
        return self._write(fn)

    def _aad(self, seq: int) -> bytes:
        return f"entry|{self.device_id}|{seq}".encode()

    def append(
        self,
        kind: str,
        payload: dict,
        demo: bool = False,
        *,
        priority: int | None = None,
        prepare: Callable[[sqlite3.Connection, dict], dict] | None = None,
        also: Projector | None = None,
        retry_key: str | None = None,
    ) -> Entry:
        """Append one entry: row + chain link + projections + outbox row in one SQLite transaction.

        ``prepare(conn, payload) -> payload`` runs inside the transaction before the entry
        is built (e.g. to number a contract); ``also(conn, entry)`` runs after it is stored
        (e.g. to store its photos); both commit or roll back with the entry. ``retry_key``
        (a blind fingerprint of what the caller would send again) is noted if the write fails,
        so that :meth:`claim_recovered` can match a retry with an entry recovered at restart.
        """
        if kind not in KINDS:
            raise LedgerError(f"entry kind: expected one of {KINDS}, found {kind!r}")
        if not isinstance(payload, dict):
            raise LedgerError(f"entry payload: expected a dict, found {type(payload).__name__}")
        if priority is None:
            priority = 0 if payload.get("type") == "suspicious" else 1

        def do(conn: sqlite3.Connection) -> Entry:
            body = prepare(conn, dict(payload)) if prepare is not None else payload
            payload_bytes = canonical_json(body)
            payload_plain = json.loads(payload_bytes)  # the entry holds exactly what is hashed
            row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            entry = Entry(seq=seq, device_id=self.device_id, ts=utc_now(), kind=kind, payload=payload_plain, prev_hash=prev, demo=bool(demo))
            digest = entry.hash
            conn.execute(
                "INSERT INTO entries (seq, ts, kind, demo, prev_hash, hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, entry.ts, kind, int(entry.demo), prev, digest, self.sealer.seal(payload_bytes, self._aad(seq))),
            )
            conn.execute("INSERT INTO outbox (seq, priority) VALUES (?, ?)", (seq, priority))
            for project in self.projectors:
                project(conn, entry)
            if also is not None:
                also(conn, entry)
            if seq % self.checkpoint_every == 0:
                self._store_checkpoint(conn, seq, digest)
            return entry

        entry = self._write(do, retry_key)
        with self._lock:
            self._last_appended = max(self._last_appended, entry.seq)
        return entry

    def _store_checkpoint(self, conn: sqlite3.Connection, seq: int, head_hash: str) -> Checkpoint:
        """Checkpoints are append-only: one already stored at ``seq`` is kept and returned."""
        cp = Checkpoint(self.device_id, seq, head_hash, utc_now()).signed(self._device_key)
        stored = conn.execute(
            "INSERT INTO checkpoints (seq, head_hash, ts, signature) VALUES (?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
            (cp.seq, cp.head_hash, cp.ts, cp.signature),
        ).rowcount
        if stored:
            return cp
        row = conn.execute("SELECT seq, head_hash, ts, signature FROM checkpoints WHERE seq = ?", (seq,)).fetchone()
        return Checkpoint(self.device_id, *row)

    def checkpoint(self) -> Checkpoint:
        """Sign and store a checkpoint of the current head now (seq 0 / GENESIS when empty)."""

        def do(conn: sqlite3.Connection) -> Checkpoint:
            row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, head = (row[0], row[1]) if row else (0, GENESIS)
            return self._store_checkpoint(conn, seq, head)

        return self._write(do)

    def checkpoint_at(self, seq: int) -> Checkpoint:
        """A signed checkpoint for the stored hash at ``seq`` (for exports ending mid-ledger)."""
        row = self._read().execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise LedgerError(f"no entry at seq {seq}")
        return self._write(lambda conn: self._store_checkpoint(conn, seq, row[0]))

    # --- signing ---------------------------------------------------------------------
    def sign(self, data: bytes) -> bytes:
        return self._device_key.sign(data)

    def public_key_b64(self) -> str:
        return public_key_b64(self._device_key.public_key())

    # --- reading ---------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        row = self._read().execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def _entry_from_row(self, row: tuple) -> Entry:
        seq, ts, kind, demo, prev_hash, _hash, sealed = row
        payload = json.loads(self.sealer.open(sealed, self._aad(seq), f"entry seq {seq}"))
        return Entry(seq=seq, device_id=self.device_id, ts=ts, kind=kind, payload=payload, prev_hash=prev_hash, demo=bool(demo))

    def entries(self, after_seq: int = 0, limit: int = 500) -> list[Entry]:
        """Decrypted entries with seq > ``after_seq``, ascending, at most ``limit``."""
        try:
            rows = self._read().execute(
                "SELECT seq, ts, kind, demo, prev_hash, hash, payload FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                (int(after_seq), int(limit)),
            ).fetchall()
        except sqlite3.Error as e:  # e.g. a column rewritten as text that is not UTF-8
            raise TamperError(f"entries after seq {after_seq} cannot be read ({e}): run `chipid ledger verify`") from e
        return [self._entry_from_row(r) for r in rows]

    def entries_by_seq(self, seqs: list[int]) -> list[Entry]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        rows = self._read().execute(
            f"SELECT seq, ts, kind, demo, prev_hash, hash, payload FROM entries WHERE seq IN ({marks}) ORDER BY seq",
            [int(s) for s in seqs],
        ).fetchall()
        return [self._entry_from_row(r) for r in rows]

    def latest_checkpoint(self) -> Checkpoint | None:
        row = self._read().execute("SELECT seq, head_hash, ts, signature FROM checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
        return Checkpoint(self.device_id, row[0], row[1], row[2], row[3]) if row else None

    def checkpoints(self, from_seq: int = 0, to_seq: int | None = None) -> list[Checkpoint]:
        rows = self._read().execute(
            "SELECT seq, head_hash, ts, signature FROM checkpoints WHERE seq >= ? AND seq <= ? ORDER BY seq",
            (from_seq, to_seq if to_seq is not None else 2**62),
        ).fetchall()
        return [Checkpoint(self.device_id, *r) for r in rows]

    # --- sync (outbox) ---------------------------------------------------------------
    def outbox(self, limit: int = 500) -> list[Entry]:
        """Entries not yet acknowledged, ``suspicious`` events first, then by seq."""
        seqs = [r[0] for r in self._read().execute("SELECT seq FROM outbox ORDER BY priority, seq LIMIT ?", (int(limit),))]
        by_seq = {e.seq: e for e in self.entries_by_seq(seqs)}
        return [by_seq[s] for s in seqs]

    def sync_state(self) -> dict:
        conn = self._read()
        row = conn.execute("SELECT acked_seq, last_error, last_attempt, last_success, failures FROM sync_state WHERE id = 1").fetchone()
        pending = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        head_seq, _ = self.head()
        return {
            "device_id": self.device_id,
            "head_seq": head_seq,
            "acked_seq": row[0],
            "pending": pending,
            "last_error": row[1],
            "last_attempt": row[2],
            "last_success": row[3],
            "failures": row[4],
        }

    def record_sync(self, acked_seq: int | None, error: str | None, *, checkpoint: Checkpoint | None = None) -> None:
        """Record a relay attempt: the backend acknowledged every entry up to ``acked_seq``
        (and accepted ``checkpoint``). Neither ever goes back; :meth:`verify` checks the
        ledger still reaches them."""
        now = utc_now()

        def do(conn: sqlite3.Connection) -> None:
            if checkpoint is not None and checkpoint.seq > 0:
                conn.execute(
                    "UPDATE sync_state SET backend_cp_seq = ?, backend_cp_hash = ? WHERE id = 1 AND backend_cp_seq < ?",
                    (checkpoint.seq, checkpoint.head_hash, checkpoint.seq),
                )
            if acked_seq is not None:
                conn.execute("DELETE FROM outbox WHERE seq <= ?", (int(acked_seq),))
                conn.execute(
                    "UPDATE sync_state SET acked_seq = MAX(acked_seq, ?), last_success = ?, last_attempt = ? WHERE id = 1",
                    (int(acked_seq), now, now),
                )
            if error is not None:
                conn.execute(
                    "UPDATE sync_state SET last_error = ?, last_attempt = ?, failures = failures + 1 WHERE id = 1",
                    (str(error)[:2000], now),
                )
            elif acked_seq is not None:
                conn.execute("UPDATE sync_state SET last_error = NULL, failures = 0 WHERE id = 1")

        self._write(do)

    def ack_entries(self, seqs: list[int]) -> None:
        """Remove individually acknowledged entries (e.g. ``suspicious`` sent ahead) from the outbox."""
        self._write(lambda conn: conn.executemany("DELETE FROM outbox WHERE seq = ?", [(int(s),) for s in seqs]))

    # --- access log ------------------------------------------------------------------
    def log_access(self, user: str, role: str, action: str, record: str, detail: str = "") -> None:
        """Who read which personal record, when (no personal data in the log itself)."""
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO access_log (ts, user, role, action, record, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (utc_now(), user, role, action, record, detail),
            )
        )

    def access_log(self, *, user: str | None = None, record: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """Newest first; ``(rows, total)``."""
        where, args = [], []
        if user:
            where.append("user = ?")
            args.append(user)
        if record:
            where.append("record = ?")
            args.append(record)
        clause = " AND ".join(where) or "1"
        conn = self._read()
        total = conn.execute(f"SELECT COUNT(*) FROM access_log WHERE {clause}", args).fetchone()[0]
        cur = conn.execute(f"SELECT id, ts, user, role, action, record, detail FROM access_log WHERE {clause} "
                           "ORDER BY id DESC LIMIT ? OFFSET ?", [*args, int(limit), int(offset)])
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, row)) for row in cur], total

    # --- verification ------------------------------------------------------------------
    def verify(self, workers: int = 1, parallel_min: int = 50_000) -> VerifyReport:
        """Decrypt and re-hash every entry, check the links and every checkpoint signature.

        Names the first bad entry. Checks, in order per entry: every column reads as stored
        (text that is not UTF-8 names the entry), seq continuity, the payload decrypts
        (AES-GCM tag, bound to its seq), the recomputed hash equals the stored one,
        ``prev_hash`` links to the previous entry; then each checkpoint, then that the ledger
        reaches the checkpoint the police backend holds and the seq it acknowledged.

        ``workers > 1`` splits the seq range over forked processes (each recomputes its
        entries' hashes; the links between ranges are checked here). Use it only from a
        single-threaded process (the CLI), never inside the service.
        """
        try:
            cps = self.checkpoints()
            acked, bcp_seq, bcp_hash = self._read().execute(
                "SELECT acked_seq, backend_cp_seq, backend_cp_hash FROM sync_state WHERE id = 1").fetchone()
        except (sqlite3.Error, TypeError) as e:  # TypeError: no sync_state row
            return VerifyReport(False, 0, 0, GENESIS, 0, 0, f"the checkpoints or the sync state cannot be read: {e}")
        want = frozenset([cp.seq for cp in cps] + [bcp_seq])
        max_seq = self._read().execute("SELECT COALESCE(MAX(seq), 0) FROM entries").fetchone()[0]
        if workers > 1 and max_seq >= parallel_min:
            import multiprocessing

            step = -(-max_seq // (workers * 4))
            ranges = [(lo, min(max_seq, lo + step - 1)) for lo in range(1, max_seq + 1, step)]
            global _FORKED
            _FORKED = (self, want)
            try:
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    parts = pool.map(_verify_range_forked, ranges, chunksize=1)
            finally:
                _FORKED = None
        else:
            parts = [self._verify_range(1, max_seq, want, self._read())] if max_seq else []
        prev, count, hashes_at = GENESIS, 0, {}
        try:
            for part in parts:
                if part["count"] and part["first_prev"] != prev:
                    first = part["first_seq"]
                    raise _Bad(first, f"entry seq {first}: prev_hash {part['first_prev'][:16]}… does not link to entry {first - 1} ({prev[:16]}…)")
                if part["bad"] is not None:
                    count += part["count"]
                    prev = part["last_hash"] or prev
                    raise _Bad(*part["bad"])
                count += part["count"]
                prev = part["last_hash"] or prev
                hashes_at.update(part["hashes_at"])
            head_seq = count
            pub = self._device_key.public_key()
            for cp in cps:
                try:
                    cp.verify(pub)
                except TamperError as e:
                    raise _Bad(cp.seq, f"checkpoint at seq {cp.seq}: signature does not verify") from e
                if cp.seq == 0:
                    if cp.head_hash != GENESIS:
                        raise _Bad(0, "checkpoint at seq 0 does not sign the genesis hash")
                    continue
                if cp.seq > head_seq:
                    raise _Bad(head_seq + 1, f"a signed checkpoint covers seq {cp.seq} but the ledger ends at seq {head_seq}: entries were removed")
                if hashes_at.get(cp.seq) != cp.head_hash:
                    raise _Bad(cp.seq, f"entry seq {cp.seq}: hash differs from the one signed in the checkpoint at seq {cp.seq}")
            if bcp_seq > head_seq:
                raise _Bad(head_seq + 1, f"the police backend holds a signed checkpoint at seq {bcp_seq} but the ledger "
                                         f"ends at seq {head_seq}: entries were removed")
            if bcp_seq and hashes_at.get(bcp_seq) != bcp_hash:
                raise _Bad(bcp_seq, f"entry seq {bcp_seq}: hash differs from the checkpoint the police backend holds")
            if acked > head_seq:
                raise _Bad(head_seq + 1, f"the police backend acknowledged entries up to seq {acked} but the ledger "
                                         f"ends at seq {head_seq}: entries were removed")
        except _Bad as bad:
            return VerifyReport(False, count, count, prev, len(cps), bad.seq, bad.message)
        return VerifyReport(True, count, head_seq, prev, len(cps))

    def _verify_range(self, lo: int, hi: int, want: frozenset, conn: sqlite3.Connection, batch: int = 20000) -> dict:
        """Check entries lo..hi: contiguous seqs, decryption, hash, and links inside the range."""
        sealer, device_id = self.sealer, self.device_id
        sha256 = hashlib.sha256
        # canonical_from_parts, unrolled: the constant parts are encoded once
        dev = _dumps(device_id)
        pre = {False: b'{"demo":false,"device_id":' + dev + b',"kind":', True: b'{"demo":true,"device_id":' + dev + b',"kind":'}
        kind_b = {k: _dumps(k) + b',"payload":' for k in KINDS}
        aad_pre = f"entry|{device_id}|"
        decrypt = sealer._aead.decrypt

        def q(text: str) -> bytes:
            if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
                return b'"' + text.encode("ascii") + b'"'
            return json.dumps(text, ensure_ascii=False).encode("utf-8")
        out = {"first_seq": lo, "first_prev": None, "last_hash": None, "count": 0, "hashes_at": {}, "bad": None}
        prev = None
        expected = lo
        try:
            while expected <= hi:
                unreadable = None
                try:
                    rows = conn.execute(
                        "SELECT seq, ts, kind, demo, prev_hash, hash, payload FROM entries WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
                        (expected, hi, batch),
                    ).fetchall()
                except sqlite3.Error:  # a text column that is not UTF-8: read the rows before it, name it
                    rows, unreadable = _readable_prefix(conn, expected, hi, batch)
                if not rows and unreadable is None:
                    raise _Bad(expected, f"entry seq {expected} is missing (the ledger ends before seq {hi})")
                for seq, ts, kind, demo, prev_hash, stored_hash, sealed in rows:
                    if seq != expected:
                        raise _Bad(expected, f"entry seq {expected} is missing (next stored entry is seq {seq})")
                    if kind not in KINDS:
                        raise _Bad(seq, f"entry seq {seq}: unknown kind {kind!r}")
                    try:
                        plain = decrypt(sealed[:12], sealed[12:], (aad_pre + str(seq)).encode())
                    except (InvalidTag, ValueError, TypeError) as e:
                        raise _Bad(seq, f"entry seq {seq}: does not decrypt (modified, moved, or a different data key)") from e
                    digest = sha256(b"".join((pre[bool(demo)], kind_b[kind], plain, b',"prev_hash":', q(prev_hash),
                                              b',"seq":', str(seq).encode(), b',"ts":', q(ts), b"}"))).hexdigest()
                    if digest != stored_hash:
                        raise _Bad(seq, f"entry seq {seq}: content hashes to {digest[:16]}… but the stored hash is {stored_hash[:16]}…")
                    if prev is None:
                        out["first_prev"] = prev_hash
                    elif prev_hash != prev:
                        raise _Bad(seq, f"entry seq {seq}: prev_hash {prev_hash[:16]}… does not link to entry {seq - 1} ({prev[:16]}…)")
                    if seq in want:
                        out["hashes_at"][seq] = digest
                    prev = digest
                    expected += 1
                    out["count"] += 1
                if unreadable is not None:
                    seq, column = unreadable
                    if seq != expected:
                        raise _Bad(expected, f"entry seq {expected} is missing (next stored entry is seq {seq})")
                    raise _Bad(seq, f"entry seq {seq}: {column} is not UTF-8 text (rewritten outside the ledger)")
        except _Bad as bad:
            out["bad"] = (bad.seq, bad.message)
        out["last_hash"] = prev
        return out


_FORKED: tuple | None = None


def _verify_range_forked(bounds: tuple[int, int]) -> dict:
    ledger, want = _FORKED  # inherited through fork
    conn = sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True, timeout=30.0)
    try:
        return ledger._verify_range(bounds[0], bounds[1], want, conn)
    finally:
        conn.close()


#: Largest number of writes committed together by the writer.
GROUP_MAX = 64


class _Job:
    __slots__ = ("fn", "done", "result", "error", "retry_key")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], retry_key: str | None = None) -> None:
        self.fn = fn
        self.retry_key = retry_key
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class _Bad(Exception):
    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.message = message


_TEXT_COLUMNS = ("ts", "kind", "prev_hash", "hash")


def _readable_prefix(conn: sqlite3.Connection, lo: int, hi: int, limit: int) -> tuple[list[tuple], tuple[int, str] | None]:
    """Rows lo..hi as :meth:`Ledger._verify_range` reads them, up to the first whose text is
    not UTF-8; returns them and ``(seq, column)`` of that row (None when all read)."""
    casts = ", ".join(f"CAST({c} AS BLOB)" for c in _TEXT_COLUMNS)
    rows: list[tuple] = []
    for seq, demo, payload, *texts in conn.execute(
        f"SELECT seq, demo, CAST(payload AS BLOB), typeof(payload), {casts} FROM entries WHERE seq >= ? AND seq <= ? "
        "ORDER BY seq LIMIT ?", (lo, hi, limit),
    ):
        kind_of_payload, raw = texts[0], texts[1:]
        try:
            ts, kind, prev_hash, stored_hash = (b.decode("utf-8") if b is not None else None for b in raw)
        except UnicodeDecodeError:
            bad = next(c for c, b in zip(_TEXT_COLUMNS, raw) if b is not None and not _utf8(b))
            return rows, (seq, bad)
        if kind_of_payload == "text" and not _utf8(payload):
            return rows, (seq, "payload")
        rows.append((seq, ts, kind, demo, prev_hash, stored_hash, payload))
    return rows, None


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _txn_ref(payload: dict) -> str | None:
    """The contract an entry belongs to (its id, or the id its event names): no personal data."""
    ref = payload.get("id") if payload.get("type") == "pawn_contract" else payload.get("txn_id")
    return str(ref) if ref is not None else None


def _split_sql(script: str) -> list[str]:
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
