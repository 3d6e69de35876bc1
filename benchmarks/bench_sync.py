"""Sync and police-backend benchmarks. One command, prints a table:

    PYTHONPATH=. .venv/bin/python benchmarks/bench_sync.py            # everything (10M rows: ~15-25 min)
    PYTHONPATH=. .venv/bin/python benchmarks/bench_sync.py --quick    # small sizes, a minute or two
    ... --only ingest,drain,search   --search-sizes 1000000,10000000

* ingest: entries/s stored by ``chipid backend serve --workers 2`` over loopback HTTP, on a
  temporary PostgreSQL 15 cluster (fsync on) and on SQLite (WAL, synchronous=FULL). Batches of
  1,000 entries from 4 devices sent concurrently; signing and gzip happen before the clock starts.
  Also the CPU time per entry of the backend processes and of PostgreSQL (from /proc), which,
  unlike the rate, does not move when other work shares the machine.
* drain: a real shop ledger (``verifier/ledger/store.py``) holding a 100,000-entry backlog,
  delivered by the relay (``sync/relay.py``) to the backend on PostgreSQL over loopback.
* search: p50/p95 of ``GET /api/v1/entries?id_number=`` and ``?serial=`` through the inspector
  API on PostgreSQL with 1M and 10M entries. Those rows are generated inside PostgreSQL
  (``generate_series``) in the production schema and indexes (without the optional trigram
  index of free-text search), because ingesting 10M entries through the API would take longer
  than the benchmark is worth; each search also writes its access-log row, as in production.

Targets (2-core machine): ingest >= 20,000 entries/s on PostgreSQL, 100,000-entry backlog in
< 30 s, search p95 < 50 ms at 10M entries.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from sync import batch as batch_mod  # noqa: E402
from sync.backend import auth, enroll  # noqa: E402
from sync.backend.db import Database  # noqa: E402
from sync.testing import (SigningDevice, TempPostgres, backend_process, create_database, free_port,  # noqa: E402
                          kill_tree, pawn_payload, wait_http)

ROWS: list[tuple[str, str, str, str]] = []


def row(metric: str, backend: str, value: str, target: str = "") -> None:
    ROWS.append((metric, backend, value, target))
    print(f"  {metric} [{backend}]: {value}", flush=True)


def _enroll(db: Database, dev_sign, device_id: str, public_key: str, n: int) -> None:
    tok = enroll.add_device_token(db, shop=f"Cầm đồ bench {n}", license_no=f"B-{n}", province=f"{n % 63 + 1:02d}")["token"]
    proof = base64.b64encode(dev_sign(batch_mod.enroll_message(tok, device_id))).decode()
    enroll.enroll_device(db, token=tok, device_id=device_id, public_key=public_key, proof=proof)


def _proc_tree_cpu(roots: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each live process under ``roots`` (Linux /proc)."""
    stats: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            f = st[st.rindex(")") + 2:].split()
            stats[int(d)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick)
    out, todo = {}, [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        if pid not in out:
            out[pid] = stats[pid][1]
            todo += [c for c, (pp, _) in stats.items() if pp == pid]
    return out


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def bench_ingest(label: str, database_url: str | None, data_dir: Path, total: int, devices: int = 4, batch: int = 1000,
                 workers: int = 2, pg: TempPostgres | None = None) -> None:
    db = Database.open(data_dir, database_url)
    devs = [SigningDevice() for _ in range(devices)]
    wires: list[list[bytes]] = []
    for n, dev in enumerate(devs):
        _enroll(db, dev.sign, dev.device_id, dev.public_key, n)
        for i in range(total // devices):
            dev.append("transaction", pawn_payload(n * 10_000_000 + i))
        wires.append([batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries[j:j + batch],
                                                             prev_hash=dev.prev_of(j + 1)), dev.sign)
                      for j in range(0, len(dev.entries), batch)])
    db.close()
    port = free_port()
    proc = backend_process(data_dir, port, database_url, workers=workers)
    url = f"http://127.0.0.1:{port}"
    errors: list[str] = []
    try:
        wait_http(url, proc=proc)

        def send(ws: list[bytes]) -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                for w in ws:
                    r = c.post("/api/v1/ingest", content=w, headers={"Content-Encoding": "gzip"})
                    if r.status_code != 200:
                        errors.append(r.text[:200])
                        return

        threads = [threading.Thread(target=send, args=(ws,)) for ws in wires]
        roots = {"backend": [proc.pid]}
        if pg is not None:
            roots["postgres"] = [int((pg.data / "postmaster.pid").read_text().split()[0])]
        cpu0 = {k: _proc_tree_cpu(v) for k, v in roots.items()}
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu = {k: _cpu_used(cpu0[k], _proc_tree_cpu(v)) for k, v in roots.items()}
    finally:
        kill_tree(proc)
    if errors:
        raise SystemExit(f"ingest benchmark failed: {errors[0]}")
    n = (total // devices) * devices
    row(f"ingest rate (entries/s), {workers} workers", label, f"{n / elapsed:,.0f}  ({n:,} entries in {elapsed:.1f} s)",
        ">= 20,000" if label.startswith("PostgreSQL") else "")
    # CPU per entry does not depend on what else runs on the machine; the rate above does.
    total_cpu = sum(cpu.values())
    row("ingest CPU per entry (" + " + ".join(cpu) + ")", label,
        " + ".join(f"{v / n * 1e6:.0f}" for v in cpu.values()) + f" = {total_cpu / n * 1e6:.0f} µs"
        f"  (=> {os.cpu_count() or 1} cores saturate at {(os.cpu_count() or 1) * n / total_cpu:,.0f}/s)")


def bench_drain(database_url: str, data_dir: Path, shop_dir: Path, total: int, batch_size: int) -> None:
    from sync.enrollment import save_enrollment
    from sync.relay import Relay, RelaySettings
    from verifier.ledger.store import Ledger

    os.environ.pop("CHIPID_LEDGER_KEY", None)
    led = Ledger.open(shop_dir, checkpoint_every=1000)
    led._wconn.execute("PRAGMA synchronous=OFF")  # set-up only: fill the backlog quickly
    t0 = time.perf_counter()
    for i in range(total):
        led.append("transaction", pawn_payload(i))
    fill = time.perf_counter() - t0
    led._wconn.execute("PRAGMA synchronous=FULL")
    db = Database.open(data_dir, database_url)
    _enroll(db, led.sign, led.device_id, led.public_key_b64(), 99)
    db.close()
    port = free_port()
    proc = backend_process(data_dir, port, database_url, workers=2)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url, proc=proc)
        save_enrollment(shop_dir, {"backend_url": url, "device_id": led.device_id})
        relay = Relay(led, RelaySettings(url, batch_size=batch_size, timeout_s=120))
        t0 = time.perf_counter()
        sent = relay.drain()
        elapsed = time.perf_counter() - t0
        relay.close()
    finally:
        kill_tree(proc)
        led.close()
    assert sent == total, (sent, total)
    row(f"backlog drain, {total:,} entries (batch {batch_size})", "PostgreSQL", f"{elapsed:.1f} s ({total / elapsed:,.0f} entries/s)",
        "< 30 s")
    print(f"  (set-up: the shop ledger took {fill:.0f} s to fill)", flush=True)


