"""Access control of a chip session (PACE or BAC with each key in turn), and opening it again.

Access (ICAO 9303-11 §4.2): with policy "pace-then-bac" the session reads EF.CardAccess from
the master file; when it lists PACE, PACE runs with each key in turn; otherwise, or when PACE
cannot be used, BAC runs with each MRZ key (several QR-derived expiry candidates are normal for
a CCCD). The application is re-selected between tries. The report says which key worked (its
description, never the key).

Opening again, with the protocol and the key that opened the chip:

* :meth:`AccessControl.reopen` after the chip ended secure messaging (ICAO 9303-11 §9.8.4),
  then the ``after_reopen`` hooks (the scan re-runs chip authentication there, so DG15 and
  active authentication again run under chip-authentication keys).
* :meth:`AccessControl.resume` after a card lifted mid-read (:class:`CardRemovedError`) was
  waited for, up to ``resume_wait_s`` and at most ``max_resumes`` times, through the
  transport's ``reconnect`` (PC/SC, NFC). It checks that the card put back is the same chip,
  re-runs the ``after_reopen`` hooks and the read goes on from the offset reached. Same chip
  means: the same key opens it (same MRZ data or CAN), the same EF.CardAccess (PACE), and the
  first :data:`ANCHOR_BYTES` bytes of the first anchor file read (EF.SOD, else DG1) are
  identical when read again. EF.SOD's first bytes hold the signed hash of every data group
  (DG1 first, whose MRZ names the document), so two cards never share them; a chip UID is
  never used (eMRTDs randomise it).

:class:`AccessControl` is mixed into :class:`verifier.icao.session.ChipSession`, which owns the
state and the exchange (``send_plain``, ``transmit``) and reads files (``read_file``,
``read_into``).
"""

from __future__ import annotations

import logging
from typing import Callable, Self

from verifier.errors import (AccessDeniedError, AccessKeyError, CardRemovedError, ChipError, ChipidError,
                             NoCardError, ResponseFormatError, SecureMessagingError, StatusWordError, TransportError)
from verifier.icao import apdu as A
from verifier.icao.apdu import Command
from verifier.icao.bac import perform_bac
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.lds.files import EMRTD_AID, EFInfo, ef
from verifier.icao.pace import perform_pace
from verifier.icao.sm import SecureMessaging

log = logging.getLogger(__name__)

POLICIES = ("pace-then-bac", "pace", "bac")
#: Re-openings of secure messaging allowed in one session (each one a PACE or BAC run).
MAX_REOPENS = 8
#: Files whose first bytes identify a chip when a lifted card is put back, best first.
ANCHOR_FILES = ("SOD", "DG1")
ANCHOR_BYTES = 512


