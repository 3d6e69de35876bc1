"""Scans, the face step and server-sent events through the REST API."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import dataclass

import pytest

from verifier.errors import AccessDeniedError
from verifier.results import ScanResult, ScanStep


@dataclass
class Outcome:
    result: ScanResult
    portrait: bytes | None


class ScriptedReader:
    """Stands in for the card at the edge: reports progress like run_scan and returns its outcome."""

    def __init__(self, result, portrait, error=None):
        self.result, self.portrait, self.error = result, portrait, error
        self.release = threading.Event()
        self.release.set()
        self.calls = []

    def __call__(self, config, access, progress):
        self.calls.append(access)
        self.release.wait(10)
        progress(ScanStep.READING)
        progress(ScanStep.CARD_LIFTED)
        progress(ScanStep.CARD_BACK)
        progress(ScanStep.VERIFYING)
        if self.error:
            raise self.error
        return Outcome(self.result, self.portrait)


@pytest.fixture()
def reader(svc, scan_result, portrait):
    r = ScriptedReader(scan_result(portrait=portrait), portrait)
    svc.scans._runner = r
    return r


def _wait_done(api, token, scan_id):
    for _ in range(1000):  # up to 20 s: a real scan on a loaded CI machine
        body = api.get(f"/api/v1/scans/{scan_id}", token).json()
        if body["status"] in ("done", "failed"):
            return body
        api.run(asyncio.sleep(0.02))
    raise AssertionError("scan did not finish")


def test_scan_lifecycle(api, tokens, reader):
    r = api.post("/api/v1/scans", tokens["clerk"], json={"can": "123456"})
    assert r.status_code == 202
    body = _wait_done(api, tokens["clerk"], r.json()["id"])
    assert body["status"] == "done"
    assert body["result"]["verdict"] == "authentic" and body["result"]["holder"]["full_name"] == "Nguyễn Văn An"
    assert reader.calls == [{"can": "123456"}]
    assert api.get(f"/api/v1/scans/{body['id']}/portrait", tokens["clerk"]).headers["content-type"] == "image/jpeg"
    assert api.get("/api/v1/scans/unknown", tokens["clerk"]).status_code == 404


def test_scan_failure_is_reported(api, tokens, reader):
    reader.error = AccessDeniedError("BAC refused: wrong access key?", step="BAC mutual authenticate", sw=0x6300)
    scan_id = api.post("/api/v1/scans", tokens["clerk"]).json()["id"]
    body = _wait_done(api, tokens["clerk"], scan_id)
    assert body["status"] == "failed"
    # one plain sentence in the asked language; the PACE/BAC detail only in details (the page's "chi tiết")
    assert body["error"]["code"] == "access_key_wrong"
    assert body["error"]["message"] == "Sai mã truy cập (CAN) hoặc dữ liệu QR: kiểm tra 6 số cuối của số định danh."
    assert "BAC" not in body["error"]["message"] and "6300" not in body["error"]["message"]
    assert "wrong access key" in body["error"]["details"]["detail"] and body["error"]["details"]["step"] == "BAC mutual authenticate"
    en = api.get(f"/api/v1/scans/{scan_id}", tokens["clerk"], headers={"Accept-Language": "en-US,en;q=0.9"}).json()
    assert en["error"]["message"].startswith("Wrong access key (CAN) or QR text")


def test_reader_busy(api, tokens, reader):
    reader.release.clear()
    first = api.post("/api/v1/scans", tokens["clerk"])
    assert first.status_code == 202
    second = api.post("/api/v1/scans", tokens["clerk"])
    assert second.status_code == 409 and second.json()["error"]["code"] == "reader_busy"
    reader.release.set()
    _wait_done(api, tokens["clerk"], first.json()["id"])


def test_bad_access_key_shapes(api, tokens, reader):
    r = api.post("/api/v1/scans", tokens["clerk"], json={"can": "12"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = api.post("/api/v1/scans", tokens["clerk"], json={"password": "x"})
    assert r.status_code == 422


def test_events_stream_scan_progress(api, tokens, reader, svc):
    async def scenario():
        stream = asyncio.create_task(api.client.get("/api/v1/events", params={"limit": 5, "timeout_s": 10},
                                                     headers={"Authorization": f"Bearer {tokens['integrator']}"}))
        for _ in range(100):
            if svc.bus.listeners:
                break
            await asyncio.sleep(0.01)
        r = await api.client.post("/api/v1/scans", headers={"Authorization": f"Bearer {tokens['integrator']}"})
        assert r.status_code == 202
        return await stream

    resp = api.run(scenario())  # hello, then 5 events: the scan's steps
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = [block for block in resp.text.split("\n\n") if block.strip()]
    names = [line.split(": ", 1)[1] for block in events for line in block.splitlines() if line.startswith("event: ")]
    assert names[0] == "hello"
    assert names[1:] == ["scan"] * 5
    data = [json.loads(line[6:]) for block in events for line in block.splitlines() if line.startswith("data: ")][1:]
    # the steps the scan emitted, in order; a lifted card is part of reading, labelled for the clerk
    assert [(d["step"], d["status"]) for d in data] == [
        ("waiting_for_card", "waiting_for_card"), ("reading", "reading"), ("card_lifted", "reading"),
        ("card_back", "reading"), ("verifying", "verifying")]
    assert data[2]["label_vi"] == "thẻ bị nhấc ra, đặt lại thẻ để đọc tiếp" and data[2]["label"]
    assert all("Nguy" not in block for block in events)  # no personal data on the event stream


@pytest.mark.slow
def test_face_with_demo_camera_and_uploaded_image(api, tokens, make_scan, svc):
    scan = make_scan(face=None)
    r = api.post(f"/api/v1/scans/{scan.id}/face", tokens["clerk"], json={"consent": True, "camera": True})
    assert r.status_code == 200, r.text
    decision = r.json()
    assert decision["decision"] == "match" and decision["demo"] is True
    assert {"decision", "distance", "score", "reasons"} <= set(decision)
    assert api.get(f"/api/v1/scans/{scan.id}/camera", tokens["clerk"]).status_code == 200
    assert len(svc.scans.get(scan.id).face_template) == 512  # kept with the contract instead of the frame
    from pathlib import Path

    other = (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces" / "biden.jpg").read_bytes()
    r = api.post(f"/api/v1/scans/{scan.id}/face", tokens["clerk"],
                 json={"consent": True, "image_base64": base64.b64encode(other).decode()})
    assert r.status_code == 200 and r.json()["decision"] == "no_match"


def test_face_needs_consent_and_a_good_image(api, tokens, make_scan):
    scan = make_scan(face=None)
    url = f"/api/v1/scans/{scan.id}/face"
    r = api.post(url, tokens["clerk"], json={"consent": False, "camera": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "consent_required"
    assert api.post(url, tokens["clerk"], json={"consent": True}).status_code == 422
    r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": "!!!"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_image"
    r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": base64.b64encode(b"not an image").decode()})
    assert r.status_code == 422, r.text


def test_demo_service_reads_the_emulated_card_with_the_real_scan(api, tokens, svc):
    """Demo mode is decided once at start-up (reader auto, no reader): every scan then reads the
    emulated card through the real orchestration, even if a reader appears later."""
    assert svc.cfg["reader.name"] == "emulator"
    r = api.post("/api/v1/scans", tokens["clerk"], json={})
    assert r.status_code == 202
    body = _wait_done(api, tokens["clerk"], r.json()["id"])
    assert body["status"] == "done", body
    assert body["result"]["verdict"] == "authentic"
    assert body["result"]["demo"] is True
    assert body["result"]["holder"]["full_name"] == "Nguyễn Văn An"
