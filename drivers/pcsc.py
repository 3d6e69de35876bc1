"""PC/SC card transport (pyscard over pcsc-lite) and card insert/remove events.

:class:`PcscTransport` implements :class:`verifier.transport.CardTransport` with the
low-level ``smartcard.scard`` API (PC/SC part 5: SCardEstablishContext, SCardConnect,
SCardTransmit, SCardGetStatusChange), which gives the exact PC/SC return codes to map
onto :mod:`verifier.errors`:

* no PC/SC service, no reader, or the named reader absent -> :class:`NoReaderError`
* a reader but no (answering) card                      -> :class:`NoCardError`
* the card left during an exchange                        -> :class:`CardRemovedError`
* any other PC/SC failure                                 -> :class:`TransportError`

:func:`watch_cards` / :func:`card_events` report :class:`CardEvent` s (a card inserted
into or removed from any reader) from a polling thread over SCardGetStatusChange.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from smartcard import scard

from verifier.errors import CardRemovedError, InputError, NoCardError, NoReaderError, ResponseFormatError, TransportError

log = logging.getLogger(__name__)

_PNP = "\\\\?PnP?\\Notification"

# PC/SC return codes, as unsigned 32-bit values.
_OK = 0
_E_NO_SERVICE = 0x8010001D
_E_SERVICE_STOPPED = 0x8010001E
_E_NO_READERS_AVAILABLE = 0x8010002E
_E_UNKNOWN_READER = 0x80100009
_E_READER_UNAVAILABLE = 0x80100017
_E_NO_SMARTCARD = 0x8010000C
_E_TIMEOUT = 0x8010000A
_E_CANCELLED = 0x80100002
_E_INVALID_HANDLE = 0x80100003
_E_SHARING_VIOLATION = 0x8010000B
_W_REMOVED_CARD = 0x80100069
_W_RESET_CARD = 0x80100068
_W_UNRESPONSIVE_CARD = 0x80100066
_W_UNPOWERED_CARD = 0x80100067
_W_UNSUPPORTED_CARD = 0x80100065

_E_NOT_TRANSACTED = 0x80100016
_F_COMM_ERROR = 0x80100013
_F_UNKNOWN_ERROR = 0x80100014

#: Failures a reader reports when the card is pulled mid-exchange before it noticed.
_LINK_FAILED = {_E_NOT_TRANSACTED, _F_COMM_ERROR, _F_UNKNOWN_ERROR}
_REMOVAL_GRACE_S = 1.5

_SERVICE_DOWN = {_E_NO_SERVICE, _E_SERVICE_STOPPED}
_CARD_GONE = {_W_REMOVED_CARD, _E_NO_SMARTCARD, _W_RESET_CARD, _W_UNPOWERED_CARD}
_READER_GONE = {_E_UNKNOWN_READER, _E_READER_UNAVAILABLE}

#: Reader names of the test stack (vsmartcard vpcd), never a shop's reader. vpcd carries
#: extended-length APDUs (ISO/IEC 7816-4 §5.1) up to 65535 bytes over its socket without
#: reporting SCARD_ATTR_MAXINPUT.
VIRTUAL_READER_PREFIXES = ("Virtual PCD",)
#: A CCID reader reports MAXINPUT = dwMaxCCIDMessageLength - 10; short APDUs need 261.
_SHORT_APDU_MAX = 261
#: Bounds on T=0 response chaining (61XX -> GET RESPONSE): a card cannot make us loop.
_MAX_GET_RESPONSE = 300
_MAX_RESPONSE_BYTES = 65536


def _u32(hr: int) -> int:
    return hr & 0xFFFFFFFF


def _msg(hr: int) -> str:
    try:
        text = scard.SCardGetErrorMessage(hr)
    except Exception:  # pragma: no cover - pyscard always has it
        text = "PC/SC error"
    return f"{text} (0x{_u32(hr):08X})"


def _establish(step: str) -> int:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if _u32(hr) in _SERVICE_DOWN:
        raise NoReaderError(
            "the PC/SC service is not running: expected pcscd to answer on /run/pcscd/pcscd.comm, "
            f"found {_msg(hr)}",
            step=step,
        )
    if hr != _OK:
        raise TransportError(f"cannot open a PC/SC context: {_msg(hr)}", step=step)
    return ctx


def _release(ctx: int) -> None:
    try:
        scard.SCardReleaseContext(ctx)
    except Exception:  # pragma: no cover
        pass


def _list(ctx: int, step: str) -> list[str]:
    hr, names = scard.SCardListReaders(ctx, [])
    if _u32(hr) in (_E_NO_READERS_AVAILABLE,) or (hr == _OK and not names):
        return []
    if _u32(hr) in _SERVICE_DOWN:
        raise NoReaderError(f"the PC/SC service stopped: {_msg(hr)}", step=step)
    if hr != _OK:
        raise TransportError(f"cannot list PC/SC readers: {_msg(hr)}", step=step)
    return list(names)


def list_readers() -> list[str]:
    """Names of the PC/SC readers attached now; ``[]`` when none.

    Raises :class:`NoReaderError` when the PC/SC service (pcscd) is not running.
    """
    ctx = _establish("list readers")
    try:
        return _list(ctx, "list readers")
    finally:
        _release(ctx)


def is_virtual(reader: str) -> bool:
    """Whether ``reader`` is one of vsmartcard's virtual readers (tests, demos)."""
    return reader.startswith(VIRTUAL_READER_PREFIXES)


