"""Run every benchmark, one after another: ``.venv/bin/python -m benchmarks [NAME ...]``.

Each ``benchmarks/bench_*.py`` is also runnable alone (``-m benchmarks.bench_read``) and
prints its own table. Benchmarks measure; tests never assert timings.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    wanted = [a if a.startswith("bench_") else f"bench_{a}" for a in argv] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    failed = []
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        sys.argv = [f"benchmarks.{name}"]  # each benchmark parses its own (default) options
        try:
            status = module.main()
        except SystemExit as e:  # a benchmark written as a script
            status = e.code
        if status not in (None, 0):
            failed.append(name)
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        print(f"\nbenchmarks that reported failure: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
