"""A chip session: access control (PACE or BAC), secure messaging and fast, bounded file reads.

::

    with ChipSession(transport, [BACKey(...), CANKey(...)]) as session:   # open(): PACE, else BAC
        read = session.read_all()          # COM, SOD, DG1, DG2, DG13, DG14, DG15 -> ChipRead

:class:`ChipSession` holds the session's state and its APDU exchange (plain, then protected by
secure messaging, ICAO 9303-11 §9.8; 61xx followed with bounded GET RESPONSE rounds, ISO/IEC
7816-4 §5.3.4). Opening the chip, re-opening it and resuming a lifted card are
:mod:`verifier.icao.access_control`; reading one file in few, bounded APDUs is
:mod:`verifier.icao.file_reader`.

Field hardening (ICAO 9303-11 §9.8.4: the chip ends secure messaging after an SM error):
:meth:`ChipSession.read_all` reports a file that fails with 6A82, 6982, 6A86, 6987 or 6988 (or
an error status word that comes without its secure-messaging objects) in ``not_readable`` with
the status word, and goes on with the next file. After 6987 / 6988 or an unprotected error
answer the chip has dropped secure messaging: :meth:`~ChipSession.reopen` runs the same protocol
(PACE or BAC) with the key that opened the chip, then the :attr:`~ChipSession.after_reopen`
hooks, and tries the file once more before it is reported (an RF-corrupted command, or a chip
that ended the session silently at the error on the file before). A card lifted mid-read is
waited for and read on (:meth:`~ChipSession.resume`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable

from verifier.errors import (CardRemovedError, ChipidError, InputError, LimitExceededError, ResponseFormatError,
                             SecureMessagingError, StatusWordError)
from verifier.icao import apdu as A
from verifier.icao.access_control import ANCHOR_BYTES, ANCHOR_FILES, POLICIES, AccessControl
from verifier.icao.apdu import Command, Response
from verifier.icao.file_reader import SHORT_SM_LE, FileReader
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.lds.files import CCCD_READ_ORDER, EFInfo, ef
from verifier.icao.sm import SecureMessaging
from verifier.transport import CardTransport

log = logging.getLogger(__name__)

#: GET RESPONSE rounds for one command (61xx chains) and their total bytes.
MAX_GET_RESPONSE = 32
MAX_RESPONSE_BYTES = 65536 + 2 + 512

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


class ChipSession(AccessControl, FileReader):
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

    # --- reading ---------------------------------------------------------------------------------
    def read_file(self, name: str) -> bytes:
        """Read one elementary file completely; returns its bytes exactly as read (the TLV).

        Raises :class:`StatusWordError` (``sw`` 6A82 absent, 6982 access-protected),
        :class:`ResponseFormatError` (truncated, oversized answers, no progress),
        :class:`LimitExceededError` (declared size above :data:`~verifier.icao.file_reader.MAX_FILE_BYTES`).
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
                return self.read_into(info, buf)
            except CardRemovedError as e:
                if e.step == "resume":
                    raise
                self.resume(e, info, buf)

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
