"""Police holds and notices at the counter, seen by the clerk (issue 19 item 2).

* The event stream: a shop profile entry goes out as ``shop_profile``, every police entry as ``police_message``
  (kind, version, the contract of a hold), never as ``transaction_event`` (fast, in process, the real SSE route).
* In real headless Chromium at 1366x768 (``browser``, ``slow``): the counter service with its relay, enrolled with a
  real police backend on loopback whose downlink key is a test key; the police send through the backend's inspector
  API and the relay applies the signed messages (sync/downlink_apply.py). A notice appears as a banner without a
  reload, stays until a clerk acknowledges it (a ledger event in the inspector's export) and then leaves every open
  counter; a hold shows on the contract's money panel (reason, case number, until when, who and when in local time,
  labelled) with Chuộc đồ and Thanh lý locked and explained, a redemption is refused with the reason, and after the
  release the redemption goes through with the right amount. Screenshots: /tmp/shots/counter-notice.png,
  /tmp/shots/counter-hold.png.
"""

from __future__ import annotations

import base64
import os
import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync import downlink as wire
from tests.browser import DESKTOP
from tests.service.counter_page import in_viewport, open_counter
from tests.service.live_app import FAST_SYNC, LiveApp, enroll_shop
from tests.service.test_event_stream import parse
from verifier.ledger.entry import VN_TZ, utc_now

SHOTS = Path("/tmp/shots")
REASON = "Tang vật vụ trộm cắp tại Quận 3"
NOTICE = "Truy tìm điện thoại iPhone 13 xanh, IMEI 490154203237518: báo ngay cho Công an phường"


# --- the event stream ----------------------------------------------------------------------------------------------
def _message(shop_id: str, version: int, kind: str, body: dict, key: Ed25519PrivateKey) -> tuple[dict, str]:
    m = wire.build(shop_id, version, kind, body, issued_at=utc_now(), issued_by="cong-an-q3")
    return m, wire.sign(m, key)


def test_police_entries_and_the_shop_profile_have_their_own_events(api, tokens, make_scan, txn_body, svc):
    from verifier.ledger.holds import PoliceBook

    txn = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()
    r = api.request("PUT", "/api/v1/shop", tokens["manager"], json={"name": "Cầm đồ Phú Quý", "address": "1 Lê Lợi"})
    assert r.status_code == 200, r.text
    profile_seq = r.json()["seq"]
    police, key, shop = PoliceBook.of(svc.ledger), Ed25519PrivateKey.generate(), "shop-1"
    hold = {"hold_id": "h-1", "contract_no": txn["contract_no"], "txn_id": txn["id"], "reason": REASON, "case_no": "45/2026",
            "until": None}
    seqs = [police.record(*_message(shop, 1, "hold", hold, key), applied=True).seq,
            police.record(*_message(shop, 2, "notice", {"text": NOTICE}, key), applied=True).seq]
    seqs.append(police.acknowledge(2, user="clerk-1", role="clerk")["seq"])
    seqs.append(police.record(*_message(shop, 3, "hold_release", dict(hold, note="Đã xác minh"), key), applied=True).seq)
    stranger = dict(hold, hold_id="h-2", txn_id="khong-co", contract_no="HĐ-0000-000001")
    seqs.append(police.record(*_message(shop, 4, "hold", stranger, key), applied=False, reason="no such contract").seq)

    # the real route, replaying the ring from the start of this run (Last-Event-ID)
    r = api.get("/api/v1/events", tokens["clerk"], params={"timeout_s": 0.3}, headers={"Last-Event-ID": f"{svc.bus.run}-0"})
    assert r.status_code == 200, r.text
    events = [e for e in parse(r.text) if e["event"] in ("transaction_created", "transaction_event", "shop_profile", "police_message")]
    strip = [(e["event"], {k: v for k, v in e["data"].items() if k != "ts"}) for e in events]
    assert strip == [
        ("transaction_created", {"id": txn["id"], "contract_no": txn["contract_no"], "demo": True, "seq": txn["seq"]}),
        ("shop_profile", {"seq": profile_seq}),
        ("police_message", {"kind": "hold", "version": 1, "seq": seqs[0], "applied": True, "txn_id": txn["id"],
                            "contract_no": txn["contract_no"]}),
        ("police_message", {"kind": "notice", "version": 2, "seq": seqs[1], "applied": True}),
        ("police_message", {"kind": "notice_ack", "version": 2, "seq": seqs[2]}),
        ("police_message", {"kind": "hold_release", "version": 3, "seq": seqs[3], "applied": True, "txn_id": txn["id"],
                            "contract_no": txn["contract_no"]}),
        ("police_message", {"kind": "hold", "version": 4, "seq": seqs[4], "applied": False, "txn_id": "khong-co",
                            "contract_no": None}),
    ]
    assert REASON not in r.text and NOTICE not in r.text  # the texts are fetched, never streamed


