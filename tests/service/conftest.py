"""Fixtures of the counter-service tests: an app on a temporary data dir, users of every role,
an in-process httpx client (ASGITransport), and finished scans registered directly; for the tests over real HTTP,
the app served in this process (``live_app``, tests/service/live_app.py) and ``chipid serve`` in a subprocess
(``live_server``, ``camera_server``, ``server_factory``)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest

from verifier import verdict as V
from verifier.config import Config
from verifier.results import AccessEvidence, ChipEvidence, FaceDecision, FileRead, Holder, PortraitInfo, ScanResult

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DEMO_CARD = REPO / "drivers" / "emulator" / "demo" / "card"

HOLDER = {
    "id_number": "079090001234",
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1990-03-15",
    "sex": "M",
    "nationality": "Việt Nam",
    "place_of_origin": "Xã Tân Phú, Huyện Đức Hòa, Long An",
    "place_of_residence": "123 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh",
    "issue_date": "2021-04-20",
    "expiry_date": "2030-03-15",
}


def scan_result(verdict: str = "authentic", holder: dict | None = None, demo: bool = True, portrait: bytes = b"",
                **fields) -> ScanResult:
    """A finished scan as :func:`verifier.scan.read_and_verify` returns it (``fields``: other
    :class:`ScanResult` fields, e.g. ``holder_source``), for the steps after the chip."""
    sod_status = V.Status.PASSED if verdict == "authentic" else V.Status.FAILED
    chip = ChipEvidence(reader="emulator", access=AccessEvidence("PACE", "CAN", ("PACE with CAN: ok",)),
                        files={name: FileRead.of(name.encode()) for name in ("COM", "SOD", "DG1", "DG2", "DG13", "DG14", "DG15")},
                        apdus=42, bytes=30000, elapsed_ms=1234.0)
    return ScanResult(
        chip=chip, demo=demo, holder=Holder.from_json(holder or HOLDER),
        checks=(V.passed(V.CHIP_ACCESS, "PACE", "PACE"), V.Check(V.SOD_SIGNATURE, sod_status, "x", "x")),
        verdict=V.Outcome(verdict),
        face_image=PortraitInfo("jpeg", 360, 480, hashlib.sha256(portrait).hexdigest(), "ISO/IEC 19794-5"),
        **fields,
    )


def face_decision(decision: str = "match", demo: bool = True) -> FaceDecision:
    """A face step's decision as :meth:`verifier.api.face.FaceService.decide` returns it."""
    return FaceDecision(decision, distance=0.3, score=80, thresholds={"match": 0.45, "no_match": 0.6},
                        quality={"reference": None, "frame": None}, source="upload", demo=demo, elapsed_ms=12.0)


class Api:
    """Synchronous facade over ``httpx.AsyncClient(transport=ASGITransport(app))`` (one loop per test)."""

    def __init__(self, app) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def request(self, method: str, url: str, token: str | None = None, **kw) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.run(self.client.request(method, url, headers=headers, **kw))

    def get(self, url, token=None, **kw):
        return self.request("GET", url, token, **kw)

    def post(self, url, token=None, **kw):
        return self.request("POST", url, token, **kw)

    def close(self) -> None:
        self.run(self.client.aclose())
        self.loop.close()


@pytest.fixture()
def cfg(tmp_path):
    return Config().with_overrides(service__data_dir=str(tmp_path / "data"), ledger__checkpoint_every=5)


@pytest.fixture()
def app(cfg):
    from tests.service.live_app import counter_app

    application = counter_app(cfg)
    yield application
    application.state.svc.close()


@pytest.fixture()
def svc(app):
    return app.state.svc


@pytest.fixture()
def api(app):
    client = Api(app)
    yield client
    client.close()


@pytest.fixture()
def tokens(svc):
    """A bearer token for one user of each role."""
    out = {}
    for role in ("clerk", "manager", "inspector", "integrator", "admin2"):
        name = f"{role}-1"
        r = "admin" if role == "admin2" else role
        svc.users.add(name, r)
        out[r] = svc.users.issue_token(name)
    return out


@pytest.fixture()
def portrait() -> bytes:
    return (SHARED / "faces" / "obama.jpg").read_bytes()


@pytest.fixture()
def make_scan(svc, portrait):
    """Register a finished scan in the scan registry, optionally with a face decision."""

    def make(verdict="authentic", face="match", holder=None, demo=True):
        scan = svc.scans.add_finished(scan_result(verdict, holder, demo, portrait), portrait, user="clerk-1")
        if face:
            scan.face = face_decision(face, demo)
            scan.camera_image = (SHARED / "faces" / "obama2.jpg").read_bytes()
        return scan

    return make


def txn_body(scan_id: str, **over) -> dict:
    body = {
        "scan_id": scan_id,
        "items": [{"description": "Điện thoại iPhone 13 128GB", "category": "phone", "serial": "F2LXK0ABCD12"}],
        "valuation_vnd": 12_000_000,
        "loan_vnd": 8_000_000,
        "interest_rate_year_pct": 18.0,
        "term_days": 30,
    }
    body.update(over)
    return body


