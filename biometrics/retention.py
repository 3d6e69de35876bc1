"""Optional retention of raw camera frames (setting ``face.retain_frames_days``, 0 by default).

By default no frame is ever written: only face templates and decisions are kept
(Decree 13/2023: store no more sensitive data than the purpose needs). An operator may
keep the chosen frame of each scan for a few days to settle disputes; then frames are
written one file per scan, owner-read-only, optionally sealed by the caller's encryption
function (the service passes its field-encryption key), and :func:`purge_frames`
deletes them once older than the retention period (all of them when it is 0).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable

import numpy as np

from biometrics.images import encode_jpeg
from verifier.errors import BiometricsError

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
SUFFIX = ".frame"


def retain_frame(rgb: np.ndarray, directory: str | os.PathLike, *, scan_id: str, days: int,
                 seal: Callable[[bytes], bytes] | None = None) -> Path | None:
    """Write the frame when ``days`` > 0 and return its path; otherwise write nothing, return None."""
    if days <= 0:
        return None
    name = _SAFE.sub("_", scan_id)[:80]
    if not name.strip("._"):
        raise BiometricsError(f"retained frame: scan id {scan_id!r} cannot name a file")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = encode_jpeg(rgb, 90)
    if seal is not None:
        data = seal(data)
    path = directory / f"{name}{SUFFIX}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def purge_frames(directory: str | os.PathLike, days: int, *, now: float | None = None) -> int:
    """Delete retained frames older than ``days`` (every one when ``days`` <= 0); returns how many."""
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - max(days, 0) * 86400
    removed = 0
    for path in directory.glob(f"*{SUFFIX}"):
        if days <= 0 or path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
