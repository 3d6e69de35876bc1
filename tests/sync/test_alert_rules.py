"""Alert rules over all shops (issue 19 item 3): each rule fires on a crafted history and stays
quiet below its threshold. Real shop ledgers deliver through the real relay to a real backend on
loopback whose rules worker (a thread of the app) raises the alerts; the whole rule set also runs
on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from sync import batch as batch_mod
from sync.backend import auth, enroll, watchlist
from sync.backend.alert_rules import RuleSettings, check_silent
from sync.backend.app import create_app
from sync.enrollment import enroll as shop_enroll
from sync.relay import Relay, RelaySettings
from sync.testing import ThreadServer, pawn_payload, wait_until

RULES = RuleSettings(interval_s=0.1, serial_days=30, items_n=3, items_days=7, shops_k=3, silent_hours=48.0)
PERSON = "001088000777"


@pytest.fixture
def rules_backend(db):
    server = ThreadServer(create_app(db, rules=RULES)).start()
    server.db = db
    auth.add_user(db, "canbo", "inspector", "mat-khau-rat-dai")
    token = httpx.post(server.url + "/api/v1/login", json={"name": "canbo", "password": "mat-khau-rat-dai"}).json()["token"]
    server.headers = {"Authorization": f"Bearer {token}"}
    yield server
    for w in server.server.config.app.state.alert_workers:
        w.stop()
    server.stop()


@pytest.fixture
def shops(rules_backend, tmp_path, monkeypatch):
    """Real shop ledgers, enrolled at the backend: shops(n) -> [Ledger], each delivered by ``deliver``."""
    from verifier.ledger.store import Ledger

    monkeypatch.delenv("CHIPID_LEDGER_KEY", raising=False)
    opened = []

    def make(n: int, province: str = "79") -> list:
        out = []
        for _ in range(n):
            i = len(opened)
            led = Ledger.open(tmp_path / f"shop{i}", checkpoint_every=100)
            tok = enroll.add_device_token(rules_backend.db, shop=f"Cầm đồ Số {i}", license_no=f"GP-{i}", province=province)["token"]
            shop_enroll(led, rules_backend.url, tok)
            opened.append(led)
            out.append(led)
        return out

    yield make
    for led in opened:
        led.close()


def deliver(backend, *ledgers) -> None:
    for led in ledgers:
        Relay(led, RelaySettings(backend.url, batch_size=50)).drain()
    settled(backend.db)


def settled(db) -> None:
    """Wait until the rules worker has examined every stored entry."""
    def done():
        with db.read() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM devices d LEFT JOIN alert_rule_cursor c ON c.shop_id = d.shop_id "
                                     "AND c.device_id = d.device_id WHERE d.head_seq > COALESCE(c.seq, 0)")).scalar() == 0
    wait_until(done, 30, "the rules worker to reach every device's head")


def alerts(backend, rule: str) -> list[dict]:
    rows = httpx.get(backend.url + "/api/v1/alerts", headers=backend.headers, params={"limit": 1000}).json()["alerts"]
    return [a for a in rows if a["rule"] == rule]


def phone(i: int, *, person: str | None = PERSON, serial: str | None = None) -> dict:
    p = pawn_payload(i, id_number=person, serial=serial)
    p["items"] = [{**p["items"][0], "category": "phone", "description": "Điện thoại iPhone 13"}]
    return p


def test_same_serial_at_two_shops_fires_with_links_and_is_quiet_for_one_shop(rules_backend, shops):
    a, b = shops(2)
    a.append("transaction", phone(1, person="079000000001", serial="IMEI 35-2099-001"))
    a.append("transaction", phone(2, person="079000000002", serial="IMEI 35-2099-001"))  # same shop again: no rule
    deliver(rules_backend, a)
    assert alerts(rules_backend, "serial_two_shops") == []
    b.append("transaction", phone(3, person="079000000003", serial="imei352099001"))
    deliver(rules_backend, b)
    [hit] = alerts(rules_backend, "serial_two_shops")
    assert hit["kind"] == "pattern" and hit["shop_id"] == "79-GP1"
    assert hit["links"]["serial"] == "IMEI352099001" and hit["links"]["contract"]["contract_no"] == "HĐ-2026-000003"
    assert hit["links"]["person"]["id_number"] == "079000000003"
    assert hit["shop"]["name"] == "Cầm đồ Số 1" and hit["shop"]["province"]["name"] == "Thành phố Hồ Chí Minh"
    assert "Cầm đồ Số 0" in hit["text"]["vi"] and "hai cửa hàng" in hit["text"]["vi"]
    assert "two shops" in hit["text"]["en"] and "(giờ Việt Nam)" in hit["last_at_local"]["vi"]


def test_one_person_pawning_n_phones_within_d_days(rules_backend, shops):
    a, b = shops(2)
    a.append("transaction", phone(1))
    b.append("transaction", phone(2))
    deliver(rules_backend, a, b)
    assert alerts(rules_backend, "person_items") == []  # 2 < N = 3
    a.append("transaction", phone(3))
    deliver(rules_backend, a)
    [hit] = alerts(rules_backend, "person_items")
    assert hit["data"]["count"] == 3 and hit["data"]["category"] == "phone" and hit["data"]["threshold"] == 3
    assert "3 tài sản loại “điện thoại” trong 7 ngày" in hit["text"]["vi"]
    assert hit["links"]["person"]["id_number"] == PERSON
    a.append("transaction", phone(4))  # a fourth: the open alert is counted up, not repeated
    deliver(rules_backend, a)
    [hit] = alerts(rules_backend, "person_items")
    assert hit["count"] == 2 and hit["data"]["count"] == 3  # data of the first firing; count of firings


def test_contracts_read_in_one_pass_count_only_those_before_them(rules_backend, shops):
    """One delivery brings a person's three phones among another person's two: the rules read the lot at
    once, yet each contract counts only the contracts up to its own: the third phone fires, once."""
    [a] = shops(1)
    other = "001088000888"
    for i, who in enumerate((PERSON, other, PERSON, other, PERSON), start=1):
        a.append("transaction", phone(i, person=who))
    deliver(rules_backend, a)
    [hit] = alerts(rules_backend, "person_items")
    assert hit["count"] == 1 and hit["data"]["count"] == 3, hit
    assert hit["links"]["person"]["id_number"] == PERSON and hit["links"]["contract"]["seq"] == 5


def test_the_rules_thread_runs_at_the_lowest_priority(rules_backend):
    """Ingest first: the rules worker's thread is niced like the evidence worker's, the serving threads are not."""
    import os

    from sync.backend import worker_lock
    from sync.backend.alert_rules import RulesWorker

    [worker] = [w for w in rules_backend.server.config.app.state.alert_workers if isinstance(w, RulesWorker)]
    wait_until(lambda: worker._thread.native_id is not None
               and os.getpriority(os.PRIO_PROCESS, worker._thread.native_id) == worker_lock.NICE, 10, "a niced rules thread")
    assert os.getpriority(os.PRIO_PROCESS, 0) < worker_lock.NICE


def test_items_outside_the_window_do_not_count(rules_backend, make_device):
    """Two phones 10 days before (outside D = 7) and one now: quiet; a crafted chain, as a shop's clock wrote it."""
    from datetime import datetime, timedelta, timezone

    from verifier.ledger.entry import Entry

    dev = make_device(shop="Cầm đồ Xưa", license_no="X-1", province="01")
    old = (datetime.now(timezone.utc) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for i in (1, 2):
        seq, prev = dev.head
        dev.entries.append(Entry(seq=seq + 1, device_id=dev.device_id, ts=old, kind="transaction", payload=phone(i), prev_hash=prev))
    dev.append("transaction", phone(3))
    b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint())
    assert httpx.post(rules_backend.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                      headers={"Content-Encoding": "gzip"}).status_code == 200
    settled(rules_backend.db)
    assert alerts(rules_backend, "person_items") == []


