"""The output folder of ``generate-sim``: layout, per-sample records, resume and the manifest.

Layout::

    OUT/recipe.toml          the fully resolved recipe (written first)
    OUT/image/NNNNNN.<ext>   rendered images (png or jpg)
    OUT/gt/NNNNNN.png        binary in-focus masks, 255 = in focus
    OUT/defocus/NNNNNN.png   lens recipe only: uint16 CoC diameter x defocus_scale
    OUT/manifest.csv         one row per sample (assembled at the end)
    OUT/preview.png          with --preview

Every sample file is written atomically. After a sample's files, its manifest row is appended as one
JSON line to the journal of the writing process, ``OUT/.rows/<host>-<pid>.jsonl`` (one ``write`` call
on a file opened for appending, so the rows of threads sharing a process never interleave). A sample is
complete when a whole row of it is in a journal and its files exist: an interrupted run loses at most
the samples in flight (and a row cut short by a crash, which does not parse), and ``--resume`` redoes
exactly those. The manifest is rebuilt from the journals (and the rows of an earlier manifest), so its
bytes do not depend on the order in which samples finished.

``--resume`` with a larger ``count`` extends a set: ``recipe.toml`` takes the new count at the start
(each file is replaced atomically), the samples already there are kept, and the manifest is rebuilt
with all of them at the end. Since sample ``i`` depends only on (recipe, sources, seed, i), the result
is byte-identical to a straight run of the larger count. A run that fails before completing any
sample puts the folder back as it found it (:func:`undo_start`).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from dbdbench.atomic import write_bytes_atomic, write_text_atomic
from dbdbench.errors import DbdError
from dbdbench.generators.recipe import read_toml
from dbdbench.outputs import LOCK_FILE, claim_outputs, remove_outputs

RECIPE_FILE = "recipe.toml"
MANIFEST_FILE = "manifest.csv"
PREVIEW_FILE = "preview.png"
ROWS_DIR = ".rows"
SUBDIRS = ("image", "gt", "defocus")
OWNED = (RECIPE_FILE, MANIFEST_FILE, PREVIEW_FILE, ROWS_DIR, *SUBDIRS)


def sample_name(index: int) -> str:
    """Six-digit zero-padded file stem of sample ``index``."""
    return f"{index:06d}"


def _flatten(d: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "weights":
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _first_difference(old: dict, new: dict) -> str | None:
    a, b = _flatten(old), _flatten(new)
    for key in sorted(set(a) | set(b), key=lambda k: (k != "recipe", k)):
        if a.get(key) != b.get(key):
            return f"key '{key}' is {a.get(key)!r} there and {b.get(key)!r} now"
    return None


_SAMPLE_FILE = re.compile(r"[0-9]{6,}\.(png|jpg)")
_TOP_FILES = (RECIPE_FILE, MANIFEST_FILE, PREVIEW_FILE)


def _ours(rel: str) -> bool:
    """A file this command writes, by its naming (the folder has no manifest: the rule of
    :func:`dbdbench.outputs.claim_outputs`)."""
    sub, _, name = rel.rpartition("/")
    if not sub:
        return name in _TOP_FILES
    if sub == ROWS_DIR:
        return name.endswith(".jsonl")
    return sub in SUBDIRS and bool(_SAMPLE_FILE.fullmatch(name))


def _claim(out: Path, overwrite: bool) -> list[Path]:
    """Refuse a symlinked sub-folder and, with ``overwrite``, any file generate-sim did not write in
    its sub-folders; the files to remove for ``overwrite``."""
    return claim_outputs(
        out, _TOP_FILES, command="generate-sim", overwrite=overwrite, clear=(*SUBDIRS, ROWS_DIR), naming=_ours
    )


def _clear(out: Path) -> None:
    """Remove what generate-sim wrote in ``out`` (refusing, before removing anything, when a
    sub-folder holds anything else or is a symbolic link)."""
    remove_outputs(_claim(out, overwrite=True) + [out / f for f in _TOP_FILES])
    for sub in (*SUBDIRS, ROWS_DIR):
        with contextlib.suppress(OSError):
            (out / sub).rmdir()


def _remove_temporaries(out: Path) -> None:
    for sub in (*SUBDIRS, ROWS_DIR, "."):
        folder = out / sub
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()


@dataclass(frozen=True)
class Start:
    """How :func:`prepare` found the folder: what :func:`undo_start` restores after a failed start.

    Attributes
    ----------
    done : dict of int to dict
        Rows of the samples already complete (:func:`completed`).
    previous_recipe : str or None
        The text of the ``recipe.toml`` resumed (None for a fresh or overwritten folder).
    created : bool
        ``out`` did not exist before.
    """

    done: dict[int, dict[str, str]]
    previous_recipe: str | None
    created: bool


def recorded_count(out: Path) -> int | None:
    """The ``count`` of the ``recipe.toml`` in ``out``, or None (no file, unreadable, no count)."""
    path = out / RECIPE_FILE
    if not path.is_file():
        return None
    try:
        count = read_toml(path).get("count")
    except (DbdError, OSError):
        return None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def _check_resumable(out: Path, old: dict, new: dict) -> None:
    """Refuse to resume a folder written with another recipe; a larger ``count`` extends it."""
    diff = _first_difference(
        {k: v for k, v in old.items() if k != "count"}, {k: v for k, v in new.items() if k != "count"}
    )
    if diff is None and not isinstance(old.get("count"), int):
        diff = f"key 'count' is {old.get('count')!r} there"
    if diff:
        raise DbdError(
            f"--out '{out}' was written with another recipe ({diff}); resume with the same options, "
            "or pass --overwrite to replace it"
        )
    if new["count"] < old["count"]:
        raise DbdError(
            f"--count {new['count']} is smaller than the {old['count']} samples of --out '{out}'; "
            f"--resume only completes or extends a set: pass --count {old['count']} or more, "
            "or --overwrite to replace it"
        )


def prepare(out: Path, recipe_dict: dict, recipe_text: str, *, resume: bool, overwrite: bool) -> Start:
    """Create or check the output folder and write ``recipe.toml``.

    Parameters
    ----------
    out : Path
    recipe_dict : dict
        The resolved recipe (:meth:`Recipe.to_dict`), compared with an existing ``recipe.toml``.
    recipe_text : str
        Its TOML text.
    resume, overwrite : bool
        ``resume`` continues a folder written with the same recipe, or extends it to a larger
        ``count`` (every other key must be equal); ``overwrite`` removes the files this command owns
        (see :data:`OWNED`) and starts afresh.

    Returns
    -------
    Start

    Raises
    ------
    DbdError
        Both flags; ``out`` not a folder; a non-empty folder without ``--resume``/``--overwrite``; a
        folder written with another recipe (the message names the first differing key) or with more
        samples than ``count``.
    """
    if resume and overwrite:
        raise DbdError("--resume and --overwrite exclude each other; pass one")
    if out.exists() and not out.is_dir():
        raise DbdError(f"--out '{out}' is a file; give a folder")
    created = not out.exists() or {p.name for p in out.iterdir()} <= {LOCK_FILE}
    entries = [p for p in out.iterdir() if p.name != LOCK_FILE] if out.is_dir() else []
    if entries and not overwrite:
        _claim(out, overwrite=False)  # a symlinked sub-folder would take the samples elsewhere
    existing = out / RECIPE_FILE
    previous = None
    if entries and overwrite:
        _clear(out)
    elif entries and not existing.is_file():
        raise DbdError(
            f"--out '{out}' is not empty and holds no {RECIPE_FILE}; "
            "choose an empty folder or pass --overwrite"
        )
    elif entries and not resume:
        raise DbdError(
            f"--out '{out}' already holds a generated set; "
            "pass --resume to complete or extend it, or --overwrite to replace it"
        )
    elif entries:
        try:
            old = read_toml(existing)
        except DbdError:
            old = {}  # unreadable: differs from any recipe
        _check_resumable(out, old, recipe_dict)
        _remove_temporaries(out)
        previous = existing.read_text(encoding="utf-8")
    write_text_atomic(existing, recipe_text)
    return Start(done=completed(out), previous_recipe=previous, created=created)


def undo_start(out: Path, start: Start) -> None:
    """After a failed run: if it completed no sample, put the folder back as :func:`prepare` found
    it, so that nothing blocks a plain rerun (a fresh folder loses what this run made, a resumed one
    gets its ``recipe.toml`` back). A run that completed samples keeps them for ``--resume``."""
    with contextlib.suppress(OSError, DbdError):
        if set(completed(out)) - set(start.done):
            return
        if start.previous_recipe is None:
            _clear(out)
            if start.created and not any(out.iterdir()):
                out.rmdir()
        else:
            write_text_atomic(out / RECIPE_FILE, start.previous_recipe)
            _remove_temporaries(out)
            with contextlib.suppress(OSError):
                (out / ROWS_DIR).rmdir()  # only when empty


def completed(out: Path) -> dict[int, dict[str, str]]:
    """Rows of the samples already complete in ``out``: manifest rows and whole journal rows whose
    files all exist.

    Returns
    -------
    dict of int to dict
        Sample index -> manifest row (string values).
    """
    rows: dict[int, dict[str, str]] = {}
    manifest = out / MANIFEST_FILE
    if manifest.is_file():
        with manifest.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows[int(row["index"])] = row
    folder = out / ROWS_DIR
    if folder.is_dir():
        for p in sorted(folder.glob("*.jsonl")):
            for line in p.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True):
                try:
                    rec = json.loads(line) if line.endswith("\n") else None
                except ValueError:
                    rec = None  # a row cut short by a crash (or glued to one): its sample is redone
                if isinstance(rec, dict) and "index" in rec:
                    rows[int(rec["index"])] = rec
    # a sample whose files went missing is not complete
    return {i: row for i, row in rows.items() if all((out / row[k]).is_file() for k in SUBDIRS if k in row)}


def journal_path(out: Path) -> Path:
    """The journal of this process in ``out``: ``.rows/<host>-<pid>.jsonl``."""
    return out / ROWS_DIR / f"{socket.gethostname()}-{os.getpid()}.jsonl"


def _append_row(out: Path, row: dict[str, str]) -> None:
    """Append ``row`` as one JSON line to this process's journal, in a single ``write`` call.

    Raises
    ------
    DbdError
        The journal cannot be written (full disk, permissions).
    """
    path = journal_path(out)
    data = (json.dumps(row) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a short write
        finally:
            os.close(fd)
    except OSError as exc:
        raise DbdError(
            f"cannot write '{path}': {exc.strerror}; free disk space or choose another --out"
        ) from None


def write_sample(out: Path, files: list[tuple[str, bytes]], row: dict[str, str]) -> None:
    """Write one sample's files, then append its row to the journal; on failure remove the files.

    Parameters
    ----------
    out : Path
    files : list of (str, bytes)
        Relative paths (``image/000001.png``) and contents.
    row : dict of str to str
        The manifest row (must hold ``index``).
    """
    written: list[Path] = []
    try:
        for rel, data in files:
            written.append(write_bytes_atomic(out / rel, data))
        _append_row(out, row)
    except BaseException:
        for p in written:
            with contextlib.suppress(OSError):
                p.unlink()
        raise


def write_manifest(out: Path, count: int) -> int:
    """Assemble ``manifest.csv`` from the completed samples ``0..count-1`` and drop the journals.

    Returns
    -------
    int
        Number of rows.

    Raises
    ------
    DbdError
        A sample is missing (the run is incomplete: resume it).
    """
    rows = completed(out)
    missing = [i for i in range(count) if i not in rows]
    if missing:
        raise DbdError(
            f"--out '{out}' lacks {len(missing)} samples (e.g. {sample_name(missing[0])}); "
            "run again with --resume"
        )
    columns = list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for i in range(count):
        writer.writerow(rows[i])
    write_text_atomic(out / MANIFEST_FILE, buf.getvalue())
    shutil.rmtree(out / ROWS_DIR, ignore_errors=True)
    return count
