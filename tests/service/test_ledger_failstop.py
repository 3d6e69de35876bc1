"""Hostile audit (issue 15 item 5): the ledger writer is fail-stop.

After a failed write or fsync the state on disk is unknown ("Can Applications Recover from fsync
Failures?", USENIX ATC 2020), so the writer must take no more writes, and at restart an append
that was reported as failed but came back from the write-ahead log must be reported and must not
be duplicated by the clerk's retry.

Two real faults, no mocks of SQLite:

* **disk full**: the ledger on a 3 MB tmpfs (we are root in the test sandbox; skipped with the
  reason when ``mount`` is refused);
* **fsync EIO**: SQLite calls ``fsync``/``fdatasync`` itself, so monkeypatching ``os.fsync``
  would not reach it. A tiny ``LD_PRELOAD`` shim, compiled with gcc at test time, makes both
  return ``EIO`` while a flag file exists; the shop runs in a child process under the shim.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verifier.errors import LedgerError, LedgerFailedError
from tests.service.conftest import face_decision, scan_result
from verifier.ledger import failed_appends
from verifier.ledger.pawn import PawnBook
from verifier.ledger.store import Ledger

REPO = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))

SCAN = scan_result(holder={"id_number": "079090001234", "full_name": "Nguyễn Văn An", "date_of_birth": "1990-03-15"})


def form(i: int) -> dict:
    return {"items": [{"description": f"Nhẫn vàng {i}", "category": "jewelry"}], "valuation_vnd": 5_000_000,
            "loan_vnd": 3_000_000, "interest_rate_year_pct": 12.0, "term_days": 30}


def create(book: PawnBook, i: int) -> dict:
    return book.create(SCAN, form(i), user="clerk", role="clerk", face=face_decision())


# --- disk full -----------------------------------------------------------------------------
def test_disk_full_stops_the_writer_and_a_restart_reconciles(small_disk):
    data = small_disk / "data"
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 300_000)  # what the operator deletes to free space
    led = Ledger.open(data, KEY, checkpoint_every=1000)
    published: list[int] = []  # the on-commit hook announces only what committed
    led.on_commit(lambda entries: published.extend(e.seq for e in entries))
    acked, error = [], None
    for i in range(200):
        try:
            acked.append(led.append("transaction", {"type": "pawn_contract", "i": i, "blob": os.urandom(30_000).hex()}).seq)
        except LedgerError as e:
            error = e
            break
    assert error is not None, "the 3 MB disk never filled"
    assert isinstance(error, LedgerFailedError) and "Sổ cái" in str(error) and led.failed
    note = failed_appends.read(data / failed_appends.NAME)  # written into its reserved space on the full disk
    assert [r["seq"] for r in note] == [len(acked) + 1]
    assert published == acked  # nothing published for the failed commit
    # the writer takes nothing more, however small
    with pytest.raises(LedgerFailedError, match="takes no more writes"):
        led.append("transaction", {"type": "pawn_contract", "small": True})
    with pytest.raises(LedgerFailedError):
        led.checkpoint()
    led.close()
    filler.unlink()
    led = Ledger.open(data, KEY)
    try:
        report = led.verify()
        assert report.ok, report
        recovered = [r["seq"] for r in led.recovered_after_failure]
        assert report.head_seq == len(acked) + len(recovered)  # every acknowledged append, and no unknown one
        assert recovered in ([], [len(acked) + 1])
        rows = led.reader().execute("SELECT seq, recovered FROM failed_appends").fetchall()
        assert rows == [(len(acked) + 1, len(recovered))]
        assert failed_appends.read(data / failed_appends.NAME) == []  # the note is cleared once reconciled
        led.append("transaction", {"type": "pawn_contract", "after": True})  # writes again after the restart
    finally:
        led.close()


# --- fsync EIO ---------------------------------------------------------------------------------
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int failing(void) {
    const char *flag = getenv("CHIPID_FSYNC_FAIL_FLAG");
    return flag && access(flag, F_OK) == 0;
}
int fsync(int fd) {
    static int (*real)(int);
    if (failing()) { errno = EIO; return -1; }
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}
int fdatasync(int fd) {
    static int (*real)(int);
    if (failing()) { errno = EIO; return -1; }
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}
"""

