"""The one seam between protocol code and hardware: :class:`CardTransport`.

Everything in ``verifier/`` core talks to a card only through ``transmit``.
Implementations live in ``drivers/`` (PC/SC, NFC, the in-process emulator).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class CardTransport(Protocol):
    """Sends one command APDU and returns the full response APDU (data || SW1 SW2).

    ``name`` describes the reader for reports ("emulator", "pcsc:Virtual PCD 00 00").
    ``extended_length`` says whether the reader path carries extended-length APDUs
    (ISO/IEC 7816-4 §5.1); the card's own support is learnt separately from
    EF.ATR/INFO or by trying.

    Implementations raise :class:`verifier.errors.TransportError` subclasses on I/O
    failure (no card, card removed) and never return partial responses.
    """

    name: str
    extended_length: bool

    def transmit(self, apdu: bytes) -> bytes: ...

    def close(self) -> None: ...


@runtime_checkable
class ResumableTransport(CardTransport, Protocol):
    """A transport that can wait for a lifted card to come back (PC/SC, NFC).

    ``reconnect(timeout_s)`` drops the link to the card that left, waits up to ``timeout_s``
    for a card in the same reader and connects to it (a fresh power-up: the chip has lost
    its secure-messaging session). It raises :class:`verifier.errors.NoCardError` when no card
    came back in time. Whether it is the same card is the caller's question
    (:class:`verifier.icao.session.ChipSession` compares what it read).
    """

    def reconnect(self, timeout_s: float) -> None: ...


class CountingTransport:
    """Wraps a transport and counts APDUs and bytes on the wire, both directions."""

    def __init__(self, inner: CardTransport) -> None:
        self.inner = inner
        self.name = inner.name
        self.extended_length = inner.extended_length
        self.apdus = 0
        self.bytes = 0

    def transmit(self, apdu: bytes) -> bytes:
        rapdu = self.inner.transmit(apdu)
        self.apdus += 1
        self.bytes += len(apdu) + len(rapdu)
        return rapdu

    def close(self) -> None:
        self.inner.close()