# --- the counter in Chromium -----------------------------------------------------------------------------------------
@pytest.fixture()
def police_counter(tmp_path, monkeypatch):
    """A police backend (SQLite, in a thread on loopback) whose downlink key is a test key, and the counter service
    with its relay, enrolled with it (the backend key pinned), on loopback; yields a namespace of both."""
    from argon2 import PasswordHasher

    from sync.backend import auth, downlink_key
    from sync.backend.app import create_app as backend_app
    from sync.backend.db import Database
    from sync.backend.vault import DATA_KEY_ENV, INDEX_KEY_ENV
    from sync.testing import ThreadServer
    from verifier.config import Config

    for name in (DATA_KEY_ENV, INDEX_KEY_ENV, downlink_key.SIGNING_KEY_ENV):
        monkeypatch.setenv(name, base64.b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("CHIPID_LEDGER_KEY", raising=False)
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    db = Database.open(database_url=f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    backend = ThreadServer(backend_app(db)).start()
    data_dir = tmp_path / "shop"
    record = enroll_shop(db, backend.url, data_dir)
    assert record["downlink_public_key"] == downlink_key.public_b64(downlink_key.load(None))  # the test key, pinned
    shop = LiveApp(Config().with_overrides(service__data_dir=str(data_dir), **FAST_SYNC)).serve()
    auth.add_user(db, "cong-an-q3", "inspector", "mat-khau-dai-9")
    police = httpx.post(backend.url + "/api/v1/login", json={"name": "cong-an-q3", "password": "mat-khau-dai-9"}).json()["token"]

    class Env:
        pass

    env = Env()
    env.shop, env.svc, env.url, env.backend, env.shop_id = shop, shop.svc, shop.url, backend.url, record["shop_id"]
    env.police = {"Authorization": f"Bearer {police}"}
    try:
        yield env
    finally:
        shop.close()
        backend.stop()
        db.close()


def _vnd(n: int) -> str:
    return f"{n:,}".replace(",", ".") + " ₫"


def _local(iso: str) -> str:
    """A stored UTC time as the page shows it (the check of common.js localTime)."""
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(VN_TZ)
    return t.strftime("%H:%M %d/%m/%Y") + " (giờ Việt Nam)"


def _watch_police(page) -> None:
    """Keep what the page's event stream brings of the police (nothing in the page is changed by this)."""
    page.evaluate("() => { window.__police = []; "
                  "stream.addEventListener('police_message', (m) => window.__police.push(JSON.parse(m.data))); }")


def _open_found(page, contract_no: str) -> None:
    """Find the contract in the counter's search and open it (its details and its money panel)."""
    page.fill("#q-name", "")
    page.click("#search-go")
    page.wait_for_selector(f"#results tbody tr:has-text('{contract_no}') button.open")
    page.click(f"#results tbody tr:has-text('{contract_no}') button.open")
    page.wait_for_function("n => (document.getElementById('money-contract').textContent || '').startsWith(n)", arg=contract_no)


@pytest.mark.browser
@pytest.mark.slow
def test_notice_and_hold_at_the_counter(police_counter, chromium):
    from tests.sync.test_downlink_holds import _contract
    from sync.testing import wait_until

    env = police_counter
    svc, url = env.svc, env.url
    h = env.shop.bearer("may-quay")
    txn = _contract(svc, url, h)
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["backlog"] == 0, what="the contract delivered")
    lan, hoa = env.shop.person("lan", "clerk"), env.shop.person("hoa", "clerk")
    page, errors, _ = open_counter(chromium, url, lan, DESKTOP)
    other, other_errors, _ = open_counter(chromium, url, hoa, DESKTOP)
    for p in (page, other):
        _watch_police(p)
        p.evaluate("() => { window.__loaded = true; }")  # gone if the page were reloaded
    assert page.locator(".police-notice").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)

    # --- a notice: live, in the viewport, until acknowledged; then gone at every counter ----------------------------
    r = httpx.post(env.backend + "/api/v1/notices", json={"shop_ids": [env.shop_id], "text": NOTICE}, headers=env.police)
    assert r.status_code == 201, r.text
    version = r.json()["sent"][0]["version"]
    for p in (page, other):
        p.wait_for_selector(f'.police-notice[data-version="{version}"]')
        assert p.evaluate("window.__loaded") is True  # no reload
        assert any(m["kind"] == "notice" and m["version"] == version for m in p.evaluate("window.__police"))
    banner = page.inner_text(f'.police-notice[data-version="{version}"]')
    assert banner.startswith("THÔNG BÁO CỦA CÔNG AN: " + NOTICE) and "gửi bởi cong-an-q3" in banner and "(giờ Việt Nam)" in banner
    assert page.inner_text(".police-notice-ack") == "Đã đọc"
    in_viewport(page, f'.police-notice[data-version="{version}"]', DESKTOP)
    page.screenshot(path=str(SHOTS / "counter-notice.png"))
    page.click(f'.police-notice[data-version="{version}"] .police-notice-ack')
    page.wait_for_selector(".police-notice", state="detached")
    other.wait_for_selector(".police-notice", state="detached")  # the acknowledgement reached the other counter live
    assert any(m["kind"] == "notice_ack" and m["version"] == version for m in other.evaluate("window.__police"))
    page.reload()  # acknowledged is acknowledged: not shown again
    page.wait_for_function("stream !== null && stream.readyState === 1")
    _watch_police(page)
    page.evaluate("() => { window.__loaded = true; }")
    assert page.locator(".police-notice").count() == 0
    # the acknowledgement is a ledger entry, in the inspector's export
    inspector = env.shop.bearer("thanh-tra", "inspector")
    bundle = httpx.get(url + "/api/v1/ledger/export", headers=inspector, timeout=30).json()
    acks = [e["payload"] for e in bundle["entries"] if e["kind"] == "event" and e["payload"].get("type") == "police_notice_ack"]
    assert acks == [{"type": "police_notice_ack", "version": version, "by": {"user": "lan", "role": "clerk"}}]

    # --- a hold arrives while the clerk has the contract open, the redemption waiting for its confirmation ----------
    _open_found(page, txn["contract_no"])
    assert page.inner_text('[data-money="to_redeem_vnd"]') == _vnd(8_000_000)  # redeemed the day it was signed: no interest
    page.fill("#money-fees", "50000")
    page.click("#money-act-redeemed")
    page.wait_for_selector("#money-dialog[open]")
    assert page.is_enabled("#dialog-confirm") and page.is_hidden("#dialog-hold")
    r = httpx.post(env.backend + "/api/v1/holds", headers=env.police, json={
        "shop_id": env.shop_id, "contract_no": txn["contract_no"], "reason": REASON, "case_no": "45/2026", "until": "2099-12-31"})
    assert r.status_code == 201, r.text
    hold_id = r.json()["hold_id"]
    page.wait_for_selector("#dialog-hold:not([hidden])")
    assert page.is_disabled("#dialog-confirm")  # the confirmation cannot be given any more
    assert f"Lý do: {REASON}" in page.inner_text("#dialog-hold")
    page.click("#dialog-close")
    hold = httpx.get(url + "/api/v1/holds", params={"txn_id": txn["id"]}, headers=h).json()["holds"][0]
    expected = {"reason": f"Lý do: {REASON}", "case_no": "Số hồ sơ vụ việc: 45/2026",
                "until": "Giữ đến: hết ngày 31/12/2099 (giờ Việt Nam)",
                "issued": f"Lệnh của cong-an-q3, nhận lúc {_local(hold['received_at'])}",
                "blocked": "Không được chuộc đồ, thanh lý hay hủy hợp đồng (trả lại tài sản) cho đến khi công an giải tỏa: "
                           "các nút đó đã bị khóa."}
    for p in (page, other):
        if p is other:  # the other clerk opens the held contract: shown as soon as it is opened
            _open_found(other, txn["contract_no"])
        p.wait_for_selector("#hold-banner:not([hidden])")
        assert p.inner_text("#hold-banner .hold-title") == "TÀI SẢN ĐANG BỊ CÔNG AN TẠM GIỮ"
        for key, text in expected.items():
            assert p.inner_text(f'#hold-banner [data-hold="{key}"]') == text, key
        assert p.evaluate("parseFloat(getComputedStyle(document.querySelector('#hold-banner .hold-reason')).fontSize)") >= 18
        assert p.evaluate("getComputedStyle(document.getElementById('hold-banner')).backgroundColor") == "rgb(185, 28, 28)"
        assert p.is_disabled("#money-act-redeemed")  # (Thanh lý is not offered on an active contract)
        assert p.get_attribute("#money-act-redeemed", "title") == "Đã khóa: tài sản đang bị công an tạm giữ"
        assert p.is_enabled("#money-act-interest_paid") and p.is_enabled("#money-act-extended")  # still allowed
    # a second notice while the clerk works down the page: stuck to the top of the window, seen without scrolling back
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("window.scrollY") > 0
    r = httpx.post(env.backend + "/api/v1/notices", json={"shop_ids": [env.shop_id], "text": "Họp giao ban 8 giờ sáng thứ Hai"},
                   headers=env.police)
    second = r.json()["sent"][0]["version"]
    page.wait_for_selector(f'.police-notice[data-version="{second}"]')
    box = page.locator(f'.police-notice[data-version="{second}"]').bounding_box()
    assert page.evaluate("window.scrollY") > 0 and box["y"] >= 0 and box["y"] + box["height"] <= DESKTOP[1], box
    page.screenshot(path=str(SHOTS / "counter-hold.png"))
    other.wait_for_selector(f'.police-notice[data-version="{second}"]')
    other.click(f'.police-notice[data-version="{second}"] .police-notice-ack')  # read at the other counter
    page.wait_for_selector(".police-notice", state="detached")
    # the button cannot be pressed; a redemption sent all the same (the page's own API call) is refused with the reason
    refused = page.evaluate("id => api('POST', `/api/v1/transactions/${id}/events`, {type: 'redeemed'})"
                            ".then(() => null, (e) => ({code: e.code, message: e.message, details: e.details}))", txn["id"])
    assert refused["code"] == "item_on_hold" and REASON in refused["message"] and "tạm giữ" in refused["message"]
    assert refused["details"]["case_no"] == "45/2026" and refused["details"]["hold_id"] == hold_id

    # --- released: the buttons work again, the redemption goes through with the right amount -------------------------
    r = httpx.post(f"{env.backend}/api/v1/holds/{hold_id}/release", json={"note": "Đã xác minh"}, headers=env.police)
    assert r.status_code == 201, r.text
    for p in (page, other):
        p.wait_for_selector("#hold-banner", state="hidden")
        assert p.inner_text("#money-result") == "Công an đã giải tỏa lệnh tạm giữ: được chuộc đồ, thanh lý trở lại."
        assert p.is_enabled("#money-act-redeemed") and p.get_attribute("#money-act-redeemed", "title") is None
        assert p.evaluate("window.__loaded") is True
    page.fill("#money-fees", "50000")
    page.click("#money-act-redeemed")
    page.wait_for_selector("#money-dialog[open]")
    assert page.is_hidden("#dialog-hold")
    cash_in = 8_000_000 + 0 + 50_000  # principal + interest of 0 days (signed today) + the fee
    assert page.inner_text('#dialog-amounts [data-amount="cash_in_vnd"]') == _vnd(cash_in)
    page.click("#dialog-confirm")
    page.wait_for_selector("#dialog-receipt:not([hidden]), #dialog-error:not([hidden]), #dialog-hold:not([hidden])")
    assert page.is_hidden("#dialog-error") and page.is_hidden("#dialog-hold")
    seq = int(page.get_attribute("#dialog-receipt", "data-seq"))
    entry = svc.ledger.entries_by_seq([seq])[0]
    assert entry.payload["type"] == "redeemed" and entry.payload["txn_id"] == txn["id"]
    assert entry.payload["money"]["cash_in_vnd"] == cash_in and entry.payload["money"]["fees_vnd"] == 50_000
    assert re.search(r"Đã chuộc", page.inner_text("#money-contract"))
    assert errors == [] and other_errors == []
    page.close()
    other.close()
