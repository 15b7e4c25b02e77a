"""Atomic file writing: write to a temporary file in the target folder, then rename.

A reader never sees a half-written file under its final name, and an interrupted or failed write
(full disk, kill) leaves the previous file, or none, in place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from dbdbench.errors import DbdError

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent folders.

    Parameters
    ----------
    path : path-like
        Final file name.
    data : bytes
        The complete file content.

    Returns
    -------
    Path
        The final path.

    Raises
    ------
    DbdError
        When the folder cannot be created or the disk is full; no partial file is left behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise DbdError(
            f"cannot write '{path}': {exc.strerror}; check the folder and its permissions"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise DbdError(
            f"cannot write '{path}': {exc.strerror}; free disk space or choose another --out"
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))
