"""The evidence worker: re-verifies each newly stored contract's chip evidence beside ingest (issue 19 item 1).

Ingest stores and acknowledges a batch as before; this worker (a thread the backend app starts,
:func:`install`) takes the contract entries stored since it last looked, device by device in seq
order (``evidence_progress`` keeps each device's place), decrypts each, judges it
(:func:`sync.backend.evidence.judge`, with the backend's own trust store: the shipped trust plus
``<data_dir>/trust``, imported with ``chipid backend trust import FILE``, re-read when it changes)
and stores the verdict with its alert (:func:`sync.backend.evidence_verdicts.record`).

One worker works on a database at a time (a PostgreSQL advisory lock, or a lock file beside a
SQLite database), so several backend processes never verify the same contract twice; a verdict is
stored once, so a pass cut short is simply done again. The time of the check is the entry's own
(a certificate expired since the contract does not make it fail).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import logging
import threading
import time
from pathlib import Path

from sqlalchemy import text

from sync.backend import evidence as ev
from sync.backend.db import Database
from sync.backend.evidence_verdicts import record

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock key of the evidence worker (727001 is the schema migration's).
LOCK_KEY = 727019
#: Contracts of one device taken per step.
CHUNK = 200
#: Seconds between looks at the database while there is nothing to do.
IDLE_S = 0.25


class EvidenceWorker:
    """Verifies stored contracts' evidence. :meth:`run_once` does one pass (tests, benchmarks); :meth:`start`
    runs passes in a thread until :meth:`stop`."""

    def __init__(self, db: Database, data_dir: str | Path | None = None, *, chunk: int = CHUNK,
                 idle_s: float = IDLE_S) -> None:
        self.db = db
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.chunk = chunk
        self.idle_s = idle_s
        self._stores: dict[bool, object] = {}
        self._trust_version = -1.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: contracts verified by this worker, for metrics and benchmarks
        self.verified = 0

    # --- trust -----------------------------------------------------------------------
    def store(self, demo: bool):
        """The backend's trust store (with the demo CSCA for demo entries), re-read when trust was imported."""
        version = ev.trust_version(self.data_dir)
        if version != self._trust_version:
            self._stores.clear()
            self._trust_version = version
        if demo not in self._stores:
            self._stores[demo] = ev.open_trust(self.data_dir, demo=demo)
        return self._stores[demo]

    # --- one pass --------------------------------------------------------------------
    def run_once(self) -> int:
        """Verify what was stored since the last pass (one chunk per device); returns how many contracts."""
        with self._exclusive() as mine:
            if not mine:
                return 0
            with self.db.read() as conn:
                todo = conn.execute(text(
                    "SELECT d.shop_id, d.device_id, d.head_seq, COALESCE(p.seq, 0) AS done FROM devices d "
                    "LEFT JOIN evidence_progress p ON p.shop_id = d.shop_id AND p.device_id = d.device_id "
                    "WHERE d.head_seq > COALESCE(p.seq, 0)")).all()
            n = 0
            for shop_id, device_id, head, done in todo:
                n += self._device(shop_id, device_id, int(head), int(done))
            self.verified += n
            return n

    def drain(self, timeout_s: float = 600.0) -> int:
        """Passes until nothing is left (tests, benchmarks); returns how many contracts."""
        total, deadline = 0, time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            n = self.run_once()
            total += n
            if n == 0 and not self._behind():
                return total
        return total

    def _behind(self) -> bool:
        with self.db.read() as conn:
            return conn.execute(text(
                "SELECT 1 FROM devices d LEFT JOIN evidence_progress p ON p.shop_id = d.shop_id AND "
                "p.device_id = d.device_id WHERE d.head_seq > COALESCE(p.seq, 0) LIMIT 1")).first() is not None

    def _device(self, shop_id: str, device_id: str, head: int, done: int) -> int:
        vault = self.db.vault
        judged = []
        with self.db.read() as conn:
            rows = conn.execute(text(
                "SELECT seq, ts, demo, body FROM entries WHERE shop_id = :s AND device_id = :d AND seq > :done "
                "AND seq <= :head AND kind = 'transaction' ORDER BY seq LIMIT :n"),
                {"s": shop_id, "d": device_id, "done": done, "head": head, "n": self.chunk}).all()
            hash_q = text("SELECT hash FROM entries WHERE shop_id = :s AND device_id = :d AND seq = :q")

            def chain_hash(seq: int) -> str | None:
                return conn.execute(hash_q, {"s": shop_id, "d": device_id, "q": seq}).scalar()

            for seq, ts, demo, body in rows:
                payload = json.loads(vault.open_entry(body, shop_id, device_id, int(seq))).get("payload") or {}
                if payload.get("type") != "pawn_contract":
                    continue
                try:
                    at = _dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
                except ValueError:
                    at = _dt.datetime.now(_dt.timezone.utc)
                judged.append((int(seq), payload, ev.judge(payload, device_id=device_id, seq=int(seq),
                                                            store=self.store(bool(demo)), at=at, chain_hash=chain_hash)))
        upto = int(rows[-1][0]) if len(rows) == self.chunk else head
        with self.db.write() as conn:
            for seq, payload, judgement in judged:
                record(conn, vault, shop_id=shop_id, device_id=device_id, seq=seq, payload=payload, judgement=judgement)
            greatest = "GREATEST" if self.db.dialect == "postgresql" else "MAX"
            conn.execute(text(
                "INSERT INTO evidence_progress (shop_id, device_id, seq) VALUES (:s, :d, :q) ON CONFLICT (shop_id, device_id) "
                f"DO UPDATE SET seq = {greatest}(evidence_progress.seq, excluded.seq)"),
                {"s": shop_id, "d": device_id, "q": upto})
        return len(judged)

    @contextlib.contextmanager
    def _exclusive(self):
        """True inside when this process holds the database's evidence lock (another worker has it: False)."""
        if self.db.dialect == "postgresql":
            with self.db.engine.connect() as conn:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
                conn.commit()
                try:
                    yield got
                finally:
                    if got:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                        conn.commit()
            return
        path = self.db.url.split("///", 1)[-1] if self.db.url.startswith("sqlite:///") else ""
        if not path:
            yield True
            return
        with open(path + ".evidence-lock", "a+b") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # --- the thread ------------------------------------------------------------------
    def start(self) -> "EvidenceWorker":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="evidence-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                n = self.run_once()
                failures = 0
            except Exception:  # noqa: BLE001 - a database outage or a bug must not end the worker
                failures += 1
                if failures in (1, 2, 4, 8) or failures % 64 == 0:
                    log.exception("evidence worker: pass failed (%d in a row)", failures)
                n = 0
            if n == 0:
                self._stop.wait(min(self.idle_s * (2 ** min(failures, 6)), 30.0))


def install(app, db: Database, data_dir: str | Path | None = None) -> None:
    """Start an :class:`EvidenceWorker` with the app's server and stop it with it (``app.state.evidence_worker``)."""
    worker = EvidenceWorker(db, data_dir)
    app.state.evidence_worker = worker
    app.router.on_startup.append(worker.start)
    app.router.on_shutdown.append(worker.stop)
