"""The counter's QR watch: the scan starts by itself when a card's QR is held to the camera (issue 17 item 11).

A background thread of the counter service (``camera.qr_watch``, on by default) looks at
``camera.source`` about every :data:`INTERVAL_S` while the counter is idle and decodes any QR code in
view with OpenCV's own detector (:func:`biometrics.qr.read_qr_frame`). A valid CCCD QR
(:func:`verifier.cccd.qr.parse_card_qr`) starts the scan through
:func:`verifier.api.camera_qr.start_scan_from_qr`, the same function as ``POST /scans/from-camera``,
which publishes the ``qr`` event the counter page follows. The scan is recorded as started by the
system user :data:`WATCH_USER` (``camera-qr``): no clerk clicked anything, and the scan's creator is
only shown, never used to grant anything (the contract records the clerk who confirms it).

Rules:

* **Idle only.** No look while a scan runs (``svc.scans.busy()``); the camera is closed then.
* **One camera.** The face step and the QR button hold the source's
  :func:`biometrics.camera.camera_gate` while they capture; the watch takes it only when free and
  nobody wants it, and closes the camera the moment someone does.
* **Once per card.** The SHA-256 of the last QR that started a scan is remembered (never the text)
  until the watch has seen :data:`ABSENT_FRAMES` frames in a row without it (the card left the
  view) or has not seen it for :data:`FORGET_S` seconds (the watch was paused that long); the same
  card lying under the camera starts nothing more. A QR that is not a CCCD's is ignored (logged once per code, without its text).
* **No crash, no log flood.** A camera that cannot be opened is logged once (then at debug level)
  and retried with a back-off from :data:`RETRY_MIN_S` doubling to :data:`RETRY_MAX_S`; its return
  is logged once.

Privacy (Decree 13/2023): frames stay in memory for the decode and are dropped; nothing is stored
or logged but the scan id.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
from typing import Any

from biometrics.camera import FrameSource, camera_gate, describe_source
from biometrics.qr import read_qr_frame
from verifier.errors import ChipidError, ReaderBusyError

log = logging.getLogger(__name__)

#: the user name a scan started by the watch is recorded under (``created_by``)
WATCH_USER = "camera-qr"
#: seconds between two looks at the camera
INTERVAL_S = 0.5
#: looks in a row without the last QR after which it counts as gone (the same card may start again)
ABSENT_FRAMES = 3
#: seconds after which the last QR is forgotten even if it was never seen gone (the watch was paused)
FORGET_S = 120.0
#: back-off of a camera that cannot be opened (seconds)
RETRY_MIN_S = 1.0
RETRY_MAX_S = 60.0


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class QrWatch:
    """The watch thread of one counter service (``svc``: :class:`verifier.api.app.Service`)."""

    def __init__(self, svc: Any, *, interval_s: float = INTERVAL_S) -> None:
        cfg = svc.cfg
        self.svc = svc
        self.source = str(cfg["camera.source"])
        self.label = describe_source(self.source)
        self.size = (int(cfg["camera.width"]), int(cfg["camera.height"]))
        self.timeout_s = float(cfg["camera.timeout_s"])
        self.interval_s = interval_s
        self.gate = camera_gate(self.source)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._src: FrameSource | None = None
        self._last: str | None = None  # SHA-256 of the QR that last started a scan
        self._last_seen = 0.0
        self._absent = 0
        self._ignored: set[str] = set()  # non-CCCD codes already logged
        self._camera_down = False
        self._retry_at = 0.0
        self._retry_s = RETRY_MIN_S
        #: what the watch did (health, tests): looks at a frame, scans started, camera open failures
        self.looks = 0
        self.started = 0
        self.failures = 0
        self.last_scan_id: str | None = None

    # --- life --------------------------------------------------------------------------------
    def start(self) -> "QrWatch":
        self._thread = threading.Thread(target=self._run, name="qr-watch", daemon=True)
        self._thread.start()
        # stopped before the interpreter tears down: a daemon thread caught inside OpenCV's C++ at exit
        # can abort the process ("terminate called without an active exception")
        atexit.register(self.stop, 2.0)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        atexit.unregister(self.stop)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - a bug here must never stop the counter
                    log.exception("QR watch: unexpected error (the watch goes on)")
                    self._let_go()
                    self._pause(RETRY_MAX_S)
                    continue
                self._pause(self.interval_s)
        finally:
            self._let_go()

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, waking early when the service stops or a capture wants the camera."""
        end = time.monotonic() + seconds
        while not self._stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            if self._src is not None and self.gate.wanted():
                self._let_go()
            self._stop.wait(min(0.05, left))

    # --- one look ------------------------------------------------------------------------------
    def tick(self) -> None:
        """One look at the camera if the counter is idle and the camera free."""
        if self.svc.scans.busy() is not None or time.monotonic() < self._retry_at:
            self._let_go()
            return
        if self._src is None and not self._take():
            return
        try:
            text = read_qr_frame(self._src)
        except ChipidError as e:  # a camera that died while open
            self._down(e)
            return
        if text is None:  # the end of a file or folder, or a live camera that gave nothing this time
            if not self._src.is_live:
                self._let_go()
            return
        self.looks += 1
        if not self._src.is_live:
            self._let_go()  # files and folders are opened again for each look (a test can change the picture)
        self._seen(text)

    def _take(self) -> bool:
        """Take the camera (the gate, then the device); False when busy or not available."""
        if not self.gate.try_background():
            return False
        try:
            self._src = FrameSource(self.source, width=self.size[0], height=self.size[1], timeout_s=self.timeout_s)
        except ChipidError as e:
            self.gate.release_background()
            self._down(e)
            return False
        if self._camera_down:
            log.info("QR watch: camera %s is available again", self.label)
            self._camera_down = False
        self._retry_s = RETRY_MIN_S
        return True

    def _let_go(self) -> None:
        if self._src is not None:
            try:
                self._src.close()
            finally:
                self._src = None
                self.gate.release_background()

    def _down(self, error: ChipidError) -> None:
        self._let_go()
        self.failures += 1
        if not self._camera_down:
            log.warning("QR watch: camera %s not available (%s); retrying with a back-off up to %.0f s",
                        self.label, error.message, RETRY_MAX_S)
            self._camera_down = True
        else:
            log.debug("QR watch: camera %s still not available", self.label)
        self._retry_at = time.monotonic() + self._retry_s
        self._retry_s = min(RETRY_MAX_S, self._retry_s * 2)

    # --- what was seen -----------------------------------------------------------------------
    def _seen(self, text: str) -> None:
        now = time.monotonic()
        digest = _digest(text) if text else None
        if self._last is not None:
            if now - self._last_seen > FORGET_S:
                self._last = None  # not seen for long (the watch was paused): a new sighting counts
            elif digest == self._last:
                self._absent, self._last_seen = 0, now
                return  # the same card still in view
            else:
                self._absent += 1
                if self._absent >= ABSENT_FRAMES:
                    self._last = None  # the card left the view
        if digest is None:
            return
        self._start(text, digest, now)

    def _start(self, text: str, digest: str, now: float) -> None:
        from verifier.api.camera_qr import start_scan_from_qr

        try:
            scan = start_scan_from_qr(self.svc, WATCH_USER, text, started_by="watch")
        except ReaderBusyError:
            return  # a scan started meanwhile: look again later
        except ChipidError as e:
            if digest not in self._ignored:
                self._ignored.add(digest)
                log.info("QR watch: a QR code in view is not a CCCD's (%s); ignored", type(e).__name__)
            return
        self._last, self._last_seen, self._absent = digest, now, 0
        self.started += 1
        self.last_scan_id = scan.id
        log.info("QR watch: card QR in view, scan %s started", scan.id)
