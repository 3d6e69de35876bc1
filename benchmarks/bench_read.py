"""Benchmark: a full CCCD read (BAC + COM, SOD, DG1, DG2, DG13, DG14, DG15) over a simulated link.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_read            # all four ISO/IEC 14443 bit rates
    .venv/bin/python -m benchmarks.bench_read --rates 424

The emulated card's DG2 is about 20 KB. Each row reads it once with short APDUs (the card
accepts Le up to 223 bytes) and once with extended length. The link is simulated by
``EmulatorTransport(bitrate=...)``: every exchange takes (command + response bytes) * 8 /
bitrate seconds. Columns: "time" the wall time of the read, "floor" the link time alone,
"ratio" time / floor; "reader" the CPU time of the reading software (process CPU time
outside ``transmit``: the emulated chip's computing stands in for a real chip's and the
link simulation's waiting is the floor) and "overhead" reader / floor. CPU time, unlike wall time, does not grow when other
processes compete for the machine; on an idle machine ratio - 1 ~ overhead.
Targets: overhead < 15 %; at 424 kbit/s a full read with extended length < 1 s (wall).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.emulator.chip import EmulatedChip  # noqa: E402
from drivers.emulator.transport import EmulatorTransport  # noqa: E402
from verifier.icao.keys import BACKey  # noqa: E402
from verifier.icao.lds.files import CCCD_READ_ORDER  # noqa: E402
from verifier.icao.session import ChipSession  # noqa: E402
from verifier.icao.tlv import encode  # noqa: E402

KEY = BACKey("093047064", "930105", "330105")
RATES = (106_000, 212_000, 424_000, 848_000)


def card_files(dg2_bytes: int = 20_000) -> dict[str, bytes]:
    """Simple valid TLV-wrapped files of realistic CCCD sizes (until personalised cards are used)."""
    rnd = os.urandom
    return {
        "COM": encode(0x60, encode(0x5F01, b"0107") + encode(0x5F36, b"040000") + encode(0x5C, bytes.fromhex("61756D6E6F"))),
        "SOD": encode(0x77, encode(0x30, rnd(1900))),
        "DG1": encode(0x61, encode(0x5F1F, b"IDVNM0930470641001093047064<<2" * 3)),
        "DG2": encode(0x75, encode(0x7F61, rnd(dg2_bytes))),
        "DG13": encode(0x6D, encode(0x30, rnd(820))),
        "DG14": encode(0x6E, encode(0x31, rnd(330))),
        "DG15": encode(0x6F, encode(0x30, rnd(160))),
    }


def demo_card() -> tuple[dict[str, bytes], BACKey]:
    """The personalised demo CCCD (drivers/emulator/demo/card): real DG2 JPEG 2000, signed SOD."""
    from drivers.emulator.personalise import personalise
    from drivers.emulator.profile import load_profile

    profile = load_profile(Path(__file__).resolve().parents[1] / "drivers" / "emulator" / "demo" / "card")
    files = {k: v for k, v in personalise(profile).items() if k != "CardAccess"}  # BAC only
    key = BACKey(profile.id_number[-9:], profile.date_of_birth.strftime("%y%m%d"),
                 profile.date_of_expiry.strftime("%y%m%d"))
    return files, key


def run_once(files: dict[str, bytes], bitrate: int | None, extended: bool, key: BACKey = KEY) -> dict:
    chip = EmulatedChip(files, key, max_le=65536 if extended else 223, extended_length=extended)
    transport = _Timed(EmulatorTransport(chip, bitrate=bitrate, extended_length=extended))
    start, start_cpu = time.perf_counter(), time.process_time()
    session = ChipSession(transport, [key], policy="bac", extended_length="auto" if extended else "off")
    read = session.read_all(CCCD_READ_ORDER)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    for name in CCCD_READ_ORDER:
        if read.files[name] != files[name]:
            raise SystemExit(f"benchmark read of {name} is not byte-exact")
    floor = read.bytes * 8 / bitrate if bitrate else 0.0
    return {"apdus": read.apdus, "bytes": read.bytes, "time": elapsed, "floor": floor,
            "chip": transport.inner.chip_seconds, "reader": cpu - transport.inside_cpu}


class _Timed:
    """Transport wrapper adding up the CPU time spent inside ``transmit`` (chip + link)."""

    def __init__(self, inner: EmulatorTransport) -> None:
        self.inner, self.name, self.extended_length = inner, inner.name, inner.extended_length
        self.inside_cpu = 0.0

    def transmit(self, apdu: bytes) -> bytes:
        start = time.process_time()
        try:
            return self.inner.transmit(apdu)
        finally:
            self.inside_cpu += time.process_time() - start

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=int, nargs="*", help="bit rates in kbit/s (default 106 212 424 848)")
    parser.add_argument("--dg2", type=int, default=20_000, help="DG2 size in bytes (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the fastest is shown (default 3)")
    parser.add_argument("--card", choices=("synthetic", "demo"), default="synthetic",
                        help="synthetic TLV files with a --dg2-byte DG2 (default), or the personalised demo CCCD")
    args = parser.parse_args(argv)
    rates = [r * 1000 for r in args.rates] if args.rates else list(RATES)
    files, key = demo_card() if args.card == "demo" else (card_files(args.dg2), KEY)
    total = sum(len(v) for v in files.values())
    print(f"full read: BAC + {', '.join(CCCD_READ_ORDER)} = {total} bytes of files, DG2 {len(files['DG2'])} bytes")
    cpu = {ext: min((run_once(files, None, ext, key) for _ in range(args.repeat)), key=lambda r: r["time"])
           for ext in (False, True)}
    for ext in (False, True):
        c = cpu[ext]
        print(f"no link ({'extended' if ext else 'Le 223'}): {c['time'] * 1000:.1f} ms wall for {c['apdus']} APDUs; "
              f"reader CPU {c['reader'] * 1000:.1f} ms, emulated chip {c['chip'] * 1000:.1f} ms (wall)")
    header = (f"{'link':>10} {'mode':>9} {'APDUs':>6} {'bytes':>7} {'time s':>8} {'floor s':>8} {'ratio':>6} "
              f"{'reader s':>9} {'overhead':>9}")
    print(header)
    print("-" * len(header))
    ok = True
    for rate in rates:
        for ext in (False, True):
            r = min((run_once(files, rate, ext, key) for _ in range(args.repeat)), key=lambda r: r["time"])
            ratio = r["time"] / r["floor"]
            overhead = r["reader"] / r["floor"]
            ok &= overhead < 0.15
            if rate == 424_000 and ext:
                ok &= r["time"] < 1.0
            print(f"{rate // 1000:>6} kb/s {'extended' if ext else 'Le 223':>9} {r['apdus']:>6} {r['bytes']:>7} "
                  f"{r['time']:>8.3f} {r['floor']:>8.3f} {ratio:>6.3f} {r['reader']:>9.4f} {overhead * 100:>8.1f}%")
    print("targets (reader overhead < 15 %, 424 kbit/s extended < 1 s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
