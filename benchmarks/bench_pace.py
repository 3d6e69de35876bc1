"""Benchmark: terminal-side cost of PACE, Chip Authentication and Active Authentication.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_pace

Each row runs the terminal against the in-process emulated chip and reports the mean wall
time per run, split into the terminal's share and the chip's share (the chip's Python
arithmetic stands in for a real chip's co-processor, so only "terminal" matters for the
reader). PACE: generic mapping per standardized curve and DH group (ICAO 9303-11 §9.5.1). CA: ECDH
with a brainpoolP256r1 / NIST P-256 key and DH 1024. AA: RSA-1024 / RSA-2048 ISO/IEC
9796-2 and ECDSA P-256.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.emulator.card_protocols import (  # noqa: E402
    ActiveAuthResponder,
    ChipAuthResponder,
    PaceResponder,
    chip_auth_infos,
    make_active_auth_key,
    make_chip_auth_key,
)
from drivers.emulator.chip import EmulatedChip  # noqa: E402
from verifier.icao import active_auth, chip_auth, pace  # noqa: E402
from verifier.icao.apdu import Command, Response  # noqa: E402
from verifier.icao.curves import PACE_STANDARD_IDS  # noqa: E402
from verifier.icao.keys import CANKey, pace_password  # noqa: E402
from verifier.icao.pace import PACE_DH_IDS  # noqa: E402
from verifier.icao.lds.dg14 import encode_dg14, parse_dg14  # noqa: E402
from verifier.icao.lds.dg15 import encode_dg15, parse_dg15  # noqa: E402
from verifier.icao.lds.files import EMRTD_AID  # noqa: E402

CAN = CANKey("123456")


class Timed:
    """Counts the time spent inside the chip so the terminal's share can be reported."""

    def __init__(self, chip: EmulatedChip) -> None:
        self.chip = chip
        self.chip_seconds = 0.0

    def process(self, apdu: bytes) -> bytes:
        t = time.perf_counter()
        try:
            return self.chip.process(apdu)
        finally:
            self.chip_seconds += time.perf_counter() - t


class Session:
    def __init__(self, card: Timed, sm) -> None:
        self.card, self.sm = card, sm

    def transmit(self, cmd: Command) -> Response:
        return Response.parse(self.sm.unwrap(self.card.process(self.sm.wrap(cmd))))

    def replace_sm(self, sm) -> None:
        self.sm = sm


def _chip(files, card_access, **kw) -> Timed:
    responder = PaceResponder({2: pace_password(CAN)}.get, card_access)
    return Timed(EmulatedChip(files, None, card_access=card_access, pace_responder=responder, **kw))


def _open(card: Timed, card_access: bytes) -> Session:
    sm = pace.perform_pace(lambda c: Response.parse(card.process(c.encode(extended=c.needs_extended))), CAN,
                           card_access)
    s = Session(card, sm)
    s.transmit(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID))
    return s


def measure(setup, run, runs: int) -> tuple[float, float]:
    """Mean (total, chip) seconds of ``run(state)`` over ``runs``, with ``setup()`` outside the clock."""
    total = chip = 0.0
    for _ in range(runs):
        state = setup()
        card = state[0]
        before = card.chip_seconds
        t = time.perf_counter()
        run(state)
        total += time.perf_counter() - t
        chip += card.chip_seconds - before
    return total / runs, chip / runs


def main() -> int:
    rows = []
    for pid, name in sorted({**PACE_STANDARD_IDS, **{k: f"DH {v.p.bit_length()}/{v.q.bit_length()}"
                                                     for k, v in PACE_DH_IDS.items()}}.items()):
        for cipher in ("AES-128", "3DES") if pid in (12, 13) else ("AES-128",):
            ca = pace.card_access_for(pid, cipher)
            total, chip = measure(lambda ca=ca: (_chip({"DG1": b"\x61\x00"}, ca), ca),
                                  lambda st: _open(st[0], st[1]), 5)
            rows.append((f"PACE {name} {cipher}", total, chip))

    ca_access = pace.card_access_for(13, "AES-128")
    for curve in ("brainpoolP256r1", "secp256r1", "dh1024"):
        key, spki = make_chip_auth_key(curve)
        infos = chip_auth_infos(key, spki)
        dg14 = parse_dg14(encode_dg14(infos))

        def setup(key=key, infos=infos):
            card = _chip({"DG14": encode_dg14(infos)}, ca_access, ca_responder=ChipAuthResponder(key))
            return card, _open(card, ca_access)

        def run(st, dg14=dg14):
            st[1].replace_sm(chip_auth.perform_chip_authentication(st[1], dg14))
            assert chip_auth.confirm_chip_authentication(st[1]).valid

        total, chip = measure(setup, run, 5)
        rows.append((f"CA {curve} AES-128 (+ confirm)", total, chip))

    for label, (key, spki) in (("RSA-1024", make_active_auth_key("rsa", bits=1024)),
                               ("RSA-2048", make_active_auth_key("rsa", bits=2048)),
                               ("ECDSA P-256", make_active_auth_key("ec", curve="secp256r1"))):
        dg15 = parse_dg15(encode_dg15(spki))

        def setup(key=key):
            card = _chip({"DG1": b"\x61\x00"}, ca_access, aa_responder=ActiveAuthResponder(key))
            return card, _open(card, ca_access)

        def run(st, dg15=dg15):
            assert active_auth.perform_active_authentication(st[1], dg15).valid

        total, chip = measure(setup, run, 5)
        rows.append((f"AA {label}", total, chip))

    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'total ms':>9}  {'chip ms':>8}  {'terminal ms':>11}")
    for name, total, chip in rows:
        print(f"{name:<{width}}  {total * 1000:9.1f}  {chip * 1000:8.1f}  {(total - chip) * 1000:11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
