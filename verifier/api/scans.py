"""Scans in progress and finished, held in memory only (identity data never touches disk here).

A scan runs in a worker thread (one reader, one scan at a time) through
``verifier.scan.run_scan(config, access, progress)``, which reports each
:class:`verifier.results.ScanStep`; the status moves
``waiting_for_card -> reading -> verifying -> done | failed`` (:attr:`ScanStep.status`) and each
step is published on the event bus (``scan``: ``status``, ``step``, ``label``, ``label_vi``).
Finished scans are forgotten after ``privacy.scan_ttl_minutes``.

With a ``challenge`` source (the service's: the ledger's device id and head, :func:`verifier.evidence.challenge_inputs`),
the inputs of the scan's Active Authentication challenge are fixed when the scan starts (device id, scan id,
ledger head) and handed to a runner that takes ``aa_challenge_inputs`` (:func:`verifier.scan.run_scan` does):
the chip's AA signature is then bound to this transaction (issue 19 item 1).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from verifier import messages
from verifier.errors import ChipidError, ReaderBusyError
from verifier.results import FaceDecision, Progress, ScanResult, ScanStep, is_demo
from verifier.scan import run_scan

log = logging.getLogger(__name__)

#: ``runner(config, access, progress) -> outcome`` with ``outcome.result`` (:class:`ScanResult`)
#: and ``outcome.portrait`` (bytes | None); ``progress`` takes :class:`ScanStep`.
Runner = Callable[[Any, "dict | None", Progress], Any]
#: ``challenge(scan_id) -> inputs`` of the scan's AA challenge (:func:`verifier.evidence.challenge_inputs`)
ChallengeSource = Callable[[str], dict]


def _takes_challenge(runner: Runner) -> bool:
    try:
        params = inspect.signature(runner).parameters
    except (TypeError, ValueError):
        return False
    return "aa_challenge_inputs" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@dataclass
class Scan:
    id: str
    user: str
    access_kind: str | None
    created: float = field(default_factory=time.time)
    step: ScanStep = ScanStep.WAITING_FOR_CARD
    result: ScanResult | None = None
    portrait: bytes | None = None
    error: dict | None = None
    face: FaceDecision | None = None
    camera_image: bytes | None = None  # in memory for the scan's lifetime only
    face_template: bytes | None = None
    #: every face attempt, in order, refused copies of the portrait too (verifier.api.face.FaceService.attempt)
    face_attempts: list = field(default_factory=list)
    finished: float | None = None

    @property
    def status(self) -> str:
        return self.step.status

    @property
    def demo(self) -> bool:
        """Whether this scan, or anything derived from it, is demo (:func:`verifier.results.is_demo`)."""
        return is_demo(self.result, self.face)

    def to_json(self, lang: str = messages.DEFAULT_LANGUAGE) -> dict:
        """The scan as the API shows it; a failure's ``error.message`` is the catalogue's sentence in
        ``lang`` (:mod:`verifier.messages`), the technical detail in ``error.details``."""
        out = {"id": self.id, "status": self.status, "step": self.step.value, "label": self.step.label,
               "label_vi": self.step.label_vi, "created_by": self.user,
               "result": self.result.to_json() if self.result is not None else None}
        if self.error:
            out["error"] = {"code": self.error["code"], "message": messages.text(self.error["code"], lang),
                            "details": self.error["details"]}
        if self.face:
            out["face"] = self.face.to_json()
        out["face_attempts"] = [dict(a) for a in self.face_attempts]
        return out


def _access_kind(access: dict | None) -> str | None:
    if not access:
        return None
    for kind in ("qr", "can", "id_number", "mrz"):
        if access.get(kind):
            return kind
    return "other"


class ScanRegistry:
    def __init__(self, config: Any, bus, runner: Runner | None = None, ttl_s: float = 1800.0,
                 challenge: ChallengeSource | None = None) -> None:
        self.config = config
        self.bus = bus
        self._runner: Runner = runner or run_scan
        self.challenge = challenge
        self.ttl_s = ttl_s
        self._scans: dict[str, Scan] = {}
        self._lock = threading.Lock()
        self._reader = threading.Lock()

    def _expire(self) -> None:
        now = time.time()
        with self._lock:
            for sid in [s.id for s in self._scans.values() if s.finished and now - s.finished > self.ttl_s]:
                del self._scans[sid]

    def get(self, scan_id: str) -> Scan | None:
        self._expire()
        with self._lock:
            return self._scans.get(scan_id)

    def busy(self) -> Scan | None:
        with self._lock:
            return next((s for s in self._scans.values() if s.step.active), None)

    def _set(self, scan: Scan, step: ScanStep) -> None:
        scan.step = step
        self.bus.publish("scan", {"scan_id": scan.id, "status": scan.status, "step": step.value,
                                  "label": step.label, "label_vi": step.label_vi})

    def start(self, user: str, access: dict | None) -> Scan:
        """Start a scan in a worker thread. Raises :class:`ReaderBusyError` when the reader is busy."""
        runner = self._runner
        self._expire()
        if not self._reader.acquire(blocking=False):
            raise ReaderBusyError("the reader is busy with another scan")
        scan = Scan(id=uuid.uuid4().hex, user=user, access_kind=_access_kind(access))
        if self.challenge is not None and _takes_challenge(runner):
            try:  # the ledger head now, when the scan starts
                challenge = self.challenge(scan.id)
            except Exception:
                self._reader.release()
                raise
            runner = functools.partial(runner, aa_challenge_inputs=challenge)
        with self._lock:
            self._scans[scan.id] = scan
        self._set(scan, ScanStep.WAITING_FOR_CARD)
        thread = threading.Thread(target=self._run, args=(scan, access, runner), name=f"scan-{scan.id[:8]}", daemon=True)
        thread.start()
        return scan

    def _run(self, scan: Scan, access: dict | None, runner: Runner) -> None:
        try:
            outcome = runner(self.config, access, lambda step: self._set(scan, ScanStep(step)))
            scan.result, scan.portrait = outcome.result, outcome.portrait
            scan.finished = time.time()
            self._set(scan, ScanStep.DONE)
            self.bus.publish("scan_done", {"scan_id": scan.id, "verdict": scan.result.verdict.value, "demo": scan.demo})
        except ChipidError as e:
            code = messages.error_code(e)
            log.warning("scan %s failed (%s): %s", scan.id, code, e)  # chip errors name steps and keys' kinds, no secrets
            scan.error = {"code": code, "details": {"step": e.step, "detail": str(e), "error": type(e).__name__}}
            scan.finished = time.time()
            self._set(scan, ScanStep.FAILED)
        except Exception as e:  # a bug in a lower layer must not kill the service
            log.exception("scan %s crashed", scan.id)
            scan.error = {"code": "internal_error", "details": {"detail": f"{type(e).__name__}: {e}"}}
            scan.finished = time.time()
            self._set(scan, ScanStep.FAILED)
        finally:
            self._reader.release()

    def add_finished(self, result: ScanResult, portrait: bytes | None, user: str = "test") -> Scan:
        """Register an already finished scan (imports, tests)."""
        scan = Scan(id=uuid.uuid4().hex, user=user, access_kind=None, step=ScanStep.DONE,
                    result=result, portrait=portrait, finished=time.time())
        with self._lock:
            self._scans[scan.id] = scan
        return scan