class AccessControl:
    """Opening the chip, and opening it again (see the module docstring). Needs from the session:
    ``transport``, ``keys``, ``policy``, ``send_plain``, ``transmit``, ``read_file``, ``read_into``,
    ``after_reopen``, ``on_card``, the resume limits and the access state it sets (``sm``,
    ``access_protocol``, ``key_used``, ``card_access``, ``attempts``, ``_key``, ``_anchor``)."""

    @property
    def key(self) -> BACKey | CANKey | None:
        """The key that opened the chip (None before :meth:`open`): compared with DG1 by the
        access-data check (ICAO 9303-11 §4.3, :mod:`verifier.cccd.access_match`)."""
        return self._key

    def open(self) -> Self:
        """Run access control with each key in turn; raises :class:`AccessDeniedError` if none works."""
        if not self.keys:
            raise AccessKeyError("no access key: give the MRZ / ID number with dates, or the CAN")
        self.sm, self.access_protocol, self.key_used, self.attempts = None, None, None, []
        n = len(self.keys)
        if self.policy in ("pace-then-bac", "pace"):
            self.card_access = self._read_card_access()
            if self.card_access is None:
                self.attempts.append("PACE: no EF.CardAccess")
            else:
                for i, key in enumerate(self.keys, 1):
                    outcome = self._try_pace(key, i, n)
                    if outcome == "unusable":
                        # a garbled exchange (RF noise, a flaky reader) is not yet a reason to fall back to
                        # BAC, which the access_protocol check grades as a downgrade: PACE once more first
                        outcome = self._try_pace(key, i, n, again=True)
                    if outcome == "ok":
                        self._select_application()
                        return self
                    if outcome == "unusable":
                        break
        if self.policy in ("pace-then-bac", "bac"):
            for i, key in enumerate(self.keys, 1):
                if not isinstance(key, BACKey):
                    continue
                outcome = self._try_bac(key, i, n)
                if outcome == "ok":
                    return self
                if outcome == "unusable":
                    break
        raise AccessDeniedError(
            "no access key opened the chip (" + "; ".join(self.attempts) + "): wrong MRZ, ID number, dates or CAN?",
            step="access control")

    def _read_card_access(self) -> bytes | None:
        try:
            self.send_plain(Command(0x00, A.INS_SELECT, 0x00, 0x0C, (0x3F00).to_bytes(2, "big")))
            return self.read_file("CardAccess")
        except (StatusWordError, ResponseFormatError) as e:
            log.debug("no EF.CardAccess: %s", e)
            return None

    def _try_pace(self, key: BACKey | CANKey, i: int, n: int, *, again: bool = False) -> str:
        if i > 1 or again:
            self.send_plain(Command(0x00, A.INS_SELECT, 0x00, 0x0C, (0x3F00).to_bytes(2, "big")))
        return self._attempt("PACE", f"PACE with {key.describe()} (key {i} of {n}{', again' if again else ''})",
                             lambda: perform_pace(self.send_plain, key, self.card_access), key, unusable=ChipidError)

    def _try_bac(self, key: BACKey, i: int, n: int) -> str:
        def run() -> SecureMessaging:
            self._select_application()
            return perform_bac(self.send_plain, key)

        self.sm = None
        return self._attempt("BAC", f"BAC with {key.describe()} (key {i} of {n})", run, key, unusable=ChipError)

    def _attempt(self, protocol: str, label: str, run: Callable[[], SecureMessaging], key: BACKey | CANKey, *,
                 unusable: type[ChipidError]) -> str:
        """One access-control attempt, recorded in :attr:`attempts`: "ok" (secure messaging is
        installed), "refused" (wrong key: try the next one) or "unusable" (the protocol itself
        failed with an ``unusable`` error: give up on it). Transport errors propagate."""
        try:
            sm = run()
        except AccessDeniedError as e:
            self.attempts.append(f"{label}: refused")
            log.info("%s refused: %s", label, e.message)
            return "refused"
        except TransportError:
            raise
        except unusable as e:
            self.attempts.append(f"{label}: {protocol} unusable ({type(e).__name__}: {e})")
            log.info("%s unusable: %s", protocol, e)
            return "unusable"
        self.sm, self.access_protocol, self.key_used = sm, protocol, label.removeprefix(f"{protocol} with ")
        self._key = key
        self.attempts.append(f"{label}: ok")
        log.info("access: %s", label)
        return "ok"

    def _select_application(self) -> None:
        resp = self.transmit(Command(0x00, A.INS_SELECT, 0x04, 0x0C, EMRTD_AID))
        resp.require_ok("SELECT eMRTD application", "selecting the eMRTD application")

    def reopen(self, why: str) -> None:
        """Re-establish secure messaging after the chip ended it (ICAO 9303-11 §9.8.4): the same
        protocol with the key that opened the chip, then the :attr:`after_reopen` hooks."""
        if self.reopens >= MAX_REOPENS:
            raise ChipError(f"secure messaging broke more than {MAX_REOPENS} times in one session: giving up "
                            f"(last: {why})", step="re-open")
        self.reopens += 1
        log.info("secure messaging ended (%s): re-opening with %s", why, self.access_protocol)
        try:
            self._reestablish_access(compare_card_access=False)
        except (StatusWordError, SecureMessagingError, ResponseFormatError) as e:
            raise ChipError(f"secure messaging could not be re-opened after {why}: {e}", step="re-open",
                            sw=e.sw) from e
        for hook in self.after_reopen:  # hooks raise ChipError (never a per-file failure)
            hook()

    def _reestablish_access(self, *, compare_card_access: bool) -> None:
        """Run the protocol that opened the chip again with the same key."""
        key, protocol = self._key, self.access_protocol
        if key is None or protocol is None:
            raise ChipError("the session was never opened: nothing to re-open", step="re-open")
        self.sm = None
        step = f"{protocol} again with {key.describe()}"
        try:
            if protocol == "PACE":
                if compare_card_access:
                    card_access = self._read_card_access()
                    if card_access != self.card_access:
                        raise CardRemovedError("the card put back has another EF.CardAccess: a different card",
                                               step="resume")
                self.send_plain(Command(0x00, A.INS_SELECT, 0x00, 0x0C, (0x3F00).to_bytes(2, "big")))
                self.sm = perform_pace(self.send_plain, key, self.card_access)
                self._select_application()
            else:
                self._select_application()
                self.sm = perform_bac(self.send_plain, key)
        except AccessDeniedError as e:
            raise AccessDeniedError(f"the chip refused the key that opened it before: {e.message}", step=step,
                                    sw=e.sw) from e
        log.info("access: %s: ok", step)

    def _notify(self, event: str) -> None:
        if self.on_card is not None:
            self.on_card(event)

    def resume(self, lost: CardRemovedError, info: EFInfo, buf: bytearray) -> None:
        """The card left while EF.``info`` was read (``len(buf)`` bytes in): wait for it, check
        it is the same chip, re-open access and the hooks; raises ``lost`` when out of resumes."""
        reconnect = getattr(self.transport, "reconnect", None)
        while True:
            if self.resumes >= self.max_resumes or not callable(reconnect):
                raise lost
            self.resumes += 1
            log.warning("card lost reading EF.%s at offset %d: waiting up to %g s for it (resume %d of %d)",
                        info.name, len(buf), self.resume_wait_s, self.resumes, self.max_resumes)
            self.sm = None
            self._notify("lifted")
            try:
                reconnect(self.resume_wait_s)
            except NoCardError as e:
                raise CardRemovedError(f"the card was lifted while EF.{info.name} was read and not put back "
                                       f"within {self.resume_wait_s:g} s", step="resume") from e
            self._notify("back")
            try:
                self._reestablish_access(compare_card_access=True)
                self._check_same_chip(info, buf)
            except CardRemovedError as e:
                if e.step == "resume":  # a different card: never read on
                    raise
                lost = e  # lifted again while resuming
                continue
            except (StatusWordError, SecureMessagingError, ResponseFormatError) as e:
                raise ChipError(f"the card put back could not be opened again: {e}", step="resume",
                                sw=e.sw) from e
            for hook in self.after_reopen:
                hook()
            return

    def _check_same_chip(self, info: EFInfo, buf: bytearray) -> None:
        """Read the anchor file's first bytes again and compare (see the module docstring)."""
        anchor = self._anchor
        if anchor is None and info.name in ANCHOR_FILES and buf:
            anchor = (info.name, bytes(buf[:ANCHOR_BYTES]))
        if anchor is None:
            log.info("resume: no anchor file read yet; the same key opened the card")
            return
        name, prefix = anchor
        again = self.read_into(ef(name), bytearray(), limit=len(prefix))
        if again != prefix:
            raise CardRemovedError(f"the card put back is not the card lifted: the first {len(prefix)} bytes of "
                                   f"EF.{name} differ; start the scan again with the first card", step="resume")
        log.info("resume: EF.%s's first %d bytes match: same chip", name, len(prefix))
