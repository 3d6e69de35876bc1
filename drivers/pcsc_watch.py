"""Card insert/remove events of every PC/SC reader, from a thread over SCardGetStatusChange.

:class:`CardWatcher` waits on SCardGetStatusChange (PC/SC part 5 §3.1.4) for all readers and
the PnP pseudo-reader and reports :class:`CardEvent` s (a card inserted into or removed from
any reader); :func:`watch_cards` starts one, :func:`card_events` iterates over its events.
Reading a card is :mod:`drivers.pcsc`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from smartcard import scard

from drivers.pcsc_codes import E_CANCELLED, E_INVALID_HANDLE, E_TIMEOUT, OK, PNP_NOTIFICATION, SERVICE_DOWN, release_context, u32

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardEvent:
    """A card entered (``inserted``, with its ATR) or left (``removed``) a reader."""

    kind: Literal["inserted", "removed"]
    reader: str
    atr: bytes = b""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "reader": self.reader, "atr": self.atr.hex().upper()}


class CardWatcher:
    """A thread that reports :class:`CardEvent` s of every PC/SC reader to ``callback``.

    Waits on SCardGetStatusChange (PC/SC part 5 §3.1.4) for all readers and the PnP
    pseudo-reader, so readers plugged in later are watched too. A removal and
    re-insertion between two polls is still reported as two events (pcsc-lite counts
    card events in the upper 16 bits of the reader state). Survives pcscd restarts.
    With ``initial=True`` the cards already present are reported as ``inserted`` first.
    """

    def __init__(self, callback: Callable[[CardEvent], None], *, initial: bool = True,
                 poll_s: float = 0.5) -> None:
        self.callback = callback
        self.initial = initial
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._ctx: int | None = None
        self._thread = threading.Thread(target=self._run, name="pcsc-card-watcher", daemon=True)

    def start(self) -> "CardWatcher":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        ctx = self._ctx
        if ctx is not None:
            try:
                scard.SCardCancel(ctx)
            except Exception:  # pragma: no cover
                pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def __enter__(self) -> "CardWatcher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _emit(self, event: CardEvent) -> None:
        log.debug("card event %s on %s", event.kind, event.reader)
        try:
            self.callback(event)
        except Exception:
            log.exception("card event callback failed")

    def _run(self) -> None:
        # reader -> (last event state, atr); None state = not seen yet
        known: dict[str, tuple[int, bytes]] = {}
        first = True
        while not self._stop.is_set():
            hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hr != OK:
                self._stop.wait(1.0)
                continue
            self._ctx = ctx
            try:
                first = self._watch(ctx, known, first)
            finally:
                self._ctx = None
                release_context(ctx)
            if not self._stop.is_set():
                self._stop.wait(0.2)

    def _watch(self, ctx: int, known: dict[str, tuple[int, bytes]], first: bool) -> bool:
        use_pnp = True
        pnp_state = scard.SCARD_STATE_UNAWARE
        while not self._stop.is_set():
            hr, names = scard.SCardListReaders(ctx, [])
            if u32(hr) in SERVICE_DOWN or u32(hr) == E_INVALID_HANDLE:
                self._drop_all(known)
                return first
            names = list(names) if hr == OK else []
            for gone in [r for r in known if r not in names]:
                state, atr = known.pop(gone)
                if state & scard.SCARD_STATE_PRESENT:
                    self._emit(CardEvent("removed", gone))
            for name in names:
                if name not in known:
                    known[name] = (scard.SCARD_STATE_UNAWARE, b"")
            query = [(r, known[r][0] & ~scard.SCARD_STATE_CHANGED) for r in names]
            if use_pnp:
                query.append((PNP_NOTIFICATION, pnp_state))
            if not query:
                self._stop.wait(self.poll_s)
                continue
            hr, states = scard.SCardGetStatusChange(ctx, int(self.poll_s * 1000), query)
            code = u32(hr)
            if code in (E_TIMEOUT, E_CANCELLED):
                continue
            if code in SERVICE_DOWN or code == E_INVALID_HANDLE:
                self._drop_all(known)
                return first
            if hr != OK:
                if use_pnp:  # some stacks refuse the PnP pseudo-reader: poll instead
                    use_pnp = False
                    continue
                self._stop.wait(self.poll_s)
                continue
            for reader, event_state, atr in states:
                if reader == PNP_NOTIFICATION:
                    pnp_state = event_state & ~scard.SCARD_STATE_CHANGED
                    continue
                self._update(known, reader, event_state, bytes(atr), first)
            first = False
        return first

    def _update(self, known: dict[str, tuple[int, bytes]], reader: str, state: int, atr: bytes,
                first: bool) -> None:
        old_state, old_atr = known.get(reader, (scard.SCARD_STATE_UNAWARE, b""))
        known[reader] = (state, atr)
        was = bool(old_state & scard.SCARD_STATE_PRESENT) and old_state != scard.SCARD_STATE_UNAWARE
        now = bool(state & scard.SCARD_STATE_PRESENT)
        # Present before and now, but the card changed in between: the event counter moved
        # by two or more (out and in again), or the ATR differs.
        bounced = was and now and (((state >> 16) - (old_state >> 16)) & 0xFFFF >= 2 or atr != old_atr)
        if was and (not now or bounced):
            self._emit(CardEvent("removed", reader))
        if now and (not was or bounced):
            if old_state == scard.SCARD_STATE_UNAWARE and first and not self.initial:
                return
            self._emit(CardEvent("inserted", reader, atr))

    def _drop_all(self, known: dict[str, tuple[int, bytes]]) -> None:
        for reader, (state, _atr) in list(known.items()):
            if state & scard.SCARD_STATE_PRESENT:
                self._emit(CardEvent("removed", reader))
        known.clear()


def watch_cards(callback: Callable[[CardEvent], None], *, initial: bool = True,
                poll_s: float = 0.5) -> CardWatcher:
    """Start reporting card events to ``callback`` (from a daemon thread); ``.stop()`` ends it."""
    return CardWatcher(callback, initial=initial, poll_s=poll_s).start()


def card_events(*, timeout_s: float | None = None, initial: bool = True,
                poll_s: float = 0.5) -> Iterator[CardEvent]:
    """Iterate over card events as they happen; stops after ``timeout_s`` without an event
    (``None`` = never). Closing the generator stops the watcher thread."""
    events: queue.Queue[CardEvent] = queue.Queue()
    watcher = watch_cards(events.put, initial=initial, poll_s=poll_s)
    try:
        while True:
            try:
                yield events.get(timeout=timeout_s)
            except queue.Empty:
                return
    finally:
        watcher.stop()
