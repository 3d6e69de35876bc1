"""The chain: the ledger's identity, appending entries, signed checkpoints, and reading entries back.

Entry *n* carries the SHA-256 of entry *n-1* (the first links to :data:`~verifier.ledger.entry.GENESIS`);
a plain hash chain, not a Merkle tree (format: :mod:`verifier.ledger.entry`). Every entry appended now is
hashed over its RFC 8785 form (``canon = 'jcs'``, stored beside it); entries appended before keep their
legacy form (``canon`` NULL). The payload is stored as
AES-256-GCM of its canonical JSON (in the entry's form) with associated data ``entry|<device_id>|<seq>``, so a payload moved
to another seq or device does not decrypt. An entry, its outbox row and its projection rows (the
``projectors``, e.g. the pawn book's) commit together or not at all (ARCHITECTURE.md "one write path").

Checkpoints: the device's Ed25519 key (RFC 8032) signs (device_id, seq, head hash, time) every
``checkpoint_every`` entries, on demand, at the end of an export and at a clean shutdown; one stored at
a seq is kept (append-only, RFC 9162 §2.1.4 style: a head once signed only grows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import LedgerError, TamperError
from verifier.ledger import keys as keymod
from verifier.ledger.canonical import JCS, jcs, jcs_loads
from verifier.ledger.entry import GENESIS, KINDS, Checkpoint, Entry, public_key_b64, utc_now
from verifier.ledger.schema import Database
from verifier.ledger.writer import Writer

log = logging.getLogger(__name__)

#: A projector runs inside the write transaction of each appended entry.
Projector = Callable[[sqlite3.Connection, Entry], None]

#: The columns of an entry row, in the order :meth:`Chain.entry_from_row` reads them (``canon`` included: it names
#: the canonical form the payload is in and is part of the hashed body). Every SELECT of entries uses it.
ENTRY_COLUMNS = "seq, ts, kind, demo, prev_hash, hash, payload, canon"


def entry_aad(device_id: str, seq: int) -> bytes:
    """Associated data of an entry's sealed payload: binds it to its device and seq."""
    return f"entry|{device_id}|{seq}".encode()


