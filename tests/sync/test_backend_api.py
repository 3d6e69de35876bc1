"""Inspector API over real HTTP on SQLite and PostgreSQL: search filters, a person's history,
shop status, watchlists (API and CSV) raising alerts, roles, export bundle, CLI enrolment."""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

from sync import batch as batch_mod
from sync.backend import auth
from sync.testing import pawn_payload
from sync.backend.cli import backend as backend_cli
from verifier.ledger.export import verify_bundle

WANTED = "079201000001"
STOLEN = "35-209900-176148-1"


def _send(backend, dev, first, last, checkpoint=None):
    entries = dev.entries[first - 1:last]
    b = batch_mod.build_batch(dev.device_id, entries, prev_hash=dev.prev_of(first), checkpoint=checkpoint)
    r = httpx.post(backend.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                   headers={"Content-Encoding": "gzip", "Content-Type": "application/vnd.chipid.batch"})
    return r


@pytest.fixture
def headers(backend):
    auth.add_user(backend.db, "thanh.tra", "inspector", "mat-khau-dai-1")
    auth.add_user(backend.db, "quan.tri", "admin", "mat-khau-dai-2")
    tok = lambda n, p: httpx.post(backend.url + "/api/v1/login", json={"name": n, "password": p}).json()["token"]  # noqa: E731
    return {"inspector": {"Authorization": "Bearer " + tok("thanh.tra", "mat-khau-dai-1")},
            "admin": {"Authorization": "Bearer " + tok("quan.tri", "mat-khau-dai-2")}}


@pytest.fixture
def two_shops(backend, make_device):
    a = make_device(shop="Cầm đồ Hà Nội", license_no="HN-1", province="01")
    b = make_device(shop="Cầm đồ Sài Gòn", license_no="SG-9", province="79")
    for i in range(20):
        a.append("transaction", pawn_payload(i, id_number=WANTED if i == 3 else None,
                                             name="Nguyễn Văn Thành" if i == 3 else None))
    for i in range(20, 35):
        b.append("transaction", pawn_payload(i, id_number=WANTED if i == 30 else None,
                                             name="Nguyễn Văn Thành" if i == 30 else None,
                                             serial=STOLEN if i == 31 else None))
    b.append("event", {"type": "redeemed", "txn_id": pawn_payload(30)["id"]})
    assert _send(backend, a, 1, 20, a.checkpoint(20)).status_code == 200
    assert _send(backend, b, 1, 16, b.checkpoint(16)).status_code == 200
    return a, b


def _search(backend, headers, **params):
    r = httpx.get(backend.url + "/api/v1/entries", params=params, headers=headers["inspector"])
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_search_filters_across_shops(backend, headers, two_shops):
    hits = _search(backend, headers, id_number=WANTED)
    assert sorted(h["shop"]["name"] for h in hits) == ["Cầm đồ Hà Nội", "Cầm đồ Sài Gòn"]
    assert {h["payload"]["pawner"]["id_number"] for h in hits} == {WANTED}
    assert len(_search(backend, headers, name="nguyen van thanh")) == 2
    assert len(_search(backend, headers, name="Văn Thành")) == 2  # later words of the name, accents optional
    assert len(_search(backend, headers, name="Thành", province="79")) == 1
    hit = _search(backend, headers, serial="352099001761481")
    assert len(hit) == 1 and hit[0]["shop"]["province"] == "79" and hit[0]["seq"] == 12
    assert len(_search(backend, headers, id_number=WANTED, shop="79-SG9")) == 1
    assert len(_search(backend, headers, id_number=WANTED, shop="sài gòn")) == 1
    assert len(_search(backend, headers, province="01")) == 20
    q = _search(backend, headers, q="iphone 13", limit=500)
    assert q and all("iPhone 13" in h["payload"]["items"][0]["description"] for h in q)
    assert _search(backend, headers, id_number=WANTED, **{"from": "2000-01-01", "to": "2001-01-01"}) == []
    assert len(_search(backend, headers, id_number=WANTED, **{"from": "2000-01-01"})) == 2
    r = httpx.get(backend.url + "/api/v1/entries", params={"from": "yesterday"}, headers=headers["inspector"])
    assert r.status_code == 400 and "ISO date" in r.json()["error"]["details"]["detail"]
    assert _search(backend, headers, id_number="000000000000") == []
    r = httpx.get(backend.url + "/api/v1/entries", params={"limit": "x"}, headers=headers["inspector"])
    assert r.status_code == 400 and "limit" in r.json()["error"]["details"]["detail"]


def test_person_history_shop_status_and_access_log(backend, headers, two_shops):
    r = httpx.get(f"{backend.url}/api/v1/persons/{WANTED}", headers=headers["inspector"]).json()
    assert r["shops"] == ["01-HN1", "79-SG9"] and len(r["transactions"]) == 2
    assert [e["event_type"] for e in r["events"]] == ["redeemed"]
    status = httpx.get(f"{backend.url}/api/v1/shops/79-SG9", headers=headers["inspector"]).json()
    assert status["entries"] == 16 and status["last_sync_at"] and status["open_alerts"] == 0 and status["backlog"] == 0
    shops = httpx.get(f"{backend.url}/api/v1/shops", headers=headers["inspector"]).json()["shops"]
    assert [s["shop_id"] for s in shops] == ["01-HN1", "79-SG9"]
    from sqlalchemy import text

    with backend.db.read() as conn:
        logged = conn.execute(text("SELECT user_name, action FROM access_log")).all()
    assert ("thanh.tra", "person") in [tuple(x) for x in logged]


