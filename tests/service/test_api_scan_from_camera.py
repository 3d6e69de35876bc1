"""Issue 17 item 11: the access key without typing. A QR image of a test card (made with OpenCV's
``QRCodeEncoder``, text as ``verifier/cccd/qr.py`` describes it) is fed as the counter camera
(``camera.source``); ``POST /api/v1/scans/from-camera`` reads it with OpenCV's ``QRCodeDetector``,
starts the scan of the (emulated) card with it as the access key, and the scan reaches a verdict."""

from __future__ import annotations

import cv2
import pytest

from biometrics.qr import decode_qr, qr_image
from drivers.emulator.profile import load_profile
from tests.service.conftest import DEMO_CARD, SHARED, Api
from tests.service.test_api_scans import _wait_done
from verifier.cccd.qr import parse_card_qr


def card_qr_text(profile, *, id_number: str | None = None) -> str:
    """The QR printed on the card: ID12|oldID9|name|DDMMYYYY birth|Nam/Nữ|address|DDMMYYYY issue."""
    return "|".join([id_number or profile.id_number, profile.old_id_number or "", profile.full_name,
                     profile.date_of_birth.strftime("%d%m%Y"), "Nam", profile.place_of_residence or "",
                     profile.date_of_issue.strftime("%d%m%Y")])


@pytest.fixture()
def camera_app(tmp_path):
    """A demo counter service whose camera is ``tmp_path/camera.png`` (written by each test)."""
    from tests.service.live_app import counter_app
    from verifier.config import Config

    camera = tmp_path / "camera.png"
    cfg = Config().with_overrides(service__data_dir=str(tmp_path / "data"), camera__source=str(camera), camera__timeout_s=2.0,
                                  camera__qr_watch=False)  # the button's path (the watch: test_qr_watch.py)
    app = counter_app(cfg, start_sync=False)
    svc = app.state.svc
    svc.users.add("clerk-1", "clerk")
    api = Api(app)
    yield api, svc.users.issue_token("clerk-1"), camera, svc
    api.close()
    svc.close()


def _show(camera, rgb) -> None:
    """Put a picture in front of the camera: the card's QR on a light desk, slightly turned."""
    page = cv2.copyMakeBorder(rgb, 60, 60, 90, 90, cv2.BORDER_CONSTANT, value=(225, 222, 215))
    h, w = page.shape[:2]
    page = cv2.warpAffine(page, cv2.getRotationMatrix2D((w / 2, h / 2), 7, 1.0), (w, h), borderValue=(225, 222, 215))
    cv2.imwrite(str(camera), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))


def test_qr_on_the_camera_starts_the_scan_and_reaches_a_verdict(camera_app):
    api, token, camera, svc = camera_app
    profile = load_profile(DEMO_CARD)
    text = card_qr_text(profile)
    assert parse_card_qr(text).id_number == profile.id_number
    _show(camera, qr_image(text))
    r = api.post("/api/v1/scans/from-camera", token)
    assert r.status_code == 202, r.text
    assert r.json()["access"] == "qr"
    body = _wait_done(api, token, r.json()["id"])
    assert body["status"] == "done" and body["result"]["verdict"] == "authentic", body
    assert svc.scans.get(r.json()["id"]).access_kind == "qr"


def test_the_qr_is_really_the_key(camera_app):
    """A QR of another ID number opens nothing: the scan fails at chip access (the text is what was used)."""
    api, token, camera, _ = camera_app
    _show(camera, qr_image(card_qr_text(load_profile(DEMO_CARD), id_number="001099012345")))
    r = api.post("/api/v1/scans/from-camera", token)
    assert r.status_code == 202, r.text
    body = _wait_done(api, token, r.json()["id"])
    assert body["status"] == "failed", body


def test_no_qr_and_a_foreign_qr_are_refused_in_vietnamese(camera_app):
    api, token, camera, _ = camera_app
    cv2.imwrite(str(camera), cv2.imread(str(SHARED / "faces" / "obama2.jpg")))  # a face, no QR code
    r = api.post("/api/v1/scans/from-camera", token)
    assert r.status_code == 422 and r.json()["error"]["code"] == "qr_not_found", r.text
    assert r.json()["error"]["message"].startswith("Camera không thấy mã QR")
    _show(camera, qr_image("https://example.com/khuyen-mai"))
    r = api.post("/api/v1/scans/from-camera", token)
    assert r.status_code == 422 and r.json()["error"]["code"] == "qr_not_cccd", r.text
    r = api.post("/api/v1/scans/from-camera", token, headers={"Accept-Language": "en"})
    assert r.json()["error"]["message"] == "The QR code in view is not the QR code of a CCCD card."


def test_decode_qr_reads_a_camera_like_picture():
    text = card_qr_text(load_profile(DEMO_CARD))
    rgb = qr_image(text, module_px=4)
    blurred = cv2.GaussianBlur(cv2.resize(rgb, None, fx=1.5, fy=1.5), (3, 3), 0)
    assert decode_qr(blurred) == text
    assert decode_qr(cv2.imread(str(SHARED / "faces" / "obama2.jpg"))) is None
