"""A chip session: access control (PACE or BAC), secure messaging and fast, bounded file reads.

::

    with ChipSession(transport, [BACKey(...), CANKey(...)]) as session:   # open(): PACE, else BAC
        read = session.read_all()          # COM, SOD, DG1, DG2, DG13, DG14, DG15 -> ChipRead

Access (ICAO 9303-11 §4.2): with policy "pace-then-bac" the session reads EF.CardAccess
from the master file; when it lists PACE, PACE runs with each key in turn; otherwise, or
when PACE cannot be used, BAC runs with each MRZ key (several QR-derived expiry candidates
are normal for a CCCD). The application is re-selected between tries. The report says
which key worked (its description, never the key).

Reading (ICAO 9303-10 §3.6, ISO/IEC 7816-4 §7.2): the first READ BINARY selects the file
by its SFI and returns its first bytes; the TLV header gives the length, the rest comes in
as few APDUs as the reader and chip allow: extended length when both carry it (learnt
once), else the largest Le the chip accepts (learnt once per session from 6700 / 6Cxx),
B1 (odd INS, offset in DO'54') beyond offset 32767. Everything is bounded: file size,
APDUs per file, retries without progress, GET RESPONSE rounds.

Field hardening (ICAO 9303-11 §9.8.4: the chip ends secure messaging after an SM error):

* :meth:`ChipSession.read_all` reports a file that fails with 6A82, 6982, 6A86, 6987 or 6988
  (or an error status word that comes without its secure-messaging objects) in
  ``not_readable`` with the status word, and goes on with the next file. After 6987 / 6988
  or an unprotected error answer the chip has dropped secure messaging: :meth:`reopen` runs
  the same protocol (PACE or BAC) with the key that opened the chip, then the
  :attr:`after_reopen` hooks (the scan re-runs chip authentication there, so DG15 and active
  authentication again run under chip-authentication keys), and tries the file once more
  before it is reported (an RF-corrupted command, or a chip that ended the session silently
  at the error on the file before).
* A card lifted mid-read (:class:`CardRemovedError`) is waited for, up to ``resume_wait_s``
  and at most ``max_resumes`` times, through the transport's ``reconnect`` (PC/SC, NFC).
  The session then re-runs access control with the same key, checks that the card put back
  is the same chip, re-runs the :attr:`after_reopen` hooks and reads on from the offset
  reached. Same chip means: the same key opens it (same MRZ data or CAN), the same
  EF.CardAccess (PACE), and the first :data:`ANCHOR_BYTES` bytes of the first anchor file
  read (EF.SOD, else DG1) are identical when read again. EF.SOD's first bytes hold the
  signed hash of every data group (DG1 first, whose MRZ names the document), so two cards
  never share them; a chip UID is never used (eMRTDs randomise it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable

from verifier.errors import (AccessDeniedError, AccessKeyError, CardRemovedError, ChipError, ChipidError,
                             InputError, LimitExceededError, NoCardError, ParseError, ResponseFormatError,
                             SecureMessagingError, StatusWordError, TLVError, TransportError)
from verifier.icao import apdu as A
from verifier.icao.apdu import Command, Response
from verifier.icao.bac import perform_bac
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.lds.files import CCCD_READ_ORDER, EMRTD_AID, EFInfo, ef
from verifier.icao.pace import perform_pace
from verifier.icao.sm import SecureMessaging
from verifier.icao.tlv import decode_first, encode, read_header
from verifier.transport import CardTransport

log = logging.getLogger(__name__)

#: Largest file the session reads (a CCCD's DG2 is ~20 KB): anything bigger is hostile.
MAX_FILE_BYTES = 1 << 20
#: READ BINARY APDUs for one file, all retries included.
MAX_APDUS_PER_FILE = 8192
#: Consecutive READ BINARY answers that bring no new byte before giving up.
MAX_STALLS = 16
#: GET RESPONSE rounds for one command (61xx chains) and their total bytes.
MAX_GET_RESPONSE = 32
MAX_RESPONSE_BYTES = 65536 + 2 + 512

#: Le for short READ BINARY under secure messaging: the largest plaintext whose protected
#: response (DO'87' + DO'99' + DO'8E') fits in 256 bytes with 3DES and AES (JMRTD's 0xDF).
SHORT_SM_LE = 223
SHORT_PLAIN_LE = 256
#: Extended-length Le: the largest multiple of 256 whose protected response fits in 65536 bytes.
EXTENDED_LE = 0xFF00
SHORT_LE_STEPS = (256, 231, 223, 192, 160, 128, 96, 64, 32, 16, 8, 4, 1)

POLICIES = ("pace-then-bac", "pace", "bac")

NOT_PRESENT = "not present"
EAC_PROTECTED = "access-protected (EAC)"
#: Status words that make one file unreadable without ending the read (ISO/IEC 7816-4 §5.6,
#: ICAO 9303-11 §9.8.6): the file is reported in ``not_readable`` with its status word.
FILE_FAILURES = {
    A.SW_FILE_NOT_FOUND: NOT_PRESENT,
    A.SW_SECURITY_NOT_SATISFIED: "access-protected",
    A.SW_INCORRECT_P1P2: "refused (incorrect parameters P1-P2)",
    A.SW_SM_DO_MISSING: "secure messaging objects missing",
    A.SW_SM_DO_INCORRECT: "secure messaging objects incorrect",
}
#: Files behind Extended Access Control on an eMRTD (fingerprints, iris): 6982 means EAC.
EAC_FILES = frozenset({"DG3", "DG4"})
#: Status words after which the chip has ended secure messaging (ICAO 9303-11 §9.8.4).
SM_ENDED = frozenset({A.SW_SM_DO_MISSING, A.SW_SM_DO_INCORRECT})
#: Re-openings of secure messaging allowed in one session (each one a PACE or BAC run).
MAX_REOPENS = 8
#: Files whose first bytes identify a chip when a lifted card is put back, best first.
ANCHOR_FILES = ("SOD", "DG1")
ANCHOR_BYTES = 512


def not_readable_reason(name: str, error: ChipidError) -> str:
    """``"not present (SW 6A82)"``: why ``name`` could not be read, with the status word."""
    sw = error.sw
    if sw == A.SW_SECURITY_NOT_SATISFIED and name in EAC_FILES:
        text = EAC_PROTECTED
    else:
        text = FILE_FAILURES.get(sw, "secure messaging failed")
    if isinstance(error, SecureMessagingError):
        text += ", answered without valid secure messaging"
    return f"{text} (SW {sw:04X})" if sw is not None else f"{text}: {error.message}"


@dataclass(frozen=True)
class ChipRead:
    """What a session read: raw file bytes exactly as read, and why others could not be read."""

    files: dict[str, bytes]
    not_readable: dict[str, str]
    access_protocol: str  # "BAC" or "PACE"
    key_used: str  # a description, never the key itself
    apdus: int
    bytes: int
    attempts: tuple[str, ...] = field(default=())


class ChipSession:
    """One card session over a :class:`CardTransport`: open (access control), then read.

    ``keys``: tried in order (PACE first with every key, then BAC with the MRZ keys).
    ``policy``: "pace-then-bac", "pace" or "bac". ``extended_length``: "auto" (use it when
    the transport carries it and the chip accepts it), "on", "off". ``max_le``: the largest
    short Le to use (1-256), 0 to learn it from the chip. ``max_resumes``: how many times a
    lifted card is waited for (0: a lifted card ends the read), ``resume_wait_s`` how long
    each time; ``on_card`` is told ``"lifted"`` and ``"back"``.
    """

    def __init__(self, transport: CardTransport, keys: Iterable[BACKey | CANKey], policy: str = "pace-then-bac",
                 extended_length: str = "auto", max_le: int = 0, *, max_resumes: int = 0,
                 resume_wait_s: float = 30.0, on_card: Callable[[str], None] | None = None) -> None:
        self.transport = transport
        self.keys = list(keys)
        if policy not in POLICIES:
            raise InputError(f"access policy must be one of {', '.join(POLICIES)}, found {policy!r}")
        if extended_length not in ("auto", "on", "off"):
            raise InputError(f"extended_length must be auto, on or off, found {extended_length!r}")
        if not 0 <= max_le <= 256:
            raise InputError(f"max_le (largest short Le) must be 0 (learn) or 1-256, found {max_le}")
        for k in self.keys:
            if not isinstance(k, (BACKey, CANKey)):
                raise InputError(f"access keys must be BACKey or CANKey, found {type(k).__name__}")
        self.policy = policy
        self.extended_length = extended_length
        self.max_le = max_le
        self.sm: SecureMessaging | None = None
        self.access_protocol: str | None = None
        self.key_used: str | None = None
        self.card_access: bytes | None = None
        self.attempts: list[str] = []
        self.apdus = 0
        self.bytes = 0
        if max_resumes < 0 or resume_wait_s < 0:
            raise InputError(f"max_resumes and resume_wait_s must not be negative, found {max_resumes}, "
                             f"{resume_wait_s}")
        self.max_resumes = max_resumes
        self.resume_wait_s = resume_wait_s
        self.on_card = on_card
        self.resumes = 0  # lifted cards put back and read on
        self.reopens = 0  # secure messaging re-established after an SM error
        #: Run after secure messaging was re-established (chip authentication again, say).
        self.after_reopen: list[Callable[[], None]] = []
        self._key: BACKey | CANKey | None = None  # the key that opened the chip
        self._anchor: tuple[str, bytes] | None = None
        # learnt once per session
        self._ext: bool | None = None if extended_length != "off" and getattr(transport, "extended_length", False) \
            else False
        if extended_length == "on" and getattr(transport, "extended_length", False):
            self._ext = True
        self._short_le: int | None = None  # None: not learnt yet (223 under SM, 256 plain)
        self._use_sfi: bool | None = None

    # --- context manager -----------------------------------------------------------------------
    def __enter__(self) -> "ChipSession":
        if self.access_protocol is None:
            self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sm = None

    # --- APDU exchange ---------------------------------------------------------------------------
    def _raw(self, apdu: bytes) -> bytes:
        """One exchange on the transport, following 61xx with bounded GET RESPONSE rounds."""
        rapdu = self._transmit_bytes(apdu)
        rounds = 0
        while len(rapdu) >= 2 and rapdu[-2] == A.SW1_BYTES_REMAINING:
            rounds += 1
            if rounds > MAX_GET_RESPONSE:
                raise ResponseFormatError(f"chip keeps answering 61xx: gave up after {MAX_GET_RESPONSE} GET RESPONSE",
                                          step="GET RESPONSE", sw=int.from_bytes(rapdu[-2:], "big"))
            more = self._transmit_bytes(Command(0x00, A.INS_GET_RESPONSE, 0, 0, le=rapdu[-1] or 256).encode())
            rapdu = rapdu[:-2] + more
            if len(rapdu) > MAX_RESPONSE_BYTES:
                raise LimitExceededError(f"response chained with 61xx exceeds {MAX_RESPONSE_BYTES} bytes",
                                         step="GET RESPONSE")
        return rapdu

    def _transmit_bytes(self, apdu: bytes) -> bytes:
        rapdu = self.transport.transmit(apdu)
        self.apdus += 1
        self.bytes += len(apdu) + len(rapdu)
        if len(rapdu) < 2:
            raise ResponseFormatError(f"response APDU of {len(rapdu)} bytes: expected at least the 2-byte status word")
        if len(rapdu) > MAX_RESPONSE_BYTES:
            raise LimitExceededError(f"response APDU of {len(rapdu)} bytes: at most {MAX_RESPONSE_BYTES} expected")
        return rapdu

    def send_plain(self, cmd: Command) -> Response:
        """Send without secure messaging (SELECT before access, BAC, PACE)."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("> %s (plain)", cmd.describe())
        resp = Response.parse(self._raw(cmd.encode(extended=cmd.needs_extended)))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("< %s", resp.describe())
        return resp

    def transmit(self, cmd: Command) -> Response:
        """Send one command, protected by secure messaging once access control succeeded."""
        if self.sm is None:
            return self.send_plain(cmd)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("> %s (SM)", cmd.describe())
        rapdu = self._raw(self.sm.wrap(cmd))
        resp = Response.parse(self.sm.unwrap(rapdu))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("< %s", resp.describe())
        return resp

    def replace_sm(self, sm: SecureMessaging) -> None:
        """Restart secure messaging with new keys (after chip authentication, ICAO 9303-11 §6.2)."""
        if not isinstance(sm, SecureMessaging):
            raise InputError(f"expected a SecureMessaging, found {type(sm).__name__}")
        self.sm = sm
        self._short_le = None if self._short_le is None else min(self._short_le, SHORT_SM_LE)

    # --- access control ---------------------------------------------------------------------------
    @property
    def key(self) -> BACKey | CANKey | None:
        """The key that opened the chip (None before :meth:`open`): compared with DG1 by the
        access-data check (ICAO 9303-11 §4.3, :mod:`verifier.cccd.access_match`)."""
        return self._key

    def open(self) -> "ChipSession":
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

    def _try_pace(self, key: BACKey | CANKey, i: int, n: int) -> str:
        if i > 1:
            self.send_plain(Command(0x00, A.INS_SELECT, 0x00, 0x0C, (0x3F00).to_bytes(2, "big")))
        return self._attempt("PACE", f"PACE with {key.describe()} (key {i} of {n})",
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

    # --- re-opening and resuming ------------------------------------------------------------------
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

    def _resume(self, lost: CardRemovedError, info: EFInfo, buf: bytearray) -> None:
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
        again = self._read_into(ef(name), bytearray(), limit=len(prefix))
        if again != prefix:
            raise CardRemovedError(f"the card put back is not the card lifted: the first {len(prefix)} bytes of "
                                   f"EF.{name} differ; start the scan again with the first card", step="resume")
        log.info("resume: EF.%s's first %d bytes match: same chip", name, len(prefix))

    # --- reading ----------------------------------------------------------------------------------
    def _select_ef(self, info: EFInfo) -> None:
        resp = self.transmit(Command(0x00, A.INS_SELECT, 0x02, 0x0C, info.fid.to_bytes(2, "big")))
        resp.require_ok(f"SELECT {info.name}", f"selecting EF.{info.name}")

    def _chunk(self) -> int:
        """The Le to ask for now (learnt once per session)."""
        if self._ext is not False:
            return EXTENDED_LE
        le = self._short_le or (SHORT_SM_LE if self.sm is not None else SHORT_PLAIN_LE)
        return min(le, self.max_le) if self.max_le else le

    def _learn_smaller_le(self, asked: int, name: str) -> None:
        """6700 to Le=``asked``: an extended Le refused means short APDUs from now on; a short Le
        steps down the ladder (ISO/IEC 7816-4 §5.1)."""
        if asked > SHORT_PLAIN_LE:
            self._ext = False
            log.debug("reading %s: extended Le %d refused, short APDUs from now on", name, asked)
            return
        smaller = [s for s in SHORT_LE_STEPS if s < asked]
        if not smaller:
            raise ResponseFormatError(f"chip refuses even Le=1 reading EF.{name}", step=f"READ BINARY {name}",
                                      sw=A.SW_WRONG_LENGTH)
        self._ext = False
        self._short_le = smaller[0]
        log.debug("reading %s: Le %d refused, short Le now %d", name, asked, self._short_le)

    def _read_binary(self, info: EFInfo, offset: int, le: int, by_sfi: bool) -> tuple[bytes, int, int, int]:
        """One READ BINARY for ``le`` data bytes; returns (data, sw, data bytes asked, Le sent)."""
        if by_sfi:
            cmd = Command(0x00, A.INS_READ_BINARY, 0x80 | info.sfi, offset, le=le)
        elif offset <= 0x7FFF:
            cmd = Command(0x00, A.INS_READ_BINARY, offset >> 8, offset & 0xFF, le=le)
        else:  # odd INS: offset in DO'54', data in DO'53' (ISO/IEC 7816-4 §7.2.2, ICAO 9303-10 §3.6.3)
            limit = self._chunk()
            le = max(1, min(le, limit - _do53_header(limit)))
            offset_bytes = offset.to_bytes((offset.bit_length() + 7) // 8, "big")
            cmd = Command(0x00, A.INS_READ_BINARY_ODD, 0, 0, encode(0x54, offset_bytes),
                          le=min(le + _do53_header(le), 65536))
        resp = self.transmit(cmd)
        data = resp.data
        if cmd.ins == A.INS_READ_BINARY_ODD and resp.sw in (A.SW_OK, A.SW_END_OF_FILE) and data:
            try:
                do53 = decode_first(data)
            except ParseError as e:
                raise ResponseFormatError(f"odd-INS READ BINARY: expected DO'53', found malformed data ({e.message})",
                                          step=f"READ BINARY {info.name}") from e
            if do53.tag != 0x53 or len(do53.raw) != len(data):
                raise ResponseFormatError(f"odd-INS READ BINARY: expected exactly one DO'53', found tag {do53.tag:X} "
                                          f"and {len(data) - len(do53.raw)} extra bytes", step=f"READ BINARY {info.name}")
            data = do53.value
        return data, resp.sw, le, cmd.le

    def read_file(self, name: str) -> bytes:
        """Read one elementary file completely; returns its bytes exactly as read (the TLV).

        Raises :class:`StatusWordError` (``sw`` 6A82 absent, 6982 access-protected),
        :class:`ResponseFormatError` (truncated, oversized answers, no progress),
        :class:`LimitExceededError` (declared size above :data:`MAX_FILE_BYTES`).
        """
        info = ef(name)
        step = f"READ BINARY {name}"
        try:
            data = self._read_file(info)
        except ChipidError as e:
            if e.step and (e.step.startswith(step) or e.step == "resume"):
                raise
            raise type(e)(e.message, step=f"{step}: {e.step}" if e.step else step, sw=e.sw) from e
        if self._anchor is None and name in ANCHOR_FILES:
            self._anchor = (name, data[:ANCHOR_BYTES])
        return data

    def _read_file(self, info: EFInfo) -> bytes:
        """Read EF.``info``; a lifted card is waited for and the file read on from where it stopped."""
        buf = bytearray()
        while True:
            try:
                return self._read_into(info, buf)
            except CardRemovedError as e:
                if e.step == "resume":
                    raise
                self._resume(e, info, buf)

    def _read_into(self, info: EFInfo, buf: bytearray, limit: int | None = None) -> bytes:
        """Read EF.``info`` into ``buf`` from ``len(buf)`` on (selecting it by FID when resuming);
        stops after ``limit`` bytes when given."""
        name = info.name
        by_sfi = not buf and info.sfi is not None and self._use_sfi is not False
        if not by_sfi:
            self._select_ef(info)
        total: int | None = self._total_from_header(info, buf, complete=False) if buf else None
        apdus = stalls = 0
        once_le: int | None = None  # a 6Cxx answer: ask exactly that once
        while (total is None or len(buf) < total) and (limit is None or len(buf) < limit):
            apdus += 1
            if apdus > MAX_APDUS_PER_FILE:
                raise LimitExceededError(f"EF.{name} needs more than {MAX_APDUS_PER_FILE} READ BINARY commands")
            offset = len(buf)
            le = once_le or self._chunk()
            once_le = None
            if total is not None:
                le = min(le, total - offset)
            if limit is not None:
                le = min(le, limit - offset)
            first = offset == 0 and by_sfi
            data, sw, asked, le_sent = self._read_binary(info, offset, le, first)
            if sw in (A.SW_OK, A.SW_END_OF_FILE):
                if len(data) > asked:
                    raise ResponseFormatError(f"asked for {asked} bytes of EF.{name}, the chip returned {len(data)}")
                if first:
                    self._use_sfi = True
                if le_sent > SHORT_PLAIN_LE and data:
                    self._ext = True
                buf += data
                if total is None:
                    total = self._total_from_header(info, buf, complete=sw == A.SW_END_OF_FILE)
                if sw == A.SW_END_OF_FILE and (total is None or len(buf) < total):
                    raise ResponseFormatError(
                        f"EF.{name} ends after {len(buf)} bytes, but its header declares {total} (truncated file)",
                        sw=sw)
                if data:
                    stalls = 0
                else:
                    stalls += 1
            elif sw == A.SW_WRONG_LENGTH:
                stalls += 1
                self._learn_smaller_le(le_sent, name)
            elif sw >> 8 == A.SW1_WRONG_LE:
                stalls += 1
                exact = sw & 0xFF or 256
                if exact >= le_sent:
                    raise ResponseFormatError(f"chip answered 6C{sw & 0xFF:02X} to Le={le_sent}: not a smaller length",
                                              sw=sw)
                if total is not None and exact < total - offset:
                    self._short_le, self._ext = exact, False  # the chip's per-command limit
                once_le = max(1, exact - (le_sent - asked))  # B1: the DO'53' header counts in Le
            elif sw == A.SW_WRONG_P1P2 and not first:
                raise ResponseFormatError(
                    f"EF.{name}: offset {offset} is beyond the end of the file, but its header declares "
                    f"{total if total is not None else 'more'} bytes (truncated file)", sw=sw)
            elif first and sw in (A.SW_INCORRECT_P1P2, A.SW_WRONG_P1P2, A.SW_FUNC_NOT_SUPPORTED,
                                  A.SW_INS_NOT_SUPPORTED, A.SW_WRONG_DATA, 0x6986):
                # offset 0 cannot lie past the end of a file: 6B00 here refuses the SFI in P1
                log.debug("reading %s: SFI refused (%04X), selecting by FID from now on", name, sw)
                self._use_sfi, by_sfi = False, False
                self._select_ef(info)
                stalls += 1
            elif first and sw == A.SW_FILE_NOT_FOUND:
                by_sfi = False
                self._select_ef(info)  # raises 6A82 when the file really is absent
                self._use_sfi = False
                stalls += 1
            else:
                raise A.unexpected_sw(sw, f"reading EF.{name} at offset {offset}")
            if stalls > MAX_STALLS:
                raise ResponseFormatError(f"no progress reading EF.{name} at offset {offset} after {MAX_STALLS} "
                                          f"answers (last SW {sw:04X})", sw=sw)
        end = total if limit is None else min(limit, total if total is not None else limit)
        return bytes(buf[:end])

    def _total_from_header(self, info: EFInfo, buf: bytearray, complete: bool) -> int | None:
        """The file's total size from its TLV header, or None if more bytes are needed."""
        try:
            tag, length, header = read_header(bytes(buf))
        except LimitExceededError:
            raise
        except TLVError as e:
            if len(buf) >= 6 or complete:
                raise ResponseFormatError(f"EF.{info.name} does not start with a valid TLV header: {e.message}") from e
            return None
        if info.tag is not None and tag != info.tag:
            raise ResponseFormatError(f"EF.{info.name} should start with tag {info.tag:02X}, found {tag:02X}")
        if length is None:
            raise ResponseFormatError(f"EF.{info.name} uses an indefinite length: LDS files have definite lengths")
        total = header + length
        if total > MAX_FILE_BYTES:
            raise LimitExceededError(f"EF.{info.name} declares {total} bytes: more than the {MAX_FILE_BYTES}-byte limit")
        return total

    def _read_or_reopen(self, name: str) -> bytes:
        """Read one file. When it fails because the chip ended secure messaging (6987, 6988, an
        error answered without SM objects), re-open the session and try the file once more: the
        cause may be a command corrupted on the way (RF noise), or the chip ending the session
        silently at the error on the file before. Raises the (second) failure."""
        try:
            return self.read_file(name)
        except (StatusWordError, SecureMessagingError) as e:
            per_file, ended = _file_failure(e)
            if not (per_file and ended):
                raise
            self.reopen(f"EF.{name}: SW {e.sw:04X}")
            log.info("EF.%s: SW %04X: trying once more after re-opening", name, e.sw)
        try:
            return self.read_file(name)
        except (StatusWordError, SecureMessagingError) as e:
            if _file_failure(e)[1]:
                self.reopen(f"EF.{name}: SW {e.sw:04X} again")
            raise

    def read_all(self, names: Iterable[str] = CCCD_READ_ORDER) -> ChipRead:
        """Read the given files in order. A file that fails with one of :data:`FILE_FAILURES` is
        reported in ``not_readable`` with its status word and reading goes on (re-opening secure
        messaging when the chip ended it); transport and protocol errors are raised."""
        if self.access_protocol is None:
            self.open()
        files: dict[str, bytes] = {}
        if self.card_access is not None:
            files["CardAccess"] = self.card_access
        not_readable: dict[str, str] = {}
        for name in names:
            try:
                files[name] = self._read_or_reopen(name)
            except (StatusWordError, SecureMessagingError) as e:
                if not _file_failure(e)[0]:
                    raise
                not_readable[name] = not_readable_reason(name, e)
                log.info("EF.%s not readable: %s", name, not_readable[name])
        return ChipRead(files=files, not_readable=not_readable, access_protocol=self.access_protocol or "",
                        key_used=self.key_used or "", apdus=self.apdus, bytes=self.bytes,
                        attempts=tuple(self.attempts))


def _file_failure(e: ChipidError) -> tuple[bool, bool]:
    """(is a per-file failure, the chip ended secure messaging) for an error reading one file."""
    if e.sw not in FILE_FAILURES:
        return False, False
    return True, isinstance(e, SecureMessagingError) or e.sw in SM_ENDED


def _do53_header(n: int) -> int:
    """Bytes of tag + length in front of ``n`` bytes of DO'53'."""
    return 2 if n < 0x80 else 3 if n < 0x100 else 4 if n < 0x10000 else 5