def choose_reader(names: list[str], wanted: str | None) -> str:
    """The reader called ``wanted`` (exact name, else the first whose name starts with
    it, so ``"Virtual PCD"`` finds ``"Virtual PCD 00 00"``), or the first reader."""
    if not names:
        raise NoReaderError("no PC/SC reader is attached: expected at least one, found none", step="select reader")
    if not wanted:
        return names[0]
    if wanted in names:
        return wanted
    for name in names:
        if name.startswith(wanted):
            return name
    raise NoReaderError(
        f"PC/SC reader {wanted!r} not found; attached readers: {', '.join(map(repr, names))}",
        step="select reader",
    )


def card_present(reader: str) -> bool:
    """Whether ``reader`` holds a card right now."""
    ctx = _establish("card status")
    try:
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hr != _OK:
            return False
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        _release(ctx)


class PcscTransport:
    """A card in a PC/SC reader, as a :class:`verifier.transport.CardTransport`.

    ``reader_name``: exact name or prefix of a reader; ``None`` = the first reader.
    ``wait_s``: how long to wait for a card to be presented (0 = it must be there).
    ``extended_length``: ``None`` = learn it from the reader (SCARD_ATTR_MAXINPUT, or a
    reader known to carry them, such as vpcd), else force it.
    """

    def __init__(
        self,
        reader_name: str | None = None,
        *,
        wait_s: float = 0.0,
        extended_length: bool | None = None,
    ) -> None:
        self._ctx = _establish("connect")
        self._card: int | None = None
        try:
            self.reader = choose_reader(_list(self._ctx, "connect"), reader_name)
            self.name = f"pcsc:{self.reader}"
            if wait_s > 0:
                self._wait_for_card(wait_s)
            self._connect()
            self.atr = self._status_atr()
            self.extended_length = (
                self._reader_extended_length() if extended_length is None else bool(extended_length)
            )
        except BaseException:
            self.close()
            raise
        log.debug("connected to %s (T=%d, extended_length=%s)", self.name,
                  0 if self._protocol == scard.SCARD_PROTOCOL_T0 else 1, self.extended_length)

    # -- connection ------------------------------------------------------------

    def _wait_for_card(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        state = scard.SCARD_STATE_UNAWARE
        while True:
            remaining = deadline - time.monotonic()
            hr, states = scard.SCardGetStatusChange(
                self._ctx, max(0, int(remaining * 1000)), [(self.reader, state)]
            )
            if hr == _OK:
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if state & scard.SCARD_STATE_PRESENT and not state & scard.SCARD_STATE_MUTE:
                    return
            elif _u32(hr) == _E_TIMEOUT:
                pass
            elif _u32(hr) in _READER_GONE:
                raise NoReaderError(f"reader {self.reader!r} was unplugged while waiting for a card",
                                    step="wait for card")
            else:
                raise TransportError(f"waiting for a card failed: {_msg(hr)}", step="wait for card")
            if time.monotonic() >= deadline:
                raise NoCardError(
                    f"no card was presented to {self.reader!r} within {wait_s:g} s", step="wait for card"
                )

    def _connect(self) -> None:
        hr, card, protocol = scard.SCardConnect(
            self._ctx, self.reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0,
        )
        code = _u32(hr)
        if code in (_E_NO_SMARTCARD, _W_REMOVED_CARD):
            raise NoCardError(f"no card in reader {self.reader!r}: expected a card, found an empty reader",
                              step="connect")
        if code in (_W_UNRESPONSIVE_CARD, _W_UNPOWERED_CARD, _W_UNSUPPORTED_CARD):
            raise NoCardError(f"the card in {self.reader!r} does not answer: {_msg(hr)}", step="connect")
        if code in _READER_GONE:
            raise NoReaderError(f"reader {self.reader!r} is gone: {_msg(hr)}", step="connect")
        if code == _E_SHARING_VIOLATION:
            raise TransportError(f"reader {self.reader!r} is held exclusively by another program: {_msg(hr)}",
                                 step="connect")
        if hr != _OK:
            raise TransportError(f"cannot connect to the card in {self.reader!r}: {_msg(hr)}", step="connect")
        self._card = card
        self._protocol = protocol

    def _status_atr(self) -> bytes:
        hr, _reader, _state, _proto, atr = scard.SCardStatus(self._card)
        if hr != _OK:
            self._raise_io(hr, "card status")
        return bytes(atr)

    def _reader_extended_length(self) -> bool:
        if is_virtual(self.reader):
            return True
        hr, value = scard.SCardGetAttrib(self._card, scard.SCARD_ATTR_MAXINPUT)
        if hr == _OK and value:
            maxinput = int.from_bytes(bytes(value[:4]), "little")
            return maxinput > _SHORT_APDU_MAX
        return False

    # -- exchange --------------------------------------------------------------

    def _card_left(self, within_s: float = _REMOVAL_GRACE_S) -> bool:
        """Whether the reader reports the card gone within ``within_s`` (pcscd polls
        presence every 400 ms, so right after a failed exchange it may not know yet)."""
        deadline = time.monotonic() + within_s
        while True:
            try:
                if not card_present(self.reader):
                    return True
            except TransportError:
                return False
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _raise_io(self, hr: int, step: str) -> None:
        code = _u32(hr)
        if code in _LINK_FAILED and self._card_left():
            raise CardRemovedError(f"the card left reader {self.reader!r} during an exchange: {_msg(hr)}",
                                   step=step)
        if code in _CARD_GONE:
            raise CardRemovedError(f"the card left reader {self.reader!r}: {_msg(hr)}", step=step)
        if code in _READER_GONE:
            raise NoReaderError(f"reader {self.reader!r} was unplugged: {_msg(hr)}", step=step)
        if code in _SERVICE_DOWN:
            raise NoReaderError(f"the PC/SC service stopped: {_msg(hr)}", step=step)
        raise TransportError(f"PC/SC exchange with {self.reader!r} failed: {_msg(hr)}", step=step)

    def _transmit_once(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise TransportError(f"transport {self.name} is closed", step="transmit")
        hr, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if hr != _OK:
            self._raise_io(hr, "transmit")
        rapdu = bytes(response)
        if len(rapdu) < 2:
            # vpcd and some readers report success with no bytes when the card left.
            hr, *_ = scard.SCardStatus(self._card)
            if hr != _OK:
                self._raise_io(hr, "transmit")
            if self._card_left():
                raise CardRemovedError(f"the card left reader {self.reader!r} during an exchange",
                                       step="transmit")
            raise TransportError(
                f"reader {self.reader!r} returned {len(rapdu)} bytes: expected at least SW1 SW2",
                step="transmit",
            )
        return rapdu

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU; return data || SW1 SW2.

        Under T=0 the transport completes the exchange the way ISO/IEC 7816-3 §12.2
        prescribes: 61XX -> GET RESPONSE, 6CXX -> the same command with Le = XX.
        """
        apdu = bytes(apdu)
        if len(apdu) < 4:
            raise InputError(f"command APDU must have at least 4 bytes, found {len(apdu)}")
        rapdu = self._transmit_once(apdu)
        if self._protocol != scard.SCARD_PROTOCOL_T0:
            return rapdu
        if rapdu[-2] == 0x6C:
            rapdu = self._transmit_once(_with_le(apdu, rapdu[-1]))
        data = b""
        rounds = 0
        while rapdu[-2] == 0x61:
            data += rapdu[:-2]
            rounds += 1
            if rounds > _MAX_GET_RESPONSE or len(data) > _MAX_RESPONSE_BYTES:
                raise ResponseFormatError(
                    f"the card keeps answering 61XX: expected the response within {_MAX_GET_RESPONSE} "
                    f"GET RESPONSE commands, found {len(data)} bytes and more to come",
                    step="GET RESPONSE", sw=int.from_bytes(rapdu[-2:], "big"),
                )
            rapdu = self._transmit_once(bytes([apdu[0] & 0x03, 0xC0, 0x00, 0x00, rapdu[-1]]))
        return data + rapdu

    def reconnect(self, timeout_s: float) -> None:
        """After the card left (:class:`CardRemovedError`): release its handle, wait up to
        ``timeout_s`` for a card in the same reader and connect to it
        (:class:`verifier.transport.ResumableTransport`). Raises :class:`NoCardError` when none
        came back in time. Which card it is, is for the caller to check."""
        if self._ctx is None:
            raise TransportError(f"transport {self.name} is closed", step="reconnect")
        card, self._card = self._card, None
        if card is not None:
            try:
                scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
            except Exception:  # pragma: no cover - the handle of a card that left
                pass
        deadline = time.monotonic() + timeout_s
        while True:
            self._wait_for_card(max(0.0, deadline - time.monotonic()) or 0.001)
            try:
                self._connect()
            except NoCardError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)  # present but not answering yet (still being placed)
                continue
            self.atr = self._status_atr()
            log.debug("reconnected to %s", self.name)
            return

    def close(self) -> None:
        """Reset the card (its secure-messaging session ends) and release PC/SC."""
        card, self._card = self._card, None
        if card is not None:
            try:
                scard.SCardDisconnect(card, scard.SCARD_RESET_CARD)
            except Exception:  # pragma: no cover
                pass
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx is not None:
            _release(ctx)

    def __enter__(self) -> "PcscTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PcscTransport({self.reader!r})"


def _with_le(apdu: bytes, le: int) -> bytes:
    """The short APDU ``apdu`` with its Le replaced (cases 2 and 4, ISO/IEC 7816-4 §5.1)."""
    if len(apdu) == 4:
        return apdu + bytes([le])
    if len(apdu) == 5:
        return apdu[:4] + bytes([le])
    lc = apdu[4]
    return apdu[: 5 + lc] + bytes([le])


# -- card insert / remove events ------------------------------------------------


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
            if hr != _OK:
                self._stop.wait(1.0)
                continue
            self._ctx = ctx
            try:
                first = self._watch(ctx, known, first)
            finally:
                self._ctx = None
                _release(ctx)
            if not self._stop.is_set():
                self._stop.wait(0.2)

    def _watch(self, ctx: int, known: dict[str, tuple[int, bytes]], first: bool) -> bool:
        use_pnp = True
        pnp_state = scard.SCARD_STATE_UNAWARE
        while not self._stop.is_set():
            hr, names = scard.SCardListReaders(ctx, [])
            if _u32(hr) in _SERVICE_DOWN or _u32(hr) == _E_INVALID_HANDLE:
                self._drop_all(known)
                return first
            names = list(names) if hr == _OK else []
            for gone in [r for r in known if r not in names]:
                state, atr = known.pop(gone)
                if state & scard.SCARD_STATE_PRESENT:
                    self._emit(CardEvent("removed", gone))
            for name in names:
                if name not in known:
                    known[name] = (scard.SCARD_STATE_UNAWARE, b"")
            query = [(r, known[r][0] & ~scard.SCARD_STATE_CHANGED) for r in names]
            if use_pnp:
                query.append((_PNP, pnp_state))
            if not query:
                self._stop.wait(self.poll_s)
                continue
            hr, states = scard.SCardGetStatusChange(ctx, int(self.poll_s * 1000), query)
            code = _u32(hr)
            if code in (_E_TIMEOUT, _E_CANCELLED):
                continue
            if code in _SERVICE_DOWN or code == _E_INVALID_HANDLE:
                self._drop_all(known)
                return first
            if hr != _OK:
                if use_pnp:  # some stacks refuse the PnP pseudo-reader: poll instead
                    use_pnp = False
                    continue
                self._stop.wait(self.poll_s)
                continue
            for reader, event_state, atr in states:
                if reader == _PNP:
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
