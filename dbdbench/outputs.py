"""Checking output paths before any work starts: nothing is overwritten unless asked, inputs are never
outputs.

Every command that writes files checks its outputs here first, so one rule holds everywhere
(docs/conventions.md):

* an existing file that the run would write is refused unless ``--overwrite`` is given;
* an output folder equal to, inside, or containing an input folder is refused, even with
  ``--overwrite`` (the run would read its own outputs, or replace its inputs); an output file equal
  to an input file or inside an input folder is refused too;
* side files (the CSV beside a result JSON, a report's summary) follow the same rule as the file they
  go with, and everything is checked before the first byte is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from dbdbench.errors import DbdError

#: (option or role, path) of an input, e.g. ``("--images", "photos/")``.
Input = tuple[str, "str | os.PathLike | None"]


def _real(path: Path) -> Path:
    """The absolute path with symlinks resolved (as far as it exists)."""
    return Path(os.path.realpath(path))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_apart(out: str | os.PathLike, inputs: Iterable[Input], what: str = "--out") -> None:
    """Refuse an output that is, lies inside, or contains an input.

    Parameters
    ----------
    out : path-like
        The output file or folder.
    inputs : iterable of (str, path-like or None)
        The inputs with the option that names each (``None`` paths are ignored). A folder input may
        neither contain ``out`` nor lie inside it; a file input may not be ``out``.
    what : str
        The output option, for the message.

    Raises
    ------
    DbdError
        Naming both options and the fix.
    """
    o = _real(Path(out))
    for option, path in inputs:
        if path is None:
            continue
        i = _real(Path(path))
        if o == i:
            raise DbdError(f"{what} '{out}' is the {option} input itself; choose another {what}")
        if i.is_dir() and _inside(o, i):
            raise DbdError(f"{what} '{out}' is inside the {option} folder '{path}'; write outside the inputs")
        if _inside(i, o):
            raise DbdError(
                f"{what} '{out}' contains the {option} input '{path}'; choose a folder outside the inputs"
            )


def _existing(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if os.path.lexists(p)]


def _refuse_existing(found: list[Path], total: int, what: str) -> None:
    more = f" (and {len(found) - 1} more of the {total} files this run writes)" if len(found) > 1 else ""
    raise DbdError(
        f"{what}: '{found[0]}' already exists{more}; pass --overwrite to replace, or choose another {what}"
    )


def _refuse_same_stem(folder: Path, files: list[Path], what: str) -> None:
    from dbdbench.imageio import is_image_file

    wanted = {f.with_suffix("").as_posix(): f for f in files}
    try:
        present = [p for p in folder.iterdir() if is_image_file(p) and not p.name.startswith(".")]
    except OSError as exc:
        raise DbdError(f"cannot list {what} '{folder}': {exc.strerror}; check its permissions") from None
    for p in sorted(present):
        target = wanted.get(p.stem)
        if target is not None and p.name != target.name:
            raise DbdError(
                f"{what} '{folder}' holds '{p.name}', which has the name of the new '{target.name}'; "
                f"move it away or choose another {what} (a folder may hold one file per name)"
            )


def check_output_file(
    path: str | os.PathLike,
    *,
    suffix: str,
    side_files: Iterable[str | os.PathLike] | Callable[[Path], Iterable[str | os.PathLike]] = (),
    inputs: Iterable[Input] = (),
    overwrite: bool = False,
    what: str = "--out",
) -> Path:
    """Check an output file (and the side files written with it) before any work starts.

    Parameters
    ----------
    path : path-like
        The output file.
    suffix : str
        Its required extension, e.g. ``".json"`` (case-insensitive).
    side_files : iterable of path-like, or callable
        Files written with it (the CSV beside a JSON); the same rules apply to each. A callable gets
        ``path`` once its name is known to be valid and returns them.
    inputs : iterable of (str, path-like)
        See :func:`check_apart`.
    overwrite : bool
        Allow replacing existing files (never folders, never inputs).
    what : str
        The option naming the file, for messages.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    DbdError
        Wrong extension, a folder in the way, an input in the way, or an existing file without
        ``overwrite``.
    """
    raw = os.fspath(path)
    path = Path(path)
    if raw.endswith(("/", os.sep)) or path.suffix.lower() != suffix.lower():
        raise DbdError(f"{what} '{raw}' must be a file name ending in {suffix}, e.g. results/run{suffix}")
    if callable(side_files):
        side_files = side_files(path)
    targets = [path, *map(Path, side_files)]
    for t in targets:
        if t.is_dir():
            raise DbdError(f"{what}: '{t}' is a folder; give a file name ending in {t.suffix or suffix}")
        if t.parent.exists() and not t.parent.is_dir():
            raise DbdError(f"{what}: '{t.parent}' is a file, not a folder; choose another {what}")
        check_apart(t, inputs, what)
    found = _existing(targets)
    if found and not overwrite:
        _refuse_existing(found, len(targets), what)
    return path


def check_output_folder(
    folder: str | os.PathLike,
    *,
    files: Iterable[str | os.PathLike] | None = None,
    inputs: Iterable[Input] = (),
    overwrite: bool = False,
    images: bool = False,
    what: str = "--out",
) -> Path:
    """Check an output folder before any work starts.

    Parameters
    ----------
    folder : path-like
        The output folder (it may not exist yet).
    files : iterable of path-like, optional
        The files the run will write, relative to ``folder``. When given, only those may not exist
        yet; when None the run owns the whole folder, which must be absent or empty.
    inputs : iterable of (str, path-like)
        See :func:`check_apart`.
    overwrite : bool
        Allow replacing existing files.
    images : bool
        ``files`` are images listed by stem later: an existing image of the same stem and another
        extension (``a.jpg`` beside a new ``a.png``) is refused even with ``overwrite``, as the
        folder would then hold two files of one name.
    what : str
        The option naming the folder, for messages.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    DbdError
        ``folder`` is a file, overlaps an input, or holds files the run would write (or, with
        ``files`` None, anything at all) without ``overwrite``.
    """
    folder = Path(folder)
    if os.path.lexists(folder) and not folder.is_dir():
        raise DbdError(f"{what} '{folder}' is a file, not a folder; choose a folder")
    check_apart(folder, inputs, what)
    if not folder.is_dir():
        return folder
    if images and files is not None:
        _refuse_same_stem(folder, [Path(f) for f in files], what)
    if overwrite:
        return folder
    if files is None:
        try:
            entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        except OSError as exc:
            raise DbdError(f"cannot list {what} '{folder}': {exc.strerror}; check its permissions") from None
        if entries:
            raise DbdError(
                f"{what} '{folder}' is not empty (e.g. '{entries[0].name}', {len(entries)} entries); "
                f"pass --overwrite to replace its contents, or choose an empty or new {what}"
            )
        return folder
    targets = [folder / f for f in files]
    found = _existing(targets)
    if found:
        _refuse_existing(found, len(targets), what)
    return folder