GEN_SQL = """
INSERT INTO entries (shop_id, device_id, seq, province, ts, kind, hash, prev_hash, demo, contract_no, event_type,
                     search_text, body, received_at)
SELECT 'S' || (i %% %(shops)s), 'D' || (i %% %(shops)s), i / %(shops)s + 1, lpad(((i %% %(shops)s) %% 63 + 1)::text, 2, '0'),
       to_char(timestamp '2025-01-01' + i * interval '3 second', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       'transaction', md5(i::text) || md5((i + 7)::text), md5((i - 1)::text) || md5((i + 6)::text), 0,
       'HĐ-2026-' || i, NULL, 'dien thoai iphone ' || (i %% 97) || ' mau xanh',
       '{"demo":false,"device_id":"D' || (i %% %(shops)s) || '","kind":"transaction","payload":{"contract_no":"HĐ-2026-' || i
         || '","id":"' || md5(i::text) || '","items":[{"category":"phone","description":"Điện thoại iPhone ' || (i %% 97)
         || '","serial":"SN' || i || '"}],"loan_vnd":5000000,"pawner":{"date_of_birth":"1980-01-01","full_name":"Nguyễn Văn '
         || (i %% 5000) || '","id_number":"' || lpad(((i %% (%(n)s / 2)) * 7919 %% 1000000000000)::text, 12, '0')
         || '"},"type":"pawn_contract","valuation_vnd":9000000},"prev_hash":"' || md5(i::text) || '","seq":' || (i / %(shops)s + 1)
         || ',"ts":"2025-01-01T00:00:00.000000Z"}',
       '2026-01-01T00:00:00Z'
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i
"""