def test_one_person_at_k_shops_in_a_day(rules_backend, shops):
    a, b, c = shops(3)
    a.append("transaction", pawn_payload(1, id_number=PERSON))
    b.append("transaction", pawn_payload(2, id_number=PERSON))
    b.append("transaction", pawn_payload(3, id_number=PERSON))  # two contracts at one shop: still two shops
    deliver(rules_backend, a, b)
    assert alerts(rules_backend, "person_shops_day") == []
    c.append("transaction", pawn_payload(4, id_number=PERSON))
    deliver(rules_backend, c)
    [hit] = alerts(rules_backend, "person_shops_day")
    assert hit["data"]["count"] == 3 and len(hit["data"]["shops"]) == 3
    assert "tại 3 cửa hàng trong ngày" in hit["text"]["vi"] and hit["links"]["contract"]["contract_no"] == "HĐ-2026-000004"


def test_a_silent_shop_raises_one_alert_per_silence(rules_backend, shops):
    [a] = shops(1)
    a.append("transaction", pawn_payload(1))
    deliver(rules_backend, a)
    db = rules_backend.db
    for w in rules_backend.server.config.app.state.alert_workers:
        w.stop()  # this test calls the rule itself; the app's worker would race it to the alert
    assert check_silent(db, RULES) == []  # it just sent
    with db.write() as conn:
        conn.execute(text("UPDATE devices SET last_sync_at = '2026-01-01T00:00:00.000000Z'"))
    first = check_silent(db, RULES)
    assert len(first) == 1 and check_silent(db, RULES) == first  # counted up, not repeated
    [hit] = alerts(rules_backend, "shop_silent")
    assert hit["kind"] == "silent" and "không gửi dữ liệu đã hơn 48 giờ" in hit["text"]["vi"]
    assert "07:00 01/01/2026 (giờ Việt Nam)" in hit["text"]["vi"]


