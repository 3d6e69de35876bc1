"""NFC card transport over nfcpy: the chip as an ISO-DEP (ISO/IEC 14443-4) Type 4A/4B tag.

``NfcTransport("usb")`` opens the first USB reader nfcpy drives (ACR122U, PN533,
RC-S380, ...; see ``nfc.clf.device``), ``"usb:054c:06c3"`` a specific one,
``"udp:127.0.0.1:54321"`` nfcpy's simulated RF link (``drivers/nfc_card.py`` puts an
emulated card there). It senses for a type A or B target, activates it with nfcpy's
``nfc.tag.activate`` (RATS or ATTRIB) and sends each command APDU with
``Type4Tag.transceive``, so nfcpy's ISO-DEP initiator does block chaining, R-block
recovery and S(WTX) (ISO/IEC 14443-4 §7). Because nfcpy chains in software, the link
carries extended-length APDUs; whether the chip accepts them is learnt separately.

Errors: no such device -> :class:`NoReaderError` (busy: most often pcscd's CCID driver
holds it; read it through PC/SC then); no ISO-DEP card within ``wait_s`` ->
:class:`NoCardError`; a timeout or broken link mid-exchange -> :class:`CardRemovedError`.
"""

from __future__ import annotations

import errno
import logging
import time

import nfc
import nfc.clf
import nfc.tag
import nfc.tag.tt4

from verifier.errors import CardRemovedError, InputError, NoCardError, NoReaderError, TransportError

log = logging.getLogger(__name__)

FIELD_RESET_S = 0.01

_TAG_ERRORS = {
    nfc.tag.TIMEOUT_ERROR: "timeout",
    nfc.tag.RECEIVE_ERROR: "receive error",
    nfc.tag.PROTOCOL_ERROR: "ISO-DEP protocol error",
}


def find_usb_readers() -> list[dict]:
    """NFC readers on USB that nfcpy has a driver for, found without opening them (so no
    RF field is switched and no reader in use is disturbed). ``[]`` when libusb is absent.

    Each: ``{"path": "usb:BUS:DEV", "driver", "vid", "pid", "accessible"}``.
    """
    import os

    import nfc.clf.device
    import nfc.clf.transport

    try:
        found = nfc.clf.transport.USB.find("usb") or []
    except Exception as e:  # libusb missing or not permitted: nothing we could open either
        log.debug("USB enumeration failed: %r", e)
        return []
    readers = []
    for vid, pid, bus, dev in found:
        driver = nfc.clf.device.usb_device_map.get((vid, pid))
        if driver is None:
            continue
        node = f"/dev/bus/usb/{int(bus):03d}/{int(dev):03d}"
        readers.append({
            "path": f"usb:{int(bus):03d}:{int(dev):03d}", "driver": driver, "vid": f"{vid:04x}",
            "pid": f"{pid:04x}", "accessible": os.access(node, os.R_OK | os.W_OK),
        })
    return readers


def open_frontend(device: str) -> nfc.ContactlessFrontend:
    """Open nfcpy's contactless frontend at ``device``, mapping failures to :mod:`verifier.errors`."""
    clf = nfc.ContactlessFrontend()
    try:
        found = clf.open(device)
    except OSError as e:
        if e.errno == errno.EBUSY:
            raise NoReaderError(
                f"NFC reader {device!r} is busy: another program holds it (pcscd's CCID driver "
                "claims ACR122U-type readers; read through PC/SC instead, or stop pcscd)",
                step="open NFC reader",
            ) from e
        if e.errno == errno.EACCES:
            raise NoReaderError(
                f"no permission to open NFC reader {device!r}: expected read/write access to the "
                "USB device (add a udev rule or run as a member of the plugdev group)",
                step="open NFC reader",
            ) from e
        raise NoReaderError(f"cannot open NFC reader {device!r}: {e}", step="open NFC reader") from e
    except (ValueError, TypeError) as e:
        raise NoReaderError(f"invalid NFC device path {device!r}: {e}", step="open NFC reader") from e
    if not found:
        raise NoReaderError(
            f"no NFC reader found at {device!r}: expected a device nfcpy supports "
            "(usb[:vid[:pid]], tty:PORT:DRIVER, udp:HOST:PORT)",
            step="open NFC reader",
        )
    return clf


