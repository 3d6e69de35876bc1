"""Server-sent events: card inserted/removed and scan progress, fanned out to every listener."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from verifier.ledger.entry import utc_now


class EventBus:
    """Thread-safe publish; each subscriber is an asyncio queue on its own loop (bounded)."""

    def __init__(self, max_queue: int = 200) -> None:
        self._subs: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.max_queue = max_queue

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(self.max_queue)
        with self._lock:
            self._subs.append((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        with self._lock:
            self._subs = [(lp, s) for lp, s in self._subs if s is not q]

    def publish(self, event: str, data: dict[str, Any]) -> None:
        item = {"id": next(self._ids), "event": event, "data": {**data, "ts": utc_now()}}
        with self._lock:
            subs = list(self._subs)
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
