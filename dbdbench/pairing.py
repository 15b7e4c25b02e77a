"""Listing image folders and pairing files by stem (predictions with ground truth, images with masks)."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench.errors import DbdError
from dbdbench.imageio import is_image_file
from dbdbench.notes import note


def _first(names, n: int = 5) -> str:
    names = sorted(names)
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else f" ({len(names)} in all)")


@dataclass
class FolderScan:
    """What a folder holds: the image files, and every entry skipped with the reason.

    Attributes
    ----------
    folder : Path
    images : dict of str to Path
        Stem (``sub/name`` when recursive) -> file, sorted by stem.
    skipped : dict of str to list of Path
        Reason -> entries: ``"unsupported .gif"`` (one key per extension), ``"dangling symlink"``,
        ``"symlink loop"``, ``"subfolder"`` (not searched), ``"linked folder"`` (a symlink to a
        folder, not followed when recursive), ``"not a regular file"``. Hidden entries
        (name starting with ``.``) are neither listed nor counted.
    """

    folder: Path
    images: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def note(self) -> str | None:
        """One line such as ``skipped 3 entries in DIR (2 unsupported .gif/.heic, 1 dangling
        symlink)``; None when nothing was skipped."""
        if not self.skipped:
            return None
        ext = [k.split()[-1] for k in self.skipped if k.startswith("unsupported ")]
        n_ext = sum(len(v) for k, v in self.skipped.items() if k.startswith("unsupported "))
        parts = [f"{n_ext} unsupported {'/'.join(sorted(ext))}"] if n_ext else []
        reasons = ("dangling symlink", "symlink loop", "not a regular file", "subfolder", "linked folder")
        for reason in reasons:
            n = len(self.skipped.get(reason, ()))
            if n:
                parts.append(f"{n} {reason}{'s' if n > 1 else ''}")
        tail = "; subfolders are not searched" if "subfolder" in self.skipped else ""
        if "linked folder" in self.skipped:
            tail += "; linked folders are not followed"
        n = self.n_skipped
        return f"skipped {n} entr{'ies' if n > 1 else 'y'} in {self.folder} ({', '.join(parts)}{tail})"


def _reason(p: Path, recursive: bool) -> str | None:
    """Why an entry is not an image file to list (None: it is one)."""
    try:
        if p.is_symlink():
            try:
                p.resolve(strict=True)
            except FileNotFoundError:
                return "dangling symlink"
            except RuntimeError:  # Python 3.11 reports a loop this way
                return "symlink loop"
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return "symlink loop"
                raise
        if p.is_dir():
            return None if recursive else "subfolder"
        if not p.is_file():
            return "not a regular file"
    except PermissionError:
        raise DbdError(
            f"cannot read '{p}': permission denied; give read and search (x) permission on its folder"
        ) from None
    return None if is_image_file(p) else f"unsupported {p.suffix.lower() or '(no extension)'}"


def scan_folder(
    folder: str | os.PathLike,
    *,
    exts: tuple[str, ...] | None = None,
    recursive: bool = False,
    what: str = "image folder",
) -> FolderScan:
    """List the image files of a folder and every entry skipped, with the reason.

    Parameters
    ----------
    folder : path-like
    exts : tuple of str, optional
        Lower-case extensions to list (default: every image extension). Image files with another
        extension are neither listed nor skipped (another scan of the folder lists them).
    recursive : bool
        Also list subfolders (stems then include the relative folder, ``sub/name``).
    what : str
        What the folder is, for error messages (e.g. ``"--pred folder"``).

    Raises
    ------
    DbdError
        The folder does not exist, is not a folder or cannot be read (permissions), or two files
        share a stem (``a.png``, ``a.jpg``).
    """
    folder = Path(folder)
    if not folder.exists():
        raise DbdError(f"{what} '{folder}' does not exist; check the path")
    if not folder.is_dir():
        raise DbdError(f"{what} '{folder}' is not a folder; give a folder of images")
    scan = FolderScan(folder)
    found: dict[str, list[Path]] = {}
    pending = [folder]
    while pending:
        here = pending.pop()
        try:
            entries = sorted(here.iterdir())
        except PermissionError:
            raise DbdError(
                f"cannot list {what} '{here}': permission denied; give read and search (x) permission"
            ) from None
        except OSError as exc:
            raise DbdError(f"cannot list {what} '{here}': {exc.strerror}") from None
        for p in entries:
            if p.name.startswith("."):
                continue
            reason = _reason(p, recursive)
            if reason is None and p.is_dir():
                if not p.is_symlink():  # a linked folder could loop back
                    pending.append(p)
                else:
                    scan.skipped.setdefault("linked folder", []).append(p)
                continue
            if reason is not None:
                scan.skipped.setdefault(reason, []).append(p)
                continue
            if exts is not None and p.suffix.lower() not in exts:
                continue
            rel = p.relative_to(folder).with_suffix("")
            found.setdefault(rel.as_posix(), []).append(p)
    dups = {k: v for k, v in found.items() if len(v) > 1}
    if dups:
        example = ", ".join(sorted(q.name for q in dups[sorted(dups)[0]]))
        raise DbdError(
            f"{what} '{folder}' has {len(dups)} duplicate stems (e.g. {example}); keep one file per name"
        )
    scan.images = {k: v[0] for k, v in sorted(found.items())}
    return scan


def list_images(
    folder: str | os.PathLike, *, recursive: bool = False, what: str = "image folder"
) -> dict[str, Path]:
    """Map file stem -> path for every image file in a folder; say what was skipped.

    Entries that are not image files (other extensions, dangling symlinks, subfolders when not
    ``recursive``) are skipped and counted in one note (:mod:`dbdbench.notes`); hidden entries are
    ignored.

    Parameters
    ----------
    folder : path-like
        Folder to list.
    recursive : bool
        Also list subfolders (stems then include the relative folder, ``sub/name``).
    what : str
        What the folder is, for error messages (e.g. ``"--pred folder"``).

    Returns
    -------
    dict of str to Path
        Sorted by stem.

    Raises
    ------
    DbdError
        See :func:`scan_folder`.
    """
    scan = scan_folder(folder, recursive=recursive, what=what)
    message = scan.note()
    if message:
        note(f"{what}: {message}")
    return scan.images


def strip_affixes(stem: str, prefix: str = "", suffix: str = "") -> str:
    """Remove a prefix and a suffix from a file stem when present."""
    if prefix and stem.startswith(prefix):
        stem = stem[len(prefix) :]
    if suffix and stem.endswith(suffix):
        stem = stem[: -len(suffix)]
    return stem


@dataclass
class Pairing:
    """Result of pairing two folders by stem.

    Attributes
    ----------
    pairs : list of (str, Path, Path)
        (name, path in the first folder, path in the second folder), sorted by name.
    missing : list of str
        Names present in the reference (second) folder but not in the first.
    extra : list of str
        Names present in the first folder but not in the reference.
    """

    pairs: list[tuple[str, Path, Path]]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def pair_by_stem(
    items: dict[str, Path],
    reference: dict[str, Path],
    *,
    prefix: str = "",
    suffix: str = "",
    allow_missing: bool = False,
    what: str = "predictions",
    ref_what: str = "ground-truth masks",
) -> Pairing:
    """Pair ``items`` (e.g. predictions) with ``reference`` (e.g. GT) by stem.

    Parameters
    ----------
    items, reference : dict of str to Path
        As returned by :func:`list_images` (or built from a dataset).
    prefix, suffix : str
        Removed from the stems of ``items`` before matching (``_HiFSTBlurMap``).
    allow_missing : bool
        When False, any reference name without an item is an error. Extra items are always an error.

    Raises
    ------
    DbdError
        Unmatched names, or two items that map to the same name after stripping.
    """
    stripped: dict[str, Path] = {}
    for stem, path in items.items():
        name = strip_affixes(stem, prefix, suffix)
        if name in stripped:
            raise DbdError(
                f"{what} '{stripped[name].name}' and '{path.name}' both map to '{name}'; "
                "remove one or change --pred-prefix/--pred-suffix"
            )
        stripped[name] = path
    missing = sorted(set(reference) - set(stripped))
    extra = sorted(set(stripped) - set(reference))
    if extra:
        hint = "" if (prefix or suffix) else "; use --pred-prefix/--pred-suffix if names carry one"
        raise DbdError(f"{len(extra)} {what} have no matching {ref_what}: {_first(extra)}{hint}")
    if missing and not allow_missing:
        raise DbdError(
            f"{len(missing)} {ref_what} have no matching {what}: {_first(missing)}; "
            "add them or pass --allow-missing"
        )
    pairs = [(n, stripped[n], reference[n]) for n in sorted(reference) if n in stripped]
    if not pairs:
        raise DbdError(f"no {what} match the {ref_what}; check the folders and name affixes")
    return Pairing(pairs=pairs, missing=missing, extra=extra)
