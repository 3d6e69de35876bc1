"""Benchmark: LDS parsers and card personalisation on the demo CCCD.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_lds

Prints, per operation, the mean time over N runs (parsing happens once per card read,
personalisation once per emulated card): parse_com / parse_dg1 / parse_dg2 / parse_dg13,
the access candidates from a QR, and personalise() with and without the SOD signature.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.emulator.personalise import personalise  # noqa: E402
from drivers.emulator.profile import DEMO_PROFILE_DIR, load_profile  # noqa: E402
from verifier.cccd.access import keys_from_qr  # noqa: E402
from verifier.cccd.dg13 import parse_dg13  # noqa: E402
from verifier.icao.lds.com import parse_com  # noqa: E402
from verifier.icao.lds.dg1 import parse_dg1  # noqa: E402
from verifier.icao.lds.dg2 import parse_dg2  # noqa: E402

QR = "079090001234|025123456|Nguyễn Văn An|15031990|Nam|123 Lê Lợi, Quận 1, TP. Hồ Chí Minh|20042021"


def timed(fn, runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs


def main() -> int:
    profile = load_profile(DEMO_PROFILE_DIR)
    files = personalise(profile)
    rows = [
        ("parse_com", lambda: parse_com(files["COM"]), 2000),
        ("parse_dg1", lambda: parse_dg1(files["DG1"]), 2000),
        (f"parse_dg2 ({len(files['DG2'])} B)", lambda: parse_dg2(files["DG2"]), 500),
        (f"parse_dg13 ({len(files['DG13'])} B)", lambda: parse_dg13(files["DG13"]), 1000),
        ("keys_from_qr", lambda: keys_from_qr(QR), 1000),
        ("personalise (unsigned)", lambda: personalise(profile, sign=False), 20),
        ("personalise (signed)", lambda: personalise(profile), 20),
    ]
    print(f"{'operation':<28} {'runs':>6} {'mean':>12}")
    for name, fn, runs in rows:
        mean = timed(fn, runs)
        print(f"{name:<28} {runs:>6} {mean * 1e6:>10.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