@pytest.fixture(name="txn_body")
def _txn_body():
    return txn_body


@pytest.fixture(name="scan_result")
def _scan_result():
    return scan_result


@pytest.fixture(name="face_decision")
def _face_decision():
    return face_decision


@pytest.fixture(name="holder")
def _holder():
    return dict(HOLDER)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_app(tmp_path):
    """``live_app(cfg=None, **create_kw) -> LiveApp`` (tests/service/live_app.py), not served yet: add its people,
    seed its ledger, then ``.serve()``. ``cfg`` defaults to the data dir ``tmp_path / "data"``. Every app made is
    closed after the test (after a ``chromium`` the test asks for later, so no page holds a connection then)."""
    from tests.service.live_app import LiveApp

    made: list[LiveApp] = []

    def make(cfg=None, **create_kw) -> LiveApp:
        made.append(LiveApp(cfg or Config().with_overrides(service__data_dir=str(tmp_path / "data")), **create_kw))
        return made[-1]

    try:
        yield make
    finally:
        for one in made:
            one.close()


class LiveServer:
    """``chipid serve`` started by :func:`start_server` (``base`` is its URL); :meth:`add_user` makes its people."""

    def __init__(self, proc, base: str, data_dir: Path, admin_password: str, log_path: Path) -> None:
        self.proc, self.base, self.data_dir, self.admin_password, self.log_path = proc, base, data_dir, admin_password, log_path

    @classmethod
    def start(cls, tmp_path: Path, *args: str) -> "LiveServer":
        """``chipid serve *args`` on the data dir ``tmp_path / "data"``, its log in ``tmp_path / "serve.log"``."""
        data_dir, log_path = tmp_path / "data", tmp_path / "serve.log"
        proc, base, password = start_server(data_dir, log_path, *args)
        return cls(proc, base, data_dir, password, log_path)

    def stop(self) -> None:
        stop_server(self.proc)

    def add_user(self, name: str, role: str) -> dict:
        import json
        import subprocess
        import sys

        out = subprocess.run([sys.executable, "-m", "verifier.cli", "user", "add", name, "--role", role,
                              "--data-dir", str(self.data_dir), "--json"], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        created = json.loads(out.stdout)
        if "password" in created:  # a one-time password: the person chooses one, as at a first login
            from verifier.users import UserStore

            store = UserStore(self.data_dir)
            created["one_time_password"], created["password"] = created["password"], created["password"] + "-da-doi"
            store.change_password(name, created["one_time_password"], created["password"])
            store.close()
        return created


def start_server(data_dir: Path, log_path: Path, *extra: str, env: dict | None = None):
    """``chipid serve`` in a subprocess on a free loopback port; returns (process, base URL, admin password)."""
    import os
    import re
    import subprocess
    import sys
    import time

    port = _free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "verifier.cli", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port), *extra],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chipid serve exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("chipid serve did not answer within 60 s")
    m = re.search(r"one-time password (\S+)", log_path.read_text(errors="replace"))
    return proc, base, (m.group(1) if m else "")


def stop_server(proc) -> None:
    """Stop a server process started by :func:`start_server`: SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except Exception:  # noqa: BLE001
        proc.kill()
        proc.wait(5)


@pytest.fixture()
def live_server(tmp_path):
    """``chipid serve`` with the emulated demo card, as installed (no config file)."""
    server = LiveServer.start(tmp_path, "--reader", "emulator")
    yield server
    server.stop()


@pytest.fixture()
def camera_server(tmp_path):
    """``camera_server(camera, reader="emulator", qr_watch=True) -> LiveServer``: ``chipid serve`` whose counter
    camera is the image file ``camera`` (it may appear later), its trust list not refreshed from the network, the
    camera's QR watch off when ``qr_watch`` is false; ``reader`` as ``--reader`` takes it. One per test; stopped
    after the test, before the fixtures asked for ahead of this one (a ``virtual_card``) are torn down."""
    started: list[LiveServer] = []

    def start(camera: Path, reader: str = "emulator", qr_watch: bool = True) -> LiveServer:
        assert not started, "one camera_server per test (they share tmp_path/data)"
        config = tmp_path / "config.toml"
        text = f'[trust]\nauto_refresh = false\n\n[camera]\nsource = "{camera}"\n'
        config.write_text(text if qr_watch else text + "qr_watch = false\n", encoding="utf-8")
        started.append(LiveServer.start(tmp_path, "--config", str(config), "--reader", reader))
        return started[0]

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture()
def server_factory():
    """``start(data_dir, log_path, *args) -> (process, base URL, admin password)``; stop it yourself."""
    return start_server


@pytest.fixture()
def small_disk(tmp_path):
    """A 3 MB tmpfs (a disk that fills up for real); skipped with the reason where ``mount`` is refused (not root)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a 3 MB tmpfs (needs root): {r.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