class NfcTransport:
    """An ISO-DEP card on an nfcpy reader, as a :class:`verifier.transport.CardTransport`.

    ``device``: nfcpy path (``usb``, ``usb:VID:PID``, ``tty:USB0:pn532``, ``udp:HOST:PORT``).
    ``wait_s``: how long to wait for a card in the field.
    """

    extended_length = True

    def __init__(self, device: str = "usb", *, wait_s: float = 5.0) -> None:
        self.device = device
        self.name = f"nfc:{device}"
        self._clf: nfc.ContactlessFrontend | None = open_frontend(device)
        self.tag: nfc.tag.tt4.Type4Tag | None = None
        try:
            self.tag = self._activate(wait_s)
        except BaseException:
            self.close()
            raise
        log.debug("connected to %s on %s", self.tag, self.name)

    def _activate(self, wait_s: float) -> nfc.tag.tt4.Type4Tag:
        assert self._clf is not None
        deadline = time.monotonic() + wait_s
        other = None
        while True:
            try:
                target = self._clf.sense(nfc.clf.RemoteTarget("106A"), nfc.clf.RemoteTarget("106B"))
            except OSError as e:
                raise NoReaderError(f"NFC reader {self.device!r} stopped answering: {e}",
                                    step="sense card") from e
            if target is not None:
                try:
                    tag = nfc.tag.activate(self._clf, target)
                except (IndexError, ValueError, TypeError) as e:  # malformed ATS/ATTRIB answer
                    log.debug("activation of %s failed: %r", target, e)
                    tag = None
                if isinstance(tag, nfc.tag.tt4.Type4Tag):
                    return tag
                other = tag or target
                log.debug("found %s, not an ISO-DEP card", other)
            if time.monotonic() >= deadline:
                if other is not None:
                    raise NoCardError(
                        f"the card on {self.name} is not an ISO/IEC 14443-4 (ISO-DEP) chip: found {other}",
                        step="sense card",
                    )
                raise NoCardError(f"no card was presented to {self.name} within {wait_s:g} s",
                                  step="sense card")
            time.sleep(0.05)

    def reconnect(self, timeout_s: float) -> None:
        """After the tag was lost (:class:`CardRemovedError`): sense and activate a card in the
        field again, waiting up to ``timeout_s`` (:class:`verifier.transport.ResumableTransport`).
        Raises :class:`NoCardError` when none came back. The UID is no proof of identity
        (eMRTDs randomise it): the session compares what it read."""
        if self._clf is None:
            raise TransportError(f"transport {self.name} is closed", step="reconnect")
        self.tag = None
        self._field_reset()
        self.tag = self._activate(timeout_s)
        log.debug("reconnected to %s on %s", self.tag, self.name)

    def _field_reset(self) -> None:
        """Switch the field off and keep it off for the operating-field reset time (ISO/IEC
        14443-3 field reset: at least 5.1 ms) before polling again. A chip that never left (a
        frame lost to noise, not a lift) is still ACTIVE with its ISO-DEP session and ignores
        REQA until it lost power (ISO/IEC 14443-3, type A PICC states); a chip put back starts
        from POWER-OFF anyway. nfcpy's ``sense`` switches the field off too but polls at once: a
        real chip has not lost power yet, the udp card (drivers/nfc_card.py) is not listening
        again yet, and the first poll is lost (2 s on the udp link, measured)."""
        assert self._clf is not None
        try:
            self._clf.device.mute()
        except OSError as e:
            raise NoReaderError(f"NFC reader {self.device!r} stopped answering: {e}", step="reconnect") from e
        time.sleep(FIELD_RESET_S)

    @property
    def uid(self) -> bytes:
        """NFCID1 (type A) or PUPI (type B): random per session on eMRTDs."""
        return bytes(self.tag.identifier) if self.tag is not None else b""

    def transmit(self, apdu: bytes) -> bytes:
        if self.tag is None:
            raise TransportError(f"transport {self.name} is closed", step="transmit")
        apdu = bytes(apdu)
        if len(apdu) < 4:
            raise InputError(f"command APDU must have at least 4 bytes, found {len(apdu)}")
        try:
            rapdu = self.tag.transceive(bytearray(apdu))
        except nfc.tag.tt4.Type4TagCommandError as e:
            what = _TAG_ERRORS.get(e.errno, str(e))
            if e.errno in (nfc.tag.TIMEOUT_ERROR, nfc.tag.RECEIVE_ERROR):
                raise CardRemovedError(f"the card left the field of {self.name} ({what})",
                                       step="transmit") from e
            raise TransportError(f"ISO-DEP exchange on {self.name} failed: {what}", step="transmit") from e
        except nfc.clf.CommunicationError as e:
            raise CardRemovedError(f"the link to the card on {self.name} broke: {e!r}", step="transmit") from e
        except OSError as e:
            raise NoReaderError(f"NFC reader {self.device!r} stopped answering: {e}", step="transmit") from e
        except (IndexError, ValueError, TypeError) as e:  # nfcpy indexing a malformed frame
            raise TransportError(f"malformed ISO-DEP frame from the card on {self.name}: {e!r}",
                                 step="transmit") from e
        if rapdu is None or len(rapdu) < 2:
            raise TransportError(
                f"the card on {self.name} returned {0 if rapdu is None else len(rapdu)} bytes: "
                "expected at least SW1 SW2",
                step="transmit",
            )
        return bytes(rapdu)

    def close(self) -> None:
        """Switch the field off (the chip loses power and its session) and release the reader."""
        self.tag = None
        clf, self._clf = self._clf, None
        if clf is not None:
            try:
                clf.close()
            except Exception:  # pragma: no cover - nfcpy device close is best effort
                log.debug("closing %s failed", self.name, exc_info=True)
            if self.device.startswith("udp"):
                # Keep the simulated field off for an operating-field reset time (ISO/IEC
                # 14443-3 field reset: at least 5.1 ms) so the card sees it before the next poll.
                time.sleep(FIELD_RESET_S)

    def __enter__(self) -> "NfcTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NfcTransport({self.device!r})"
