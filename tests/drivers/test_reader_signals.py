"""``chipid reader emulate`` stops on Ctrl-C (SIGINT) and on SIGTERM even when started with SIGINT ignored, as
a non-interactive shell starts a background program (POSIX): it then never stopped, and its card stayed in the
virtual slot for every test after it. Served on nfcpy's udp link, so no pcscd is needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sync.testing import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_emulate_stops_on_a_signal_even_with_sigint_ignored(stop):
    def ignore_sigint() -> None:  # what `cmd &` in a non-interactive shell does to the child
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen([sys.executable, "-m", "verifier.cli", "reader", "emulate", "--nfc", f"udp:127.0.0.1:{free_port()}"],
                            cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=ignore_sigint)
    try:
        line = proc.stdout.readline()
        assert "TEST CARD" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        proc.send_signal(stop)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            pytest.fail(f"reader emulate did not stop on {stop.name}")
    assert proc.returncode == 0, proc.stderr.read()
