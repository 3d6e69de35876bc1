"""Helpers shared by the sync tests and benchmarks: a temporary PostgreSQL cluster, a backend
served on loopback (in a thread or a child process), and a bare signing device that writes
chain entries without a full shop ledger (for backend-only tests and load generation)."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier import verdict as V
from verifier.errors import SyncError
from verifier.ledger.canonical import JCS
from verifier.ledger.entry import GENESIS, Checkpoint, Entry, public_key_b64, utc_now
from verifier.results import ContractFace, ContractPayload, FaceDecision, Holder, IdentityCheck

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    found = shutil.which(name)
    if not found:
        raise SyncError(f"PostgreSQL server binary {name!r} not found in {PG_BIN_DIRS} or PATH (Debian: apt-get install postgresql-15)")
    return found


class TempPostgres:
    """A throw-away PostgreSQL cluster on a free loopback port (``initdb`` + ``pg_ctl``).

    Running as root, the cluster runs as the ``postgres`` user (initdb refuses root)."""

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        self.durable = durable
        self.settings = dict(settings or {})  # more server settings (postgresql.conf names), e.g. shared_buffers
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="chipid-pg-"))
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as e:
                raise SyncError("running as root but there is no 'postgres' user to run the test cluster") from e
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int:
        """The running server's process id (the postmaster: its sessions are its children)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _run(self, args: list[str], timeout: float = 120) -> None:
        try:
            proc = subprocess.run(self._as + args, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SyncError(f"PostgreSQL: {' '.join(args[:2])} failed: {e}") from e
        if proc.returncode != 0:
            raise SyncError(f"PostgreSQL: {' '.join(args[:2])} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")

    def start(self) -> "TempPostgres":
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        opts += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts, "-w", "-t", "60", "start"])
        return self

    def stop(self) -> None:
        try:
            self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], timeout=60)
        except SyncError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str, admin_url: str | None = None) -> str:
        return create_database(admin_url or self.url, name)


