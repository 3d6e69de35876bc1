"""PC/SC card transport (pyscard over pcsc-lite): readers, connection and APDU exchange.

:class:`PcscTransport` implements :class:`verifier.transport.CardTransport` with the
low-level ``smartcard.scard`` API (PC/SC part 5: SCardEstablishContext, SCardConnect,
SCardTransmit, SCardGetStatusChange), which gives the exact PC/SC return codes
(:mod:`drivers.pcsc_codes`) to map onto :mod:`verifier.errors`:

* no PC/SC service, no reader, or the named reader absent -> :class:`NoReaderError`
* a reader but no (answering) card                      -> :class:`NoCardError`
* the card left during an exchange                        -> :class:`CardRemovedError`
* any other PC/SC failure                                 -> :class:`TransportError`

Card insert/remove events are :mod:`drivers.pcsc_watch`.
"""

from __future__ import annotations

import logging
import time

from smartcard import scard

from drivers.pcsc_codes import (
    CARD_GONE,
    E_NO_READERS_AVAILABLE,
    E_NO_SMARTCARD,
    E_SHARING_VIOLATION,
    E_TIMEOUT,
    LINK_FAILED,
    OK,
    READER_GONE,
    SERVICE_DOWN,
    W_REMOVED_CARD,
    W_UNPOWERED_CARD,
    W_UNRESPONSIVE_CARD,
    W_UNSUPPORTED_CARD,
    error_text,
    establish_context,
    release_context,
    u32,
)
from verifier.errors import CardRemovedError, InputError, NoCardError, NoReaderError, ResponseFormatError, TransportError

log = logging.getLogger(__name__)

#: How long a failed exchange waits for the reader to notice a removed card.
_REMOVAL_GRACE_S = 1.5

#: Reader names of the test stack (vsmartcard vpcd), never a shop's reader. vpcd carries
#: extended-length APDUs (ISO/IEC 7816-4 §5.1) up to 65535 bytes over its socket without
#: reporting SCARD_ATTR_MAXINPUT.
VIRTUAL_READER_PREFIXES = ("Virtual PCD",)
#: A CCID reader reports MAXINPUT = dwMaxCCIDMessageLength - 10; short APDUs need 261.
_SHORT_APDU_MAX = 261
#: Bounds on T=0 response chaining (61XX -> GET RESPONSE): a card cannot make us loop.
_MAX_GET_RESPONSE = 300
_MAX_RESPONSE_BYTES = 65536


def _list(ctx: int, step: str) -> list[str]:
    hr, names = scard.SCardListReaders(ctx, [])
    if u32(hr) in (E_NO_READERS_AVAILABLE,) or (hr == OK and not names):
        return []
    if u32(hr) in SERVICE_DOWN:
        raise NoReaderError(f"the PC/SC service stopped: {error_text(hr)}", step=step)
    if hr != OK:
        raise TransportError(f"cannot list PC/SC readers: {error_text(hr)}", step=step)
    return list(names)


def list_readers() -> list[str]:
    """Names of the PC/SC readers attached now; ``[]`` when none.

    Raises :class:`NoReaderError` when the PC/SC service (pcscd) is not running.
    """
    ctx = establish_context("list readers")
    try:
        return _list(ctx, "list readers")
    finally:
        release_context(ctx)


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
    ctx = establish_context("card status")
    try:
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hr != OK:
            return False
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        release_context(ctx)


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
        self._ctx = establish_context("connect")
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
            if hr == OK:
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if state & scard.SCARD_STATE_PRESENT and not state & scard.SCARD_STATE_MUTE:
                    return
            elif u32(hr) == E_TIMEOUT:
                pass
            elif u32(hr) in READER_GONE:
                raise NoReaderError(f"reader {self.reader!r} was unplugged while waiting for a card",
                                    step="wait for card")
            else:
                raise TransportError(f"waiting for a card failed: {error_text(hr)}", step="wait for card")
            if time.monotonic() >= deadline:
                raise NoCardError(
                    f"no card was presented to {self.reader!r} within {wait_s:g} s", step="wait for card"
                )

    def _connect(self) -> None:
        hr, card, protocol = scard.SCardConnect(
            self._ctx, self.reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0,
        )
        code = u32(hr)
        if code in (E_NO_SMARTCARD, W_REMOVED_CARD):
            raise NoCardError(f"no card in reader {self.reader!r}: expected a card, found an empty reader",
                              step="connect")
        if code in (W_UNRESPONSIVE_CARD, W_UNPOWERED_CARD, W_UNSUPPORTED_CARD):
            raise NoCardError(f"the card in {self.reader!r} does not answer: {error_text(hr)}", step="connect")
        if code in READER_GONE:
            raise NoReaderError(f"reader {self.reader!r} is gone: {error_text(hr)}", step="connect")
        if code == E_SHARING_VIOLATION:
            raise TransportError(f"reader {self.reader!r} is held exclusively by another program: {error_text(hr)}",
                                 step="connect")
        if hr != OK:
            raise TransportError(f"cannot connect to the card in {self.reader!r}: {error_text(hr)}", step="connect")
        self._card = card
        self._protocol = protocol

    def _status_atr(self) -> bytes:
        hr, _reader, _state, _proto, atr = scard.SCardStatus(self._card)
        if hr != OK:
            self._raise_io(hr, "card status")
        return bytes(atr)

    def _reader_extended_length(self) -> bool:
        if is_virtual(self.reader):
            return True
        hr, value = scard.SCardGetAttrib(self._card, scard.SCARD_ATTR_MAXINPUT)
        if hr == OK and value:
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
        code = u32(hr)
        if code in LINK_FAILED and self._card_left():
            raise CardRemovedError(f"the card left reader {self.reader!r} during an exchange: {error_text(hr)}",
                                   step=step)
        if code in CARD_GONE:
            raise CardRemovedError(f"the card left reader {self.reader!r}: {error_text(hr)}", step=step)
        if code in READER_GONE:
            raise NoReaderError(f"reader {self.reader!r} was unplugged: {error_text(hr)}", step=step)
        if code in SERVICE_DOWN:
            raise NoReaderError(f"the PC/SC service stopped: {error_text(hr)}", step=step)
        raise TransportError(f"PC/SC exchange with {self.reader!r} failed: {error_text(hr)}", step=step)

    def _transmit_once(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise TransportError(f"transport {self.name} is closed", step="transmit")
        hr, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if hr != OK:
            self._raise_io(hr, "transmit")
        rapdu = bytes(response)
        if len(rapdu) < 2:
            # vpcd and some readers report success with no bytes when the card left.
            hr, *_ = scard.SCardStatus(self._card)
            if hr != OK:
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
            release_context(ctx)

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