SHOP = """
import json, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.service.test_ledger_failstop import KEY, create
from verifier.errors import LedgerError, LedgerFailedError
from verifier.ledger.pawn import PawnBook
from verifier.ledger.store import Ledger

data, flag = Path(sys.argv[1]), Path(sys.argv[2])
led = Ledger.open(data, KEY, checkpoint_every=1000)
book = PawnBook(led)
done = [create(book, i)["seq"] for i in range(6)]
flag.touch()  # from now on every fsync fails with EIO
out = {{"done": done}}
try:
    create(book, 6)
except LedgerError as e:
    out["first"] = [type(e).__name__, str(e)]
try:
    create(book, 7)
except LedgerFailedError as e:
    out["then"] = str(e)
out["failed"] = led.failed
led.close()
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the fsync-failing LD_PRELOAD shim")
    d = tmp_path_factory.mktemp("shim")
    (d / "fsync_eio.c").write_text(SHIM)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(d / "fsync_eio.so"), str(d / "fsync_eio.c"), "-ldl"], check=True)
    return d / "fsync_eio.so"


def test_fsync_eio_stops_the_writer_and_the_retry_gets_the_recovered_entry(tmp_path, shim):
    data, flag = tmp_path / "data", tmp_path / "fail-fsync"
    env = dict(os.environ, LD_PRELOAD=str(shim), CHIPID_FSYNC_FAIL_FLAG=str(flag), PYTHONPATH=str(REPO))
    env.pop("CHIPID_LEDGER_KEY", None)
    r = subprocess.run([sys.executable, "-c", SHOP.format(repo=str(REPO)), str(data), str(flag)],
                       env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["done"] == [1, 2, 3, 4, 5, 6]
    assert out["first"][0] == "LedgerFailedError" and "disk I/O error" in out["first"][1]
    assert "Sổ cái" in out["then"] and out["failed"]
    assert "takes no more writes" in r.stderr or "fail-stop" in r.stderr  # said in the log

    flag.unlink()  # the disk works again: the service restarts
    led = Ledger.open(data, KEY)
    try:
        book = PawnBook(led)
        assert led.verify().ok
        head, _ = led.head()
        assert head == 7, "the append reported as failed did not come back from the WAL: nothing to reconcile"
        recovered = led.recovered_after_failure
        assert [r["seq"] for r in recovered] == [7] and recovered[0]["contract_no"].endswith("000007")
        # the clerk retries contract 6: the recovered entry is the answer, no duplicate
        again = create(book, 6)
        assert again["seq"] == 7 and again["recovered"] and again["contract_no"] == recovered[0]["contract_no"]
        assert led.head()[0] == 7 and led.recovered_after_failure == []
        # a different contract, and the same one once more, are new entries
        assert create(book, 8)["seq"] == 8
        assert create(book, 6)["seq"] == 9
    finally:
        led.close()


def _ledger_failed_metric(api, token: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    r = api.get("/metrics", token)
    assert r.status_code == 200, r.text
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    return families["chipid_ledger_failed"].samples[0].value


def test_the_service_says_the_ledger_failed(small_disk):
    """Through the REST API: a full disk makes the contract fail with a message in Vietnamese
    too, and /health reports ``ledger_failed`` from then on."""
    from tests.service.conftest import Api, txn_body
    from tests.service.live_app import counter_app
    from verifier.config import Config

    cfg = Config().with_overrides(service__data_dir=str(small_disk / "data"))
    app = counter_app(cfg)
    svc, api = app.state.svc, Api(app)
    try:
        svc.users.add("clerk-1", "clerk")
        token = svc.users.issue_token("clerk-1")
        scan = svc.scans.add_finished(SCAN, b"", user="clerk-1")
        scan.face = face_decision()
        assert api.post("/api/v1/transactions", token, json=txn_body(scan.id)).status_code == 201
        assert api.get("/api/v1/health").json()["status"] == "ok"
        metrics_token = svc.users.add("metrics-reader", "integrator")["token"]
        assert _ledger_failed_metric(api, metrics_token) == 0.0
        fd = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)  # fill the disk to the last block
        try:
            while os.write(fd, b"\0" * 65536):  # unbuffered: a short write, then ENOSPC, and nothing left to flush
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        body = txn_body(scan.id, notes="x" * 1900)
        r = api.post("/api/v1/transactions", token, json=body)
        assert r.status_code == 500 and "Sổ cái" in r.json()["error"]["message"], r.text
        health = api.get("/api/v1/health").json()
        assert health["status"] == "ledger_failed" and health["ledger"]["failed"] and "Sổ cái" in health["ledger"]["failed_vi"]
        assert _ledger_failed_metric(api, metrics_token) == 1.0
        (small_disk / "filler").unlink()  # space again, but the writer stays stopped until the restart
        r = api.post("/api/v1/transactions", token, json=txn_body(scan.id))
        assert r.status_code == 500 and r.json()["error"]["code"] == "ledger_failed"
        assert "takes no more writes" in r.json()["error"]["details"]["detail"]
    finally:
        api.close()
        svc.close()


@pytest.mark.slow
def test_a_clean_shutdown_of_chipid_serve_signs_the_head(tmp_path, server_factory):
    """SIGTERM to ``chipid serve`` closes the ledger, which signs its head: a tail cut afterwards
    (even one shorter than ``ledger.checkpoint_every``) is seen by ``chipid ledger verify``."""
    import signal

    import httpx

    from tests.service.test_ledger_crash import _finished_scan
    from verifier.users import UserStore

    data = tmp_path / "data"
    store = UserStore(data)
    store.add("erp", "integrator")
    auth = {"Authorization": f"Bearer {store.issue_token('erp')}"}
    store.close()
    proc, base, _ = server_factory(data, tmp_path / "serve.log", "--reader", "emulator")
    try:
        scan_id = _finished_scan(base, auth)
        body = {"scan_id": scan_id, "items": [{"description": "Nhẫn vàng 18K", "category": "jewelry", "serial": ""}],
                "valuation_vnd": 5_000_000, "loan_vnd": 3_000_000, "interest_rate_year_pct": 12.0, "term_days": 60}
        for _ in range(2):
            assert httpx.post(base + "/api/v1/transactions", headers=auth, json=body, timeout=30).status_code == 201
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)  # uvicorn shuts down (ASGI lifespan), then re-raises SIGTERM: exit status -15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    led = Ledger.open(data)
    try:
        assert led.head()[0] == 2 and led.latest_checkpoint().seq == 2  # checkpoint_every is 100
    finally:
        led.close()
