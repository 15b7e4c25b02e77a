"""The visual comparison figure: rows of photos, columns photo | each method's map | ground truth.

The figure every defocus-blur-detection paper prints first (BTBNet, Zhao et al., CVPR 2018, Fig. 7;
BTBCRL, Zhao et al., TPAMI 2020, Figs. 9 and 10; DeFusionNet, Tang et al., CVPR 2019, Fig. 6): one
row per image, the source photo, the map of each method and the ground truth side by side, maps
white = in-focus. Extra folders of maps (BTBCRL's maps after each CRLNet step) are more ``--pred``
columns.

The grid is composed once as one raster at :data:`DPI` (each photo, map and mask resized to its cell
with area averaging: large photos are downscaled for the figure only; a cell keeps its photo's
aspect ratio) and drawn as a single image with the method names and per-cell scores as text, so the
PNG, SVG and PDF are small and fast to write, and the text stays vector text in SVG and PDF.

Scores are the protocol's per-image F-measure or MAE, computed by
:func:`dbdbench.evaluation.score_items`, the same code as ``dbdbench evaluate``; pairing by stem and
the GT polarity follow ``evaluate`` too (:func:`dbdbench.pairing.pair_by_stem`,
:func:`dbdbench.metrics.protocol.focus_levels`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from dbdbench.errors import DbdError
from dbdbench.notes import note

#: Paper column widths in inches: one column and the full text width of a two-column paper (IEEE).
WIDTHS = {"single": 3.5, "double": 7.16}
PICKS = ("hardest", "disagree", "random")
SCORES = ("f", "mae")
DPI = 300
#: White space between cells, in pixels at :data:`DPI` (about 0.4 mm).
GAP = 5
HEADER_PT = 7.0
SCORE_PT = 5.5
FORMATS = ("png", "svg", "pdf")
#: Grey of the one-pixel frame around each cell.
FRAME = 160


def _px(points: float) -> int:
    return round(points / 72 * DPI)


def score_keys(protocol: str) -> dict[str, str]:
    """The per-image keys of the protocol's headline F and MAE: ``{"f": key, "mae": key}``.

    The per-image F is the headline F's per-image form (``max_f`` for ``sod``, ``best_f`` for
    ``zhao`` whose headline is ``mean_best_f``).

    Raises
    ------
    DbdError
        A protocol without a per-image F or MAE.
    """
    from dbdbench.metrics.protocols import get_protocol

    proto = get_protocol(protocol)
    keys = proto.per_image_keys
    f = [k for k in keys if proto.headline_f == k or proto.headline_f.endswith("_" + k)]
    if not f or proto.headline_mae not in keys:
        raise DbdError(f"protocol '{protocol}' has no per-image F and MAE; choose another --protocol")
    return {"f": f[0], "mae": proto.headline_mae}


@dataclass
class Sources:
    """Where the figure's files are, by image name (the GT's stem).

    Attributes
    ----------
    gt : dict of str to Path
        Name -> GT mask, as stored.
    polarity : {"focus-white", "blurred-white"}
        How the GT masks are stored.
    photos : dict of str to Path
        Name -> photo.
    maps : dict of str to dict of str to Path
        Method -> name -> map (only the names the method has a map for).
    photos_dir : str
        Where the photos were looked for, for messages.
    pred_dirs : dict of str to str
        Method -> its map folder, for messages.
    """

    gt: dict[str, Path]
    polarity: str
    photos: dict[str, Path]
    maps: dict[str, dict[str, Path]]
    photos_dir: str = ""
    pred_dirs: dict[str, str] = field(default_factory=dict)

    def complete(self) -> list[str]:
        """Names with a photo and a map of every method, sorted."""
        return sorted(n for n in self.gt if n in self.photos and all(n in m for m in self.maps.values()))


def gather_sources(
    preds: Mapping[str, str | os.PathLike],
    images_dir: str | os.PathLike | None,
    gt_dir: str | os.PathLike | None = None,
    *,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    split: str | None = None,
    gt_polarity: str = "focus-white",
    pred_prefix: str = "",
    pred_suffix: str = "",
) -> Sources:
    """List the GT (as ``evaluate`` does), the photos and every method's maps, paired by stem.

    Parameters
    ----------
    preds : mapping of str to path-like
        Method name -> folder of maps (high = in-focus), in column order.
    images_dir : path-like, optional
        Folder of photos; with ``dataset``, the dataset's own photos are used when None.
    gt_dir, dataset, root, split, gt_polarity, pred_prefix, pred_suffix
        As for :func:`dbdbench.evaluate_many`.

    Raises
    ------
    DbdError
        Missing or empty folders, maps named like no GT mask, no photos.
    """
    from dbdbench.evaluation.api import _reference
    from dbdbench.pairing import list_images, pair_by_stem, strip_affixes

    if not preds:
        raise DbdError("give at least one --pred NAME=DIR")
    ref = _reference(gt_dir, dataset, root, split, gt_polarity)
    reference, polarity = ref.masks, ref.polarity
    if images_dir is not None:
        photos = list_images(images_dir, what="--images folder")
        where = str(images_dir)
    elif dataset is not None:
        from dbdbench.datasets import resolve

        index = resolve(dataset, root, split, note_skipped=False)
        photos = {s.name: s.image_path for s in index.samples if s.image_path is not None}
        where = f"dataset '{dataset}' in '{root}'"
    else:
        raise DbdError("give the photos: --images DIR")
    if not photos:
        raise DbdError(f"no photos in {where}; point --images at the photos of the GT masks")
    maps = {}
    for method, folder in preds.items():
        items = list_images(folder, what="--pred folder")
        if not items:
            raise DbdError(f"--pred folder '{folder}' has no images; point it at the maps of '{method}'")
        if dataset is not None and split is not None:  # maps of the whole dataset: keep the split's
            items = {
                k: v for k, v in items.items() if strip_affixes(k, pred_prefix, pred_suffix) in reference
            }
        try:
            pairing = pair_by_stem(
                items, reference, prefix=pred_prefix, suffix=pred_suffix, allow_missing=True
            )
        except DbdError as exc:
            raise DbdError(f"method '{method}': {exc}") from None
        maps[method] = {n: p for n, p, _ in pairing.pairs}
    return Sources(
        gt=dict(reference),
        polarity=polarity,
        photos=photos,
        maps=maps,
        photos_dir=where,
        pred_dirs={m: str(d) for m, d in preds.items()},
    )


def score_images(
    sources: Sources, names: Sequence[str], protocol: str = "sod", workers: int = 1
) -> dict[str, dict[str, dict[str, float]]]:
    """Per-image F and MAE of every method, with ``evaluate``'s own scoring (one protocol).

    Returns
    -------
    dict
        Name -> method -> ``{"f": float, "mae": float}``.
    """
    from dbdbench.evaluation.scoring import score_items
    from dbdbench.executor import run_tasks

    keys = score_keys(protocol)
    methods = list(sources.maps)
    items = [(n, str(sources.gt[n]), tuple(str(sources.maps[m][n]) for m in methods)) for n in names]
    size = max(1, -(-len(items) // (4 * workers))) if workers > 1 else len(items) or 1
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    func = partial(score_items, protocols=(protocol,), polarity=sources.polarity, resize=True)
    done = run_tasks(func, chunks, workers=workers, desc=f"score {protocol}")
    out = {}
    for chunk, scored in zip(chunks, done, strict=True):
        for (name, _, _), gt_score in zip(chunk, scored, strict=True):
            out[name] = {
                m: {what: float(entry.records[0][key]) for what, key in keys.items()}
                for m, entry in zip(methods, gt_score.maps, strict=True)
            }
    return out


def pick_names(
    scores: Mapping[str, Mapping[str, Mapping[str, float]]], how: str, rows: int, seed: int = 0
) -> list[str]:
    """Choose ``rows`` images: ``hardest`` (lowest mean per-image F over the methods, first),
    ``disagree`` (largest spread max - min of the methods' F, first) or ``random`` (seeded).

    Ties are broken by name. Fewer images than ``rows``: all of them (the caller says so).

    Raises
    ------
    DbdError
        An unknown ``how``, or ``disagree`` with one method.
    """
    names = sorted(scores)
    if how == "random":
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(names))[:rows]
        return [names[i] for i in idx]
    if how not in PICKS:
        raise DbdError(f"--pick must be one of {', '.join(PICKS)}, got '{how}'")
    f = {n: [s["f"] for s in scores[n].values()] for n in names}
    if how == "hardest":
        key = {n: float(np.mean(v)) for n, v in f.items()}
    else:
        if names and len(f[names[0]]) < 2:
            raise DbdError("--pick disagree compares methods: give at least two --pred NAME=DIR")
        key = {n: -(max(v) - min(v)) for n, v in f.items()}
    return sorted(names, key=lambda n: (key[n], n))[:rows]


@dataclass
class Cell:
    """One picture of the grid, already 8-bit: RGB photo, or grey map / mask (white = in-focus)."""

    pixels: np.ndarray
    text: str = ""


@dataclass
class Layout:
    """Where the grid put each cell, in pixels of the PNG (x0, y0, x1, y1), row by row."""

    width: int
    height: int
    boxes: list[list[tuple[int, int, int, int]]]


def _fit(a: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    if a.shape[1] == w and a.shape[0] == h:
        return a
    shrink = a.shape[1] > w or a.shape[0] > h
    return cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def compose(
    rows: Sequence[Sequence[Cell]], headers: Sequence[str], width: str = "double", score_band: bool = False
) -> tuple[np.ndarray, Layout]:
    """The grid as one RGB raster: a header band, then per row its cells side by side.

    Each row is as tall as its first cell (the photo) is at the common cell width, so every cell
    keeps that photo's aspect ratio; the other cells of the row are resized to it.

    Parameters
    ----------
    rows : sequence of sequence of Cell
        Equal lengths (one cell per column).
    headers : sequence of str
        Column names (used only to size the header band).
    width : {"single", "double"}
    score_band : bool
        Leave a text band under each row for the cells' texts.

    Returns
    -------
    mosaic : ndarray, shape (H, W, 3), dtype uint8
        White background; W = the paper width at :data:`DPI`.
    layout : Layout
    """
    if width not in WIDTHS:
        raise DbdError(f"--width must be one of {', '.join(WIDTHS)}, got '{width}'")
    total = round(WIDTHS[width] * DPI)
    n = len(headers)
    cell_w = (total - GAP * (n - 1)) // n
    left = max(1, (total - (cell_w * n + GAP * (n - 1))) // 2)
    cell_w -= 1 if left + cell_w * n + GAP * (n - 1) >= total else 0
    header = _px(HEADER_PT * 1.6)
    band = _px(SCORE_PT * 1.5) if score_band else 0
    heights = []
    for cells in rows:
        ph, pw = cells[0].pixels.shape[:2]
        heights.append(max(1, round(cell_w * ph / pw)))
    height = header + sum(h + band + GAP for h in heights)
    mosaic = np.full((height, total, 3), 255, np.uint8)
    boxes = []
    y = header
    for cells, h in zip(rows, heights, strict=True):
        row_boxes = []
        for j, cell in enumerate(cells):
            x = left + j * (cell_w + GAP)
            pix = _fit(cell.pixels, cell_w, h)
            mosaic[y - 1 : y + h + 1, x - 1 : x + cell_w + 1] = FRAME  # white maps stand out from the page
            mosaic[y : y + h, x : x + cell_w] = pix if pix.ndim == 3 else pix[..., None]
            row_boxes.append((x, y, x + cell_w, y + h))
        boxes.append(row_boxes)
        y += h + band + GAP
    return mosaic, Layout(total, height, boxes)


def gallery_figure(
    rows: Sequence[Sequence[Cell]], headers: Sequence[str], width: str = "double", score_band: bool = False
) -> tuple[Figure, Layout]:
    """The comparison figure: :func:`compose`'s raster with the column names above and each cell's
    text below it (Agg canvas, no pyplot).

    Returns
    -------
    fig : Figure
        Exactly ``layout.width`` x ``layout.height`` pixels at :data:`DPI`.
    layout : Layout
    """
    mosaic, layout = compose(rows, headers, width, score_band)
    texts = [[cell.text for cell in cells] for cells in rows]
    return _draw(mosaic, layout, headers, texts, score_band), layout


def _draw(mosaic: np.ndarray, layout: Layout, headers, texts, score_band: bool) -> Figure:
    from dbdbench.leaderboards.style import RC

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(layout.width / DPI, layout.height / DPI), dpi=DPI)
        # figimage puts the raster's pixels on the canvas as they are (imshow would resample it)
        fig.figimage(mosaic, xo=0, yo=0, origin="upper")
        ax = fig.add_axes((0, 0, 1, 1))
        ax.patch.set_visible(False)
        ax.set_xlim(0, layout.width)
        ax.set_ylim(layout.height, 0)
        ax.set_axis_off()
        first = layout.boxes[0] if layout.boxes else []
        for (x0, y0, x1, _), name in zip(first, headers, strict=False):
            ax.text((x0 + x1) / 2, y0 / 2, name, ha="center", va="center", fontsize=HEADER_PT)
        band = _px(SCORE_PT * 1.5)
        for row, boxes in zip(texts, layout.boxes, strict=True):
            for text, (x0, _, x1, y1) in zip(row, boxes, strict=True):
                if text and score_band:
                    ax.text((x0 + x1) / 2, y1 + band / 2, text, ha="center", va="center", fontsize=SCORE_PT)
    return fig


def _render(job) -> bytes:
    """One format of the figure (a worker task): (mosaic, layout, headers, texts, score_band, fmt)."""
    from dbdbench.leaderboards.plots import figure_bytes

    *parts, fmt = job
    fig = _draw(*parts)
    if fmt == "png":
        return png_bytes(fig)
    return svg_bytes(fig) if fmt == "svg" else figure_bytes(fig, fmt, dpi=DPI)


def _display_grey(path: Path, polarity: str | None = None) -> np.ndarray:
    """A map or mask as 8-bit grey, white = in-focus (a GT inverted by its polarity; the 0/1 rule)."""
    from dbdbench.evaluation.checks import read_levels
    from dbdbench.metrics.protocol import focus_levels

    levels, _ = read_levels(path, mask=polarity is not None)
    if polarity is not None:
        levels = focus_levels(levels, polarity)
    if levels.dtype == np.uint16:
        levels = ((levels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return levels


def _row_cells(args) -> tuple[list[Cell], list[str], str]:
    """Read one row's files (a worker task): the cells, the files of another size than the photo,
    and the photo's size."""
    from dbdbench.imageio import read_rgb

    name, photo, maps, gt, polarity, texts = args
    rgb = read_rgb(photo)
    cells = [Cell(rgb, name if texts else "")]
    other = []
    for path, text in zip(maps, texts or [""] * len(maps), strict=True):
        grey = _display_grey(path)
        if grey.shape != rgb.shape[:2]:
            other.append(f"'{path}' is {grey.shape[1]}x{grey.shape[0]}")
        cells.append(Cell(grey, text))
    mask = _display_grey(gt, polarity)
    if mask.shape != rgb.shape[:2]:
        other.append(f"'{gt}' is {mask.shape[1]}x{mask.shape[0]}")
    cells.append(Cell(mask))
    return cells, other, f"{rgb.shape[1]}x{rgb.shape[0]}"


@dataclass
class Gallery:
    """What :func:`make_gallery` wrote.

    Attributes
    ----------
    files : dict of str to Path
        Format (``png``, ``svg``, ``pdf``) -> file.
    names : list of str
        The images shown, top to bottom.
    methods : list of str
        The map columns, left to right.
    scores : dict
        Name -> method -> ``{"f", "mae"}`` for the images scored (empty when nothing was scored).
    layout : Layout
    """

    files: dict[str, Path]
    names: list[str]
    methods: list[str]
    scores: dict
    layout: Layout


def output_files(out: str | os.PathLike) -> list[Path]:
    """The three files a figure ``out`` (``NAME.png``) writes: ``NAME.png``, ``.svg``, ``.pdf``."""
    out = Path(out)
    return [out.with_suffix(f".{fmt}") for fmt in FORMATS]


def make_gallery(
    preds: Mapping[str, str | os.PathLike],
    out: str | os.PathLike,
    *,
    images_dir: str | os.PathLike | None = None,
    gt_dir: str | os.PathLike | None = None,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    split: str | None = None,
    gt_polarity: str = "focus-white",
    pred_prefix: str = "",
    pred_suffix: str = "",
    names: Sequence[str] | None = None,
    pick: str = "hardest",
    rows: int = 4,
    seed: int = 0,
    protocol: str = "sod",
    score: str | None = None,
    width: str = "double",
    workers: int = 1,
) -> Gallery:
    """Pick the images, read and score them, draw the comparison figure, write PNG, SVG and PDF.

    Parameters
    ----------
    preds : mapping of str to path-like
        Method name -> folder of maps, in column order (BTBCRL step maps: one entry per step).
    out : path-like
        ``NAME.png``; ``NAME.svg`` and ``NAME.pdf`` are written beside it (atomically, after
        everything was read and drawn).
    images_dir, gt_dir, dataset, root, split, gt_polarity, pred_prefix, pred_suffix
        See :func:`gather_sources`.
    names : sequence of str, optional
        The images to show, in order (GT stems); otherwise ``pick``.
    pick : {"hardest", "disagree", "random"}
        See :func:`pick_names`; chooses among the images that have a photo and every method's map.
    rows : int
        Images to pick (at least 1).
    seed : int
        Seed of ``pick="random"``.
    protocol : str
        The protocol of the per-image scores (and of ``hardest`` / ``disagree``).
    score : {"f", "mae"} or None
        Print the protocol's per-image F or MAE under each map.
    width : {"single", "double"}
        3.5 in or 7.16 in wide.
    workers : int
        Local processes for scoring and reading.

    Returns
    -------
    Gallery

    Raises
    ------
    DbdError
        Bad folders (see :func:`gather_sources`), a named image without GT, photo or map (naming the
        file it looked for), ``rows`` < 1, unknown ``pick``, ``score`` or ``width``.
    """
    from dbdbench.atomic import write_bytes_atomic
    from dbdbench.executor import run_tasks

    if score is not None and score not in SCORES:
        raise DbdError(f"--score must be one of {', '.join(SCORES)}, got '{score}'")
    if width not in WIDTHS:
        raise DbdError(f"--width must be one of {', '.join(WIDTHS)}, got '{width}'")
    if rows < 1:
        raise DbdError(f"--rows must be at least 1, got {rows}")
    if Path(out).suffix.lower() != ".png":
        raise DbdError(f"--out '{out}' must end in .png; the .svg and .pdf are written beside it")
    if pick not in PICKS:
        raise DbdError(f"--pick must be one of {', '.join(PICKS)}, got '{pick}'")
    if pick == "disagree" and not names and len(preds) < 2:
        raise DbdError("--pick disagree compares methods: give at least two --pred NAME=DIR")
    score_keys(protocol)
    src = gather_sources(
        preds, images_dir, gt_dir, dataset=dataset, root=root, split=split, gt_polarity=gt_polarity,
        pred_prefix=pred_prefix, pred_suffix=pred_suffix,
    )  # fmt: skip
    methods = list(src.maps)
    if names:
        chosen = list(dict.fromkeys(names))
        for n in chosen:
            _check_named(src, n)
        scores = score_images(src, chosen, protocol, workers) if score else {}
    else:
        candidates = src.complete()
        if not candidates:
            raise DbdError(
                f"no image has a photo in {src.photos_dir} and a map of every method; check the folders"
            )
        left = len(src.gt) - len(candidates)
        if left:
            note(f"{left} of {len(src.gt)} images lack a photo or a map of some method and are not picked")
        if rows > len(candidates):
            note(f"--rows {rows}: only {len(candidates)} images can be picked; showing all of them")
        if pick == "random":
            chosen = pick_names({n: {} for n in candidates}, pick, rows, seed)
            scores = score_images(src, chosen, protocol, workers) if score else {}
        else:
            scores = score_images(src, candidates, protocol, workers)
            chosen = pick_names(scores, pick, rows, seed)
    label = {"f": "F", "mae": "MAE"}.get(score or "", "")
    tasks = []
    for n in chosen:
        texts = [f"{label} {scores[n][m][score]:.3f}" for m in methods] if score else None
        tasks.append((n, src.photos[n], [src.maps[m][n] for m in methods], src.gt[n], src.polarity, texts))
    read = run_tasks(_row_cells, tasks, workers=workers, desc="read images")
    other = [(o, size) for _, found, size in read for o in found]
    if other:
        (what, size), k = other[0], len(other)
        note(
            f"{k} map or mask file{'s' if k > 1 else ''} differ in size from the photo (e.g. {what}, photo "
            f"{size}): resized for the figure"
        )
    rows_read = [cells for cells, _, _ in read]
    headers = ["Image", *methods, "GT"]
    mosaic, layout = compose(rows_read, headers, width, bool(score))
    texts = [[cell.text for cell in cells] for cells in rows_read]
    # the three formats are independent renderings of the same raster: one task each
    jobs = [(mosaic, layout, headers, texts, bool(score), fmt) for fmt in FORMATS]
    data = run_tasks(_render, jobs, workers=min(workers, len(FORMATS)), desc="draw")
    files = {
        fmt: write_bytes_atomic(p, b) for fmt, p, b in zip(FORMATS, output_files(out), data, strict=True)
    }
    return Gallery(files=files, names=chosen, methods=methods, scores=scores, layout=layout)


def _check_named(src: Sources, name: str) -> None:
    if name not in src.gt:
        shown = ", ".join(sorted(src.gt)[:5])
        raise DbdError(f"--stems: no GT mask is named '{name}' (the GT has {shown}, ...); check the name")
    if name not in src.photos:
        raise DbdError(f"--stems: no photo named '{name}' in {src.photos_dir}; add it or drop the name")
    for m, maps in src.maps.items():
        if name not in maps:
            raise DbdError(
                f"--stems: method '{m}' has no map named '{name}' in '{src.pred_dirs[m]}'; "
                "add it or drop the name"
            )


def _png(rgb: np.ndarray) -> bytes:
    """Lossless PNG of an RGB raster (deflate level 3: most of level 9's size, a fraction of its time)."""
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise DbdError("internal: OpenCV could not encode the figure as PNG")
    return buf.tobytes()


def png_bytes(fig: Figure) -> bytes:
    """The PNG of a :func:`gallery_figure`: its text drawn by Agg on a transparent canvas and laid
    over the raster in numpy (Agg would resample the whole raster to draw it), then encoded by
    OpenCV; the same pixels as Agg's rendering of the figure, in a fraction of the time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from dbdbench.leaderboards.style import RC

    image = fig.images[0]
    mosaic = np.asarray(image.get_array())
    image.set_visible(False)
    fig.patch.set_alpha(0)
    try:
        with matplotlib.rc_context(RC):
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            text = np.asarray(canvas.buffer_rgba())
    finally:
        image.set_visible(True)
        fig.patch.set_alpha(1)
    if text.shape[:2] != mosaic.shape[:2]:
        raise DbdError(f"internal: text layer {text.shape[:2]} differs from the raster {mosaic.shape[:2]}")
    alpha = text[..., 3:4].astype(np.float32) / 255
    out = mosaic.astype(np.float32) * (1 - alpha) + text[..., :3].astype(np.float32) * alpha
    return _png(np.rint(out).astype(np.uint8))


def svg_bytes(fig: Figure) -> bytes:
    """The SVG of a :func:`gallery_figure`: matplotlib's SVG of the text (vector, fonts as text) with
    the raster inserted as one PNG ``<image>`` below it, encoded by OpenCV (matplotlib would resample
    and re-encode the whole raster)."""
    import base64

    from dbdbench.leaderboards.plots import figure_bytes

    image = fig.images[0]
    mosaic = np.asarray(image.get_array())
    image.set_visible(False)
    fig.patch.set_visible(False)
    try:
        text = figure_bytes(fig, "svg", dpi=DPI).decode("utf-8")
    finally:
        image.set_visible(True)
        fig.patch.set_visible(True)
    marker = '<g id="figure_1">'
    if marker not in text or "xmlns:xlink" not in text:
        raise DbdError("internal: matplotlib's SVG lacks the figure group; cannot place the raster")
    h, w = mosaic.shape[:2]
    data = base64.b64encode(_png(mosaic)).decode("ascii")
    tag = (
        f'<image x="0" y="0" width="{w / DPI * 72:g}" height="{h / DPI * 72:g}" preserveAspectRatio="none" '
        f'xlink:href="data:image/png;base64,{data}"/>'
    )
    return text.replace(marker, f"{marker}\n  {tag}", 1).encode("utf-8")


def save_figure(fig: Figure, out: str | os.PathLike) -> dict[str, Path]:
    """Render a :func:`gallery_figure` as PNG, SVG and PDF (reproducible bytes), then write the
    three files atomically."""
    from dbdbench.atomic import write_bytes_atomic
    from dbdbench.leaderboards.plots import figure_bytes

    render = {"png": png_bytes, "svg": svg_bytes, "pdf": lambda f: figure_bytes(f, "pdf", dpi=DPI)}
    data = {fmt: render[fmt](fig) for fmt in FORMATS}
    return {fmt: write_bytes_atomic(p, data[fmt]) for fmt, p in zip(FORMATS, output_files(out), strict=True)}
