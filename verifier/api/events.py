"""Server-sent events: card inserted/removed and scan progress, fanned out to every listener.

Every event carries an id ``<run>-<n>`` (``run`` names this run of the service, ``n`` counts up)
and the most recent ones stay in a bounded ring, so a client that reconnects with
``Last-Event-ID`` (WHATWG HTML "Server-sent events" §9.2.4: the browser's EventSource sends it by
itself) gets what it missed: :meth:`EventBus.since`. The stream itself is
:mod:`verifier.api.event_stream`.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading
import time
from typing import Any, Callable

from verifier.ledger.entry import utc_now

log = logging.getLogger(__name__)


class EventBus:
    """Thread-safe publish; each subscriber is an asyncio queue on its own loop (bounded).

    ``history``: how many recent events are kept for ``Last-Event-ID`` resumes. In-process
    listeners (:meth:`listen`, e.g. the metrics) are called in the publisher's thread.
    """

    def __init__(self, max_queue: int = 200, history: int = 500) -> None:
        self._subs: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.max_queue = max_queue
        self.run = format(time.time_ns() // 1_000_000, "x")
        self._ring: collections.deque[dict] = collections.deque(maxlen=history)
        self._listeners: list[Callable[[dict], None]] = []

    def listen(self, callback: Callable[[dict], None]) -> None:
        """Call ``callback(item)`` for every event published from now on (``item``: ``id``, ``seq``,
        ``event``, ``data``); an exception in it is logged, never raised to the publisher."""
        with self._lock:
            self._listeners.append(callback)

    def since(self, last_event_id: str | None) -> tuple[list[dict], bool]:
        """The kept events after ``last_event_id`` and whether that is all that was missed: False when
        the id is from another run of the service or older than the ring (some events are lost)."""
        with self._lock:
            ring = list(self._ring)
        run, _, n = (last_event_id or "").strip().partition("-")
        if run != self.run or not n.isdigit():
            return ring, False
        seq = int(n)
        missed = [item for item in ring if item["seq"] > seq]
        complete = seq >= (ring[0]["seq"] - 1 if ring else 0)
        return missed, complete

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(self.max_queue)
        with self._lock:
            self._subs.append((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        with self._lock:
            self._subs = [(lp, s) for lp, s in self._subs if s is not q]

    def publish(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:  # ids and the ring in one order
            seq = next(self._ids)
            item = {"id": f"{self.run}-{seq}", "seq": seq, "event": event, "data": {**data, "ts": utc_now()}}
            self._ring.append(item)
            subs = list(self._subs)
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(item)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop a scan or a contract
                log.exception("event listener failed on %s", event)
        for loop, q in subs:
            def put(q=q):
                if q.full():  # a slow listener loses the oldest events, never blocks the service
                    q.get_nowait()
                q.put_nowait(item)
            try:
                loop.call_soon_threadsafe(put)
            except RuntimeError:  # loop closed
                self.unsubscribe(q)

    @property
    def listeners(self) -> int:
        return len(self._subs)