def test_watchlist_hits_raise_alerts(backend, headers, make_device):
    r = httpx.post(backend.url + "/api/v1/watchlist", headers=headers["inspector"],
                   json={"items": [{"kind": "id_number", "value": WANTED, "note": "truy nã QĐ 12/2026"}]})
    assert r.json() == {"added": 1, "updated": 0}
    csv = "kind,value,note\nserial,SN-0001-STOLEN,mất trộm 01/2026\nimei,35 209900 176148 1,báo mất\n"
    r = httpx.post(backend.url + "/api/v1/watchlist/csv", headers=headers["inspector"],
                   files={"file": ("list.csv", csv.encode(), "text/csv")})
    assert r.json() == {"added": 2, "updated": 0}
    assert len(httpx.get(backend.url + "/api/v1/watchlist", headers=headers["inspector"]).json()["items"]) == 3
    dev = make_device()
    dev.append("transaction", pawn_payload(1))
    dev.append("transaction", pawn_payload(2, id_number=WANTED))
    dev.append("transaction", pawn_payload(3, serial="sn0001stolen"))
    dev.append("transaction", pawn_payload(4, serial=STOLEN))
    assert _send(backend, dev, 1, 4).status_code == 200
    alerts = httpx.get(backend.url + "/api/v1/alerts", params={"kind": "watchlist"}, headers=headers["inspector"]).json()["alerts"]
    assert sorted(a["seq"] for a in alerts) == [2, 3, 4]
    assert any("truy nã" in a["detail"] for a in alerts)
    bad = httpx.post(backend.url + "/api/v1/watchlist/csv", headers=headers["inspector"],
                     files={"file": ("x.csv", b"kind,value\ncolour,red\n", "text/csv")})
    assert bad.status_code == 400 and "serial, id_number or person" in bad.json()["error"]["details"]["detail"]


def test_roles_and_login(backend, headers, two_shops):
    assert httpx.get(backend.url + "/api/v1/entries", params={"id_number": WANTED}).status_code == 401
    assert httpx.get(backend.url + "/api/v1/entries", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.post(backend.url + "/api/v1/login", json={"name": "thanh.tra", "password": "sai"}).status_code == 401
    body = {"shop": "Cầm đồ Mới", "license_no": "M-1", "province": "31"}
    assert httpx.post(backend.url + "/api/v1/devices", json=body, headers=headers["inspector"]).status_code == 403
    r = httpx.post(backend.url + "/api/v1/devices", json=body, headers=headers["admin"])
    assert r.status_code == 200 and len(r.json()["token"]) >= 20


def test_export_bundle_verifies_and_detects_tampering(backend, headers, two_shops):
    bundle = httpx.get(backend.url + "/api/v1/shops/01-HN1/export", headers=headers["inspector"]).json()
    report = verify_bundle(bundle)
    assert report["ok"] and report["entries"] == 20 and report["anchored_seq"] == 20
    bundle["entries"][5]["payload"]["loan_vnd"] += 1
    bad = verify_bundle(bundle)
    assert not bad["ok"] and bad["first_bad_seq"] == 6


def test_cli_device_add_and_user_add(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("CHIPID_BACKEND_DATABASE_URL", database_url)
    runner = CliRunner()
    r = runner.invoke(backend_cli, ["device", "add", "--shop", "Cầm đồ CLI", "--license", "C-5", "--province", "92",
                                    "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(out) >= {"token", "shop_id"} and out["shop_id"] == "92-C5"
    r = runner.invoke(backend_cli, ["user", "add", "an", "--role", "inspector", "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    user = json.loads(r.output)
    assert user["role"] == "inspector" and len(user["password"]) >= 12
    r = runner.invoke(backend_cli, ["user", "add", "an", "--role", "admin", "--data-dir", str(tmp_path)])
    assert r.exit_code != 0 and "already exists" in r.output


def test_repeated_wrong_passwords_lock_the_name_for_a_while(backend):
    from sync.backend.auth import MAX_FAILED_LOGINS

    auth.add_user(backend.db, "nhan.vien", "inspector", "dung-mat-khau")
    for _ in range(MAX_FAILED_LOGINS):
        assert httpx.post(backend.url + "/api/v1/login", json={"name": "nhan.vien", "password": "sai"}).status_code == 401
    r = httpx.post(backend.url + "/api/v1/login", json={"name": "nhan.vien", "password": "dung-mat-khau"})
    assert r.status_code == 401  # locked even with the right password
    assert auth.login(backend.db, "nhan.vien", "dung-mat-khau") is None


def test_date_filters_are_days_in_vietnam(tmp_path):
    """A bare date is that day in Vietnam (UTC+7), as at the counter, whole; times pass as given."""
    from sync.backend.db import Database
    from sync.backend.search import Query, _build

    db = Database.open(tmp_path, None)
    try:
        _, params = _build(db, Query(date_from="2026-11-23", date_to="2026-11-23"))
        assert (params["dfrom"], params["dto"]) == ("2026-11-22T17:00:00.000000Z", "2026-11-23T16:59:59.999999Z")
        _, params = _build(db, Query(date_from="2026-11-23T08:00:00Z", date_to="0001-01-01"))
        assert (params["dfrom"], params["dto"]) == ("2026-11-23T08:00:00.000000Z", "0001-01-01T16:59:59.999999Z")
    finally:
        db.close()
