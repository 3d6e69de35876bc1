"""Attach an APDU processor to nfcpy's ``udp`` driver as an ISO-DEP (Type 4A/4B) card.

nfcpy simulates the RF link over UDP (``nfc/clf/udp.py``): each datagram is
``"<bitrate><type> <hex frame>"`` (e.g. ``"106A e080"``). On the card side nfcpy's
``ContactlessFrontend.listen`` answers the ISO/IEC 14443-3 anticollision itself
(SENS_REQ/SENS_RES, SDD, SEL for type A; SENSB_REQ/SENSB_RES for type B) and returns a
``LocalTarget`` holding the first ISO-DEP command (RATS for A, ATTRIB for B) in
``tt4_cmd``; ``ContactlessFrontend.exchange`` then sends a response frame and receives
the next command frame. nfcpy has no ISO-DEP *card* layer (``nfc.tag.emulate`` only
emulates Type 3 tags), so this module supplies the smallest faithful one, ISO/IEC
14443-4 on the PICC side:

* §5.1/5.2 (type A): answer RATS with an ATS (FSCI 8 = 256-byte frames, FWI 11,
  no CID/NAD); §5.6 of 14443-3 (type B): answer ATTRIB.
* §7.1 block format: I-blocks (with chaining in both directions), R(ACK)/R(NAK),
  S(DESELECT), S(WTX); §7.5.4 block-numbering rules C, D, E, 11, 12, 13.
* S(WTX) while the processor is still working, so a slow processor never runs past the
  frame waiting time, and a removed card is still noticed within about one FWT.

What is real: nfcpy's udp driver on both sides, its ISO/IEC 14443-3 activation, and on
the reader side nfcpy's own ``Type4ATag``/``Type4BTag`` with its ISO-DEP initiator
(``drivers/nfc.py`` reads through exactly the code a USB reader uses after its driver).
What is simulated: the RF layer (UDP datagrams instead of 13.56 MHz frames; no CRC, no
timing below a millisecond) and the card's ISO-DEP layer (this module).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
import threading
import time
from typing import Protocol

import nfc
import nfc.clf

from verifier.errors import CardRemovedError, InputError

log = logging.getLogger(__name__)

#: FSC/FSD for the codes FSCI/FSDI 0..8 (ISO/IEC 14443-4 §5.2.3).
FS_TABLE = (16, 24, 32, 40, 48, 64, 96, 128, 256)
FSCI = 8  # the card accepts 256-byte frames
FWI = 11  # FWT = 256 * 16 / fc * 2**FWI = 0.62 s (ISO/IEC 14443-4 §7.2)
FWT_S = 256 * 16 / 13.56e6 * 2**FWI
#: Send S(WTX) when the processor has not answered within this part of FWT.
WTX_AFTER_S = FWT_S / 4
WTXM = 8  # each WTX grants 8 * FWT


class ApduProcessor(Protocol):
    def process(self, apdu: bytes) -> bytes: ...

    def reset(self) -> None: ...


class _Deselected(Exception):
    pass


class _Removed(Exception):
    pass


def _ats(historical: bytes = b"") -> bytes:
    """ATS (ISO/IEC 14443-4 §5.2): TL, T0 (TA, TB, TC present, FSCI), TA(1) = 0x80 (same
    divisor both ways, 106 kbit/s only), TB(1) = FWI<<4 | SFGI 0, TC(1) = 0x00 (no NAD, no CID)."""
    body = bytes([0x70 | FSCI, 0x80, FWI << 4, 0x00]) + historical
    return bytes([len(body) + 1]) + body


def _sensb_res(pupi: bytes) -> bytes:
    """SENSB_RES / ATQB (ISO/IEC 14443-3 §7.9): 0x50, PUPI, application data (4),
    protocol info: bit rates 0x00, FSCI<<4 | ISO 14443-4 compliant, FWI<<4 | ADC 0 | FO 0."""
    return b"\x50" + pupi + bytes(4) + bytes([0x00, FSCI << 4 | 0x01, FWI << 4])


class NfcCard:
    """``processor`` as an ISO-DEP card in nfcpy's udp RF simulation at ``device``.

    ``device`` is an nfcpy path, ``"udp:127.0.0.1:PORT"``; a reader opens the same path.
    ``technology`` is ``"A"`` (Type 4A, the default) or ``"B"`` (Type 4B). ``uid`` is the
    NFCID1 (type A, 4 bytes; eMRTDs use a random one starting with 0x08) or the PUPI
    (type B). ``insert()``/``start()`` put the card in the field (a thread answers the
    reader), ``remove()``/``stop()`` take it out (it stops answering; an exchange in
    progress is dropped). Each activation starts with ``processor.reset()``. A processor
    raising :class:`CardRemovedError` takes the card out of the field the same way.
    """

    def __init__(self, processor: ApduProcessor, device: str, *, technology: str = "A",
                 uid: bytes | None = None, historical: bytes = b"") -> None:
        if not device.startswith("udp"):
            raise InputError(f"NfcCard emulates over nfcpy's udp driver: expected 'udp:HOST:PORT', found {device!r}")
        if technology not in ("A", "B"):
            raise InputError(f"technology must be 'A' or 'B', found {technology!r}")
        self.processor = processor
        self.device = device
        self.technology = technology
        self.uid = uid if uid is not None else (b"\x08" + os.urandom(3) if technology == "A" else os.urandom(4))
        if len(self.uid) != 4:
            raise InputError(f"uid must be 4 bytes, found {len(self.uid)}")
        self.historical = historical
        self.apdus = 0
        self.activations = 0
        self._present = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="nfc-card-apdu")

    # -- lifecycle -------------------------------------------------------------

    def insert(self) -> "NfcCard":
        old = self._thread
        if old is not None and old.is_alive():
            if self._present.is_set():
                return self
            old.join(5.0)  # removed but still leaving the field
        self._present.set()
        self._thread = threading.Thread(target=self._run, name=f"nfc-card:{self.device}", daemon=True)
        self._thread.start()
        self._wait_listening(2.0)
        return self

    def _wait_listening(self, timeout_s: float) -> None:
        """Return once nfcpy has bound the card's UDP port (a reader's first SENS_REQ
        would otherwise be lost and cost it a 1 s sense timeout)."""
        port = int(self.device.rsplit(":", 1)[1]) if self.device.count(":") >= 2 else 54321
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:  # loopback suffices: nfcpy's wildcard bind makes this one fail too
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    return  # taken: the card listens
            time.sleep(0.01)

    start = insert

    def remove(self, *, join_timeout_s: float = 5.0) -> None:
        """Take the card out of the field. Safe to call from inside ``processor.process``."""
        self._present.clear()
        thread = self._thread
        me = threading.current_thread()
        if thread is not None and thread is not me and not me.name.startswith("nfc-card-apdu"):
            thread.join(join_timeout_s)
            self._thread = None

    stop = remove

    def close(self) -> None:
        self.remove()
        self._executor.shutdown(wait=False)

    def __enter__(self) -> "NfcCard":
        return self.insert()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def inserted(self) -> bool:
        return self._present.is_set()

    # -- the field -------------------------------------------------------------

    def _local_target(self) -> nfc.clf.LocalTarget:
        if self.technology == "A":
            target = nfc.clf.LocalTarget("106A")
            target.sens_res = bytearray.fromhex("0400")  # single-size UID, bit frame anticollision
            target.sdd_res = bytearray(self.uid)
            target.sel_res = bytearray.fromhex("20")  # ISO/IEC 14443-4 compliant
        else:
            target = nfc.clf.LocalTarget("106B")
            target.sensb_res = bytearray(_sensb_res(self.uid))
        return target

    def _run(self) -> None:
        clf = nfc.ContactlessFrontend()
        try:
            if not clf.open(self.device):
                log.error("nfcpy could not open %s for card emulation", self.device)
                return
            while self._present.is_set():
                started = time.monotonic()
                try:
                    activated = clf.listen(self._local_target(), 0.5)
                except nfc.clf.CommunicationError as e:
                    log.debug("listen: %s", e)
                    activated = None
                if activated is None:
                    if time.monotonic() - started < 0.1:  # port busy: do not spin
                        time.sleep(0.1)
                    continue
                if not activated.tt4_cmd:
                    log.debug("activated without an ISO-DEP command (%s): ignored", activated)
                    continue
                self.activations += 1
                # on the processor's own thread: an APDU left running by a removal finishes first
                self._executor.submit(self.processor.reset).result()
                try:
                    self._serve(clf, bytes(activated.tt4_cmd))
                except _Deselected:
                    log.debug("card deselected")
                except _Removed:
                    log.debug("card removed from the field")
                except nfc.clf.BrokenLinkError:
                    log.debug("reader switched the field off")
                except nfc.clf.CommunicationError as e:
                    log.debug("link lost: %s", e)
        finally:
            clf.close()

    def _exchange(self, clf: nfc.ContactlessFrontend, response: bytes | None, timeout: float) -> bytes | None:
        """Send ``response`` (if any) and wait up to ``timeout`` for the next command frame."""
        if not self._present.is_set():
            raise _Removed()
        try:
            data = clf.exchange(bytearray(response) if response is not None else None, timeout)
        except nfc.clf.TimeoutError:
            return None
        if not self._present.is_set():
            raise _Removed()
        return bytes(data) if data is not None else None

    def _await(self, clf: nfc.ContactlessFrontend, response: bytes) -> bytes:
        """Send ``response``; wait for the next command while the card stays in the field."""
        data = self._exchange(clf, response, 0.25)
        while data is None:
            data = self._exchange(clf, None, 0.25)
        return data

    def _serve(self, clf: nfc.ContactlessFrontend, first: bytes) -> None:
        if self.technology == "A":
            if first[:1] != b"\xe0" or len(first) < 2:
                log.debug("expected RATS, found %s: ignored", first.hex())
                return
            fsd = FS_TABLE[min(first[1] >> 4, 8)]
            response = _ats(self.historical)
        else:
            if first[:1] != b"\x1d" or len(first) < 9 or first[1:5] != self.uid:
                log.debug("expected ATTRIB for our PUPI, found %s: ignored", first.hex())
                return
            fsd = FS_TABLE[min(first[6] & 0x0F, 8)]
            response = b"\x00"  # MBLI 0, CID 0
        max_inf = fsd - 3  # PCB + CRC (ISO/IEC 14443-4 §7.1.1)

        block_number = 1  # rule C
        last = response
        chained_in = bytearray()
        pending: list[bytes] = []  # response INF blocks not yet sent (card chaining)
        command = self._await(clf, response)
        while True:
            pcb = command[0] if command else 0
            if pcb & 0xE2 == 0x02:  # I-block
                block_number = pcb & 0x01  # rule D
                skip = 1 + bool(pcb & 0x08) + bool(pcb & 0x04)  # CID, NAD
                chained_in += command[skip:]
                if pcb & 0x10:
                    response = bytes([0xA2 | block_number])  # R(ACK): send the next part
                else:
                    apdu, chained_in = bytes(chained_in), bytearray()
                    rapdu = self._process(clf, apdu)
                    pending = [rapdu[i:i + max_inf] for i in range(0, len(rapdu), max_inf)] or [b""]
                    response = self._next_i_block(pending, block_number)
            elif pcb & 0xE6 == 0xA2:  # R-block
                nak = bool(pcb & 0x10)
                if pcb & 0x01 == block_number:
                    response = last  # rule 11: retransmit
                elif nak:
                    response = bytes([0xA2 | block_number])  # rule 12
                elif pending:
                    block_number ^= 1  # rule E, then rule 13: continue chaining
                    response = self._next_i_block(pending, block_number)
                else:
                    response = last
            elif pcb & 0xF7 == 0xC2:  # S(DESELECT)
                self._exchange(clf, bytes([0xC2]), 0)
                raise _Deselected()
            else:
                log.debug("unexpected block %s: no answer", command.hex())
                command = self._await_quietly(clf)
                continue
            last = response
            command = self._await(clf, response)

    def _await_quietly(self, clf: nfc.ContactlessFrontend) -> bytes:
        data = self._exchange(clf, None, 0.25)
        while data is None:
            data = self._exchange(clf, None, 0.25)
        return data

    @staticmethod
    def _next_i_block(pending: list[bytes], block_number: int) -> bytes:
        inf = pending.pop(0)
        return bytes([(0x12 if pending else 0x02) | block_number]) + inf

    def _process(self, clf: nfc.ContactlessFrontend, apdu: bytes) -> bytes:
        """Run the processor; keep the reader waiting with S(WTX) (ISO/IEC 14443-4 §7.3)."""
        future = self._executor.submit(self._call_processor, apdu)
        wait = WTX_AFTER_S
        while True:
            try:
                return future.result(timeout=wait)
            except concurrent.futures.TimeoutError:
                pass
            if not self._present.is_set():
                raise _Removed()
            wtx = bytes([0xF2, WTXM])
            reply = self._exchange(clf, wtx, FWT_S * WTXM)
            if reply is None or reply[:1] != b"\xf2":
                raise _Removed()
            wait = FWT_S * WTXM / 2

    def _call_processor(self, apdu: bytes) -> bytes:
        try:
            rapdu = bytes(self.processor.process(apdu))
        except CardRemovedError:  # the emulator's "card removed" fault: leave the field
            self.remove()
            return b"\x6f\x00"  # never sent: the serving thread sees the card gone
        except Exception:  # a card never crashes the reader: it answers 6F00
            log.exception("APDU processor failed on %s...; answering 6F00", apdu[:4].hex())
            rapdu = b"\x6f\x00"
        if len(rapdu) < 2:
            log.error("APDU processor returned %d bytes: expected data || SW1 SW2; answering 6F00", len(rapdu))
            rapdu = b"\x6f\x00"
        self.apdus += 1
        return rapdu
