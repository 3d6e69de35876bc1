"""One camera, two users (issue 17 item 11): the face step / QR button (foreground) and the counter's QR
watch (background) never hold a camera source at once (:class:`biometrics.camera.CameraGate`); and a
folder camera without a QR code answers "no QR" instead of crashing."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from biometrics.camera import CameraGate, camera_gate
from biometrics.qr import qr_image, read_qr_from_camera
from verifier.errors import CameraError


def test_the_background_yields_to_a_foreground_capture():
    gate = CameraGate()
    assert gate.try_background()  # the watch holds the camera
    entered = threading.Event()

    def face_step():
        with gate.exclusive(10.0):
            entered.set()

    t = threading.Thread(target=face_step)
    t.start()
    for _ in range(500):  # the face step announces itself before it waits
        if gate.wanted():
            break
        threading.Event().wait(0.01)
    assert gate.wanted() and not entered.is_set()
    gate.release_background()  # the watch sees `wanted` and lets go
    t.join(10)
    assert entered.is_set() and not gate.wanted()
    assert gate.try_background()  # free again once the capture is over
    gate.release_background()


def test_the_background_never_takes_a_held_or_wanted_camera():
    gate = CameraGate()
    with gate.exclusive(1.0):
        assert not gate.try_background()
    assert gate.try_background()
    with pytest.raises(CameraError, match="in use"):  # a watch that never lets go: a clear error, no hang
        with gate.exclusive(0.2):
            pass
    gate.release_background()


def test_one_gate_per_source():
    assert camera_gate("0") is camera_gate(" 0 ") and camera_gate("0") is not camera_gate("1")


def test_a_folder_camera_without_a_qr_reads_none(tmp_path):
    """A folder is read to its end (it is no live camera): no QR is None, a QR in its last picture is found."""
    desk = np.full((240, 320, 3), 220, dtype=np.uint8)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), desk)
    assert read_qr_from_camera(str(tmp_path), timeout_s=5.0) is None
    cv2.imwrite(str(tmp_path / "3.png"), cv2.cvtColor(qr_image("001099012345||A|01011990|Nam||01012021"), cv2.COLOR_RGB2BGR))
    assert read_qr_from_camera(str(tmp_path), timeout_s=5.0) == "001099012345||A|01011990|Nam||01012021"
