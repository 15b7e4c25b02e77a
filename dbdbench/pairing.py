"""Listing image folders and pairing files by stem (predictions with ground truth, images with masks)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench.errors import DbdError
from dbdbench.imageio import is_image_file


def _first(names, n: int = 5) -> str:
    names = sorted(names)
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else f" ({len(names)} in all)")


def list_images(
    folder: str | os.PathLike, *, recursive: bool = False, what: str = "image folder"
) -> dict[str, Path]:
    """Map file stem -> path for every image file in a folder.

    Parameters
    ----------
    folder : path-like
        Folder to list. Hidden files and files without an image extension are ignored.
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
        The folder does not exist, is not a folder, or two files share a stem (``a.png``, ``a.jpg``).
    """
    folder = Path(folder)
    if not folder.exists():
        raise DbdError(f"{what} '{folder}' does not exist; check the path")
    if not folder.is_dir():
        raise DbdError(f"{what} '{folder}' is not a folder; give a folder of images")
    found: dict[str, list[Path]] = {}
    paths = folder.rglob("*") if recursive else folder.iterdir()
    for p in paths:
        if p.name.startswith(".") or not p.is_file() or not is_image_file(p):
            continue
        rel = p.relative_to(folder).with_suffix("")
        found.setdefault(rel.as_posix(), []).append(p)
    dups = {k: v for k, v in found.items() if len(v) > 1}
    if dups:
        example = ", ".join(sorted(q.name for q in dups[sorted(dups)[0]]))
        raise DbdError(
            f"{what} '{folder}' has {len(dups)} duplicate stems (e.g. {example}); keep one file per name"
        )
    return {k: v[0] for k, v in sorted(found.items())}


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
