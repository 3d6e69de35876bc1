"""The failed-appends note: which appends the ledger reported to their callers as failed.

When a commit or its fsync fails, SQLite may still have written the transaction's frames to
the write-ahead log; at the next start WAL recovery replays them and the entry "reappears"
although its caller was told it failed (see "Can Applications Recover from fsync Failures?",
Rebello et al., USENIX ATC 2020: after a failed fsync the state on disk is unknown). So the
writer notes each failed append here (seq, entry hash, retry key; no personal data) and the
next start reconciles the note with the chain (:meth:`Recovery.reconcile`): an entry that came back
is recorded in the ``failed_appends`` table and given, once, to a retry that carries the same retry
key (:meth:`Recovery.claim`, used by the pawn book), so the retry does not append a duplicate.

The note must be writable when the disk is full, so its space is reserved at start-up: the file
is :data:`SIZE` bytes written in full (zeros when empty), and a note overwrites those bytes in
place (``pwrite``), which needs no new block. Its fsync is attempted but may fail with the disk:
the bytes still reach the file for a restart of the service (not for a power cut).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable

from verifier.ledger.entry import utc_now

log = logging.getLogger(__name__)

NAME = "ledger.failed-appends"
#: Bytes reserved: a failed group holds at most GROUP_MAX (64) appends of about 300 bytes each.
SIZE = 64 * 1024


def reserve(path: Path) -> None:
    """Create (or clear) the note: ``SIZE`` zero bytes, written and synced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"\0" * SIZE, 0)
        os.ftruncate(fd, SIZE)
        os.fsync(fd)
    finally:
        os.close(fd)


def write(path: Path, records: list[dict]) -> bool:
    """Overwrite the reserved note with ``records``; False (and a log line) when it could not be written."""
    data = json.dumps(records, separators=(",", ":")).encode()
    data += b"\0" * max(0, SIZE - len(data))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as e:
        log.error("cannot open the failed-appends note %s: %s", path, e)
        return False
    try:
        os.pwrite(fd, data, 0)
    except OSError as e:
        log.error("cannot write the failed-appends note %s: %s", path, e)
        return False
    else:
        try:
            os.fsync(fd)
        except OSError as e:  # the bytes are in the file for a restart, not for a power cut
            log.error("cannot sync the failed-appends note %s: %s", path, e)
        return True
    finally:
        os.close(fd)


def read(path: Path) -> list[dict]:
    """The noted failed appends ([] when none, or when the note is unreadable: said in the log)."""
    try:
        data = Path(path).read_bytes().rstrip(b"\0")
    except FileNotFoundError:
        return []
    if not data:
        return []
    try:
        records = json.loads(data)
        return [r for r in records if isinstance(r, dict) and isinstance(r.get("seq"), int) and isinstance(r.get("hash"), str)]
    except (ValueError, TypeError) as e:
        log.error("the failed-appends note %s is unreadable (%s): appends reported as failed cannot be reconciled", path, e)
        return []


class Recovery:
    """The ``failed_appends`` table: appends reported as failed, reconciled with the chain at start.

    ``write`` is the ledger's one write path, ``reader`` gives this thread's read connection."""

    def __init__(self, data_dir: Path, write: Callable[..., Any], reader: Callable[[], sqlite3.Connection]) -> None:
        self.note = Path(data_dir) / NAME
        self._write = write
        self._reader = reader
        self._pending = False  # some recovered entry is not claimed yet

    def reconcile(self) -> None:
        """Match the appends noted as failed with the chain, record them, then clear (reserve) the note."""
        records = read(self.note)
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
        reserve(self.note)
        self._pending = bool(self.recovered())

    def recovered(self) -> list[dict]:
        """Entries reported to their callers as failed that came back at restart, not yet claimed by a retry."""
        rows = self._reader().execute(
            "SELECT seq, txn_id, contract_no, failed_at, reconciled_at FROM failed_appends "
            "WHERE recovered = 1 AND claimed = 0 ORDER BY seq"
        ).fetchall()
        return [{"seq": r[0], "txn_id": r[1], "contract_no": r[2], "failed_at": r[3], "reconciled_at": r[4]} for r in rows]

    def claim(self, retry_key: str) -> int | None:
        """The seq of the recovered entry whose append carried ``retry_key``, once; None when there is none."""
        if not self._pending or not retry_key:
            return None

        def do(conn: sqlite3.Connection) -> int | None:
            row = conn.execute("SELECT id, seq FROM failed_appends WHERE retry_key = ? AND recovered = 1 AND claimed = 0 "
                               "ORDER BY id LIMIT 1", (retry_key,)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE failed_appends SET claimed = 1 WHERE id = ?", (row[0],))
            return row[1]

        seq = self._write(do)
        if seq is not None:
            self._pending = bool(self.recovered())
            log.warning("a retry matched ledger entry seq %d, recovered after a failed write: no duplicate recorded", seq)
        return seq
