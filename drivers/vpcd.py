"""Attach any APDU processor to pcscd as a card in a vsmartcard *Virtual PCD* reader.

The vsmartcard ``vpcd`` IFD handler (``/etc/reader.conf.d/vpcd``) makes pcscd listen
on TCP port 0x8C7B = 35963 (slot ``Virtual PCD 00 00``; the next slot on 35964, ...).
A virtual card ("vicc") is a TCP client of that port: while it is connected, the
reader holds a card; when it disconnects, the card has been removed.

Wire protocol (vsmartcard ``virtualsmartcard/src/vpicc/.../VirtualSmartcard.py``,
class ``VirtualICC``, and ``src/vpcd/vpcd.c``): every message in either direction is
a 2-byte big-endian length followed by that many bytes. A 1-byte message from vpcd
is a control message: 0x00 power off, 0x01 power on, 0x02 reset, 0x04 get ATR (the
card answers with its ATR). Any longer message is a command APDU; the card answers
with the response APDU (data || SW1 SW2). Power off, power on and reset get no
answer.

The processor is any object with ``process(apdu: bytes) -> bytes`` and ``reset()``
(the emulated CCCD in ``drivers/emulator/chip.py``, or a test fake). A processor that
raises :class:`CardRemovedError` (the emulator's ``remove_after_apdus`` fault) takes the
card out of the reader, leaving that command unanswered; any other exception is
answered with 6F00. This module is
the card side only; reading goes through the real PC/SC stack (``drivers/pcsc.py``).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from typing import Protocol

from verifier.errors import CardRemovedError, InputError, NoReaderError, TransportError

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 0x8C7B  # 35963, slot "Virtual PCD 00 00"

CTRL_OFF = 0x00
CTRL_ON = 0x01
CTRL_RESET = 0x02
CTRL_ATR = 0x04

#: ATR of a contactless ISO/IEC 14443-4 card as a PC/SC reader builds it (PC/SC part 3
#: §3.1.3.2.3): 3B 80 80 01 01 = TS, T0 (TD1 follows), TD1 (TD2 follows, T=0),
#: TD2 (T=1), TCK; no historical bytes. Contactless readers present eMRTDs this way.
DEFAULT_ATR = bytes.fromhex("3B80800101")

#: Status word a real chip gives when it fails internally (ISO/IEC 7816-4 §5.6:
#: "no precise diagnosis"), sent when the processor raises.
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"


class ApduProcessor(Protocol):
    def process(self, apdu: bytes) -> bytes: ...

    def reset(self) -> None: ...


class VirtualCard:
    """A card made of ``processor`` in a vpcd slot.

    ``insert()`` connects to vpcd and serves APDUs in a background thread (pcscd then
    reports a card present in the slot); ``remove()`` disconnects (pcscd reports the card
    removed; an exchange in progress is not answered). ``run()`` serves in the calling
    thread until the card is removed or vpcd closes the connection. ``start()``/``stop()``
    are aliases of ``insert()``/``remove()``; the object is also a context manager.

    ``apdus`` counts the command APDUs answered since construction.
    """

    def __init__(
        self,
        processor: ApduProcessor,
        *,
        atr: bytes = DEFAULT_ATR,
        host: str = VPCD_HOST,
        port: int = VPCD_PORT,
        connect_timeout_s: float = 5.0,
    ) -> None:
        if not 2 <= len(atr) <= 33:
            raise InputError(f"ATR must be 2..33 bytes (ISO/IEC 7816-3 §8.2), found {len(atr)}")
        self.processor = processor
        self.atr = bytes(atr)
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.apdus = 0
        self.powered = False
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._removed = threading.Event()

    # -- lifecycle -------------------------------------------------------------

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        """Open the connection to vpcd (the card enters the reader), without serving yet.

        Retries until ``connect_timeout_s``: pcscd may still be starting, or the previous
        card in this slot may just have left (vpcd accepts one card at a time).
        """
        if self._sock is not None:
            return
        deadline = time.monotonic() + self.connect_timeout_s
        last: OSError | None = None
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as e:
                last = e
                if time.monotonic() >= deadline:
                    raise NoReaderError(
                        f"cannot reach the vpcd virtual reader at {self.host}:{self.port}: {e}; "
                        "expected pcscd running with the vsmartcard-vpcd driver "
                        "(/etc/reader.conf.d/vpcd)",
                        step="vpcd connect",
                    ) from last
                time.sleep(0.05)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._removed.clear()
        self._sock = sock
        log.debug("virtual card connected to vpcd %s:%d", self.host, self.port)

    def insert(self) -> "VirtualCard":
        """Connect to vpcd and serve APDUs in a daemon thread."""
        with self._lock:
            old = self._thread
            if old is not None and old.is_alive():
                if self._sock is not None:
                    return self
                if old is not threading.current_thread():
                    old.join(5.0)  # removed but still leaving the reader
            self.connect()
            self._thread = threading.Thread(target=self.run, name=f"vpcd-card:{self.port}", daemon=True)
            self._thread.start()
        return self

    start = insert

    def remove(self, *, join_timeout_s: float = 5.0) -> None:
        """Take the card out: close the connection and stop serving.

        Safe to call from the serving thread itself (e.g. from inside ``process`` to
        simulate a card pulled away mid-exchange): that exchange is then never answered.
        """
        self._removed.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            log.debug("virtual card removed from vpcd %s:%d", self.host, self.port)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_timeout_s)
            self._thread = None
        self.powered = False

    stop = remove

    def __enter__(self) -> "VirtualCard":
        return self.insert()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # -- serving ---------------------------------------------------------------

    def run(self) -> None:
        """Serve vpcd's requests until the card is removed or vpcd hangs up."""
        self.connect()
        sock = self._sock
        assert sock is not None
        try:
            while not self._removed.is_set():
                msg = self._recv_message(sock)
                if msg is None:
                    log.debug("vpcd closed the connection")
                    break
                answer = self._handle(msg)
                if answer is not None and not self._removed.is_set():
                    sock.sendall(struct.pack(">H", len(answer)) + answer)
        except OSError as e:
            if not self._removed.is_set():
                log.debug("vpcd connection lost: %s", e)
        finally:
            if self._sock is sock and not self._removed.is_set():
                # vpcd went away on its own: the card is out.
                self._sock = None
                try:
                    sock.close()
                except OSError:
                    pass

    def _handle(self, msg: bytes) -> bytes | None:
        if len(msg) == 1:
            ctrl = msg[0]
            if ctrl == CTRL_ATR:
                return self.atr
            if ctrl == CTRL_ON:
                if not self.powered:
                    self.processor.reset()
                self.powered = True
            elif ctrl == CTRL_OFF:
                self.powered = False
                self.processor.reset()
            elif ctrl == CTRL_RESET:
                self.powered = True
                self.processor.reset()
            else:
                log.warning("unknown vpcd control message %02X ignored", ctrl)
            return None
        if not msg:
            log.warning("empty vpcd message ignored")
            return None
        try:
            rapdu = self.processor.process(bytes(msg))
        except CardRemovedError:
            # The emulator's "card removed" fault: take the card out for real, unanswered.
            self.remove()
            return None
        except Exception:  # a card never crashes the reader: it answers 6F00
            log.exception("APDU processor failed on %s...; answering 6F00", bytes(msg[:4]).hex())
            rapdu = SW_NO_PRECISE_DIAGNOSIS
        if not isinstance(rapdu, (bytes, bytearray)) or len(rapdu) < 2:
            log.error("APDU processor returned %s: expected data || SW1 SW2; answering 6F00",
                      f"{len(rapdu)} bytes" if isinstance(rapdu, (bytes, bytearray)) else type(rapdu).__name__)
            rapdu = SW_NO_PRECISE_DIAGNOSIS
        if len(rapdu) > 0xFFFF:
            raise TransportError(
                f"response APDU of {len(rapdu)} bytes does not fit a vpcd message (max 65535)",
                step="vpcd transmit",
            )
        self.apdus += 1
        return bytes(rapdu)

    @staticmethod
    def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
            _quick_ack(sock)
        return bytes(buf)

    def _recv_message(self, sock: socket.socket) -> bytes | None:
        head = self._recv_exact(sock, 2)
        if head is None:
            return None
        (length,) = struct.unpack(">H", head)
        if length == 0:
            return b""
        return self._recv_exact(sock, length)


def _quick_ack(sock: socket.socket) -> None:
    """Acknowledge at once (Linux TCP_QUICKACK, which each recv clears again).

    vpcd writes a message's length and its payload separately; with Nagle on its side
    and delayed ACKs on ours every APDU would wait ~40 ms for the payload.
    """
    if _TCP_QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:  # pragma: no cover - not Linux
            pass


_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
