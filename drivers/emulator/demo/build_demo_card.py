"""Rebuild the committed demo card profile in ``drivers/emulator/demo/card/``.

Run once by a developer (``.venv/bin/python -m drivers.emulator.demo.build_demo_card``),
the result is committed: a synthetic citizen whose chip portrait is derived from the
public-domain ``obama.jpg`` of the shared test data (greyscale, 360x480, JPEG 2000 about
13 KB) and a "camera" photo of the same person (``obama2.jpg``) for demo mode.
Needs Pillow (build time only) and ``../shared/data/faces/`` next to the repository.
Re-running regenerates the chip keys.
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
#: crop box (left, top, right, bottom) of obama.jpg around the face, 3:4
CROP = (243, 0, 723, 640)
SIZE = (360, 480)
JP2_RATE = 13  # compression ratio: about 13 KB


def portrait_jp2(source: Path) -> bytes:
    from PIL import Image

    with Image.open(source) as im:
        face = im.convert("L").crop(CROP).resize(SIZE, Image.LANCZOS)
    out = io.BytesIO()
    face.save(out, "JPEG2000", quality_mode="rates", quality_layers=[JP2_RATE], irreversible=True)
    return out.getvalue()


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
        photo_name="photo.jp2",
    )


def main() -> int:
    profile = generate_keys(demo_profile(portrait_jp2(FACES / "obama.jpg")),
                            chip_auth_curve="brainpoolP256r1", active_auth="ec")
    save_profile(profile, DEMO_PROFILE_DIR)
    shutil.copyfile(FACES / "obama2.jpg", DEMO_CAMERA_PHOTO)
    print(f"demo card written to {DEMO_PROFILE_DIR} (portrait {len(profile.photo)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
