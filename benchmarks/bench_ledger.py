"""Benchmark: the counter service's ledger and API.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_ledger                 # everything, default sizes
    .venv/bin/python -m benchmarks.bench_ledger --only api --requests 1000
    .venv/bin/python -m benchmarks.bench_ledger --only verify --entries 1000000
    .venv/bin/python -m benchmarks.bench_ledger --only size --contracts 100000   # ~10 min

Rows:

* **api**: a real ``chipid serve`` (uvicorn, one process) on loopback with the emulated card;
  one scan + face match, then ``--clients`` (50) concurrent clients create ``--requests``
  contracts (``POST /api/v1/transactions``: validation, AES-GCM, hash chain, outbox, projection, photos,
  durable before the 201: group commit, one fsync per group) and then run as many searches by ID number
  (``GET /api/v1/transactions?id_number=...``, blind-index lookup, decrypt a page of 20, access
  log write). Latency p50 / p99 per request; throughput in requests per second.
* **verify**: ``Ledger.verify()`` (decrypt + re-hash + link + checkpoint signatures) over
  ``--entries`` (1,000,000) synthetic contract entries written through the ledger's write path
  in batches. Target: under 10 s for one million entries.
* **size**: the data directory after ``--contracts`` (20,000; scaled to 100,000) contracts recorded through
  ``PawnBook.create`` (fsync relaxed while filling; size does not depend on it), WAL
  checkpointed; bytes per contract, and MB per 100,000. Face images are stored apart and
  purged after ``privacy.face_retention_days``: their size is reported per contract.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
DEMO_CARD = REPO / "drivers" / "emulator" / "demo" / "card"

HOLDER = {
    "id_number": "079090001234", "full_name": "Nguyễn Văn An", "date_of_birth": "1990-03-15", "sex": "M",
    "nationality": "Việt Nam", "place_of_origin": "Xã Tân Phú, Huyện Đức Hòa, Long An",
    "place_of_residence": "123 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh",
    "issue_date": "2021-04-20", "expiry_date": "2030-03-15",
}
FORM = {
    "items": [{"description": "Điện thoại Samsung Galaxy S21 128GB", "category": "phone", "serial": "R58N12345XY"}],
    "valuation_vnd": 9_000_000, "loan_vnd": 6_000_000, "interest_rate_year_pct": 18.0, "term_days": 30,
    "ownership_evidence": "Hóa đơn mua hàng", "notes": "",
}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def _table(rows: list[tuple[str, str, str]]) -> None:
    w = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print()
    print(f"{'measure':<{w}}  {'value':>{w2}}  note")
    print(f"{'-' * w}  {'-' * w2}  ----")
    for name, value, note in rows:
        print(f"{name:<{w}}  {value:>{w2}}  {note}")


# --- api ---------------------------------------------------------------------------------
def bench_api(clients: int, requests: int) -> list[tuple[str, str, str]]:
    import httpx

    from verifier.users import UserStore

    tmp = Path(tempfile.mkdtemp(prefix="chipid-bench-api-"))
    data = tmp / "data"
    store = UserStore(data)
    store.add("bench", "integrator")
    token = store.issue_token("bench")
    store.close()
    sys.path.insert(0, str(REPO / "tests" / "service"))
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "verifier.cli", "serve", "--data-dir", str(data), "--port", str(port),
                             "--reader", "emulator"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        scan_id = httpx.post(base + "/api/v1/scans", headers=auth, json={}, timeout=30).json()["id"]
        while True:
            s = httpx.get(f"{base}/api/v1/scans/{scan_id}", headers=auth, timeout=30).json()
            if s["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        if s["status"] != "done":
            raise SystemExit(f"scan failed: {s}")
        face = httpx.post(f"{base}/api/v1/scans/{scan_id}/face", headers=auth, json={"consent": True, "camera": True}, timeout=120)
        if face.json().get("decision") != "match":
            raise SystemExit(f"face step failed: {face.text}")
        body = {"scan_id": scan_id, **FORM}
        id_number = s["result"]["holder"]["id_number"]

        async def run(kind: str) -> tuple[list[float], float, int]:
            lat: list[float] = []
            errors = 0
            per = max(1, requests // clients)
            limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
            async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60, limits=limits) as c:
                async def worker():
                    nonlocal errors
                    for _ in range(per):
                        t0 = time.perf_counter()
                        if kind == "create":
                            r = await c.post("/api/v1/transactions", json=body)
                            ok = r.status_code == 201
                        else:
                            r = await c.get("/api/v1/transactions", params={"id_number": id_number, "page_size": 20})
                            ok = r.status_code == 200
                        lat.append((time.perf_counter() - t0) * 1000)
                        errors += 0 if ok else 1

                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(clients)))
                wall = time.perf_counter() - t0
            return lat, wall, errors

        create, create_wall, create_err = asyncio.run(run("create"))
        search, search_wall, search_err = asyncio.run(run("search"))
        verify = httpx.get(base + "/api/v1/ledger/verify", headers=auth, timeout=600).json()
    finally:
        proc.terminate()
        proc.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        (f"create transaction p50 ({clients} clients)", f"{pct(create, 50):.1f} ms", f"{len(create)} requests, {create_err} errors"),
        (f"create transaction p99 ({clients} clients)", f"{pct(create, 99):.1f} ms", ""),
        ("create transactions per second", f"{len(create) / create_wall:.0f}/s", "group commit: one fsync per group of writes"),
        (f"search by ID number p50 ({clients} clients)", f"{pct(search, 50):.1f} ms", f"{len(search)} requests, {search_err} errors"),
        (f"search by ID number p99 ({clients} clients)", f"{pct(search, 99):.1f} ms", f"{verify.get('entries')} contracts in the ledger"),
        ("searches per second", f"{len(search) / search_wall:.0f}/s", ""),
    ]


# --- verify ------------------------------------------------------------------------------
def fill_synthetic(ledger, n: int, batch: int = 20000) -> None:
    """``n`` contract entries (same format and encryption as real ones) through the write path, in batches."""
    from verifier.ledger.entry import canonical_json, utc_now
    from verifier.ledger.verify import canonical_from_parts

    payload = {"type": "pawn_contract", "id": "00000000-0000-4000-8000-000000000000", "contract_no": "HĐ-2026-000000",
               "number": 0, "pawner": HOLDER, "created_by": {"user": "bench", "role": "clerk"}, **FORM,
               "identity_check": {"verdict": "authentic", "demo": True}, "face": {"decision": "match"}}
    pb = canonical_json(payload)
    dev = ledger.device_id
    seal = ledger.sealer.seal

    def chunk(conn, start: int, count: int):
        row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[1] if row else "0" * 64
        rows = []
        for seq in range(start, start + count):
            ts = utc_now()
            h = hashlib.sha256(canonical_from_parts(seq, dev, ts, "transaction", pb, prev, True)).hexdigest()
            rows.append((seq, ts, "transaction", 1, prev, h, seal(pb, f"entry|{dev}|{seq}".encode())))
            prev = h
        conn.executemany("INSERT INTO entries (seq, ts, kind, demo, prev_hash, hash, payload) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    start = ledger.head()[0] + 1
    end = start + n
    while start < end:
        count = min(batch, end - start)
        ledger.write(lambda conn, s=start, c=count: chunk(conn, s, c))
        start += count


def bench_verify(entries: int) -> list[tuple[str, str, str]]:
    from verifier.ledger.store import Ledger

    tmp = Path(tempfile.mkdtemp(prefix="chipid-bench-verify-"))
    try:
        led = Ledger.open(tmp, checkpoint_every=1000)
        t0 = time.perf_counter()
        fill_synthetic(led, entries)
        led.checkpoint()
        fill = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        report = led.verify()
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        workers = os.cpu_count() or 1
        t0 = time.perf_counter()
        report_par = led.verify(workers=workers)
        took_par = time.perf_counter() - t0
        load = os.getloadavg()[0]
        led.close()
        if not (report.ok and report_par.ok):
            raise SystemExit(f"verify failed: {report} {report_par}")
        db_mb = (tmp / "ledger.sqlite").stat().st_size / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        (f"ledger verify, {entries:,} entries, 1 process", f"{took:.2f} s",
         f"CPU {cpu:.2f} s, {entries / cpu:,.0f} entries/CPU-s (the API's /ledger/verify); load average {load:.1f}"),
        (f"ledger verify, {entries:,} entries, {workers} processes", f"{took_par:.2f} s",
         f"`chipid ledger verify`; target < 10 s for 1,000,000 ({'met' if took_par * 1e6 / entries < 10 else 'MISSED'})"),
        ("  (synthetic fill)", f"{fill:.1f} s", f"database {db_mb:.0f} MB"),
    ]


# --- size --------------------------------------------------------------------------------
def bench_size(contracts: int) -> list[tuple[str, str, str]]:
    import dataclasses

    from verifier.ledger.pawn import PawnBook
    from verifier.ledger.store import Ledger
    from verifier.results import FaceDecision, Holder, ScanResult

    tmp = Path(tempfile.mkdtemp(prefix="chipid-bench-size-"))
    try:
        led = Ledger.open(tmp)
        led.db.writer.execute("PRAGMA synchronous=OFF")  # filling only; the service runs with FULL
        book = PawnBook(led)
        scan = ScanResult.from_json({
            "verdict": "authentic", "demo": True, "reader": "emulator", "holder": HOLDER,
            "checks": {n: {"status": "passed"} for n in ("chip_access", "sod_signature", "dsc_chain", "dg_hash_1", "dg_hash_2",
                                                        "chip_authentication", "active_authentication")},
            "face_image": {"format": "jpeg", "width": 360, "height": 480, "sha256": "0" * 64}})
        face = FaceDecision("match", distance=0.31, score=82, thresholds={"match": 0.45, "no_match": 0.6}, source="camera")
        t0 = time.perf_counter()
        for i in range(contracts):
            holder = Holder.from_json(dict(HOLDER, id_number=f"0790900{i:05d}"[-12:]))
            book.create(dataclasses.replace(scan, holder=holder),
                        dict(FORM, items=[dict(FORM["items"][0], serial=f"SN{i:08d}")]), user="bench", role="clerk", face=face)
        fill = time.perf_counter() - t0
        led.db.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        led.close()
        size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        photos = (DEMO_CARD / "photo.jpg").stat().st_size + (DEMO_CARD / "camera.jpg").stat().st_size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per = size / contracts
    return [
        (f"data directory after {contracts:,} contracts", f"{size / 1e6:.1f} MB", f"{per:,.0f} bytes per contract; filled in {fill:.0f} s"),
        ("data directory per 100,000 contracts", f"{per * 1e5 / 1e6:.0f} MB", "ledger + projections + keys, no face images"),
        ("face images per contract (until purged)", f"{photos / 1e3:.0f} kB", "chip JPEG + camera JPEG of the demo card"),
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=("api", "verify", "size"), action="append")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000, help="create requests (and as many searches) in the api row")
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--contracts", type=int, default=20_000, help="contracts for the size row (scaled to 100,000)")
    args = ap.parse_args(argv)
    only = set(args.only or ("api", "verify", "size"))
    rows: list[tuple[str, str, str]] = []
    print(f"chipid ledger benchmark on {os.cpu_count()} CPUs (python {sys.version.split()[0]})", flush=True)
    if "api" in only:
        rows += bench_api(args.clients, args.requests)
    if "verify" in only:
        rows += bench_verify(args.entries)
    if "size" in only:
        rows += bench_size(args.contracts)
    _table(rows)


if __name__ == "__main__":
    main()
