"""The evidence worker: re-verifies each newly stored contract's chip evidence beside ingest (issue 19 item 1).

Ingest stores and acknowledges a batch as before; this worker (a thread the backend app starts,
:func:`install`) takes the contract entries stored since it last looked, device by device in seq
order (``evidence_progress`` keeps each device's place), decrypts each, judges it
(:func:`sync.backend.evidence.judge`, with the backend's own trust store: the shipped trust plus
``<data_dir>/trust``, imported with ``chipid backend trust import FILE``, re-read when it changes)
and stores the verdicts with their alerts (:func:`sync.backend.evidence_verdicts.record_many`).

Where the time goes, and how it is spent once (``benchmarks/bench_sync.py --only evidence``):

* the database: the worker thread finds a device's next ``chunk`` contracts (their seqs, one query) and
  splits them in seq ranges; a verification process reads a range with one query (and the ledger heads
  its AA challenges name with a second), decrypts and judges it and sends back the verdicts; the thread
  writes a device's verdicts, AA signatures and progress in one transaction of a few multi-row statements
  (:func:`~sync.backend.evidence_verdicts.record_many`), in device and seq order;
* the reading and the pure verification (passive authentication, DG1/DG13, AA: CPU bound, about 2 ms a
  contract) run in ``processes`` worker processes (default: one per core; each its own database
  connections and the backend's keys), started with ``spawn``: not in the backend process, whose
  interpreter lock ingest needs; they and the worker thread run at the lowest CPU priority (nice
  :data:`NICE`), so that ingest, which a shop waits for, keeps the cores it needs and verification takes
  what is left (the lag drains when ingest rests); more than that, the thread waits before each device's
  step while foreground work keeps the cores busy (:mod:`sync.backend.foreground`: even niced, the workers
  cost a saturating ingest a sixth); while one device's verdicts are written, the next device's
  contracts are judged (``processes=0``: all in this thread);
* each process keeps a :class:`verifier.evidence.CertificateCache` (the Document Signer's certificate
  and key parsed once per DSC, keyed by every byte of it; the chain and revocation checks still run for
  every contract against the current trust).

One worker works on a database at a time (:func:`sync.backend.worker_lock.exclusive`: the backend's
thread holds it while it runs), so several backend processes never verify
the same contract twice; a verdict is stored once, so a pass cut short is simply done again. The
time of the check is the entry's own (a certificate expired since the contract does not make it fail).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import bindparam, text

from sync.backend import evidence as ev
from sync.backend import worker_lock
from sync.backend.db import Database
from sync.backend.evidence_verdicts import record_many
from sync.backend.foreground import CpuGate

log = logging.getLogger(__name__)

#: Contracts of one device taken per step.
CHUNK = 400
#: Seconds between looks at the database while there is nothing to do.
IDLE_S = 0.25
#: The worker thread's and its verification processes' niceness (:data:`sync.backend.worker_lock.NICE`).
NICE = worker_lock.NICE
#: Contracts per task sent to a verification process.
TASK = 50
#: The devices (``d``) with entries the worker has not examined yet, and its place in each (``p``, maybe
#: NULL: nothing examined): SQL from FROM on, for the worker and the metrics.
BEHIND = ("devices d LEFT JOIN evidence_progress p ON p.shop_id = d.shop_id AND p.device_id = d.device_id "
          "WHERE d.head_seq > COALESCE(p.seq, 0)")


@dataclass(frozen=True)
class Job:
    """One contract to judge: its entry's seq, decrypted payload and time."""

    seq: int
    payload: dict
    demo: bool
    at: _dt.datetime


@dataclass(frozen=True)
class Judged:
    """Contracts of one device judged: (seq, :func:`_brief` of its payload, judgement) in seq order, and the
    CPU seconds spent reading (query, decryption, parsing) and verifying them, wherever that ran."""

    judged: list[tuple[int, dict, ev.Judgement]]
    read_s: float
    verify_s: float


def _payload(body: bytes) -> dict:
    """The payload of an entry body ingest stored (orjson; the standard library for what orjson does not
    read, such as an integer beyond 64 bits, as before)."""
    try:
        entry = orjson.loads(body)
    except orjson.JSONDecodeError:
        entry = json.loads(body)
    payload = entry.get("payload") if isinstance(entry, dict) else None
    return payload if isinstance(payload, dict) else {}


