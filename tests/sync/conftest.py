"""Fixtures for the sync / backend tests: SQLite and a real PostgreSQL (a temporary cluster
started with initdb/pg_ctl unless CHIPID_TEST_DATABASE_URL names a server whose user may
CREATE DATABASE), a backend on loopback, enrolled signing devices, and the shop's counter service
(with its relay) served on loopback (``served_shop``)."""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from sync.backend import enroll
from sync.backend.app import create_app
from sync.backend.db import Database
from sync.testing import SigningDevice, TempPostgres, ThreadServer, create_database, drop_database


@pytest.fixture(scope="session", autouse=True)
def _backend_keys():
    """The backend's two keys in the environment (as a PostgreSQL deployment sets them), fresh
    for this test session; child processes (backend serve, fault tests) inherit them."""
    from sync.backend.vault import DATA_KEY_ENV, INDEX_KEY_ENV

    old = {k: os.environ.get(k) for k in (DATA_KEY_ENV, INDEX_KEY_ENV)}
    for k in old:
        os.environ[k] = base64.b64encode(os.urandom(32)).decode()
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def pg_admin_url():
    url = os.environ.get("CHIPID_TEST_DATABASE_URL")
    if url:
        yield url
        return
    try:
        pg = TempPostgres().start()
    except Exception as e:  # never skip silently: the PostgreSQL tests must run
        pytest.fail(f"cannot start a temporary PostgreSQL cluster (set CHIPID_TEST_DATABASE_URL to use a running server): {e}",
                    pytrace=False)
    yield pg.url
    pg.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backend.sqlite3'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = "chipid_t_" + uuid.uuid4().hex[:12]
    yield create_database(admin, name)
    drop_database(admin, name)


@pytest.fixture
def db(database_url):
    d = Database.open(database_url=database_url)
    yield d
    d.close()


@pytest.fixture
def backend(db):
    server = ThreadServer(create_app(db)).start()
    server.db = db
    yield server
    server.stop()


def enroll_signing_device(db: Database, *, shop="Cầm đồ Hoà Bình", license_no="LIC-001", province="01") -> SigningDevice:
    dev = SigningDevice()
    tok = enroll.add_device_token(db, shop=shop, license_no=license_no, province=province)["token"]
    proof = base64.b64encode(dev.sign(enroll.enroll_message(tok, dev.device_id))).decode()
    enroll.enroll_device(db, token=tok, device_id=dev.device_id, public_key=dev.public_key, proof=proof)
    return dev


def format_3_wire(wire: bytes, sign) -> bytes:
    """The batch of an uncompressed format-4 ``wire`` as a shop of the previous release framed it:
    format line ``chipid-sync-batch/3``, then a signature over the header and entry lines themselves."""
    _, _, data = wire.split(b"\n", 2)
    return b"chipid-sync-batch/3\n" + base64.b64encode(sign(data)) + b"\n" + data


@pytest.fixture
def make_device(db):
    return lambda **kw: enroll_signing_device(db, **kw)


@pytest.fixture
def device(db):
    return enroll_signing_device(db)


@pytest.fixture
def shop_ledger(tmp_path, monkeypatch):
    """A real shop ledger (verifier/ledger/store.py) with its key files in its data directory."""
    from verifier.ledger.store import Ledger

    monkeypatch.delenv("CHIPID_LEDGER_KEY", raising=False)
    led = Ledger.open(tmp_path / "shop", checkpoint_every=100)
    yield led
    led.close()


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Real argon2, with small cost parameters so that user set-up does not dominate the tests."""
    from argon2 import PasswordHasher

    from sync.backend import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def served_shop(tmp_path, monkeypatch):
    """``served_shop(backend=None, cfg=None) -> LiveApp`` (tests/service/live_app.py): the counter service, with its
    relay, served on loopback; ``.clerk`` holds the bearer headers of its clerk ``thu-ngan``. Given ``backend`` (the
    fixture), the shop's ledger in ``tmp_path / "shop"`` is enrolled with it first and ``.record`` is the enrolment
    (``shop_id``, the pinned downlink key); else ``.record`` is None. ``cfg`` defaults to that data dir with the
    relay's fast test settings (``FAST_SYNC``). Closed after the test, before a backend asked for ahead of it."""
    from tests.service.live_app import FAST_SYNC, LiveApp, enroll_shop
    from verifier.config import Config

    monkeypatch.delenv("CHIPID_LEDGER_KEY", raising=False)
    made: list[LiveApp] = []

    def serve(backend=None, cfg=None) -> LiveApp:
        data_dir = tmp_path / "shop"
        record = enroll_shop(backend.db, backend.url, data_dir) if backend is not None else None
        shop = LiveApp(cfg or Config().with_overrides(service__data_dir=str(data_dir), **FAST_SYNC))
        made.append(shop)
        shop.record = record
        shop.serve()
        shop.clerk = shop.bearer("thu-ngan")
        return shop

    try:
        yield serve
    finally:
        for shop in made:
            shop.close()
