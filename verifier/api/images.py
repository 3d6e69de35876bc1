"""Chip photos for browsers: JPEG 2000 portraits (ICAO 9303-10 DG2) become PNG; JPEG passes through."""

from __future__ import annotations

import io

from PIL import Image

from biometrics.images import check_portrait, decode_image, decode_portrait


def to_browser_image(data: bytes, *, portrait: bool = False) -> tuple[bytes, str]:
    """JPEG and PNG as they are; anything else decoded (within :mod:`biometrics.images` limits) to PNG.

    ``portrait``: a chip's DG2 image, held to the chip portrait limits even when it passes through
    (:func:`biometrics.images.check_portrait` / :func:`~biometrics.images.decode_portrait`).
    Raises :class:`~verifier.errors.ImageError` when the bytes do not decode.
    """
    if portrait:
        check_portrait(data)
        if data[:3] != b"\xff\xd8\xff":
            out = io.BytesIO()
            Image.fromarray(decode_portrait(data)).save(out, "PNG")
            return out.getvalue(), "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return data, "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data, "image/png"
    out = io.BytesIO()
    Image.fromarray(decode_image(data, name="stored photo")).save(out, "PNG")
    return out.getvalue(), "image/png"
