"""The failed-appends note: which appends the ledger reported to their callers as failed.

When a commit or its fsync fails, SQLite may still have written the transaction's frames to
the write-ahead log; at the next start WAL recovery replays them and the entry "reappears"
although its caller was told it failed (see "Can Applications Recover from fsync Failures?",
Rebello et al., USENIX ATC 2020: after a failed fsync the state on disk is unknown). So the
writer notes each failed append here (seq, entry hash, retry key; no personal data) and the
next start reconciles the note with the chain (:meth:`verifier.ledger.store.Ledger._reconcile`).

The note must be writable when the disk is full, so its space is reserved at start-up: the file
is :data:`SIZE` bytes written in full (zeros when empty), and a note overwrites those bytes in
place (``pwrite``), which needs no new block. Its fsync is attempted but may fail with the disk:
the bytes still reach the file for a restart of the service (not for a power cut).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

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
