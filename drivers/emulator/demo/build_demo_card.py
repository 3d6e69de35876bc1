"""Rebuild the committed demo card and demo PKI in ``drivers/emulator/demo/``.

Run by a developer (``.venv/bin/python -m drivers.emulator.demo.build_demo_card``); the
result is committed. It makes a card shaped like a real CCCD (``/work/shared/data/cccd/README.md``):

* the demo PKI (:func:`drivers.emulator.pki.generate_demo`): the demo CSCA, kept when its key
  ``DEMO_CSCA_key.pem`` is present (so trust set up for the demo keeps working), and a
  brainpoolP384r1 Document Signer valid 22 years after a 90-day key usage period; the CSCA is
  copied to ``verifier/trust/data/DEMO_CSCA.der``;
* a synthetic citizen whose chip portrait is derived from the public-domain ``obama.jpg`` of
  the shared test data: a 300 x 400 colour JPEG (JFIF 1.01) of about 15 KB, written into a
  19794-5 record whose header says 480 x 400, as real cards do;
* a chip-authentication key on brainpoolP256r1 (DG14 writes it with explicit parameters) and
  an RSA-2048 active-authentication key (DG15);
* a "camera" photo of the same person (``obama2.jpg``) for demo mode's face match.

Needs Pillow (build time only) and ``../shared/data/faces/`` next to the repository.
Re-running regenerates the Document Signer and the chip keys.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import sys
from pathlib import Path

from drivers.emulator.profile import DEMO_CAMERA_PHOTO, DEMO_PROFILE_DIR, CardProfile, generate_keys, save_profile

REPO = Path(__file__).resolve().parents[3]
FACES = REPO.parent / "shared" / "data" / "faces"
TRUST_DEMO_CSCA = REPO / "verifier" / "trust" / "data" / "DEMO_CSCA.der"
#: crop box (left, top, right, bottom) of obama.jpg around the face, 3:4
CROP = (243, 0, 723, 640)
#: The JPEG of real CCCD chips: 300 x 400 pixels, about 15 KB; their record header claims 480 x 400.
SIZE = (300, 400)
TARGET_BYTES = 15_000
HEADER_SIZE = (480, 400)


def portrait_jpeg(source: Path, size: tuple[int, int] = SIZE, target_bytes: int = TARGET_BYTES) -> bytes:
    """The portrait as a baseline JFIF 1.01 JPEG, the quality chosen to land nearest ``target_bytes``."""
    from PIL import Image

    with Image.open(source) as im:
        face = im.convert("RGB").crop(CROP).resize(size, Image.LANCZOS)
    best = b""
    for quality in range(30, 96):
        out = io.BytesIO()
        face.save(out, "JPEG", quality=quality, optimize=True)
        data = out.getvalue()
        if not best or abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            best = data
    return best


def demo_profile(photo: bytes) -> CardProfile:
    return CardProfile(
        id_number="079090001234",
        full_name="Nguyễn Văn An",
        date_of_birth=dt.date(1990, 3, 15),
        sex="M",
        date_of_issue=dt.date(2021, 4, 20),
        date_of_expiry=dt.date(2030, 3, 15),  # renewal at 40 (Law on CCCD Art. 21)
        nationality="Việt Nam",
        ethnicity="Kinh",
        religion="Không",
        place_of_origin="Xã Tân Phú, Huyện Đức Hòa, Long An",
        place_of_residence="123 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh",
        personal_identification="Nốt ruồi C:1cm trên sau đuôi mắt trái",
        father_name="Nguyễn Văn Bình",
        mother_name="Trần Thị Cúc",
        old_id_number="025123456",
        photo=photo,
        photo_name="photo.jpg",
        chip={"dg2_header_size": list(HEADER_SIZE)},
    )


def main() -> int:
    from drivers.emulator.pki import DEMO_CSCA_FILE, generate_demo

    generate_demo()
    shutil.copyfile(DEMO_CSCA_FILE, TRUST_DEMO_CSCA)
    for stale in DEMO_PROFILE_DIR.glob("photo.*"):
        stale.unlink()
    profile = generate_keys(demo_profile(portrait_jpeg(FACES / "obama.jpg")),
                            chip_auth_curve="brainpoolP256r1", active_auth="rsa")
    save_profile(profile, DEMO_PROFILE_DIR)
    shutil.copyfile(FACES / "obama2.jpg", DEMO_CAMERA_PHOTO)
    print(f"demo card written to {DEMO_PROFILE_DIR} (portrait {len(profile.photo)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
