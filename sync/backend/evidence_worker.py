"""The evidence worker: re-verifies each newly stored contract's chip evidence beside ingest (issue 19 item 1).

Ingest stores and acknowledges a batch as before; this worker (a thread the backend app starts,
:func:`install`) takes the contract entries stored since it last looked, device by device in seq
order (``evidence_progress`` keeps each device's place), decrypts each, judges it
(:func:`sync.backend.evidence.judge`, with the backend's own trust store: the shipped trust plus
``<data_dir>/trust``, imported with ``chipid backend trust import FILE``, re-read when it changes)
and stores the verdicts with their alerts (:func:`sync.backend.evidence_verdicts.record_many`).

Where the time goes, and how it is spent once (``benchmarks/bench_sync.py --only evidence``):

* the database: a device's next ``chunk`` contracts are read with one query, the ledger heads their
  AA challenges name with a second, and their verdicts, AA signatures and progress are written in one
  transaction of a few multi-row statements (:func:`~sync.backend.evidence_verdicts.record_many`);
* the pure verification (passive authentication, DG1/DG13, AA: CPU bound, about 2 ms a contract) runs
  in ``processes`` worker processes (default: one per core), started with ``spawn``; they and the
  worker thread run at the lowest CPU priority (nice :data:`NICE`), so that ingest, which a shop waits
  for, keeps the cores it needs and verification takes what is left (the lag drains when ingest rests);
  a process is sent each contract's decrypted entry body, not its parsed payload (cheaper to send);
  while one device's contracts are verified, the next device's are read and decrypted, and the
  verdicts are written in device and seq order whatever the number of processes (``processes=0``:
  in this thread);
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
import sys
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

log = logging.getLogger(__name__)

#: Contracts of one device taken per step.
CHUNK = 400
#: Seconds between looks at the database while there is nothing to do.
IDLE_S = 0.25
#: The worker thread's and its verification processes' niceness: ingest, which a shop waits for, first;
#: verification on the CPU ingest leaves (at 10 it still took about 7% of two saturated cores from ingest).
NICE = 19
#: Contracts per task sent to a verification process.
TASK = 50


class _NotFetched(LookupError):
    """A ledger head the prefetched hashes lack: the contract is judged again with the database at hand."""


@dataclass(frozen=True)
class Job:
    """One contract to judge: its entry's seq, the entry body as stored (decrypted canonical JSON: a
    verification process parses it again, which costs less than sending it the parsed payload), the
    entry's time and the device's entry hashes its AA challenge may name (seq -> hash, None when the
    device has no such entry)."""

    seq: int
    body: bytes
    demo: bool
    at: _dt.datetime
    hashes: dict = field(default_factory=dict)

    def payload(self) -> dict:
        return _payload(self.body)


def _payload(body: bytes) -> dict:
    """The payload of an entry body ingest stored (orjson; the standard library for what orjson does not
    read, such as an integer beyond 64 bits, as before)."""
    try:
        entry = orjson.loads(body)
    except orjson.JSONDecodeError:
        entry = json.loads(body)
    payload = entry.get("payload") if isinstance(entry, dict) else None
    return payload if isinstance(payload, dict) else {}


def _lower_priority(nice: int, tid: int = 0) -> None:
    """Lower the CPU priority of thread ``tid`` (Linux; 0: the calling one) to ``nice``, never raising it."""
    with contextlib.suppress(OSError):
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)


class Judge:
    """Judges jobs of one device with the backend's trust (re-read when trust was imported) and a
    certificate cache; one per worker thread or verification process."""

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

    def judge(self, device_id: str, job: Job, chain_hash=None) -> ev.Judgement:
        """``chain_hash``: None looks in ``job.hashes`` only (:class:`_NotFetched` for another seq)."""
        def prefetched(seq: int) -> str | None:
            if seq not in job.hashes:
                raise _NotFetched(seq)
            return job.hashes[seq]

        return ev.judge(job.payload(), device_id=device_id, seq=job.seq, store=self.store(job.demo), at=job.at,
                        chain_hash=chain_hash or prefetched, certificate=self.certificates)

    def judge_all(self, device_id: str, jobs: list[Job]) -> list[ev.Judgement | None]:
        """Each job's judgement; None for one whose challenge names a ledger head not prefetched."""
        out: list[ev.Judgement | None] = []
        for job in jobs:
            try:
                out.append(self.judge(device_id, job))
            except _NotFetched:
                out.append(None)
        return out