GEN_KEYS_SQL = """
INSERT INTO entry_keys (shop_id, device_id, seq, key_type, value)
SELECT 'S' || (i %% %(shops)s), 'D' || (i %% %(shops)s), i / %(shops)s + 1, k.key_type,
       CASE k.key_type WHEN 'id' THEN lpad(((i %% (%(n)s / 2)) * 7919 %% 1000000000000)::text, 12, '0')
                       WHEN 'serial' THEN 'SN' || i
                       ELSE 'nguyen van ' || (i %% 5000) END
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i CROSS JOIN (VALUES ('id'), ('serial'), ('name')) AS k(key_type)
"""


def _fill_search_db(db: Database, n: int, shops: int = 1000) -> float:
    t0 = time.perf_counter()
    with db.write() as conn:
        for ddl in ("DROP INDEX IF EXISTS entries_search_trgm", "DROP INDEX IF EXISTS entries_province_ts",
                    "DROP INDEX IF EXISTS entry_keys_value", "ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_pkey"):
            conn.exec_driver_sql(ddl)
        conn.execute(text("INSERT INTO shops (shop_id, name, name_norm, license_no, province, created_at) "
                          "SELECT 'S' || s, 'Cầm đồ ' || s, 'cam do ' || s, 'L' || s, lpad((s % 63 + 1)::text, 2, '0'), '2025' "
                          "FROM generate_series(0, :k - 1) s"), {"k": shops})
        conn.execute(text("INSERT INTO devices (shop_id, device_id, public_key, enrolled_at, head_seq, head_hash) "
                          "SELECT 'S' || s, 'D' || s, 'x', '2025', 0, 'x' FROM generate_series(0, :k - 1) s"), {"k": shops})
    import psycopg

    step = 1_000_000
    for lo in range(0, n, step):
        with psycopg.connect(db.url) as raw:  # psycopg directly: the JSON literal is full of colons
            params = {"shops": shops, "n": n, "lo": lo, "hi": min(n, lo + step)}
            raw.execute(GEN_SQL, params)
            raw.execute(GEN_KEYS_SQL, params)
        print(f"    generated {min(n, lo + step):,} / {n:,} entries ({time.perf_counter() - t0:.0f} s)", flush=True)
    with db.write() as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        conn.exec_driver_sql("ALTER TABLE entries ADD PRIMARY KEY (shop_id, device_id, seq)")
        conn.exec_driver_sql("CREATE INDEX entries_province_ts ON entries (province, ts)")
        conn.exec_driver_sql("CREATE INDEX entry_keys_value ON entry_keys (key_type, value text_pattern_ops)")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE entries")
        conn.exec_driver_sql("VACUUM ANALYZE entry_keys")
    return time.perf_counter() - t0


