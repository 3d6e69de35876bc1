"""Fault injection around the emulated chip: what real chips and real counters do to a reader.

:class:`FaultyChip` wraps an :class:`drivers.emulator.chip.EmulatedChip` (any APDU processor
with ``process`` / ``reset`` and the chip's ``sm``) and misbehaves on purpose; it plugs into
``drivers/vpcd.py``'s :class:`VirtualCard`, nfcpy's udp card and the in-process transport
like the chip itself. The chip is not modified: the wrapper looks at protected commands
through a copy of the chip's secure-messaging state (ICAO 9303-11 §9.8), so the chip's
send sequence counter is untouched.

* ``sm_error_on_missing``: a protected SELECT or READ BINARY (SFI) of a file the chip does not
  hold is answered with a plain 6988 and the chip ends secure messaging (ICAO 9303-11 §9.8.4)
  instead of answering 6A82: an independent virtual ePass on pcscd does this for EF.COM.
* ``sm_error_once``: the first protected command aimed at each of these files gets the same
  treatment (6988, session ended) although the file is there: a command corrupted by RF noise.
* ``corrupt_pace``: a man in the middle flips one bit of the chip's encrypted PACE nonce
  (ICAO 9303-11 §4.4.3.1): the PACE tokens no longer verify, every PACE attempt is refused and a
  reader under ``pace-then-bac`` falls back to BAC (the downgrade of issue 15 item 12).
* ``garble_pace_once``: the first PACE nonce response arrives cut short (RF noise, a flaky
  reader), once: the reader tries PACE again before any fall-back to BAC.
* ``lift_in=("DG2", n)``: after ``n`` READ BINARY of EF.DG2 the card leaves the reader, once:
  the next command raises :class:`CardRemovedError` (``VirtualCard`` then takes the card out
  for real) and ``on_lifted`` is called (a test puts the card back from there).

``commands`` records the plain header (INS, P1, P2) of every command the chip received,
protected ones included, for assertions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from verifier.errors import CardRemovedError, ParseError, SecureMessagingError
from verifier.icao import apdu as A
from verifier.icao.apdu import Command
from verifier.icao.lds.files import FILES
from verifier.icao.sm import SecureMessaging

log = logging.getLogger(__name__)

#: First GENERAL AUTHENTICATE of PACE: an empty dynamic authentication data object (§4.4.4.2).
_PACE_NONCE_REQUEST = b"\x7c\x00"


class FaultyChip:
    """An emulated chip with injected faults (see the module docstring)."""

    def __init__(self, chip: Any, *, sm_error_on_missing: bool = False, sm_error_once: tuple[str, ...] = (),
                 corrupt_pace: bool = False, garble_pace_once: bool = False, lift_in: tuple[str, int] | None = None,
                 on_lifted: Callable[[], None] | None = None) -> None:
        self.chip = chip
        self.sm_error_on_missing = sm_error_on_missing
        self._sm_error_once = set(sm_error_once)
        self.corrupt_pace = corrupt_pace
        self.garble_pace_once = garble_pace_once
        self.lift_in = lift_in
        self.on_lifted = on_lifted
        self.lifted = 0
        self._reads_of_target = 0
        self.commands: list[tuple[int, int, int]] = []
        self.sm_errors: list[str] = []  # files answered 6988 by the wrapper

    def __getattr__(self, name: str) -> Any:  # files, faults, sm, ...: the chip's own
        return getattr(self.chip, name)

    def reset(self) -> None:
        self.chip.reset()

    def process(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        if self.lift_in is not None and not self.lifted and self._reads_of_target >= self.lift_in[1]:
            self.lifted += 1
            log.debug("fault: card lifted after %d READ BINARY of EF.%s", self._reads_of_target, self.lift_in[0])
            if self.on_lifted is not None:
                self.on_lifted()
            raise CardRemovedError(f"emulated card lifted while EF.{self.lift_in[0]} was read")
        plain = self._peek(apdu)
        if plain is not None:
            self.commands.append((plain.ins, plain.p1, plain.p2))
            target = self._target(plain)
            if target is not None and self._sm_fault(target):
                self.sm_errors.append(target)
                self.chip._drop_session()
                return A.SW_SM_DO_INCORRECT.to_bytes(2, "big")
        rapdu = self.chip.process(apdu)
        if plain is not None and plain.ins in (A.INS_READ_BINARY, A.INS_READ_BINARY_ODD) and self.lift_in:
            current = self.chip.current_ef
            if current is not None and current.name == self.lift_in[0]:
                self._reads_of_target += 1
        if self.corrupt_pace and plain is not None and plain.ins == A.INS_GENERAL_AUTHENTICATE \
                and plain.data == _PACE_NONCE_REQUEST and len(rapdu) > 4 and self.chip.sm is None:
            rapdu = rapdu[:-3] + bytes([rapdu[-3] ^ 0x01]) + rapdu[-2:]  # last byte of the encrypted nonce
        if self.garble_pace_once and plain is not None and plain.ins == A.INS_GENERAL_AUTHENTICATE \
                and plain.data == _PACE_NONCE_REQUEST and len(rapdu) > 4 and self.chip.sm is None:
            self.garble_pace_once = False
            rapdu = rapdu[:3] + rapdu[-2:]  # a frame cut short by noise: the reader cannot parse it
        return rapdu

    def _peek(self, apdu: bytes) -> Command | None:
        """The plain command: as sent, or unwrapped with a copy of the chip's SM keys and SSC."""
        try:
            outer = Command.parse(apdu)
        except ParseError:
            return None
        if outer.cla & 0x0C != 0x0C:
            return outer
        sm = self.chip.sm
        if sm is None:
            return None
        try:
            return Command.parse(SecureMessaging(sm.ks_enc, sm.ks_mac, sm.ssc, sm.cipher).unwrap_command(apdu))
        except (SecureMessagingError, ParseError):
            return None

    def _target(self, cmd: Command) -> str | None:
        """The LDS file a protected SELECT (by FID) or READ BINARY (by SFI) names, if any."""
        if self.chip.sm is None:
            return None
        if cmd.ins == A.INS_SELECT and cmd.p1 in (0x00, 0x02) and len(cmd.data) == 2:
            fid = int.from_bytes(cmd.data, "big")
            return next((f.name for f in FILES.values() if f.fid == fid and not f.in_master_file), None)
        if cmd.ins == A.INS_READ_BINARY and cmd.p1 & 0x80:
            sfi = cmd.p1 & 0x1F
            return next((f.name for f in FILES.values() if f.sfi == sfi and not f.in_master_file), None)
        return None

    def _sm_fault(self, name: str) -> bool:
        if name in self._sm_error_once:
            self._sm_error_once.discard(name)
            return True
        return self.sm_error_on_missing and name not in self.chip.files


__all__ = ["FaultyChip"]