_PROCESS_JUDGE: Judge | None = None


def _start_process(data_dir: str | None, nice: int) -> None:
    """A verification process's start: its priority, its judge and the backend's trust, read now (about
    0.2 s of CPU once per process) rather than by the first contract it is given."""
    global _PROCESS_JUDGE
    _lower_priority(nice)
    _PROCESS_JUDGE = Judge(data_dir)
    try:
        _PROCESS_JUDGE.store(False)
    except Exception:  # noqa: BLE001 - a trust that does not load fails the first judgement, as it always did
        log.debug("evidence worker: trust not loaded at process start", exc_info=True)


def _judge_in_process(device_id: str, jobs: list[Job]) -> list[ev.Judgement | None]:
    assert _PROCESS_JUDGE is not None
    return _PROCESS_JUDGE.judge_all(device_id, jobs)


@dataclass
class _Step:
    """One device's chunk on its way: read and decrypted, being judged, to be written."""

    shop_id: str
    device_id: str
    upto: int
    jobs: list[Job]
    payloads: list[dict]  # each job's, parsed here for the verdicts' rows
    futures: list[Future] = field(default_factory=list)
    done: list = field(default_factory=list)


class EvidenceWorker:
    """Verifies stored contracts' evidence. :meth:`run_once` does one pass (tests, benchmarks); :meth:`start`
    runs passes in a thread until :meth:`stop`. ``processes``: verification processes (None: one per core;
    0: in the calling thread)."""

    def __init__(self, db: Database, data_dir: str | Path | None = None, *, chunk: int = CHUNK,
                 idle_s: float = IDLE_S, processes: int | None = None, nice: int = NICE) -> None:
        self.db = db
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.chunk = chunk
        self.idle_s = idle_s
        self.processes = (os.cpu_count() or 1) if processes is None else processes
        self.nice = nice
        self.judge = Judge(self.data_dir)
        self._pool: ProcessPoolExecutor | None = None
        self._held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: contracts verified by this worker, and this thread's CPU seconds by step, for metrics and benchmarks
        self.verified = 0
        self.cpu_s = {"read and decrypt": 0.0, "verify (this thread)": 0.0, "write": 0.0}

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
                "SELECT d.shop_id, d.device_id, d.head_seq, COALESCE(p.seq, 0) AS done FROM devices d "
                "LEFT JOIN evidence_progress p ON p.shop_id = d.shop_id AND p.device_id = d.device_id "
                "WHERE d.head_seq > COALESCE(p.seq, 0) ORDER BY d.shop_id, d.device_id")).all()
        n = 0
        pending: deque[_Step] = deque()
        try:
            for shop_id, device_id, head, done in todo:
                step = self._read(shop_id, device_id, int(head), int(done))
                self._submit(step)
                pending.append(step)
                while len(pending) > 1:  # the next device is read while this one is judged
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
            return conn.execute(text(
                "SELECT 1 FROM devices d LEFT JOIN evidence_progress p ON p.shop_id = d.shop_id AND "
                "p.device_id = d.device_id WHERE d.head_seq > COALESCE(p.seq, 0) LIMIT 1")).first() is not None

    def _read(self, shop_id: str, device_id: str, head: int, done: int) -> _Step:
        """The device's next contracts, decrypted, with the entry hashes their challenges name."""
        cpu0 = time.thread_time()
        vault = self.db.vault
        jobs: list[Job] = []
        payloads: list[dict] = []
        with self.db.read() as conn:
            rows = conn.execute(text(
                "SELECT seq, ts, demo, body FROM entries WHERE shop_id = :s AND device_id = :d AND seq > :done "
                "AND seq <= :head AND kind = 'transaction' ORDER BY seq LIMIT :n"),
                {"s": shop_id, "d": device_id, "done": done, "head": head, "n": self.chunk}).all()
            for seq, ts, demo, body in rows:
                canonical = vault.open_entry(body, shop_id, device_id, int(seq))
                payload = _payload(canonical)
                if payload.get("type") != "pawn_contract":
                    continue
                try:
                    at = _dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
                except ValueError:
                    at = _dt.datetime.now(_dt.timezone.utc)
                jobs.append(Job(int(seq), canonical, bool(demo), at))
                payloads.append(payload)
            heads = {h for h in map(_head_seq, payloads) if h is not None}
            hashes: dict[int, str | None] = dict.fromkeys(heads)
            if heads:
                hashes.update({int(q): h for q, h in conn.execute(text(
                    "SELECT seq, hash FROM entries WHERE shop_id = :s AND device_id = :d AND seq IN :seqs"
                ).bindparams(bindparam("seqs", expanding=True)), {"s": shop_id, "d": device_id, "seqs": sorted(heads)})})
        for job, payload in zip(jobs, payloads):
            h = _head_seq(payload)
            if h is not None:
                job.hashes[h] = hashes[h]
        upto = int(rows[-1][0]) if len(rows) == self.chunk else head
        self.cpu_s["read and decrypt"] += time.thread_time() - cpu0
        return _Step(shop_id, device_id, upto, jobs, payloads)

    def _submit(self, step: _Step) -> None:
        if not step.jobs:
            return
        pool = self._processes()
        if pool is None:
            cpu0 = time.thread_time()
            step.done = self.judge.judge_all(step.device_id, step.jobs)
            self.cpu_s["verify (this thread)"] += time.thread_time() - cpu0
            return
        size = max(1, min(TASK, -(-len(step.jobs) // self.processes)))
        step.futures = [pool.submit(_judge_in_process, step.device_id, step.jobs[i:i + size])
                        for i in range(0, len(step.jobs), size)]

    def _write(self, step: _Step) -> int:
        """The step's verdicts (judged again here when a challenge named a head not prefetched), in seq order,
        with the device's progress, in one transaction."""
        judged = step.done or [j for f in step.futures for j in f.result()]
        if any(j is None for j in judged):
            with self.db.read() as conn:
                q = text("SELECT hash FROM entries WHERE shop_id = :s AND device_id = :d AND seq = :q")

                def chain_hash(seq: int) -> str | None:
                    return conn.execute(q, {"s": step.shop_id, "d": step.device_id, "q": seq}).scalar()

                judged = [j if j is not None else self.judge.judge(step.device_id, job, chain_hash)
                          for job, j in zip(step.jobs, judged)]
        cpu0 = time.thread_time()
        with self.db.write() as conn:
            record_many(conn, self.db.vault, shop_id=step.shop_id, device_id=step.device_id,
                        judged=[(job.seq, payload, j) for job, payload, j in zip(step.jobs, step.payloads, judged)])
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
                initargs=(str(self.data_dir) if self.data_dir is not None else None, self.nice))
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
        The thread runs at the verification processes' low priority (its reads, decryption and writes
        are a tenth of the work), which they inherit when it starts them."""
        if sys.platform.startswith("linux"):  # elsewhere a priority is the whole process's, ingest's too
            _lower_priority(self.nice, threading.get_native_id())
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
    worker = EvidenceWorker(db, data_dir, processes=processes)
    app.state.evidence_worker = worker
    app.router.on_startup.append(worker.start)
    app.router.on_shutdown.append(worker.stop)
