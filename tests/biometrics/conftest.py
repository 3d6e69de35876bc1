"""Fixtures for the biometrics tests: the real dlib models (loaded once), the shared face
photos, a chip-like JPEG 2000 portrait derived from one of them, and cached encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FACES = REPO.parent / "shared" / "data" / "faces"
SAME = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"]
OTHERS = ["biden.jpg", "astronaut.png", "grace_hopper.jpg"]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    assert FACES.is_dir(), f"shared test photos missing: expected {FACES}"
    return FACES


@pytest.fixture(scope="session")
def models():
    from biometrics.models import shared_models

    return shared_models()


@pytest.fixture(scope="session")
def face_verifier(models):
    from biometrics.verify import FaceVerifier

    v = FaceVerifier(models=models)
    yield v
    v.close()


@pytest.fixture(scope="session")
def photos(faces_dir):
    """name -> RGB array of every shared photo."""
    from biometrics.images import read_image_file

    return {name: read_image_file(faces_dir / name) for name in SAME + OTHERS}


@pytest.fixture(scope="session")
def main_faces(models, photos):
    """name -> the largest detected Face of each photo."""
    from biometrics.faces import detect_faces

    return {name: detect_faces(models, rgb)[0] for name, rgb in photos.items()}


@pytest.fixture(scope="session")
def references(face_verifier, photos):
    """name -> Reference (each photo encoded once)."""
    return {name: face_verifier.encode_reference(rgb) for name, rgb in photos.items()}


@pytest.fixture(scope="session")
def chip_portrait(photos, main_faces) -> bytes:
    """A CCCD-chip-like DG2 portrait of obama.jpg: 360x480, grey, JPEG 2000, ~13.5 KB."""
    from biometrics.images import chip_like_portrait

    return chip_like_portrait(photos["obama.jpg"], box=main_faces["obama.jpg"].box())


@pytest.fixture(scope="session")
def camera_frames(photos, main_faces):
    """name -> (640x480 camera-like frame with a 200 px face, its Face)."""
    from biometrics.faces import detect_faces
    from biometrics.models import shared_models
    from biometrics.synthetic import camera_frame

    out = {}
    for name in ("obama.jpg", "grace_hopper.jpg", "biden.jpg"):
        frame, _ = camera_frame(photos[name], main_faces[name])
        out[name] = (frame, detect_faces(shared_models(), frame)[0])
    return out
