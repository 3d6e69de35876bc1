"""Issue 17 item 7: the face step proves what it can. A probe that is the chip portrait, as read or
re-encoded / rescaled / saved again, is refused in Vietnamese; every attempt is kept in order on the
scan and in the contract (``identity_check.face_attempts``), with where the probe came from and who
gave it. Real face models, the demo card's real portrait, real photos from /work/shared/data/faces."""

from __future__ import annotations

import base64
import io

import cv2
import pytest
from PIL import Image

from biometrics.images import decode_image, encode_jpeg
from tests.service.conftest import DEMO_CARD, SHARED, scan_result, txn_body

PORTRAIT = (DEMO_CARD / "photo.jpg").read_bytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _copies() -> dict[str, bytes]:
    rgb = decode_image(PORTRAIT)
    h, w = rgb.shape[:2]
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, "PNG")
    return {
        "same_bytes": PORTRAIT,
        "same_pixels": png.getvalue(),  # the portrait saved again losslessly
        "near_copy": encode_jpeg(cv2.resize(rgb, (int(w * 0.9), int(h * 0.9)), interpolation=cv2.INTER_AREA), 80),
    }


@pytest.fixture()
def demo_scan(svc):
    return svc.scans.add_finished(scan_result(portrait=PORTRAIT), PORTRAIT, user="clerk-1")


@pytest.mark.slow
def test_chip_portrait_refused_and_every_attempt_kept(api, tokens, svc, demo_scan):
    url = f"/api/v1/scans/{demo_scan.id}/face"
    for rule, probe in _copies().items():
        r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": _b64(probe)})
        assert r.status_code == 422, (rule, r.text)
        err = r.json()["error"]
        assert err["code"] == "face_probe_is_chip_portrait" and err["details"]["rule"] == rule, err
        assert err["message"].startswith("Ảnh khách hàng chính là ảnh trong chip"), err  # Vietnamese by default
        assert err["details"]["reason_vi"] and err["details"]["reason"]
    r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": _b64(PORTRAIT)},
                 headers={"Accept-Language": "en"})
    assert r.json()["error"]["message"].startswith("The picture of the customer is the chip's own photo")
    assert svc.scans.get(demo_scan.id).face is None  # a refused copy is no decision

    # an upload of someone else: no_match; then the (demo) camera: match. The no_match stays.
    other = (SHARED / "faces" / "biden.jpg").read_bytes()
    r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": _b64(other)})
    assert r.status_code == 200 and r.json()["decision"] == "no_match", r.text
    assert r.json()["source"] == "upload" and r.json()["probe_by"] == "clerk-1"
    r = api.post(url, tokens["manager"], json={"consent": True, "camera": True})
    assert r.status_code == 200, r.text
    face = r.json()
    assert face["decision"] == "match" and face["source"] == "demo_camera" and face["probe_by"] == "manager-1"

    view = api.get(f"/api/v1/scans/{demo_scan.id}", tokens["clerk"]).json()
    attempts = view["face_attempts"]
    assert [a["decision"] for a in attempts] == ["portrait_copy"] * 4 + ["no_match", "match"]
    assert [a["n"] for a in attempts] == [1, 2, 3, 4, 5, 6]
    assert [a["refused"]["rule"] for a in attempts[:4]] == ["same_bytes", "same_pixels", "near_copy", "same_bytes"]
    assert attempts[4]["source"] == "upload" and attempts[4]["probe_by"] == "clerk-1"
    assert attempts[5]["source"] == "demo_camera" and attempts[5]["probe_by"] == "manager-1"
    assert view["face"]["decision"] == "match" and view["face"]["attempts"] == attempts

    # the contract records them all, and where the deciding probe came from
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(demo_scan.id))
    assert r.status_code == 201, r.text
    contract = svc.book.get(r.json()["id"])
    assert [a["decision"] for a in contract["identity_check"]["face_attempts"]] == [a["decision"] for a in attempts]
    assert contract["face"]["source"] == "demo_camera" and contract["face"]["probe_by"] == "manager-1"


@pytest.mark.slow
def test_another_photo_of_the_same_person_is_not_a_copy(api, tokens, svc, demo_scan):
    """The demo portrait was made from faces/obama.jpg (refused: a near-copy); obama3.jpg, another photo of
    the same man, is compared normally."""
    url = f"/api/v1/scans/{demo_scan.id}/face"
    r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": _b64((SHARED / "faces" / "obama.jpg").read_bytes())})
    assert r.status_code == 422 and r.json()["error"]["details"]["rule"] == "near_copy", r.text
    r = api.post(url, tokens["clerk"], json={"consent": True, "image_base64": _b64((SHARED / "faces" / "obama3.jpg").read_bytes())})
    assert r.status_code == 200 and r.json()["decision"] == "match", r.text
    assert [a["decision"] for a in svc.scans.get(demo_scan.id).face_attempts] == ["portrait_copy", "match"]