class Chain:
    """Entries and checkpoints of one device's ledger over ``db`` (reads) and ``writer`` (writes)."""

    def __init__(self, db: Database, writer: Writer, sealer: keymod.Sealer, device_key: Ed25519PrivateKey,
                 checkpoint_every: int) -> None:
        self.db = db
        self.writer = writer
        self.sealer = sealer
        self._device_key = device_key
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.projectors: list[Projector] = []
        self.last_appended = 0  # highest seq this process appended (committed)
        self._lock = threading.Lock()
        self.device_id = self._init_identity()

    def _init_identity(self) -> str:
        """The device id (from the device key), checked against the ledger's on every later start."""
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
                [("device_id", device_id), ("device_public_key", pub), ("key_check", keymod.check_key(self.sealer, None)),
                 ("created_at", utc_now())],
            )
            return device_id

        return self.writer.write(init)

    # --- signing -----------------------------------------------------------------------------
    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._device_key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._device_key.sign(data)

    # --- appending -------------------------------------------------------------------------
    def append(self, kind: str, payload: dict, demo: bool = False, *, priority: int | None = None,
               prepare: Callable[[sqlite3.Connection, dict], dict] | None = None, also: Projector | None = None,
               retry_key: str | None = None) -> Entry:
        """Append one entry: row + chain link + projections + outbox row in one SQLite transaction.

        ``prepare(conn, payload) -> payload`` runs inside the transaction before the entry
        is built (e.g. to number a contract); ``also(conn, entry)`` runs after it is stored
        (e.g. to store its photos); both commit or roll back with the entry. ``retry_key``
        (a blind fingerprint of what the caller would send again) is noted if the write fails,
        so that a retry can be matched with an entry recovered at restart.
        """
        if kind not in KINDS:
            raise LedgerError(f"entry kind: expected one of {KINDS}, found {kind!r}")
        if not isinstance(payload, dict):
            raise LedgerError(f"entry payload: expected a dict, found {type(payload).__name__}")
        if priority is None:
            priority = 0 if payload.get("type") == "suspicious" else 1

        def do(conn: sqlite3.Connection) -> Entry:
            body = prepare(conn, dict(payload)) if prepare is not None else payload
            payload_bytes = jcs(body)  # InputError for NaN, infinities, integers beyond ±(2^53 - 1): nothing written
            payload_plain = jcs_loads(payload_bytes)  # the entry holds exactly what is hashed
            row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            entry = Entry(seq=seq, device_id=self.device_id, ts=utc_now(), kind=kind, payload=payload_plain, prev_hash=prev,
                          demo=bool(demo), canon=JCS)
            digest = entry.hash
            conn.execute(
                "INSERT INTO entries (seq, ts, kind, demo, prev_hash, hash, payload, canon) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, entry.ts, kind, int(entry.demo), prev, digest, self.sealer.seal(payload_bytes, entry_aad(self.device_id, seq)),
                 entry.canon),
            )
            conn.execute("INSERT INTO outbox (seq, priority) VALUES (?, ?)", (seq, priority))
            for project in self.projectors:
                project(conn, entry)
            if also is not None:
                also(conn, entry)
            if seq % self.checkpoint_every == 0:
                self.store_checkpoint(conn, seq, digest)
            self.writer.appended(entry)
            return entry

        entry = self.writer.write(do, retry_key)
        with self._lock:
            self.last_appended = max(self.last_appended, entry.seq)
        return entry

    # --- checkpoints -------------------------------------------------------------------------
    def store_checkpoint(self, conn: sqlite3.Connection, seq: int, head_hash: str) -> Checkpoint:
        """Sign and store, inside a write; one already stored at ``seq`` is kept and returned."""
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
            seq, head = _head(conn)
            return self.store_checkpoint(conn, seq, head)

        return self.writer.write(do)

    def checkpoint_at(self, seq: int) -> Checkpoint:
        """A signed checkpoint for the stored hash at ``seq`` (for exports ending mid-ledger)."""
        row = self.db.reader().execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise LedgerError(f"no entry at seq {seq}")
        return self.writer.write(lambda conn: self.store_checkpoint(conn, seq, row[0]))

    def sign_head_at_shutdown(self) -> Checkpoint | None:
        """Sign the head if this process appended since the last checkpoint, unless the ledger now ends
        below what this process appended (entries were removed: said in the log, nothing signed)."""

        def do(conn: sqlite3.Connection) -> Checkpoint | None:
            seq, head = _head(conn)
            if seq < self.last_appended:
                log.error("the ledger ends at seq %d but this process appended up to seq %d: entries were removed; "
                          "the head is not signed", seq, self.last_appended)
                return None
            last = conn.execute("SELECT COALESCE(MAX(seq), -1) FROM checkpoints").fetchone()[0]
            return self.store_checkpoint(conn, seq, head) if seq > last else None

        return self.writer.write(do)

    def latest_checkpoint(self) -> Checkpoint | None:
        row = self.db.reader().execute("SELECT seq, head_hash, ts, signature FROM checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
        return Checkpoint(self.device_id, *row) if row else None

    def checkpoints(self, from_seq: int = 0, to_seq: int | None = None) -> list[Checkpoint]:
        rows = self.db.reader().execute(
            "SELECT seq, head_hash, ts, signature FROM checkpoints WHERE seq >= ? AND seq <= ? ORDER BY seq",
            (from_seq, to_seq if to_seq is not None else 2**62),
        ).fetchall()
        return [Checkpoint(self.device_id, *r) for r in rows]

    # --- reading -----------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        return _head(self.db.reader())

    def seq_range(self, from_ts: str, to_ts: str) -> tuple[int | None, int | None]:
        """First and last seq whose ``ts`` lies in [from_ts, to_ts] (text comparison); (None, None) when none."""
        return self.db.reader().execute("SELECT MIN(seq), MAX(seq) FROM entries WHERE ts >= ? AND ts <= ?",
                                        (from_ts, to_ts)).fetchone()

    def entry_from_row(self, row: tuple) -> Entry:
        """The entry of a row of :data:`ENTRY_COLUMNS`. A row without ``canon`` is refused: its entry would be read
        in the legacy form and carry another body and hash than the one stored (LEDGER.md "Canonical form")."""
        if len(row) != 8:
            raise LedgerError(f"an entry row: expected the {len(ENTRY_COLUMNS.split(','))} columns {ENTRY_COLUMNS}, "
                              f"found {len(row)}")
        seq, ts, kind, demo, prev_hash, _hash, sealed, form = row
        plain = self.sealer.open(sealed, entry_aad(self.device_id, seq), f"entry seq {seq}")
        payload = jcs_loads(plain) if form == JCS else json.loads(plain)
        return Entry(seq=seq, device_id=self.device_id, ts=ts, kind=kind, payload=payload, prev_hash=prev_hash, demo=bool(demo),
                     canon=form)

    def entries(self, after_seq: int = 0, limit: int = 500) -> list[Entry]:
        """Decrypted entries with seq > ``after_seq``, ascending, at most ``limit``."""
        try:
            rows = self.db.reader().execute(
                f"SELECT {ENTRY_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", (int(after_seq), int(limit)),
            ).fetchall()
        except sqlite3.Error as e:  # e.g. a column rewritten as text that is not UTF-8
            raise TamperError(f"entries after seq {after_seq} cannot be read ({e}): run `chipid ledger verify`") from e
        return [self.entry_from_row(r) for r in rows]

    def entries_by_seq(self, seqs: list[int]) -> list[Entry]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        rows = self.db.reader().execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE seq IN ({marks}) ORDER BY seq", [int(s) for s in seqs],
        ).fetchall()
        return [self.entry_from_row(r) for r in rows]


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)