def test_watchlist_hits_on_plate_and_on_name_and_birth_date_link_the_contract(rules_backend, shops):
    watchlist.add_items(rules_backend.db, [{"kind": "plate", "value": "59-X1 234.56", "note": "xe mất trộm"},
                                           {"kind": "person", "value": "Lê Thị Hoa|12/03/1985", "note": "truy tìm"}], "t")
    [a] = shops(1)
    bike = pawn_payload(1)
    bike["items"] = [{"description": "Xe máy Honda Wave", "category": "motorbike", "plate": "59X1-23456"}]
    wanted = pawn_payload(2, name="LÊ THỊ HOA")
    wanted["pawner"]["date_of_birth"] = "1985-03-12"
    other = pawn_payload(3, name="Lê Thị Hoa")
    other["pawner"]["date_of_birth"] = "1985-03-13"  # another birth date: no hit
    for p in (bike, wanted, other):
        a.append("transaction", p)
    deliver(rules_backend, a)
    plate, = alerts(rules_backend, "watchlist_serial")
    person, = alerts(rules_backend, "watchlist_person")
    assert plate["links"]["serial"] == "59X123456" and plate["links"]["contract"]["contract_no"] == "HĐ-2026-000001"
    assert "xe mất trộm" in plate["text"]["vi"] and "Tài sản bị mất trộm" in plate["text"]["vi"]
    assert person["links"]["contract"]["contract_no"] == "HĐ-2026-000002" and "truy tìm" in person["text"]["vi"]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_rule_set_on_postgresql(rules_backend, shops):
    """The whole rule set on PostgreSQL: one history that makes every contract rule fire once."""
    a, b, c = shops(3)
    a.append("transaction", phone(1, serial="IMEI-PG-1"))
    b.append("transaction", phone(2, serial="IMEI-PG-1"))
    c.append("transaction", phone(3))
    deliver(rules_backend, a, b, c)
    fired = {r: alerts(rules_backend, r) for r in ("serial_two_shops", "person_items", "person_shops_day")}
    assert {r: len(v) for r, v in fired.items()} == {"serial_two_shops": 1, "person_items": 1, "person_shops_day": 1}
    assert fired["serial_two_shops"][0]["links"]["serial"] == "IMEIPG1"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_pass_merges_the_key_index_pending_list_before_it_searches(db, make_device):
    """A key search reads the GIN index's whole pending list for each key: a pass merges it first, so that what
    ingest appended since is in the index proper, and the rules still fire from it."""
    from sync.backend.alert_rules import run_pass
    from sync.backend.ingest import ingest

    for n, person in enumerate((PERSON, PERSON, PERSON)):
        dev = make_device(shop=f"Cầm đồ {n}", license_no=f"P-{n}", province="79")
        dev.append("transaction", phone(n + 1, person=person))
        b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1))
        assert ingest(db, batch_mod.encode(b, dev.sign)).status_code == 200

    def pending_pages() -> int:  # merging again reports what was still pending
        with db.write() as conn:
            return int(conn.exec_driver_sql("SELECT gin_clean_pending_list('entries_keys')").scalar())

    assert run_pass(db, RULES) == 3
    assert pending_pages() == 0
    with db.read() as conn:  # the third contract: three phones (person_items) at a third shop that day (person_shops_day)
        fired = conn.execute(text("SELECT count(*), min(seq) FROM alerts WHERE kind = 'pattern'")).one()
    assert tuple(fired) == (2, 1), fired
