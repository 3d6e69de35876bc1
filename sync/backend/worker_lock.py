"""One background worker of a kind per backend database, however many backend processes serve it.

``chipid backend serve --workers N`` runs N processes, each with the same background threads (the
evidence worker, the alert rules). Work that must happen once per database, not once per process,
holds :func:`exclusive`: a PostgreSQL session advisory lock (released when its connection ends, so a
killed process frees it), or an ``flock`` on a file beside a SQLite database. The holder keeps it while
it runs; the others look again now and then, and take over when the holder stops or dies. The workers
run at the lowest CPU priority (:func:`lower_priority`, :data:`NICE`): ingest, which a shop waits for, first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
from collections.abc import Iterator

from sqlalchemy import text

from sync.backend.db import Database

#: PostgreSQL advisory lock keys (727001 is the schema migration's).
EVIDENCE = 727019
ALERT_RULES = 727023
_NAMES = {EVIDENCE: "evidence", ALERT_RULES: "alert-rules"}
#: The background workers' CPU niceness: ingest, which a shop waits for, first; a worker takes what it leaves
#: (at 10 the evidence worker still took about 7% of two saturated cores from ingest).
NICE = 19


def lower_priority(nice: int = NICE, tid: int = 0) -> None:
    """Lower the CPU priority of thread ``tid`` (Linux; 0: the calling process) to ``nice``, never raising it."""
    with contextlib.suppress(OSError):
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)


def lower_thread_priority(nice: int = NICE) -> None:
    """:func:`lower_priority` of the calling thread alone where a thread has its own priority (Linux;
    elsewhere a priority is the whole process's, ingest's too, and is left alone)."""
    if sys.platform.startswith("linux"):
        lower_priority(nice, threading.get_native_id())


@contextlib.contextmanager
def exclusive(db: Database, key: int) -> Iterator[bool]:
    """True inside when this process holds the database's lock ``key`` (:data:`EVIDENCE`, :data:`ALERT_RULES`);
    False when another process has it. An in-memory SQLite database has no other process: always True."""
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    path = db.url.split("///", 1)[-1] if db.url.startswith("sqlite:///") else ""
    if not path:
        yield True
        return
    with open(f"{path}.{_NAMES[key]}-lock", "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
