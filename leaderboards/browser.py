"""The map browser of the leaderboard page: page through a group's images, photo | GT | each
method's map, with each method's per-image F; sort by any method's F or by disagreement.

The leaderboard knows only result files: each result records where its maps and GT were
(``sources`` in the result format), and ``leaderboard --images DIR`` gives the photos (``--pred
NAME=DIR`` points a method at a folder that has moved). Thumbnails (at most :data:`THUMB` pixels a
side) and larger views (at most :data:`FULL`) are made once per build, on worker processes, into
``browser/<dataset>/`` beside ``index.html``; the page holds one compact JSON blob per group (a
name, a file number and one score per method per image) and loads the images lazily, one page of
rows at a time, so it stays small and fast with thousands of images and makes no network request.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dbdbench.errors import DbdError
from dbdbench.notes import note

#: Longest side of a thumbnail, and of the view a click opens, in pixels.
THUMB = 160
FULL = 1024
#: Rows per page.
PAGE_ROWS = 20
#: The subfolder of the leaderboard that holds the browser's images.
FOLDER = "browser"


@dataclass
class Column:
    """One column of a browser: a photo, the GT or a method's maps.

    Attributes
    ----------
    title : str
    kind : {"photo", "gt", "map"}
    files : dict of str to Path
        Image name -> file.
    folder : str
        Subfolder of the dataset's browser folder holding its images.
    polarity : str or None
        For the GT: how it is stored (shown white = in-focus).
    """

    title: str
    kind: str
    files: dict[str, Path]
    folder: str
    polarity: str | None = None


@dataclass
class Browser:
    """The browser of one group (protocol, dataset): its columns and per-image scores.

    Attributes
    ----------
    slug : str
        The group's slug (the page section it belongs to).
    dataset : str
        Folder name under ``browser/`` (shared by the groups of one dataset).
    names : list of str
        The images, sorted.
    columns : list of Column
    methods : list of str
        Method labels of the scores, in order.
    scores : dict of str to dict of str to float
        Method -> name -> the protocol's per-image F.
    score_label : str
    """

    slug: str
    dataset: str
    names: list[str]
    columns: list[Column]
    methods: list[str]
    scores: dict[str, dict[str, float]]
    score_label: str = "F"
    numbers: dict[str, int] = field(default_factory=dict)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _folder_key(path: str | os.PathLike) -> str:
    return hashlib.sha1(os.fsencode(os.path.abspath(path))).hexdigest()[:10]


def _list_maps(folder: str, names: set[str], prefix: str, suffix: str) -> dict[str, Path]:
    from dbdbench.pairing import list_images, strip_affixes

    items = list_images(folder, what="--pred folder")
    return {n: p for k, p in items.items() if (n := strip_affixes(k, prefix, suffix)) in names}


def collect(
    group,
    images_dir: str | os.PathLike | None = None,
    pred_dirs: Mapping[str, str | os.PathLike] | None = None,
) -> tuple[Browser | None, list[str]]:
    """The browser of one leaderboard group, from its user results' recorded sources.

    Parameters
    ----------
    group : Group
    images_dir : path-like, optional
        Folder of the photos (by stem); without it the browser has no photo column.
    pred_dirs : mapping of str to path-like, optional
        Method -> map folder, replacing the folder its result recorded.

    Returns
    -------
    browser : Browser or None
        None when the group has no image to show (no recorded or given folder exists).
    notes : list of str
        One line per folder that was recorded but is not there any more.
    """
    from dbdbench.leaderboards.gallery import score_keys
    from dbdbench.pairing import list_images

    pred_dirs = dict(pred_dirs or {})
    try:
        f_key = score_keys(group.protocol)["f"]
    except DbdError:  # a protocol (a plug-in's) without a per-image F: its tables, no browser
        return None, [f"protocol '{group.protocol}' has no per-image F: no map browser for its results"]
    users = [r for r in group.results if r.source == "user" and r.per_image]
    notes: list[str] = []
    names = sorted({row["name"] for r in users for row in r.per_image})
    if not names:
        return None, notes
    wanted = set(names)
    columns: list[Column] = []
    if images_dir is not None:
        photos = {n: p for n, p in list_images(images_dir, what="--images folder").items() if n in wanted}
        if photos:
            columns.append(Column("Image", "photo", photos, "image"))
    gt_cols = []
    scores, methods = {}, []
    for r in users:
        src = r.sources or {}
        folder = pred_dirs.get(r.method) or src.get("pred_dir")
        if folder and os.path.isdir(folder):
            maps = _list_maps(folder, wanted, src.get("pred_prefix", ""), src.get("pred_suffix", ""))
            if maps:
                columns.append(Column(r.label, "map", maps, "m-" + _folder_key(folder)))
        elif folder:
            notes.append(
                f"map browser: the maps of '{r.method}' are no longer in '{folder}' (recorded in "
                f"'{r.path}'); pass --pred {r.method}=DIR to show them"
            )
        gt = src.get("gt_dir")
        if gt and not gt_cols:
            if os.path.isdir(gt):
                files = {n: p for n, p in list_images(gt, what="--gt folder").items() if n in wanted}
                gt_cols.append(Column("GT", "gt", files, "gt", src.get("gt_polarity", "focus-white")))
            else:
                line = f"map browser: the GT masks are no longer in '{gt}' (recorded in '{r.path}')"
                notes += [line] if line not in notes else []
        scores[r.label] = {row["name"]: row.get(f_key) for row in r.per_image}
        methods.append(r.label)
    columns[1 if columns and columns[0].kind == "photo" else 0 : 0] = gt_cols
    if not columns:
        return None, notes
    numbers = {n: i for i, n in enumerate(names)}
    label = get_label(group.protocol, f_key)
    return Browser(
        group.slug, _slug(group.dataset_label), names, columns, methods, scores, label, numbers
    ), notes


def get_label(protocol: str, key: str) -> str:
    """A short label of a per-image score key (``maxF``, ``F``)."""
    from dbdbench.metrics.protocols import get_protocol

    proto = get_protocol(protocol)
    for m in proto.metrics:
        if m.key == key or m.key.endswith("_" + key):
            return m.label
    return key


def image_files(browser: Browser, column: Column, name: str) -> tuple[str, str]:
    """The thumbnail and large view of one cell, relative to the leaderboard folder."""
    ext = ".jpg" if column.kind == "photo" else ".png"
    base = f"{FOLDER}/{browser.dataset}/{column.folder}/{browser.numbers[name]}"
    return base + ext, base + "-full" + ext


def _bounded(a: np.ndarray, side: int) -> np.ndarray:
    import cv2

    h, w = a.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return a
    return cv2.resize(a, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def make_pictures(task: tuple[str, str, str | None, str, str]) -> None:
    """Write one cell's thumbnail and large view (a worker task): (source, kind, polarity, thumb, full)."""
    from dbdbench.imageio import read_rgb, write_image
    from dbdbench.leaderboards.gallery import _display_grey

    src, kind, polarity, thumb, full = task
    a = read_rgb(src) if kind == "photo" else _display_grey(Path(src), polarity)
    big = _bounded(a, FULL)
    write_image(full, big, quality=90)
    write_image(thumb, _bounded(big, THUMB), quality=85)


