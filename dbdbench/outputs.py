"""Checking output paths before any work starts: nothing is overwritten unless asked, inputs are never
outputs, ``--overwrite`` replaces only what dbdbench wrote, one writer at a time.

Every command that writes files checks its outputs here first, so one rule holds everywhere
(docs/conventions.md):

* an existing file that the run would write is refused unless ``--overwrite`` is given;
* an output folder equal to, inside, or containing an input folder is refused, even with
  ``--overwrite`` (the run would read its own outputs, or replace its inputs); an output file equal
  to an input file or inside an input folder is refused too;
* side files (the CSV beside a result JSON, a report's summary) follow the same rule as the file they
  go with, and everything is checked before the first byte is written;
* ``--overwrite`` replaces or removes only files dbdbench wrote (listed in the folder's manifest
  :data:`MANIFEST_FILE`, or matching the command's naming in a folder without one), and nothing is
  written or removed through a symlinked sub-folder (:func:`claim_outputs`, :func:`recording`);
* one command at a time writes an output (:func:`output_lock`, an ``fcntl.flock`` that dies with the
  process).

``train --out`` (no ``--overwrite``): hold the folder with ``output_lock(out)`` (or
``@options.one_writer("out")`` on the command) and check what a run replaces with
``claim_outputs(out, files, command="train", overwrite=resume, naming=train_naming)``.
"""

# Over 500 lines on purpose: every rule about outputs lives in this one module (docs/conventions.md).

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from dbdbench.atomic import write_text_atomic
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


# ---------------------------------------------------------------- one writer at a time
#: The lock file inside an output folder (hidden: folder listings skip it).
LOCK_FILE = ".dbdbench.lock"


def lock_path(path: str | os.PathLike, folder: bool = True) -> Path:
    """The lock of an output: ``LOCK_FILE`` inside a folder output (its parent may not be
    writable: ``--out .``), ``.<name>.lock`` beside a file output (written in that folder anyway)."""
    path = Path(os.path.abspath(path))
    return path / LOCK_FILE if folder else path.parent / f".{path.name}.lock"


