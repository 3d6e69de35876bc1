"""Background work steps aside while foreground work keeps the machine's cores busy.

The backend's background workers (the evidence worker, the alert rules) run at the lowest CPU
priority (:data:`sync.backend.worker_lock.NICE`), yet beside an ingest that saturates the cores they
still cost it: served ingest of the shop-ledger mix on 2 cores (``benchmarks/bench_sync.py``) went
from 21,623 entries/s with both workers off to 17,858 with them at nice 19, and is back to 21,731
with this gate. Niced CPU fills every gap ingest leaves between batches, and the
database work the workers ask for (reading contracts, writing verdicts and alerts) runs at the
database's normal priority. So between two steps a worker calls :meth:`CpuGate.wait`: while the
work at normal priority (ingest, the inspectors' pages, the database serving them: everything but
niced processes and idle time) used at least :data:`BUSY` of all cores since the last look, it
waits and looks again, up to :data:`MAX_WAIT_S`; then it takes one step anyway (the evidence
worker: one device's chunk, up to 400 contracts; the rules: one device's next 500 entries), so a machine kept busy for
hours still gets its verdicts and alerts, only later (the metrics
``chipid_backend_verification_backlog_entries`` and ``chipid_backend_verification_lag_seconds`` show
how far behind). Shops are never kept waiting for work nobody is waiting on.

Read from Linux's ``/proc/stat`` (the first line: ``user nice system idle iowait irq softirq steal``,
in clock ticks; time stolen by the hypervisor counts as busy: those cores were not there to use).
Where it cannot be read the gate never waits.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

#: Share of all cores used by work at normal priority from which background work waits.
BUSY = 0.60
#: Seconds of the shortest look at the counters (one is taken before each step).
LOOK_S = 0.25
#: Seconds over which the cores must stay below :data:`BUSY` before a waiting worker goes on.
RESUME_S = 1.0
#: Longest wait before one step is taken anyway.
MAX_WAIT_S = 10.0
STAT = Path("/proc/stat")


def cpu_times(stat: Path = STAT) -> tuple[int, int] | None:
    """(ticks busy at normal priority, ticks in all) of all cores since boot, or None where unreadable."""
    try:
        with open(stat, "rb") as f:
            first = f.readline().split()
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    except (OSError, ValueError):
        return None
    if first[0] != b"cpu":
        return None
    busy = user + system + irq + softirq + steal
    return busy, busy + nice + idle + iowait


class CpuGate:
    """:meth:`wait` until the cores are not kept busy by foreground work (see the module's text)."""

    def __init__(self, busy: float = BUSY, *, look_s: float = LOOK_S, resume_s: float = RESUME_S,
                 max_wait_s: float = MAX_WAIT_S, stat: Path = STAT) -> None:
        self.busy, self.look_s, self.resume_s, self.max_wait_s, self.stat = busy, look_s, resume_s, max_wait_s, stat
        self._last: tuple[float, tuple[int, int]] | None = None
        self._free = False  # what the last look found
        #: seconds spent waiting, and looks at the counters, in all (tests, benchmarks)
        self.waited_s = 0.0
        self.looks = 0

    def foreground_share(self, stop: threading.Event, window_s: float) -> float | None:
        """Share of all cores busy at normal priority over the last ``window_s`` (since the last look when that
        was less than ``window_s`` ago; waits for the rest of it), or None where the counters cannot be read."""
        if self._last is None or time.monotonic() - self._last[0] > window_s:
            # a baseline older than the window would average a burst that just began with the quiet before it
            first = cpu_times(self.stat)
            if first is None:
                return None
            self._last = (time.monotonic(), first)
        stop.wait(max(0.0, window_s - (time.monotonic() - self._last[0])))
        now = cpu_times(self.stat)
        if now is None:
            return None
        self.looks += 1
        (_, (busy0, all0)), self._last = self._last, (time.monotonic(), now)
        ticks = now[1] - all0
        return (now[0] - busy0) / ticks if ticks > 0 else 0.0

    def wait(self, stop: threading.Event) -> float:
        """Return once foreground work leaves the cores free, or :attr:`max_wait_s` passed, or ``stop`` is set;
        the seconds waited. One short look (:attr:`look_s`, or the time since the last) when the cores are
        free, none when a look less than :attr:`look_s` ago found them free (a pass over many devices with a
        few contracts each takes its steps without a pause between them); once they were found busy, they
        must stay below :attr:`busy` over a whole :attr:`resume_s` (ingest's own short pauses between
        batches do not let a step in)."""
        start = time.monotonic()
        if self._free and self._last is not None and start - self._last[0] < self.look_s:
            return 0.0
        window = self.look_s
        while not stop.is_set():
            share = self.foreground_share(stop, window)
            self._free = share is None or share < self.busy
            if self._free or time.monotonic() - start >= self.max_wait_s:
                break
            window = self.resume_s
        waited = time.monotonic() - start
        self.waited_s += waited
        return waited