def bench_search(admin_url: str, tmp: Path, n: int, queries: int = 300) -> None:
    name = f"chipid_search_{n}"
    url = create_database(admin_url, name)
    db = Database.open(database_url=url)
    print(f"  generating {n:,} entries in PostgreSQL ...", flush=True)
    took = _fill_search_db(db, n)
    print(f"  ({n:,} entries and {3 * n:,} search keys generated and indexed in {took:.0f} s)", flush=True)
    pw = "bench-password-1"
    auth.add_user(db, "bench", "inspector", pw)
    db.close()
    port = free_port()
    proc = backend_process(tmp / "search-backend", port, url, workers=2)
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(n)
    try:
        wait_http(base, timeout=120, proc=proc)
        with httpx.Client(base_url=base, timeout=60) as c:
            token = c.post("/api/v1/login", json={"name": "bench", "password": pw}).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            for label, make in (
                ("id_number", lambda i: {"id_number": f"{(i % (n // 2)) * 7919 % 1000000000000:012d}"}),
                ("serial", lambda i: {"serial": f"SN{i}"}),
            ):
                lat = []
                for _ in range(20):  # warm-up
                    c.get("/api/v1/entries", params=make(rng.randrange(n)), headers=h)
                for _ in range(queries):
                    params = make(rng.randrange(n))
                    t0 = time.perf_counter()
                    r = c.get("/api/v1/entries", params=params, headers=h)
                    lat.append((time.perf_counter() - t0) * 1000)
                    if r.status_code != 200 or not r.json()["entries"]:
                        raise SystemExit(f"search by {label} {params} found nothing: {r.text[:200]}")
                lat.sort()
                p50 = statistics.median(lat)
                p95 = lat[int(0.95 * len(lat)) - 1]
                row(f"search by {label}, {n:,} entries (p50 / p95)", "PostgreSQL", f"{p50:.1f} ms / {p95:.1f} ms",
                    "p95 < 50 ms" if n >= 10_000_000 else "")
    finally:
        kill_tree(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", default="ingest,drain,search")
    ap.add_argument("--ingest-entries", type=int, default=None)
    ap.add_argument("--drain-entries", type=int, default=None)
    ap.add_argument("--drain-batch", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2, help="backend worker processes for the ingest benchmark")
    ap.add_argument("--search-sizes", default=None)
    args = ap.parse_args()
    only = set(args.only.split(","))
    ingest_n = args.ingest_entries or (8_000 if args.quick else 100_000)
    drain_n = args.drain_entries or (5_000 if args.quick else 100_000)
    sizes = [int(s) for s in (args.search_sizes or ("100000" if args.quick else "1000000,10000000")).split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="chipid-bench-"))
    pg = TempPostgres(durable=True).start()
    print(f"PostgreSQL 15 temporary cluster on port {pg.port} (fsync on); work dir {tmp}", flush=True)
    try:
        if "ingest" in only:
            bench_ingest("PostgreSQL", create_database(pg.url, "chipid_ingest"), tmp / "ingest-pg", ingest_n, workers=args.workers,
                         pg=pg)
            bench_ingest("SQLite", None, tmp / "ingest-sqlite", ingest_n, workers=args.workers)
        if "drain" in only:
            bench_drain(create_database(pg.url, "chipid_drain"), tmp / "drain-backend", tmp / "drain-shop", drain_n, args.drain_batch)
        if "search" in only:
            for n in sizes:
                bench_search(pg.url, tmp, n)
    finally:
        pg.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print()
    widths = [max(len(r[i]) for r in ROWS + [("metric", "backend", "result", "target")]) for i in range(4)]
    line = "| " + " | ".join("{:<%d}" % w for w in widths) + " |"
    print(line.format("metric", "backend", "result", "target"))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in ROWS:
        print(line.format(*r))


if __name__ == "__main__":
    main()