def _holder(lock: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        return f" (process {int(lock.read_text(encoding='ascii').strip())})"
    return ""


def _acquire(path: Path, folder: bool, what: str) -> tuple[int, Path, list[Path]]:
    """Lock one output (see :func:`output_lock`): the lock's descriptor, its path, and the folders
    made for it (removed again when they are left empty)."""
    lock = lock_path(path, folder)
    if folder and os.path.lexists(path) and not path.is_dir():
        raise DbdError(f"{what} '{path}' is a file, not a folder; choose a folder")
    made = [p for p in (lock.parent, *lock.parent.parents) if not os.path.lexists(p)]
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DbdError(f"cannot create {what} '{path}': {exc.strerror}; choose another {what}") from None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            raise DbdError(
                f"cannot lock {what} '{path}' ({lock.name}): {exc.strerror}; check its permissions"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DbdError(
                f"{what} '{path}' is being written by another dbdbench command{_holder(lock)}; "
                f"wait for it to finish, or choose another {what}"
            ) from None
        # the holder before us may have removed the lock file after we opened it: lock the file
        # that is there now, or two writers would hold locks on two files
        with contextlib.suppress(OSError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode("ascii"))
                return fd, lock, made
        os.close(fd)


def _release(fd: int, lock: Path, made: list[Path]) -> None:
    with contextlib.suppress(OSError):
        os.unlink(lock)  # while still locked: a waiting opener then finds a new file (see _acquire)
    os.close(fd)
    for folder in made:  # made for the lock and left empty (a failed run): removed
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def output_lock(
    *paths: str | os.PathLike | None, files: Iterable[str | os.PathLike | None] = (), what: str = "--out"
) -> Iterator[None]:
    """Hold outputs for this process: a second dbdbench command writing one of them at the same
    time stops at once with one line.

    The lock is an advisory ``fcntl.flock`` on :func:`lock_path` (``LOCK_FILE`` inside a folder,
    ``.<name>.lock`` beside a file). The kernel releases it when the process ends, however it ends
    (an exception, Ctrl-C, SIGKILL), so a lock file left by a killed run is no obstacle: the next
    run locks it again. A folder made for the lock and left empty is removed on release.

    Parameters
    ----------
    *paths : path-like or None
        Output folders (created; None entries are skipped).
    files : iterable of path-like or None
        Output files.
    what : str
        The option naming them, for the message.

    Raises
    ------
    DbdError
        Another process holds one of the outputs (the message names its pid), or the lock file
        cannot be made.
    """
    wanted = [(Path(p), True) for p in paths if p is not None]
    wanted += [(Path(p), False) for p in files if p is not None]
    held = []
    try:
        for p, folder in wanted:
            held.append(_acquire(p, folder, what))
        yield
    finally:
        for h in reversed(held):
            _release(*h)


# ---------------------------------------------------------------- what --overwrite may remove
#: The list of files a command wrote in its output folder (relative POSIX paths), so that
#: ``--overwrite`` removes or replaces only those.
MANIFEST_FILE = ".dbdbench-manifest.json"


def _temporary(rel: str) -> bool:
    """A temporary file of :mod:`dbdbench.atomic` (``.<name>.<random>.tmp``), left by a killed run."""
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith(".tmp")


def read_manifest(folder: str | os.PathLike) -> set[str] | None:
    """The files listed in ``folder``'s manifest (:data:`MANIFEST_FILE`), or None without one
    (an unreadable manifest lists nothing)."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(f) for f in data["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def record_outputs(folder: str | os.PathLike, files: Iterable[str | os.PathLike], command: str) -> Path:
    """Add ``files`` (relative to ``folder``) to its manifest, keeping the listed files that still
    exist. Written before the files themselves, so a run cut short still owns what it wrote.

    Returns
    -------
    Path
        The manifest.
    """
    folder = Path(folder)
    listed = {f for f in read_manifest(folder) or () if os.path.lexists(folder / f)}
    listed |= {Path(f).as_posix() for f in files}
    text = json.dumps({"written_by": f"dbdbench {command}", "files": sorted(listed)}, indent=1)
    return write_text_atomic(folder / MANIFEST_FILE, text + "\n")


def _links_below(folder: Path, rel: Path) -> Path | None:
    """The first folder between ``folder`` and ``folder / rel`` that is a symbolic link."""
    p = folder
    for part in rel.parts[:-1]:
        p = p / part
        if p.is_symlink():
            return p
        if not p.is_dir():
            return None
    return None


def _refuse_link(link: Path, what: str) -> None:
    raise DbdError(
        f"{what}: '{link}' is a symbolic link; dbdbench writes only into real folders inside {what}: "
        f"remove the link, or choose another {what}"
    )


def _foreign(path: Path, what: str, command: str) -> DbdError:
    return DbdError(
        f"{what}: '{path}' was not written by dbdbench {command}; --overwrite replaces only what "
        f"dbdbench wrote there: move it out, or choose another {what}"
    )


def claim_outputs(
    folder: str | os.PathLike,
    files: Iterable[str | os.PathLike],
    *,
    command: str,
    overwrite: bool,
    clear: Iterable[str] = (),
    clear_trees: Iterable[str] = (),
    naming: Callable[[str], bool] | None = None,
    what: str = "--out",
) -> list[Path]:
    """Check what a run may replace or remove in its output folder, before any work (then write
    inside :func:`recording`).

    The rules (docs/conventions.md):

    * no folder between ``folder`` and a file the run writes may be a symbolic link (the run
      would write, or remove, outside ``folder``), with or without ``overwrite``;
    * with ``overwrite``, an existing file the run replaces, and everything inside a ``clear``
      folder, must have been written by dbdbench: listed in the manifest, or, in a folder without
      a manifest (written by an earlier release), matching ``naming``; a subfolder or a symbolic
      link inside a ``clear`` folder is refused too, and so is a symbolic link anywhere inside a
      ``clear_trees`` folder (whose subfolders are entered). Nothing is removed when anything is
      refused.

    Parameters
    ----------
    folder : path-like
        The output folder (checked with :func:`check_output_folder` first).
    files : iterable of path-like
        The files the run writes, relative to ``folder``.
    command : str
        The command, for the manifest and the messages (``"predict"``).
    overwrite : bool
        ``--overwrite`` was given.
    clear : iterable of str
        Sub-folders whose whole contents the run replaces (``generate-sim``'s ``image/``): their
        files are returned for :func:`remove_outputs`.
    clear_trees : iterable of str
        The same for sub-folders that hold folders of the run's files (``leaderboard``'s
        ``browser/<group>/``): every file below them is returned.
    naming : callable, optional
        ``naming(rel)`` is True for a relative path this command would have written, the rule for
        a folder without a manifest. None: every file the run writes (``files``).
    what : str
        The option naming the folder, for messages.

    Returns
    -------
    list of Path
        The files in ``clear`` folders to remove before the run writes (with ``overwrite``).

    Raises
    ------
    DbdError
        One line naming the link or the foreign file and the fix.
    """
    folder = Path(folder)
    rels = [Path(f) for f in files]
    clear, clear_trees = list(clear), list(clear_trees)
    for sub in [*clear, *clear_trees]:
        if (folder / sub).is_symlink():
            _refuse_link(folder / sub, what)
    for rel in rels:
        link = _links_below(folder, rel)
        if link is not None:
            _refuse_link(link, what)
    listed = read_manifest(folder) if folder.is_dir() else set()
    wanted = {r.as_posix() for r in rels}

    def ours(rel: str) -> bool:
        if _temporary(rel):
            return True
        if listed is not None:
            return rel in listed
        return naming(rel) if naming is not None else rel in wanted

    remove: list[Path] = []
    if overwrite and folder.is_dir():
        for rel in sorted(wanted):
            p = folder / rel
            if os.path.lexists(p) and (p.is_dir() or not ours(rel)):
                raise _foreign(p, what, command)
        for sub in clear:
            for p in _walk(folder / sub):
                rel = p.relative_to(folder).as_posix()
                if p.is_symlink() or p.is_dir() or not ours(rel):
                    raise _foreign(p, what, command)
                remove.append(p)
        for sub in clear_trees:
            for p in _walk_tree(folder / sub):
                if p.is_symlink():
                    _refuse_link(p, what)
                if not ours(p.relative_to(folder).as_posix()):
                    raise _foreign(p, what, command)
                remove.append(p)
    return remove


@contextlib.contextmanager
def recording(folder: str | os.PathLike, files: Iterable[str | os.PathLike], command: str) -> Iterator[None]:
    """Run a block that writes ``files`` into ``folder``, listed in its manifest beforehand (so a
    run killed half-way still owns what it wrote). If the block fails and ``folder`` was made for
    it and holds nothing else, the folder is removed again."""
    folder = Path(folder)
    created = not os.path.lexists(folder) or {p.name for p in folder.iterdir()} <= {LOCK_FILE}
    manifest = record_outputs(folder, files, command)
    try:
        yield
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                if {p.name for p in folder.iterdir()} <= {MANIFEST_FILE, LOCK_FILE}:
                    manifest.unlink()
                    folder.rmdir()  # fails while locked: the lock's release removes it then
        raise


def _walk(path: Path) -> list[Path]:
    """Entries under ``path`` (not following links; a subfolder is listed, not entered)."""
    if not path.is_dir() or path.is_symlink():
        return []
    try:
        return sorted(path.iterdir())
    except OSError as exc:
        raise DbdError(f"cannot list '{path}': {exc.strerror}; check its permissions") from None


def _walk_tree(path: Path) -> list[Path]:
    """Files and links below ``path``, its real subfolders entered (links are not followed)."""
    found = []
    for p in _walk(path):
        if p.is_dir() and not p.is_symlink():
            found += _walk_tree(p)
        else:
            found.append(p)
    return found


def train_naming(rel: str) -> bool:
    """A file ``train`` writes in its ``--out`` (``last.pt``, ``epoch-NNN.pt``, ``loss.csv``,
    ``loss.png``, ``train.log``), the naming rule of :func:`claim_outputs` for a training folder."""
    if rel in ("last.pt", "loss.csv", "loss.png", "train.log"):
        return True
    return rel.startswith("epoch-") and rel.endswith(".pt") and rel[6:-3].isdigit()


def remove_outputs(paths: Iterable[Path]) -> None:
    """Remove files :func:`claim_outputs` returned (a link itself, never its target).

    Raises
    ------
    DbdError
        A file cannot be removed (permissions).
    """
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise DbdError(
                f"cannot remove '{p}' for --overwrite: {exc.strerror}; check its permissions"
            ) from None
