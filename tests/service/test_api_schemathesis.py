"""Schemathesis against the OpenAPI of the service (in-process ASGI): no input gives a 5xx.

``CHIPID_FUZZ_EXAMPLES`` (default 25) sets the examples per operation.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.service.conftest import scan_result
from verifier.config import Config
from verifier.results import ScanResult, ScanStep

pytestmark = pytest.mark.slow

_DATA = Path(tempfile.mkdtemp(prefix="chipid-schemathesis-"))


@dataclass
class _Outcome:
    result: ScanResult
    portrait: bytes | None


def _scripted_card(config, access, progress):
    """The card edge: an instant finished read (no reader here)."""
    progress(ScanStep.READING)
    return _Outcome(scan_result(holder={"id_number": "001000000001", "full_name": "A B"}), None)


def _make_app():
    from drivers.emulator.profile import DEMO_CAMERA_PHOTO
    from tests.service.live_app import counter_app

    # the demo camera image (no QR code on it): POST /scans/from-camera answers qr_not_found, as with a real camera
    cfg = Config().with_overrides(service__data_dir=str(_DATA), camera__source=str(DEMO_CAMERA_PHOTO))
    app = counter_app(cfg, runner=_scripted_card)
    users = app.state.svc.users
    users.add("fuzz", "admin")
    return app, users.issue_token("fuzz")


APP, TOKEN = _make_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=int(os.environ.get("CHIPID_FUZZ_EXAMPLES", "25")), deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    if case.path == "/api/v1/events":
        case.query = {**(case.query or {}), "limit": 1, "timeout_s": 0.05}
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
