"""Locate and load the dlib face models shipped in the ``face_recognition_models`` wheel.

The package's ``__init__`` imports ``pkg_resources`` (gone from setuptools >= 81), so the
model directory is found with :func:`importlib.util.find_spec` *without importing it*.

Models used, and their licences (checked against the dlib-models README by Davis King,
https://github.com/davisking/dlib-models, which releases his model files into the public
domain, and against the datasets each was trained on):

* ``shape_predictor_5_face_landmarks.dat``: 5-point landmarks (eye corners, base of the
  nose), trained on Davis King's own CC0 dataset: public domain, commercial use allowed.
  Used for alignment, pose (yaw/roll) and the liveness challenge.
* ``dlib_face_recognition_resnet_model_v1.dat``: 128-D face descriptor (ResNet-29),
  released into the public domain; trained on face-scrub/VGG/scraped images.
* dlib's HOG frontal face detector is compiled into dlib (Boost licence).
* ``shape_predictor_68_face_landmarks.dat`` is **not used**: it was trained on iBUG
  300-W, whose licence excludes commercial use. ``mmod_human_face_detector.dat`` (CNN)
  is not used either (too slow on 2 CPU cores).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import dlib

from verifier.errors import BiometricsError

log = logging.getLogger(__name__)

SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"


def model_dir() -> Path:
    """The ``models/`` directory of the installed ``face_recognition_models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise BiometricsError("face models not installed: expected the PyPI package face_recognition_models")
    for location in spec.submodule_search_locations:
        path = Path(location) / "models"
        if (path / SHAPE_5).is_file() and (path / RESNET).is_file():
            return path
    raise BiometricsError(f"face_recognition_models is installed but {SHAPE_5} / {RESNET} are missing "
                          f"from {list(spec.submodule_search_locations)}")


@dataclass
class Models:
    """The loaded dlib models. Load once per process (~0.6 s).

    dlib's objects are not documented as thread-safe (the ResNet keeps its layer outputs
    inside the network object), so calls are serialised: ``lock`` guards the detector and
    the landmark model, ``encode_lock`` the ResNet, so a camera thread can detect while
    another thread encodes the chip portrait.
    """

    detector: object
    shape5: object
    encoder: object
    lock: threading.RLock
    encode_lock: threading.RLock

    @classmethod
    def load(cls, directory: Path | None = None) -> "Models":
        directory = directory or model_dir()
        try:
            return cls(
                detector=dlib.get_frontal_face_detector(),
                shape5=dlib.shape_predictor(str(directory / SHAPE_5)),
                encoder=dlib.face_recognition_model_v1(str(directory / RESNET)),
                lock=threading.RLock(),
                encode_lock=threading.RLock(),
            )
        except RuntimeError as e:
            raise BiometricsError(f"cannot load the dlib face models from {directory}: {e}") from e


_shared: Models | None = None
_shared_lock = threading.Lock()


def shared_models() -> Models:
    """The process-wide :class:`Models`, loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            log.info("loading dlib face models")
            _shared = Models.load()
        return _shared
