"""Issue 17 item 11, the part without a click: the counter service watches the camera (``camera.qr_watch``)
and a card's QR held to it starts the scan by itself. The camera is a QR image of the demo card made with
OpenCV's ``QRCodeEncoder`` (``camera.source`` = that file); the scan reads the emulated demo card with the
QR text as its access key and must reach ``authentic``, with the ``qr`` event published and no API call
to start it. The same QR left in view starts nothing more until it leaves the view; ``camera.qr_watch =
false`` starts nothing; a camera that does not exist is logged once, retried, and never crashes."""

from __future__ import annotations

import logging
import os
import time

import cv2
import numpy as np
import pytest

from biometrics.camera import camera_gate
from biometrics.qr import qr_image
from drivers.emulator.profile import load_profile
from tests.service.conftest import DEMO_CARD, Api
from tests.service.test_api_scan_from_camera import _show, card_qr_text
from tests.service.test_api_scans import _wait_done
from verifier.api import qr_watch

WAIT_S = 30.0  # a deadline for slow shared machines, never a timing assertion


def _until(predicate, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _put(camera, rgb=None) -> None:
    """Put the card's QR (or, with ``rgb``, another picture) in front of the file camera, atomically (the
    watch never reads a half-written picture)."""
    tmp = camera.with_name("next-" + camera.name)
    if rgb is None:
        _show(tmp, qr_image(card_qr_text(load_profile(DEMO_CARD))))
    else:
        cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    os.replace(tmp, camera)


def _empty_desk() -> np.ndarray:
    return np.full((480, 640, 3), (225, 222, 215), dtype=np.uint8)


@pytest.fixture()
def counter(tmp_path):
    """``make(**overrides)``: a demo counter service whose camera is ``tmp_path/camera.png``; the events it
    publishes are collected in ``events``."""
    from tests.service.live_app import counter_app
    from verifier.config import Config

    made = []

    def make(**overrides):
        camera = tmp_path / "camera.png"
        settings = {"camera__source": str(camera), "camera__timeout_s": 2.0, **overrides}
        cfg = Config().with_overrides(service__data_dir=str(tmp_path / "data"), **settings)
        app = counter_app(cfg, start_sync=False, watch_camera=True)
        svc = app.state.svc
        events: list[dict] = []
        svc.bus.listen(events.append)
        api = Api(app)
        made.append((api, svc))
        return api, svc, events, camera

    yield make
    for api, svc in made:
        api.close()
        svc.close()


def _qr_events(events) -> list[dict]:
    return [e["data"] for e in events if e["event"] == "qr"]


def test_the_cards_qr_on_the_camera_starts_the_scan_by_itself(counter, tmp_path):
    _put(tmp_path / "camera.png")  # the card is under the camera before the service starts
    api, svc, events, camera = counter()
    svc.users.add("clerk-1", "clerk")
    token = svc.users.issue_token("clerk-1")

    qr = _until(lambda: _qr_events(events), "the qr event")
    assert qr[0]["started_by"] == "watch" and set(qr[0]) == {"scan_id", "started_by", "ts"}  # no QR text on the stream
    body = _wait_done(api, token, qr[0]["scan_id"])
    assert body["status"] == "done" and body["result"]["verdict"] == "authentic", body
    assert body["created_by"] == qr_watch.WATCH_USER
    scan = svc.scans.get(qr[0]["scan_id"])
    assert scan.access_kind == "qr"
    assert [e["data"]["verdict"] for e in events if e["event"] == "scan_done"] == ["authentic"]

    # the same card left lying under the camera: the watch keeps looking and starts nothing more
    looks = svc.qr_watch.looks
    _until(lambda: svc.qr_watch.looks >= looks + qr_watch.ABSENT_FRAMES + 3, "more looks at the camera")
    assert len(_qr_events(events)) == 1 and svc.qr_watch.started == 1

    # the card leaves the view, then comes back: a new scan (the next customer with the same card)
    _put(camera, _empty_desk())
    looks = svc.qr_watch.looks
    _until(lambda: svc.qr_watch.looks >= looks + qr_watch.ABSENT_FRAMES + 1, "looks at the empty desk")
    assert svc.qr_watch.started == 1
    _put(camera)
    second = _until(lambda: _qr_events(events)[1:], "a second qr event")
    assert second[0]["scan_id"] != qr[0]["scan_id"]
    assert _wait_done(api, token, second[0]["scan_id"])["result"]["verdict"] == "authentic"


def test_nothing_starts_when_the_watch_is_off(counter, tmp_path):
    _put(tmp_path / "camera.png")
    api, svc, events, camera = counter(camera__qr_watch=False)
    assert svc.qr_watch is None
    time.sleep(4 * qr_watch.INTERVAL_S)  # what a running watch would need to start the scan
    assert _qr_events(events) == [] and svc.scans.busy() is None
    assert not any(e["event"] == "scan" for e in events)
    # the button still works (the same code path, started_by "button")
    svc.users.add("clerk-1", "clerk")
    r = api.post("/api/v1/scans/from-camera", svc.users.issue_token("clerk-1"))
    assert r.status_code == 202, r.text
    assert _qr_events(events)[0] == {"scan_id": r.json()["id"], "started_by": "button", "ts": _qr_events(events)[0]["ts"]}


def test_a_missing_camera_is_logged_once_retried_and_found_when_it_appears(counter, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(qr_watch, "RETRY_MIN_S", 0.05)  # a quick back-off, so the test sees several retries
    caplog.set_level(logging.DEBUG, logger="verifier.api.qr_watch")
    api, svc, events, camera = counter()  # camera.png does not exist yet
    _until(lambda: svc.qr_watch.failures >= 4, "several failed opens")
    assert svc.qr_watch.alive
    warnings = [r for r in caplog.records if r.name == "verifier.api.qr_watch" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "not available" in warnings[0].getMessage(), [r.getMessage() for r in warnings]
    assert api.get("/api/v1/health").status_code == 200
    _put(camera)  # the camera is plugged in
    qr = _until(lambda: _qr_events(events), "the qr event once the camera works")
    assert svc.scans.get(qr[0]["scan_id"]) is not None
    assert any("available again" in r.getMessage() for r in caplog.records if r.name == "verifier.api.qr_watch")


def test_a_camera_source_that_cannot_exist_does_not_crash_the_service(counter):
    api, svc, events, camera = counter(camera__source="/dev/video99")
    _until(lambda: svc.qr_watch.failures >= 1, "a failed open")
    assert svc.qr_watch.alive and svc.qr_watch.looks == 0
    assert api.get("/api/v1/health").json()["status"] == "ok"


def test_the_watch_never_looks_while_a_capture_holds_the_camera(counter, tmp_path):
    """The face step (and the QR button) hold the source's camera gate: the watch waits, then goes on."""
    camera = tmp_path / "camera.png"
    _put(camera, _empty_desk())
    api, svc, events, camera = counter()
    _until(lambda: svc.qr_watch.looks >= 1, "a first look")
    with camera_gate(str(camera)).exclusive(5.0):  # as capture_best_frame does for the face step
        looks = svc.qr_watch.looks
        _put(camera)
        time.sleep(4 * qr_watch.INTERVAL_S)
        assert svc.qr_watch.looks == looks and _qr_events(events) == []
    qr = _until(lambda: _qr_events(events), "the qr event after the capture")
    assert qr[0]["started_by"] == "watch"


def test_a_foreign_qr_starts_nothing(counter, tmp_path):
    camera = tmp_path / "camera.png"
    _put(camera, qr_image("https://example.com/khuyen-mai"))
    api, svc, events, camera = counter()
    _until(lambda: svc.qr_watch.looks >= 4, "looks at the foreign QR")
    assert _qr_events(events) == [] and svc.qr_watch.started == 0 and svc.scans.busy() is None
