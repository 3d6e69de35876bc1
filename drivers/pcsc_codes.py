"""PC/SC return codes and the context calls shared by the PC/SC transport and the card watcher.

The codes are those of PC/SC part 5 (pcsc-lite ``pcsclite.h``: ``SCARD_S_*``, ``SCARD_E_*``,
``SCARD_W_*``, ``SCARD_F_*``) as unsigned 32-bit values (:func:`u32`); the groups below are
how :mod:`drivers.pcsc` maps them onto :mod:`verifier.errors`. :func:`establish_context` and
:func:`release_context` wrap SCardEstablishContext / SCardReleaseContext (PC/SC part 5 §3.1.1).
"""

from __future__ import annotations

from smartcard import scard

from verifier.errors import NoReaderError, TransportError

#: The PnP pseudo-reader: SCardGetStatusChange on it reports readers plugged in or out.
PNP_NOTIFICATION = "\\\\?PnP?\\Notification"

# PC/SC return codes, as unsigned 32-bit values.
OK = 0
E_NO_SERVICE = 0x8010001D
E_SERVICE_STOPPED = 0x8010001E
E_NO_READERS_AVAILABLE = 0x8010002E
E_UNKNOWN_READER = 0x80100009
E_READER_UNAVAILABLE = 0x80100017
E_NO_SMARTCARD = 0x8010000C
E_TIMEOUT = 0x8010000A
E_CANCELLED = 0x80100002
E_INVALID_HANDLE = 0x80100003
E_SHARING_VIOLATION = 0x8010000B
W_REMOVED_CARD = 0x80100069
W_RESET_CARD = 0x80100068
W_UNRESPONSIVE_CARD = 0x80100066
W_UNPOWERED_CARD = 0x80100067
W_UNSUPPORTED_CARD = 0x80100065

E_NOT_TRANSACTED = 0x80100016
F_COMM_ERROR = 0x80100013
F_UNKNOWN_ERROR = 0x80100014

#: Failures a reader reports when the card is pulled mid-exchange before it noticed.
LINK_FAILED = {E_NOT_TRANSACTED, F_COMM_ERROR, F_UNKNOWN_ERROR}

SERVICE_DOWN = {E_NO_SERVICE, E_SERVICE_STOPPED}
CARD_GONE = {W_REMOVED_CARD, E_NO_SMARTCARD, W_RESET_CARD, W_UNPOWERED_CARD}
READER_GONE = {E_UNKNOWN_READER, E_READER_UNAVAILABLE}


def u32(hr: int) -> int:
    """A PC/SC return code as the unsigned 32-bit value the constants above use."""
    return hr & 0xFFFFFFFF


def error_text(hr: int) -> str:
    """pcsc-lite's text for ``hr`` with the code in hex, for error messages."""
    try:
        text = scard.SCardGetErrorMessage(hr)
    except Exception:  # pragma: no cover - pyscard always has it
        text = "PC/SC error"
    return f"{text} (0x{u32(hr):08X})"


def establish_context(step: str) -> int:
    """A user-scope PC/SC context; :class:`NoReaderError` when pcscd is not running."""
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if u32(hr) in SERVICE_DOWN:
        raise NoReaderError(
            "the PC/SC service is not running: expected pcscd to answer on /run/pcscd/pcscd.comm, "
            f"found {error_text(hr)}",
            step=step,
        )
    if hr != OK:
        raise TransportError(f"cannot open a PC/SC context: {error_text(hr)}", step=step)
    return ctx


def release_context(ctx: int) -> None:
    """Release a PC/SC context, ignoring a service that is already gone."""
    try:
        scard.SCardReleaseContext(ctx)
    except Exception:  # pragma: no cover
        pass
