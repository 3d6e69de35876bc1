"""The one atomic writer of private files (keys, trust store, enrolment, ledger exports).

A reader never sees a half-written file and a crash never leaves an empty one: the bytes go to
a temporary file in the same directory (created 0600, so the owner alone can ever read them),
are fsynced, renamed over the target with :func:`os.replace` (POSIX ``rename(2)`` is atomic
within one file system) and the directory is fsynced so the rename itself survives a power cut.

``exclusive=True`` publishes with :func:`os.link` instead, which fails when the target exists:
the first of several processes creating the same key file wins and the others keep its key.

This module sits at the bottom of the layers (it imports only the standard library), so the
trust store, the ledger and sync all share it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Mode of every file written here: owner read/write only.
PRIVATE_MODE = 0o600


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def write_private_file(path: Path | str, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` atomically, mode 0600; create the parent directories.

    Returns True when written; False only with ``exclusive=True`` when ``path`` already
    existed (it is left untouched). :class:`OSError` from the file system propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, PRIVATE_MODE)  # mkstemp already uses 0600; say so explicitly
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            finally:
                tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return True
