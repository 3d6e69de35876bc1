"""Background work steps aside while foreground work keeps the cores busy (:mod:`sync.backend.foreground`),
measured on this machine's own CPU counters with real busy processes, at normal priority and niced."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import text

from sync import batch as batch_mod
from sync.backend.alert_rules import RuleSettings, RulesWorker
from sync.backend.db import Database
from sync.backend.evidence_worker import EvidenceWorker
from sync.backend.foreground import CpuGate, cpu_times
from sync.backend.ingest import ingest
from sync.testing import pawn_payload, wait_until
from tests.sync.conftest import enroll_signing_device

pytestmark = pytest.mark.skipif(cpu_times() is None, reason="no /proc/stat (the gate never waits there)")


@contextlib.contextmanager
def busy_cores(nice: int = 0):
    """One busy loop per core at niceness ``nice`` (running when this yields), stopped on leaving."""
    procs = [subprocess.Popen([sys.executable, "-c", f"import os; os.nice({nice})\nprint(flush=True)\nwhile True: pass"],
                              stdout=subprocess.PIPE)
             for _ in range(os.cpu_count() or 1)]
    try:
        for p in procs:
            p.stdout.readline()  # the interpreter is up and the loop starts
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
            p.stdout.close()


def test_cores_busy_at_normal_priority_hold_a_step_and_niced_work_does_not():
    stop = threading.Event()
    with busy_cores():
        gate = CpuGate(look_s=0.5, resume_s=0.5, max_wait_s=2.0)
        assert gate.foreground_share(stop, 0.5) > 0.9
        waited = gate.wait(stop)
        assert waited >= 2.0  # held to the longest wait, then one step is let through
    with busy_cores(nice=19):  # the backend's own workers, or any niced batch job: not foreground
        gate = CpuGate(look_s=0.5, resume_s=0.5, max_wait_s=5.0)
        assert gate.foreground_share(stop, 0.5) < 0.3
        assert gate.wait(stop) < 5.0 and gate.waited_s < 5.0


def test_steps_in_quick_succession_on_free_cores_share_one_look():
    """A pass over many devices with a few contracts each: one look, not a pause before every step."""
    stop = threading.Event()
    with busy_cores(nice=19):
        gate = CpuGate(look_s=3.0, resume_s=0.5, max_wait_s=60.0)
        for _ in range(20):
            gate.wait(stop)
        assert gate.looks == 1
    with busy_cores():  # found busy: every step looks again
        gate = CpuGate(look_s=0.2, resume_s=0.2, max_wait_s=0.3)
        for _ in range(3):
            gate.wait(stop)
        assert gate.looks >= 6


def test_a_burst_that_just_began_is_not_averaged_with_the_quiet_before_it():
    """The worker's last look was long ago, on free cores (it was busy with a step of its own, or idle); a
    burst then starts: the next look sees the burst, not the mean of the quiet seconds and the burst."""
    stop = threading.Event()
    with busy_cores(nice=19):  # quiet for foreground work (the worker's own niced step)
        gate = CpuGate(look_s=0.3, resume_s=0.3, max_wait_s=1.0)
        assert gate.wait(stop) < 1.0
        stop.wait(3.0)  # the step runs for a while after the look
    with busy_cores():
        assert gate.wait(stop) >= 1.0  # held


def test_a_stop_ends_the_wait_and_without_counters_the_gate_never_waits(tmp_path):
    stop = threading.Event()
    with busy_cores():
        gate = CpuGate(look_s=0.3, resume_s=0.3, max_wait_s=600.0)
        threading.Timer(1.5, stop.set).start()
        assert 1.0 < gate.wait(stop) < 600.0
    unreadable = CpuGate(stat=tmp_path / "no-such-stat")
    assert cpu_times(tmp_path / "no-such-stat") is None
    assert unreadable.foreground_share(threading.Event(), 0.25) is None


def _stored_contracts(db: Database, n: int):
    dev = enroll_signing_device(db)
    for i in range(1, n + 1):
        dev.append("transaction", pawn_payload(i))  # no evidence: judged unverified, fast
    r = ingest(db, batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1)), dev.sign))
    assert r.status_code == 200, r.body
    return dev


def _evidence_worker(db: Database, dev, gate: CpuGate):
    """The evidence worker's thread, and how many of ``dev``'s contracts it judged."""
    def judged() -> int:
        with db.read() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM evidence_verdicts")).scalar()
    return EvidenceWorker(db, None, processes=0, idle_s=0.05, gate=gate), judged


def _rules_worker(db: Database, dev, gate: CpuGate):
    """The alert rules' thread, and how far its passes read ``dev``'s entries."""
    def examined() -> int:
        with db.read() as conn:
            return conn.execute(text("SELECT seq FROM alert_rule_cursor WHERE device_id = :d"),
                                {"d": dev.device_id}).scalar() or 0
    return RulesWorker(db, RuleSettings(interval_s=0.1), gate), examined


@pytest.mark.parametrize("make", [_evidence_worker, _rules_worker], ids=["evidence", "rules"])
def test_a_background_thread_waits_while_the_cores_are_busy_then_catches_up(tmp_path, make):
    db = Database.open(tmp_path / "backend")
    try:
        dev = _stored_contracts(db, 3)
        gate = CpuGate(look_s=0.25, resume_s=0.5, max_wait_s=600.0)
        worker, progress = make(db, dev, gate)
        try:
            with busy_cores():
                worker.start()
                threading.Event().wait(2.5)
                assert progress() == 0  # ingest's cores are not taken
            wait_until(lambda: progress() == 3, 30, "the work once the cores are free")
            assert gate.waited_s > 1.0
        finally:
            worker.stop()
    finally:
        db.close()
