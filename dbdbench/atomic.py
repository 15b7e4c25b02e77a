"""Atomic file writing: write to a temporary file in the target folder, then rename.

A reader never sees a half-written file under its final name, and an interrupted or failed write
(full disk, kill) leaves the previous file, or none, in place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from dbdbench.errors import DbdError

_UMASK = os.umask(0)
os.umask(_UMASK)


def _temp_prefix(path: Path) -> str:
    """Temporary files for ``path`` are ``.<name>.<random>.tmp`` in its folder."""
    return f".{path.name}."


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
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
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


def remove_temporaries(paths: Iterable[str | os.PathLike]) -> int:
    """Remove the temporary files left for these final paths by writers that were killed.

    A writer interrupted by an exception removes its own temporary file; one in a worker process
    that was terminated (Ctrl-C, a failed sibling task) cannot. Only files named as this module names
    them (``.<name>.<random>.tmp`` beside ``<name>``) are removed.

    Returns
    -------
    int
        Files removed.
    """
    wanted: dict[Path, set[str]] = {}
    for p in map(Path, paths):
        wanted.setdefault(p.parent, set()).add(_temp_prefix(p))
    removed = 0
    for folder, prefixes in wanted.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(".tmp") and any(name.startswith(pre) for pre in prefixes):
                with contextlib.suppress(OSError):
                    os.unlink(folder / name)
                    removed += 1
    return removed


@contextlib.contextmanager
def temporaries_removed_on_failure(paths: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Run a block that writes ``paths`` (possibly in worker processes); if it fails or is
    interrupted, remove the temporary files any of its writers left (:func:`remove_temporaries`)."""
    paths = list(paths)
    try:
        yield
    except BaseException:
        remove_temporaries(paths)
        raise