def create_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ThreadServer:
    """Serve an ASGI app with uvicorn in a thread on 127.0.0.1 (real sockets, real HTTP)."""

    def __init__(self, app, port: int | None = None, **uvicorn_kwargs) -> None:
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", **uvicorn_kwargs)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        scheme = "https" if uvicorn_kwargs.get("ssl_certfile") else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> "ThreadServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise SyncError(f"backend did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def backend_process(data_dir: Path, port: int, database_url: str | None = None, extra_env: dict | None = None,
                    workers: int = 1) -> subprocess.Popen:
    """``chipid backend serve`` in a child process (for SIGKILL tests)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **(extra_env or {}))
    env.pop("CHIPID_CONFIG", None)
    args = [sys.executable, "-m", "sync.backend", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    if database_url:
        env["CHIPID_BACKEND_DATABASE_URL"] = database_url
    # its log goes to a file beside the data directory (read back by wait_http when it exits): a pipe
    # nobody reads fills up and blocks the backend mid-request, as it does the relay
    log_path = Path(data_dir).parent / f"backend-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(args, env=env, cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=log_file,
                                start_new_session=True)
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a child started with :func:`backend_process` / :func:`relay_process` and its workers."""
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            log_path = getattr(proc, "log_path", None)
            err = log_path.read_text(errors="replace")[-2000:] if log_path else ""
            raise SyncError(f"backend process exited {proc.returncode}: {err}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SyncError(f"backend at {url} did not answer within {timeout}s")


@dataclass
class SigningDevice:
    """A device key and a chain, without storage: builds entries the way the shop ledger does."""

    device_id: str = field(default_factory=lambda: f"shop-test{random.randrange(16**8):08x}")
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    entries: list[Entry] = field(default_factory=list)
    canon: str | None = JCS  # the canonical form of the entries it appends (None: the legacy form, written before JCS)

    @property
    def public_key(self) -> str:
        return public_key_b64(self.key.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    @property
    def head(self) -> tuple[int, str]:
        return (self.entries[-1].seq, self.entries[-1].hash) if self.entries else (0, GENESIS)

    def append(self, kind: str, payload: dict, demo: bool = False) -> Entry:
        seq, prev = self.head
        e = Entry(seq=seq + 1, device_id=self.device_id, ts=utc_now(), kind=kind, payload=payload, prev_hash=prev, demo=demo,
                  canon=self.canon)
        self.entries.append(e)
        return e

    def checkpoint(self, seq: int | None = None) -> Checkpoint:
        seq = self.head[0] if seq is None else seq
        head = self.entries[seq - 1].hash if seq else GENESIS
        return Checkpoint(self.device_id, seq, head, utc_now()).signed(self.key)

    def prev_of(self, seq: int) -> str:
        return self.entries[seq - 2].hash if seq > 1 else GENESIS


_CHECKS = (V.CHIP_ACCESS, V.SOD_SIGNATURE, V.DSC_CHAIN, V.REVOCATION, V.DG_HASHES, V.SOD_COMPLETENESS,
           V.CHIP_AUTHENTICATION, V.ACTIVE_AUTHENTICATION, V.MRZ_CONSISTENCY, V.ISSUER_COUNTRY, V.CARD_EXPIRY)


def pawn_payload(i: int, *, id_number: str | None = None, serial: str | None = None, name: str | None = None) -> dict:
    """A pawn contract in the shape the shop records (:class:`verifier.results.ContractPayload`:
    the chip's holder fields, identity check, face decision with its measures and thresholds, items,
    amounts), about 2 KB of canonical JSON, so that benchmarks move realistic entries."""
    rnd = random.Random(i)
    first = rnd.choice(["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"])
    middle = rnd.choice(["Văn", "Thị", "Đức", "Minh", "Ngọc"])
    last = rnd.choice(["An", "Bình", "Cường", "Dũng", "Hà", "Lan", "Mai", "Tuấn"])
    province = rnd.choice(["Thành phố Hồ Chí Minh", "Hà Nội", "Đồng Nai", "Cần Thơ", "Bình Dương"])
    number = i % 1_000_000 + 1
    pawner = Holder(
        id_number=id_number or f"0{rnd.randrange(10**10, 10**11)}",
        full_name=name or f"{first} {middle} {last}",
        date_of_birth=f"19{rnd.randrange(60, 99)}-0{rnd.randrange(1, 9)}-1{rnd.randrange(0, 9)}",
        sex=rnd.choice(["Nam", "Nữ"]),
        nationality="Việt Nam",
        ethnicity="Kinh",
        religion="Không",
        place_of_origin=f"Xã Tân Phú, Huyện Châu Thành, {province}",
        place_of_residence=f"{rnd.randrange(1, 400)} Đường Lê Lợi, Phường {rnd.randrange(1, 20)}, {province}",
        issue_date=f"202{rnd.randrange(1, 5)}-0{rnd.randrange(1, 9)}-1{rnd.randrange(0, 9)}",
        expiry_date=f"20{rnd.randrange(30, 60)}-0{rnd.randrange(1, 9)}-1{rnd.randrange(0, 9)}",
        personal_identification="Nốt ruồi C:2cm trên trước đầu lông mày phải",
        father_name=f"{first} Văn {rnd.choice(['Hùng', 'Sơn', 'Phúc'])}",
        mother_name=f"{rnd.choice(['Lê', 'Đỗ'])} Thị {rnd.choice(['Hoa', 'Hồng', 'Thu'])}",
    )
    face = FaceDecision(
        "match", distance=round(rnd.uniform(0.2, 0.45), 4), score=rnd.randrange(75, 100),
        thresholds={"match": 0.45, "no_match": 0.6},
        quality={"reference": {"sharpness": round(rnd.uniform(50, 300), 1), "face_px": rnd.randrange(90, 200)},
                 "frame": {"sharpness": round(rnd.uniform(50, 300), 1), "brightness": round(rnd.uniform(80, 180), 1),
                           "face_px": rnd.randrange(120, 400)}},
        source="camera", demo=False)
    payload = ContractPayload(
        id=f"00000000-0000-4000-8000-{i:012d}",
        created_by={"user": "clerk1", "role": "clerk"},
        pawner=pawner,
        identity_check=IdentityCheck(
            scan_id=f"{i:032x}", verdict="authentic", demo=False, reader="pcsc:ACS ACR1252 1S CL Reader PICC 0",
            access={"protocol": "PACE", "key": "CAN", "attempts": ["PACE with CAN: ok"]},
            checks={c: "passed" for c in _CHECKS}, chip_photo_sha256=f"{rnd.getrandbits(256):064x}"),
        face=ContractFace(face, camera_photo_sha256=f"{rnd.getrandbits(256):064x}"),
        override=None,
        items=({"description": rnd.choice(["Điện thoại iPhone 13 màu xanh", "Xe máy Honda Wave", "Laptop Dell XPS",
                                           "Nhẫn vàng 18K"]),
                "category": rnd.choice(["phone", "motorbike", "laptop", "jewelry"]),
                "serial": serial or f"SN{rnd.randrange(10**11, 10**12)}"},),
        ownership_evidence="Hóa đơn mua hàng",
        valuation_vnd=rnd.randrange(1, 100) * 1_000_000,
        loan_vnd=rnd.randrange(1, 50) * 1_000_000,
        interest_rate_year_pct=rnd.choice([12.0, 18.5, 20.0]),
        term_days=30,
        fees_vnd=0,
        start_date="2026-11-23",
        due_date="2026-12-23",
        notes="",
    ).to_json()
    # given inside the shop's write transaction (verifier/ledger/pawn.py, pawn_contract.contract_no)
    payload.update(number=number, contract_no=f"HĐ-2026-{i:06d}")
    return payload


def event_payload(i: int, txn: dict, event_type: str = "redeemed") -> dict:
    """An event on contract ``txn`` as the shop records it (``verifier/ledger/pawn_events.py``)."""
    p = {"type": event_type, "txn_id": txn["id"], "by": {"user": "clerk1", "role": "clerk"},
         "at": f"2026-12-{i % 28 + 1:02d}T09:{i % 60:02d}:00.000000Z"}
    if event_type == "extended":
        p.update(extend_days=30, new_due_date="2027-01-22", interest_rate_year_pct=txn.get("interest_rate_year_pct", 18.0))
    elif event_type == "partial_payment":
        p.update(amount_vnd=1_000_000, notes="Khách trả một phần")
    elif event_type in ("suspicious", "forfeited"):
        p["reason"] = "Quá hạn không chuộc" if event_type == "forfeited" else "Giấy tờ không khớp"
    return p


class FaultProxy:
    """A loopback TCP proxy that delays, drops and cuts connections (also mid-request).

    Each chunk forwarded in either direction may be delayed (``p_delay``, up to ``max_delay``
    seconds) or cut (``p_cut``: half the chunk is forwarded, then both sides are closed, so the
    backend sees a truncated request or the relay a truncated answer to a committed batch); each
    new connection may be dropped at once (``p_drop``). ``faults = False`` makes it transparent."""

    def __init__(self, target_port: int, *, seed: int = 0, p_delay: float = 0.2, max_delay: float = 0.3,
                 p_cut: float = 0.05, p_drop: float = 0.05) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.p_delay, self.max_delay, self.p_cut, self.p_drop = p_delay, max_delay, p_cut, p_drop
        self.faults = True
        self.stats = {"connections": 0, "chunks": 0, "dropped": 0, "cut": 0, "delayed": 0}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        self._closed = False

    def _rand(self) -> float:
        with self._lock:
            return self._rng.random()

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def start(self) -> "FaultProxy":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            self._count("connections")
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        if self.faults and self._rand() < self.p_drop:
            self._count("dropped")
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        pair = (client, upstream)
        threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
        self._pump(upstream, client, pair)

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._count("chunks")
                if self.faults:
                    r = self._rand()
                    if r < self.p_cut:
                        self._count("cut")
                        dst.sendall(data[: len(data) // 2])
                        break
                    if r < self.p_cut + self.p_delay:
                        self._count("delayed")
                        time.sleep(self._rand() * self.max_delay)
                dst.sendall(data)
        except OSError:
            pass
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def relay_process(config_file: Path) -> subprocess.Popen:
    """``chipid sync run`` in a child process (for SIGKILL tests)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("CHIPID_LEDGER_KEY", None)
    env.pop("CHIPID_CONFIG", None)
    # its log goes to a file beside the config: a pipe nobody reads fills up and blocks the relay
    with open(Path(config_file).with_suffix(".log"), "ab") as log_file:
        return subprocess.Popen([sys.executable, "-m", "sync", "run", "--config", str(config_file)], env=env, cwd=str(REPO),
                                stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True)


def write_relay_config(path: Path, data_dir: Path, backend_url: str, **sync_settings) -> Path:
    lines = ["[service]", f'data_dir = "{data_dir}"', "", "[sync]", f'backend_url = "{backend_url}"']
    for k, v in sync_settings.items():
        lines.append(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``predicate`` every 0.1 s until it returns something truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
