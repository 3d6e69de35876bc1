"""Chip photos for browsers: JPEG 2000 portraits (ICAO 9303-10 DG2) become PNG; JPEG passes through."""

from __future__ import annotations

import io

from verifier.errors import ImageError


def to_browser_image(data: bytes) -> tuple[bytes, str]:
    if data[:3] == b"\xff\xd8\xff":
        return data, "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data, "image/png"
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > 40_000_000:
                raise ImageError("image too large to convert")
            out = io.BytesIO()
            img.convert("RGB").save(out, "PNG")
            return out.getvalue(), "image/png"
    except ImageError:
        raise
    except Exception as e:  # noqa: BLE001 - any decoder failure is a bad image
        raise ImageError(f"stored photo: expected JPEG, PNG or JPEG 2000, could not decode ({type(e).__name__})") from e
