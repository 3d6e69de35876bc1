"""Issue 17 item 11 in real headless Chromium: the counter page is open and idle, the card's QR (a cv2.QRCodeEncoder
image of the demo card) is put in front of the camera of ``chipid serve`` (``camera.source`` = that file,
``camera.qr_watch`` on by default), and the verdict appears on the page without any click or typing."""

from __future__ import annotations

import pytest

from drivers.emulator.profile import load_profile
from tests.browser import DESKTOP
from tests.service.conftest import DEMO_CARD
from tests.service.counter_page import in_viewport, open_counter
from tests.service.test_qr_watch import _put

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def watching_server(tmp_path, camera_server):
    """``chipid serve`` (emulated demo card) whose camera shows nothing yet (the file appears when the card is held up)."""
    camera = tmp_path / "camera.png"
    return camera_server(camera), camera


def test_the_card_held_to_the_camera_brings_the_verdict_without_a_click(watching_server, chromium):
    server, camera = watching_server
    clerk = server.add_user("lan", "clerk")
    page, errors, _ = open_counter(chromium, server.base, clerk, DESKTOP)
    assert page.is_hidden("#verdict-panel")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    _put(camera)  # the customer holds the card's front to the camera
    page.wait_for_selector("#verdict-panel:not([hidden]), #scan-progress[data-status=failed]", timeout=60_000)
    assert page.get_attribute("#scan-progress", "data-status") == "done", page.inner_text("#scan-progress")
    assert page.inner_text("#verdict") == "THẺ HỢP LỆ"
    assert page.inner_text('[data-field="full_name"]') == "Nguyễn Văn An"
    assert page.input_value("#access-key") == ""  # nothing typed
    assert not [r for r in requests if r.startswith("POST ")], requests  # nothing clicked: the page only followed
    in_viewport(page, "#verdict", DESKTOP)
    assert errors == []
    log = server.log_path.read_text(errors="replace")
    assert "QR watch" in log  # the camera missing before the card came: logged once ...
    assert "Nguyễn" not in log and load_profile(DEMO_CARD).id_number not in log  # ... and never the QR text
