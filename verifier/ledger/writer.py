"""The ledger's one write path: a writer thread, group commit, fail-stop, and on-commit listeners.

Every write goes through :meth:`Writer.write`, served by one thread with one connection, in
``BEGIN IMMEDIATE`` transactions (so other processes serialise too). Group commit: the jobs
waiting together share one transaction, each in its own SAVEPOINT (a refused job is rolled back
alone and gets its exception), and one COMMIT, so one fsync (``synchronous=FULL``, SQLite "WAL
mode" §3); a caller is answered only after the COMMIT returned.

**On commit**: after a group's COMMIT succeeded (the entries are durable) and before its callers
are answered, every listener registered with :meth:`Writer.on_commit` is called once with the
group's appended entries, in seq order, as :class:`EntryRef` (seq, kind, hash and the contract
they belong to; no personal data). Listeners run on the writer thread: they must be quick (publish
an event, set a wake-up flag). One that raises is logged and skipped; it never fails the commit.
Nothing is published for a group that failed.

**Fail-stop** (after "Can Applications Recover from fsync Failures?", Rebello et al., USENIX ATC
2020): when a write, COMMIT or its fsync fails (disk full, I/O error, read-only file system), the
writer stops taking writes for good (:class:`~verifier.errors.LedgerFailedError`), because the
state on disk is unknown, and notes the appends of the failed group
(:mod:`verifier.ledger.failed_appends`) for the next start to reconcile.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from verifier.errors import LedgerError, LedgerFailedError
from verifier.ledger import failed_appends
from verifier.ledger.entry import Entry, utc_now

log = logging.getLogger(__name__)

#: Largest number of writes committed together by the writer.
GROUP_MAX = 64

#: SQLite primary result codes of a failed write or sync: the writer stops (fail-stop).
FATAL_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL,
                         sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB})


def is_fatal(e: BaseException) -> bool:
    """A write or sync failure after which the state on disk is unknown."""
    return isinstance(e, sqlite3.Error) and (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in FATAL_CODES


@dataclass(frozen=True)
class EntryRef:
    """What may be said of an appended entry outside the ledger: no personal data."""

    seq: int
    kind: str
    hash: str
    demo: bool
    type: str | None  # payload.type: pawn_contract, redeemed, ...
    txn_id: str | None  # the contract it is or belongs to
    contract_no: str | None

    @classmethod
    def of(cls, entry: Entry) -> "EntryRef":
        p = entry.payload
        ref = p.get("id") if p.get("type") == "pawn_contract" else p.get("txn_id")
        no = p.get("contract_no")
        return cls(entry.seq, entry.kind, entry.hash, entry.demo, p.get("type"), str(ref) if ref is not None else None,
                   str(no) if no is not None else None)


#: Called with the entries of each committed group, in seq order.
CommitListener = Callable[[list[EntryRef]], None]


class Job:
    """One write waiting for the writer: its function, the entries it appended, its outcome."""

    __slots__ = ("fn", "done", "result", "error", "retry_key", "entries")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], retry_key: str | None = None) -> None:
        self.fn = fn
        self.retry_key = retry_key
        self.entries: list[Entry] = []
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Writer:
    """The writer thread over ``conn``; ``note_path`` is the failed-appends note (fail-stop)."""

    def __init__(self, conn: sqlite3.Connection, note_path: Path) -> None:
        self.conn = conn
        self.note_path = Path(note_path)
        self.closed = False
        self._failed: str | None = None
        self._listeners: list[CommitListener] = []
        self._current: Job | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="ledger-writer", daemon=True)
        self._thread.start()

    # --- writing ---------------------------------------------------------------------------
    def write(self, fn: Callable[[sqlite3.Connection], Any], retry_key: str | None = None) -> Any:
        """Run ``fn(conn)`` atomically on the writer; returns once it is durably committed.

        A write or sync error stops the writer for good (fail-stop, see the module docstring).
        ``retry_key`` (a blind fingerprint of what the caller would send again) goes into the
        failed-appends note if the write fails.
        """
        if self.in_writer():  # nested write from inside a job: part of that job
            return fn(self.conn)
        job = Job(fn, retry_key)
        if self._failed is not None:
            raise self.failed_error()
        if self.closed:
            raise LedgerError("the ledger is closed")
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            if isinstance(job.error, sqlite3.Error):
                raise LedgerError(f"ledger write failed: {job.error}") from job.error
            raise job.error
        return job.result

    def in_writer(self) -> bool:
        return threading.current_thread() is self._thread

    def appended(self, entry: Entry) -> None:
        """Called by the job that stored ``entry``: it is announced when the group commits (or noted if it fails)."""
        if self._current is None or not self.in_writer():
            raise LedgerError("an entry is appended only inside a ledger write")
        self._current.entries.append(entry)

    # --- on commit -------------------------------------------------------------------------
    def on_commit(self, listener: CommitListener) -> Callable[[], None]:
        """Call ``listener`` with the entries of each committed group; returns a function that unregisters it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _announce(self, jobs: list[Job]) -> None:
        refs = [EntryRef.of(e) for job in jobs for e in job.entries]
        if not refs:
            return
        for listener in list(self._listeners):
            try:
                listener(refs)
            except Exception:  # noqa: BLE001 - a listener never fails a commit that already happened
                log.exception("a ledger on-commit listener failed (entries up to seq %d are committed)", refs[-1].seq)

    # --- the thread ------------------------------------------------------------------------
    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread once the writes queued before are done."""
        if self.closed:
            return
        self.closed = True
        self._jobs.put(None)
        if self._thread.is_alive() and not self.in_writer():
            self._thread.join(timeout)

    def _loop(self) -> None:
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

    def _run_group(self, batch: list[Job]) -> None:
        conn = self.conn
        if self._failed is not None:  # queued before the failure
            for job in batch:
                job.error = self.failed_error()
                job.done.set()
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            if is_fatal(e):
                self._fail(e, [])
            for job in batch:
                job.error = self.failed_error() if self._failed else LedgerError(f"cannot start a ledger write: {e}")
                job.done.set()
            return
        done: list[Job] = []
        committed = False
        try:
            for job in batch:
                conn.execute("SAVEPOINT job")
                self._current = job
                try:
                    job.result = job.fn(conn)
                    conn.execute("RELEASE job")
                    done.append(job)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    if is_fatal(exc):
                        raise  # a write failed: the whole group fails, the ledger stops
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    job.entries.clear()
                    job.error = exc
                finally:
                    self._current = None
            conn.execute("COMMIT")
            committed = True
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
                    job.error = self.failed_error() if self._failed else LedgerError(f"ledger write failed: {e}")
        finally:
            if committed:
                self._announce(done)  # durable now; before the callers are answered, so they see it published
            for job in batch:
                job.done.set()

    # --- fail-stop -------------------------------------------------------------------------
    @property
    def failed(self) -> str | None:
        """Why the writer stopped taking writes (None while it works)."""
        return self._failed

    def failed_error(self) -> LedgerFailedError:
        return LedgerFailedError(
            f"the ledger failed to write ({self._failed}) and takes no more writes until the disk is fixed and the "
            "service restarted / Sổ cái ghi thất bại và ngừng nhận giao dịch mới; hãy kiểm tra ổ đĩa rồi khởi động lại dịch vụ"
        )

    def _fail(self, e: BaseException, done: list[Job]) -> None:
        """Stop taking writes; note the appends of the failed group for the next start."""
        self._failed = f"{type(e).__name__}: {e}"
        appends = [(EntryRef.of(en), job.retry_key) for job in done for en in job.entries]
        log.critical("ledger write failed (%s): the ledger takes no more writes (fail-stop); %d append(s) reported as "
                     "failed: seq %s", self._failed, len(appends), ", ".join(str(r.seq) for r, _ in appends) or "none")
        if appends:
            now = utc_now()
            records = [{"seq": r.seq, "hash": r.hash, "retry_key": key, "txn_id": r.txn_id, "contract_no": r.contract_no,
                        "failed_at": now, "error": self._failed[:300]} for r, key in appends]
            failed_appends.write(self.note_path, records)