def _brief(payload: dict) -> dict:
    """What a verdict's row and alerts read of a contract (:func:`~sync.backend.evidence_verdicts.record_many`:
    its id and number, and the shop's verdict): all a verification process sends back of it."""
    return {k: payload[k] for k in ("id", "contract_no", "identity_check", "override") if k in payload}


class Judge:
    """Judges contracts with the backend's trust (re-read when trust was imported) and a certificate cache;
    one per worker thread or verification process."""

    def __init__(self, data_dir: str | Path | None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._stores: dict[bool, object] = {}
        self._trust_version = -1.0
        self.certificates = ev.CertificateCache()

    def store(self, demo: bool):
        """The backend's trust store (with the demo CSCA for demo entries), re-read when trust was imported."""
        version = ev.trust_version(self.data_dir)
        if version != self._trust_version:
            self._stores.clear()
            self._trust_version = version
        if demo not in self._stores:
            self._stores[demo] = ev.open_trust(self.data_dir, demo=demo)
        return self._stores[demo]

    def judge(self, device_id: str, job: Job, chain_hash) -> ev.Judgement:
        """``chain_hash(seq)``: the device's entry hash at ``seq`` (None: no such entry)."""
        return ev.judge(job.payload, device_id=device_id, seq=job.seq, store=self.store(job.demo), at=job.at,
                        chain_hash=chain_hash, certificate=self.certificates)

    def judge_range(self, db: Database, shop_id: str, device_id: str, first: int, last: int) -> Judged:
        """Read, decrypt and judge the device's contracts with seq in ``first``..``last``."""
        cpu0 = time.thread_time()
        jobs: list[Job] = []
        with db.read() as conn:
            rows = conn.execute(text(
                "SELECT seq, ts, demo, body FROM entries WHERE shop_id = :s AND device_id = :d AND seq BETWEEN :a "
                "AND :b AND kind = 'transaction' ORDER BY seq"), {"s": shop_id, "d": device_id, "a": first, "b": last}).all()
            for seq, ts, demo, body in rows:
                payload = _payload(db.vault.open_entry(body, shop_id, device_id, int(seq)))
                if payload.get("type") != "pawn_contract":
                    continue
                try:
                    at = _dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
                except ValueError:
                    at = _dt.datetime.now(_dt.timezone.utc)
                jobs.append(Job(int(seq), payload, bool(demo), at))
            # the ledger heads the AA challenges name, in one query (another one, rare, is looked up when asked)
            heads = sorted({h for h in (_head_seq(j.payload) for j in jobs) if h is not None})
            hashes: dict[int, str | None] = dict.fromkeys(heads)
            if heads:
                hashes.update({int(q): h for q, h in conn.execute(text(
                    "SELECT seq, hash FROM entries WHERE shop_id = :s AND device_id = :d AND seq IN :seqs"
                ).bindparams(bindparam("seqs", expanding=True)), {"s": shop_id, "d": device_id, "seqs": heads})})
        cpu1 = time.thread_time()

        def chain_hash(seq: int) -> str | None:
            if seq not in hashes:
                with db.read() as conn:
                    hashes[seq] = conn.execute(text(
                        "SELECT hash FROM entries WHERE shop_id = :s AND device_id = :d AND seq = :q"),
                        {"s": shop_id, "d": device_id, "q": seq}).scalar()
            return hashes[seq]

        judged = [(job.seq, _brief(job.payload), self.judge(device_id, job, chain_hash)) for job in jobs]
        return Judged(judged, cpu1 - cpu0, time.thread_time() - cpu1)


#: A verification process's database (its own connections, the backend's keys) and judge.
_PROCESS: tuple[Database, Judge] | None = None


def _start_process(database_url: str, vault, data_dir: str | None, nice: int) -> None:
    """A verification process's start: its priority, its database, its judge and the backend's trust, read
    now (about 0.2 s of CPU once per process) rather than by the first contract it is given."""
    global _PROCESS
    worker_lock.lower_priority(nice)
    judge = Judge(data_dir)
    _PROCESS = (Database(database_url, vault), judge)
    try:
        judge.store(False)
    except Exception:  # noqa: BLE001 - a trust that does not load fails the first judgement, as it always did
        log.debug("evidence worker: trust not loaded at process start", exc_info=True)


def _judge_range_in_process(shop_id: str, device_id: str, first: int, last: int) -> Judged:
    assert _PROCESS is not None
    db, judge = _PROCESS
    return judge.judge_range(db, shop_id, device_id, first, last)


@dataclass
class _Step:
    """One device's chunk on its way: its contracts' seq ranges being read and judged, to be written."""

    shop_id: str
    device_id: str
    upto: int
    futures: list[Future] = field(default_factory=list)
    done: list[Judged] = field(default_factory=list)


class EvidenceWorker:
    """Verifies stored contracts' evidence. :meth:`run_once` does one pass (tests, benchmarks); :meth:`start`
    runs passes in a thread until :meth:`stop`. ``processes``: verification processes (None: one per core;
    0: in the calling thread). ``gate``: waited on before each device's step (:mod:`sync.backend.foreground`:
    the step waits while ingest keeps the cores busy); None: never waits."""

    def __init__(self, db: Database, data_dir: str | Path | None = None, *, chunk: int = CHUNK,
                 idle_s: float = IDLE_S, processes: int | None = None, nice: int = NICE,
                 gate: CpuGate | None = None) -> None:
        self.db = db
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.chunk = chunk
        self.idle_s = idle_s
        self.processes = (os.cpu_count() or 1) if processes is None else processes
        self.nice = nice
        self.gate = gate
        self.judge = Judge(self.data_dir)
        self._pool: ProcessPoolExecutor | None = None
        self._held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: contracts verified by this worker, and the CPU seconds by step (reading and verifying in its
        #: processes or this thread, writing in this thread), for metrics and benchmarks
        self.verified = 0
        self.cpu_s = {"read and decrypt": 0.0, "verify": 0.0, "write": 0.0}

    def store(self, demo: bool):
        """The trust store this thread judges with (see :meth:`Judge.store`)."""
        return self.judge.store(demo)

    # --- one pass --------------------------------------------------------------------
    def run_once(self) -> int:
        """Verify what was stored since the last pass (one chunk per device); returns how many contracts."""
        with self._exclusive() as mine:
            return self._pass() if mine else 0

    def drain(self, timeout_s: float = 600.0) -> int:
        """Passes until nothing is left (tests, benchmarks); returns how many contracts."""
        total, deadline = 0, time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            n = self.run_once()
            total += n
            if n == 0 and not self._behind():
                return total
        return total

    def _pass(self) -> int:
        with self.db.read() as conn:
            todo = conn.execute(text(
                f"SELECT d.shop_id, d.device_id, d.head_seq, COALESCE(p.seq, 0) AS done FROM {BEHIND} "
                "ORDER BY d.shop_id, d.device_id")).all()
        n = 0
        pending: deque[_Step] = deque()
        try:
            for shop_id, device_id, head, done in todo:
                if self.gate is not None:
                    self.gate.wait(self._stop)
                pending.append(self._submit(shop_id, device_id, int(head), int(done)))
                while len(pending) > 1:  # the next device is being judged while this one is written
                    n += self._write(pending.popleft())
            while pending:
                n += self._write(pending.popleft())
        except BrokenProcessPool:  # a verification process died (killed): new ones next pass, the rest redone
            self._close_pool()
            raise
        finally:
            self.verified += n
        return n

    def _behind(self) -> bool:
        with self.db.read() as conn:
            return conn.execute(text(f"SELECT 1 FROM {BEHIND} LIMIT 1")).first() is not None

    def _submit(self, shop_id: str, device_id: str, head: int, done: int) -> _Step:
        """The device's next contracts (their seqs: one cheap query here), split in seq ranges that the
        verification processes read, decrypt and judge (in this thread with ``processes=0``)."""
        with self.db.read() as conn:
            seqs = [int(q) for (q,) in conn.execute(text(
                "SELECT seq FROM entries WHERE shop_id = :s AND device_id = :d AND seq > :done AND seq <= :head "
                "AND kind = 'transaction' ORDER BY seq LIMIT :n"),
                {"s": shop_id, "d": device_id, "done": done, "head": head, "n": self.chunk})]
        step = _Step(shop_id, device_id, seqs[-1] if len(seqs) == self.chunk else head)
        pool = self._processes()
        if pool is None:
            if seqs:
                step.done = [self.judge.judge_range(self.db, shop_id, device_id, seqs[0], seqs[-1])]
            return step
        size = max(1, min(TASK, -(-len(seqs) // self.processes)))
        step.futures = [pool.submit(_judge_range_in_process, shop_id, device_id, part[0], part[-1])
                        for part in (seqs[i:i + size] for i in range(0, len(seqs), size))]
        return step

    def _write(self, step: _Step) -> int:
        """The step's verdicts, in seq order, with the device's progress, in one transaction."""
        parts = step.done or [f.result() for f in step.futures]
        judged = [j for part in parts for j in part.judged]
        for part in parts:
            self.cpu_s["read and decrypt"] += part.read_s
            self.cpu_s["verify"] += part.verify_s
        cpu0 = time.thread_time()
        with self.db.write() as conn:
            record_many(conn, self.db.vault, shop_id=step.shop_id, device_id=step.device_id, judged=judged)
            greatest = "GREATEST" if self.db.dialect == "postgresql" else "MAX"
            conn.execute(text(
                "INSERT INTO evidence_progress (shop_id, device_id, seq) VALUES (:s, :d, :q) ON CONFLICT (shop_id, device_id) "
                f"DO UPDATE SET seq = {greatest}(evidence_progress.seq, excluded.seq)"),
                {"s": step.shop_id, "d": step.device_id, "q": step.upto})
        self.cpu_s["write"] += time.thread_time() - cpu0
        return len(judged)

    # --- verification processes ------------------------------------------------------
    def _processes(self) -> ProcessPoolExecutor | None:
        if self.processes <= 0:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_start_process,
                initargs=(self.db.url, self.db.vault, str(self.data_dir) if self.data_dir is not None else None,
                          self.nice))
        return self._pool

    def start_processes(self) -> None:
        """Start the verification processes now (benchmarks: before the clock), not at the first contract."""
        pool = self._processes()
        if pool is not None:
            list(pool.map(time.sleep, [0.2] * self.processes))

    def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Stop the verification processes (they start again when needed)."""
        self._close_pool()

    @contextlib.contextmanager
    def _exclusive(self):
        """True inside when this process holds the database's evidence lock (another worker has it: False)."""
        if self._held:
            yield True
            return
        with worker_lock.exclusive(self.db, worker_lock.EVIDENCE) as got:
            yield got

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
        self._close_pool()

    def _loop(self) -> None:
        """Takes the database's evidence lock and keeps it while passes run (one backend process of several
        verifies; its verification processes start once); a failed pass lets it go and takes it again.
        The thread runs at the verification processes' low priority (it finds seqs and writes verdicts, a
        small part of the work), which they inherit when it starts them."""
        worker_lock.lower_thread_priority(self.nice)
        failures = 0
        while not self._stop.is_set():
            try:
                with self._exclusive() as mine:
                    if not mine:
                        self._stop.wait(max(self.idle_s, 1.0))
                        continue
                    self._held = True
                    try:
                        while not self._stop.is_set():
                            n = self._pass()
                            failures = 0
                            if n == 0:
                                self._stop.wait(self.idle_s)
                    finally:
                        self._held = False
            except Exception:  # noqa: BLE001 - a database outage or a bug must not end the worker
                failures += 1
                if failures in (1, 2, 4, 8) or failures % 64 == 0:
                    log.exception("evidence worker: pass failed (%d in a row)", failures)
                self._stop.wait(min(self.idle_s * (2 ** min(failures, 6)), 30.0))


def _head_seq(payload: dict) -> int | None:
    """The ledger head seq the contract's AA challenge names (what :func:`verifier.evidence.verify_evidence`
    reads, as it reads it), None when there is none to read."""
    try:
        return int(payload["evidence"]["aa"]["challenge_inputs"]["head_seq"])
    except (KeyError, TypeError, ValueError):
        return None


def install(app, db: Database, data_dir: str | Path | None = None, *, processes: int | None = None) -> None:
    """Start an :class:`EvidenceWorker` with the app's server and stop it with it (``app.state.evidence_worker``)."""
    worker = EvidenceWorker(db, data_dir, processes=processes, gate=CpuGate())
    app.state.evidence_worker = worker
    app.router.on_startup.append(worker.start)
    app.router.on_shutdown.append(worker.stop)