def write_pictures(browsers: Sequence[Browser], out: Path, workers: int = 1) -> list[Path]:
    """Make every browser's thumbnails and large views once (shared by the groups of a dataset).

    Returns
    -------
    list of Path
        The files written.
    """
    from dbdbench.executor import run_tasks

    tasks, seen = [], set()
    for b in browsers:
        for c in b.columns:
            for name, src in c.files.items():
                thumb, full = image_files(b, c, name)
                if thumb in seen:
                    continue
                seen.add(thumb)
                tasks.append((str(src), c.kind, c.polarity, str(out / thumb), str(out / full)))
    run_tasks(make_pictures, tasks, workers=workers, desc="browser thumbnails")
    return [Path(p) for t in tasks for p in t[3:]]


def browser_json(browser: Browser) -> str:
    """The compact JSON blob of one browser.

    ``cols``: the photo and GT columns (title, kind, folder); ``methods``: per method its label and
    map folder (null when its maps are not available); ``rows``: per image ``[name, number,
    [score per method], [folders without this image]]`` (the last only when some lack it). Paths
    follow from the numbers: ``<base><folder>/<number>[-full].<ext>``. Scores are rounded to 4
    decimals (the page prints 3); a missing score is null.
    """
    maps = {c.title: c for c in browser.columns if c.kind == "map"}
    cols = [{"t": c.title, "k": c.kind, "d": c.folder} for c in browser.columns if c.kind != "map"]
    methods = [{"t": m, "d": maps[m].folder if m in maps else None} for m in browser.methods]
    rows = []
    for n in browser.names:
        row = [n, browser.numbers[n], [_round(browser.scores[m].get(n)) for m in browser.methods]]
        absent = [c.folder for c in browser.columns if n not in c.files]
        if absent:
            row.append(absent)
        rows.append(row)
    data = {
        "base": f"{FOLDER}/{browser.dataset}/",
        "cols": cols,
        "methods": methods,
        "label": browser.score_label,
        "page": PAGE_ROWS,
        "rows": rows,
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("</", "<\\/")


def _round(v) -> float | None:
    if v is None or not np.isfinite(v):
        return None
    return round(float(v), 4)


def check_methods(results, pred_dirs) -> None:
    """Refuse a ``--pred NAME=DIR`` whose NAME is the method of no user result.

    Raises
    ------
    DbdError
        Naming the method and listing the known ones.
    """
    from dbdbench.errors import DbdError

    known = {r.method for r in results if r.source == "user"}
    for m in pred_dirs or {}:
        if m not in known:
            raise DbdError(
                f"--pred {m}=...: no result has method '{m}'; the methods are {', '.join(sorted(known))}"
            )


def collect_all(groups, images_dir=None, pred_dirs=None) -> tuple[dict[str, Browser], list[str]]:
    """:func:`collect` for every group; each note said once (also as a :func:`~dbdbench.notes.note`)."""
    browsers, notes = {}, []
    for g in groups:
        b, ns = collect(g, images_dir, pred_dirs)
        if b is not None:
            browsers[g.slug] = b
        for n in ns:
            if n not in notes:
                notes.append(n)
                note(n)
    return browsers, notes
