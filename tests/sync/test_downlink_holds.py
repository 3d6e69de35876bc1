"""The signed downlink end to end over real HTTP on loopback, on SQLite and PostgreSQL (issue 19 items 2 and 5):
the real counter service (its relay) enrolled with the real backend. A hold placed with the CLI reaches the shop and
blocks the redemption at the counter (409 item_on_hold with the reason) until released through the API; a notice is
shown until acknowledged; the chain records what was received; a replayed old message is skipped and a forged one is
refused; item photos reach the backend, and one whose hash differs from the entry is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from sync import downlink as wire
from sync.backend import auth, downlink_key
from sync.backend.cli import backend as backend_cli
from sync.testing import wait_until
from tests.service.conftest import face_decision, scan_result

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HOLDER = {"id_number": "079090004321", "full_name": "Trần Thị Bích", "date_of_birth": "1991-02-03", "sex": "F",
          "nationality": "Việt Nam", "issue_date": "2021-04-20", "expiry_date": "2031-02-03"}


@pytest.fixture
def signing_key(monkeypatch):
    """The backend's downlink key in the environment (as a PostgreSQL deployment sets it): the in-process
    backend and the CLI both read it."""
    seed = os.urandom(32)
    monkeypatch.setenv(downlink_key.SIGNING_KEY_ENV, base64.b64encode(seed).decode())
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed)


@pytest.fixture
def counter(backend, signing_key, served_shop):
    """The counter service (with its relay) of an enrolled shop, served on loopback: (service, url, headers, shop id)."""
    shop = served_shop(backend)
    assert shop.record["downlink_public_key"] == downlink_key.public_b64(signing_key)  # pinned at enrolment
    return shop.svc, shop.url, shop.clerk, shop.record["shop_id"]


def _contract(svc, url, h, photo: bytes | None = None) -> dict:
    portrait = (SHARED / "faces" / "obama.jpg").read_bytes()
    scan = svc.scans.add_finished(scan_result(holder=HOLDER, portrait=portrait), portrait, user="thu-ngan")
    scan.face = face_decision()
    scan.camera_image = portrait
    item = {"description": "Điện thoại iPhone 13 128GB", "category": "phone", "serial": "F2LX-K0AB-CD12"}
    if photo is not None:
        # the item photo is held with the scan, then stored as item-1 with the contract (verifier/api/item_photos.py)
        r = httpx.post(f"{url}/api/v1/scans/{scan.id}/item-photo", json={"image_base64": base64.b64encode(photo).decode()},
                       headers=h)
        assert r.status_code == 200, r.text
        item["photo_sha256"] = r.json()["photo_sha256"]
    body = {"scan_id": scan.id, "valuation_vnd": 12_000_000, "loan_vnd": 8_000_000, "interest_rate_year_pct": 18.0,
            "term_days": 30, "items": [item]}
    r = httpx.post(url + "/api/v1/transactions", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def _redeem(url, h, txn_id) -> httpx.Response:
    """A redemption as the counter sends it: the cash the clerk confirmed (the quote of an amount_changed answer)."""
    r = httpx.post(f"{url}/api/v1/transactions/{txn_id}/events", json={"type": "redeemed"}, headers=h)
    if r.status_code == 409 and r.json()["error"]["code"] == "amount_changed":
        money = r.json()["error"]["details"]["quote"]["money"]
        expected = {"cash_in_vnd": money["cash_in_vnd"], "cash_out_vnd": money["cash_out_vnd"]}
        r = httpx.post(f"{url}/api/v1/transactions/{txn_id}/events", json={"type": "redeemed", "expected": expected}, headers=h)
    return r


def _inspector(backend) -> dict:
    auth.add_user(backend.db, "cong-an", "inspector", "mat-khau-dai-9")
    t = httpx.post(backend.url + "/api/v1/login", json={"name": "cong-an", "password": "mat-khau-dai-9"}).json()["token"]
    return {"Authorization": f"Bearer {t}"}


def _cli(*args) -> dict:
    r = CliRunner().invoke(backend_cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _police_events(svc) -> list[dict]:
    return [e.payload for e in svc.ledger.entries(0, 1000) if e.kind == "event" and e.payload["type"].startswith("police_")]


def test_a_hold_blocks_redemption_at_the_counter_until_released(backend, counter, tmp_path):
    svc, url, h, shop_id = counter
    txn = _contract(svc, url, h)
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["backlog"] == 0, what="the contract delivered")
    bh = _inspector(backend)

    # placed with the CLI (the same database the backend serves)
    placed = _cli("hold", "add", "--database-url", backend.db.url, "--data-dir", str(tmp_path / "backend"), "--shop", shop_id,
                  "--contract", txn["contract_no"], "--reason", "Tang vật vụ trộm cắp", "--case", "45/2026", "--json")
    holds = wait_until(lambda: httpx.get(url + "/api/v1/holds", headers=h).json()["holds"], what="the hold at the shop")
    assert [(x["hold_id"], x["reason"], x["case_no"]) for x in holds] == [(placed["hold_id"], "Tang vật vụ trộm cắp", "45/2026")]
    view = httpx.get(f"{url}/api/v1/transactions/{txn['id']}", headers=h).json()
    assert view["hold"]["hold_id"] == placed["hold_id"]

    r = _redeem(url, h, txn["id"])
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "item_on_hold" and "Tang vật vụ trộm cắp" in err["message"] and "tạm giữ" in err["message"]
    assert err["details"]["case_no"] == "45/2026"

    # released through the inspector API
    r = httpx.post(f"{backend.url}/api/v1/holds/{placed['hold_id']}/release", json={"note": "Đã xác minh"}, headers=bh)
    assert r.status_code == 201, r.text
    assert httpx.post(f"{backend.url}/api/v1/holds/{placed['hold_id']}/release", json={}, headers=bh).status_code == 409
    wait_until(lambda: not httpx.get(url + "/api/v1/holds", headers=h).json()["holds"], what="the release at the shop")
    assert httpx.get(f"{url}/api/v1/transactions/{txn['id']}", headers=h).json()["hold"] is None
    r = _redeem(url, h, txn["id"])
    assert r.status_code == 201, r.text

    # the chain shows what was received, with the backend's signatures, and the backend gets it back
    events = _police_events(svc)
    assert [(e["type"], e["version"], e["applied"]) for e in events] == [("police_hold", 1, True), ("police_hold_release", 2, True)]
    for e in events:
        wire.verify({"message": e["message"], "signature": e["signature"]}, downlink_key.load(None).public_key(), shop_id)
    listed = httpx.get(backend.url + "/api/v1/holds", params={"shop_id": shop_id}, headers=bh).json()["holds"]
    assert listed[0]["released"]["note"] == "Đã xác minh" and listed[0]["active"] is False
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["backlog"] == 0, what="the police events delivered")
    st = httpx.get(url + "/api/v1/sync", headers=h).json()
    assert st["downlink"]["pinned"] is True and st["downlink"]["applied_version"] == 2


def test_a_hold_placed_through_the_api_and_a_notice_until_acknowledged(backend, counter):
    svc, url, h, shop_id = counter
    txn = _contract(svc, url, h)
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["backlog"] == 0, what="the contract delivered")
    bh = _inspector(backend)
    r = httpx.post(backend.url + "/api/v1/holds", json={"shop_id": shop_id, "contract_no": "HĐ-0000-999999", "reason": "x"},
                   headers=bh)
    assert r.status_code == 404 and r.json()["error"]["code"] == "contract_not_delivered"
    r = httpx.post(backend.url + "/api/v1/holds", json={"shop_id": shop_id, "contract_no": txn["contract_no"],
                                                        "reason": "Nghi vấn tài sản gian lận", "until": "2099-12-31"}, headers=bh)
    assert r.status_code == 201, r.text
    r = httpx.post(backend.url + "/api/v1/notices", json={"shop_ids": [shop_id], "text": "Kiểm tra điện thoại iPhone 13 xanh"},
                   headers=bh)
    assert r.status_code == 201 and r.json()["sent"] == [{"shop_id": shop_id, "version": 2}]
    notices = wait_until(lambda: httpx.get(url + "/api/v1/notices", headers=h).json()["notices"], what="the notice")
    assert [n["text"] for n in notices] == ["Kiểm tra điện thoại iPhone 13 xanh"]
    assert _redeem(url, h, txn["id"]).json()["error"]["code"] == "item_on_hold"
    # still shown (not acknowledged) on the next look; gone once acknowledged; acknowledging again is harmless
    assert len(httpx.get(url + "/api/v1/notices", headers=h).json()["notices"]) == 1
    a = httpx.post(f"{url}/api/v1/notices/2/ack", headers=h)
    assert a.status_code == 200, a.text
    assert httpx.post(f"{url}/api/v1/notices/2/ack", headers=h).json()["seq"] == a.json()["seq"]
    assert httpx.post(f"{url}/api/v1/notices/7/ack", headers=h).status_code == 404
    assert httpx.post(f"{url}/api/v1/notices/{2**64}/ack", headers=h).status_code == 422  # beyond SQLite's INTEGER: refused, not a 500
    assert httpx.get(url + "/api/v1/notices", headers=h).json()["notices"] == []
    assert httpx.get(url + "/api/v1/notices", params={"all": True}, headers=h).json()["notices"][0]["acknowledged_by"] == "thu-ngan"
    types = [e["type"] for e in _police_events(svc)]
    assert types == ["police_hold", "police_notice", "police_notice_ack"]


def test_replayed_and_forged_messages(backend, counter, signing_key):
    """The relay's inbox against the backend: an old version served again is skipped; a message signed by another
    key, or altered after signing, is refused and never applied, and nothing after it is applied either."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import text

    from sync.backend import downlink

    svc, url, h, shop_id = counter
    bh = _inspector(backend)
    httpx.post(backend.url + "/api/v1/notices", json={"shop_ids": [shop_id], "text": "Thông báo một"}, headers=bh)
    wait_until(lambda: httpx.get(url + "/api/v1/notices", headers=h).json()["notices"], what="notice 1")
    relay = svc.relay.relay
    # replay: the backend serves version 1 again (its answer starts after=0): skipped, nothing recorded twice
    inbox = relay.inbox
    orig = inbox.police.applied_version
    inbox.police.applied_version = lambda: 0
    try:
        assert inbox.fetch() == 0
    finally:
        inbox.police.applied_version = orig
    assert [e["version"] for e in _police_events(svc)] == [1]

    # forged: version 2 signed by another key is stored at the backend as if it were the backend's
    forged = downlink.publish(backend.db, Ed25519PrivateKey.generate(), shop_id, "notice", {"text": "Lệnh giả"}, issued_by="x")
    assert forged["version"] == 2
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["downlink"]["refused"], what="the refusal")
    st = httpx.get(url + "/api/v1/sync", headers=h).json()
    assert st["downlink"]["refused"]["version"] == 2 and "từ chối" in st["summary"]["vi"]
    assert [n["text"] for n in httpx.get(url + "/api/v1/notices", params={"all": True}, headers=h).json()["notices"]] == ["Thông báo một"]
    # altered: version 2 replaced by a well-signed message whose body is then changed in the table
    good = downlink.messages(backend.db, shop_id=shop_id)[0]
    with backend.db.write() as conn:
        conn.execute(text("DELETE FROM downlink WHERE shop_id = :s AND version = 2"), {"s": shop_id})
    real = downlink.publish(backend.db, signing_key, shop_id, "notice", {"text": "Thông báo hai"}, issued_by="cong-an")
    altered = dict(real["message"], body={"text": "Thông báo đã bị sửa"})
    with backend.db.write() as conn:
        conn.execute(text("UPDATE downlink SET message = :m WHERE shop_id = :s AND version = 2"),
                     {"m": downlink._seal(backend.db, shop_id, 2, altered), "s": shop_id})
    relay.inbox.refused = None
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["downlink"]["refused"], what="the refusal")
    assert [e["version"] for e in _police_events(svc)] == [1]
    assert good["version"] == 1
    # the backend serves the genuine message again: applied, the refusal cleared
    with backend.db.write() as conn:
        conn.execute(text("UPDATE downlink SET message = :m WHERE shop_id = :s AND version = 2"),
                     {"m": downlink._seal(backend.db, shop_id, 2, real["message"]), "s": shop_id})
    wait_until(lambda: len(httpx.get(url + "/api/v1/notices", headers=h).json()["notices"]) == 2, what="notice 2")
    assert httpx.get(url + "/api/v1/sync", headers=h).json()["downlink"]["refused"] is None


