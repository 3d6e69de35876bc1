"""Benchmark: the same full CCCD read (PACE with the CAN) through each card transport.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_transports [--runs 5]

Rows: the in-process emulator (no transport cost: the floor), nfcpy's udp RF simulation
(drivers/nfc.py reading drivers/nfc_card.py: ISO-DEP framing and chaining in Python), and
the real PC/SC stack (pyscard -> pcscd -> vsmartcard vpcd -> drivers/vpcd.py; pcscd is
started for the run when none is running). Each with a chip taking short Le only (about
80 APDUs) and one taking extended Le (about 15). Columns: APDUs, bytes on the wire, median
wall time of a whole read (open + PACE + all files), and per APDU. The chip's own crypto is
in every row; transport cost = row - emulator row. Target: a transport adds < 5 ms per APDU.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "drivers" / "emulator" / "demo" / "card"


def _read(transport_factory, key):
    from verifier.icao.session import ChipSession

    started = time.perf_counter()
    transport = transport_factory()
    try:
        with ChipSession(transport, [key], policy="pace") as session:
            read = session.read_all()
    finally:
        transport.close()
    return time.perf_counter() - started, read


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_pcscd():
    from drivers.pcsc import list_readers
    from verifier.errors import NoReaderError

    try:
        list_readers()
        return None
    except NoReaderError:
        pass
    proc = subprocess.Popen(["pcscd", "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if any(r.startswith("Virtual PCD") for r in list_readers()):
                return proc
        except NoReaderError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("pcscd with the vpcd virtual reader did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from drivers.emulator.personalise import make_chip
    from drivers.emulator.profile import load_profile
    from drivers.emulator.transport import EmulatorTransport
    from drivers.nfc import NfcTransport
    from drivers.nfc_card import NfcCard
    from drivers.pcsc import PcscTransport, card_present
    from drivers.vpcd import VirtualCard
    from verifier.icao.keys import CANKey

    profile = load_profile(DEMO)
    key = CANKey(profile.id_number[-6:])
    pcscd = _ensure_pcscd()
    rows = []
    try:
        for mode, max_le in (("short", 256), ("extended", 65536)):
            chip = make_chip(profile, max_le=max_le)

            def measure(name, factory):
                times, read = [], None
                for _ in range(args.runs):
                    t, read = _read(factory, key)
                    times.append(t)
                med = statistics.median(times)
                rows.append((name, mode, read.apdus, read.bytes, med * 1000, med * 1000 / read.apdus))

            measure("emulator (in-process)", lambda: EmulatorTransport(chip))

            device = f"udp:127.0.0.1:{_free_udp_port()}"
            with NfcCard(chip, device):
                measure("nfcpy udp, ISO-DEP 4A", lambda: NfcTransport(device, wait_s=10))

            card = VirtualCard(chip).insert()
            try:
                while not card_present("Virtual PCD 00 00"):
                    time.sleep(0.05)
                measure("PC/SC pcscd + vpcd", lambda: PcscTransport("Virtual PCD 00 00"))
            finally:
                card.remove()
                while card_present("Virtual PCD 00 00"):  # pcscd polls: let it see the card go
                    time.sleep(0.05)
    finally:
        if pcscd is not None:
            pcscd.terminate()
            pcscd.wait(10)

    print(f"{'transport':<24} {'Le':<9} {'APDUs':>6} {'bytes':>7} {'read ms':>9} {'ms/APDU':>8}")
    for name, mode, apdus, nbytes, ms, per in rows:
        print(f"{name:<24} {mode:<9} {apdus:>6} {nbytes:>7} {ms:>9.1f} {per:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
