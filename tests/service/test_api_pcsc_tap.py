"""A tap on a real PC/SC reader (vpcd virtual reader + the emulated CCCD) reaches an integrator as a
server-sent event, without polling; the scan then reads the card through pcscd."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from verifier.users import UserStore

pytestmark = [pytest.mark.pcsc, pytest.mark.slow]
DEMO_CARD = Path(__file__).resolve().parents[2] / "drivers" / "emulator" / "demo" / "card"


def test_tap_event_and_scan_over_pcsc(tmp_path, pcscd, virtual_card, server_factory):
    from drivers.emulator.personalise import make_chip

    data = tmp_path / "data"
    store = UserStore(data)
    store.add("erp", "integrator")
    auth = {"Authorization": f"Bearer {store.issue_token('erp')}"}
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("[trust]\ndemo = true\n", encoding="utf-8")
    proc, base, _ = server_factory(data, tmp_path / "serve.log", "--config", str(config), "--reader", "pcsc:Virtual PCD 00 00")
    events: list[tuple[str, dict]] = []
    ready = threading.Event()

    def listen():
        with httpx.stream("GET", base + "/api/v1/events", params={"timeout_s": 60}, headers=auth, timeout=70) as r:
            name = None
            for line in r.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
                    if name == "hello":
                        ready.set()
                    if name == "scan_done":
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    try:
        assert ready.wait(20)
        assert httpx.get(base + "/api/v1/health").json()["demo"] is False
        virtual_card(make_chip(DEMO_CARD))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(n == "card_inserted" for n, _ in events):
            time.sleep(0.05)
        inserted = [d for n, d in events if n == "card_inserted"]
        assert inserted and inserted[0]["reader"] == "Virtual PCD 00 00"
        scan_id = httpx.post(base + "/api/v1/scans", headers=auth, json={"can": "001234"}, timeout=30).json()["id"]
        for _ in range(1200):
            s = httpx.get(f"{base}/api/v1/scans/{scan_id}", headers=auth, timeout=30).json()
            if s["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert s["status"] == "done", s
        assert s["result"]["reader"].startswith("pcsc") and s["result"]["holder"]["id_number"] == "079090001234"
        t.join(20)
        statuses = [d.get("status") for n, d in events if n == "scan" and d.get("scan_id") == scan_id]
        assert statuses[0] == "waiting_for_card" and "reading" in statuses and "verifying" in statuses and statuses[-1] == "done"
    finally:
        proc.terminate()
        proc.wait(10)