def test_item_photos_reach_the_backend_and_a_mismatch_is_refused(backend, counter):
    svc, url, h, shop_id = counter
    photo = (SHARED / "faces" / "obama.jpg").read_bytes()
    txn = _contract(svc, url, h, photo=photo)
    bh = _inspector(backend)
    base = f"{backend.url}/api/v1/shops/{shop_id}/contracts/{txn['id']}/photos"
    listed = wait_until(lambda: httpx.get(base, headers=bh).json()["photos"], what="the photo at the backend")
    assert [(p["kind"], p["sha256"]) for p in listed] == [("item-1", hashlib.sha256(photo).hexdigest())]
    r = httpx.get(base + "/item-1", headers=bh)
    assert r.status_code == 200 and r.content == photo
    # the read is in the access log (its query sealed like the others)
    with backend.db.read() as conn:
        from sqlalchemy import text

        actions = [row[0] for row in conn.execute(text("SELECT action FROM access_log WHERE user_name = 'cong-an'")).all()]
    assert "item_photo" in actions
    # a photo whose hash is not the entry's: refused (device-signed request, over HTTP)
    from sync.client import BackendClient

    client = BackendClient(backend.url)
    try:
        body = {"contract_no": txn["contract_no"], "txn_id": txn["id"], "kind": "item-1",
                "data": base64.b64encode(photo + b"x").decode()}
        r = client.post_photo(svc.ledger.device_id, body, svc.ledger.sign)
        assert r.status_code == 409 and r.body["error"]["code"] == "photo_mismatch"
        # and a request not signed by the device is refused
        forged = client.post_photo(svc.ledger.device_id, body, lambda b: bytes(64))
        assert forged.status_code == 401 and forged.body["error"]["code"] == "device_auth_failed"
    finally:
        client.close()
    assert httpx.get(base + "/item-1", headers=bh).content == photo
