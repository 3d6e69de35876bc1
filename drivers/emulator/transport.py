"""A :class:`verifier.transport.CardTransport` over an in-process :class:`EmulatedChip`.

With ``bitrate`` (bits per second) every exchange sleeps for the time its bytes would
take on a link of that speed (``(len(command) + len(response)) * 8 / bitrate``): a
simulated ISO/IEC 14443 link for benchmarks (106 / 212 / 424 / 848 kbit/s).
``chip_seconds`` adds up the time the emulated chip itself computed (a real chip's
time, not the reader's), so benchmarks can tell reader overhead from chip time.
"""

from __future__ import annotations

import logging
import time

from verifier.errors import TransportError
from verifier.icao.apdu import Command

log = logging.getLogger(__name__)


class EmulatorTransport:
    def __init__(self, chip, bitrate: int | None = None, extended_length: bool = True,
                 name: str = "emulator") -> None:
        if bitrate is not None and bitrate <= 0:
            raise TransportError(f"bitrate must be positive, found {bitrate}")
        self.chip = chip
        self.bitrate = bitrate
        self.extended_length = extended_length
        self.name = name
        self.closed = False
        self.link_seconds = 0.0  # simulated link time (the floor)
        self.wait_seconds = 0.0  # wall time actually spent waiting for it (>= link_seconds)
        self.chip_seconds = 0.0  # time spent inside the emulated chip (its own crypto), for benchmarks

    def transmit(self, apdu: bytes) -> bytes:
        if self.closed:
            raise TransportError("the emulator transport is closed", step="transmit")
        if not self.extended_length and Command.is_extended(apdu):
            raise TransportError("this reader cannot carry extended-length APDUs", step="transmit")
        start = time.perf_counter()
        try:
            rapdu = self.chip.process(bytes(apdu))
        finally:
            self.chip_seconds += time.perf_counter() - start
        if self.bitrate:
            seconds = (len(apdu) + len(rapdu)) * 8 / self.bitrate
            self.link_seconds += seconds
            waited = time.perf_counter()
            _precise_sleep(seconds)
            self.wait_seconds += time.perf_counter() - waited
        return rapdu

    def reset(self) -> None:
        """Take the card off the field and put it back (power cycle)."""
        self.chip.reset()

    def close(self) -> None:
        self.closed = True


def _precise_sleep(seconds: float) -> None:
    """Wait ``seconds``: sleep all but the last 1.5 ms, spin the rest (never returns early)."""
    deadline = time.perf_counter() + seconds
    if seconds > 0.002:
        time.sleep(seconds - 0.0015)
    while time.perf_counter() < deadline:
        pass
