"""Checking a dataset folder against the registry: layout, counts, names, sizes, mask values, polarity.

The polarity check uses a property of defocus photos: the photographer focuses on a subject near the
middle, so the in-focus region covers the centre of the frame more than its border. In all 1000 CUHK
masks (after inversion) the centre is more in focus than the border in 81.5 % of the images; with the
wrong polarity that share drops below one half. It is a statistical test, so it needs
:data:`MIN_POLARITY_MASKS` masks (with the CUHK rate, 20 masks of the right polarity fall below one
half with probability 0.0003); the simulated set (``sim``) is skipped, its polarity is known by
construction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dbdbench.datasets.index import DatasetIndex, Sample, resolve, to_infocus
from dbdbench.datasets.registry import guess_from_names
from dbdbench.errors import DbdError
from dbdbench.executor import run_tasks
from dbdbench.imageio import max_level, read_grey
from dbdbench.polarity import white_means

OK, INFO, PROBLEM = "ok", "info", "PROBLEM"

#: Fewest masks (with centre and border differing) for the polarity check to judge a set.
MIN_POLARITY_MASKS = 20

#: Skip reasons (:class:`dbdbench.pairing.FolderScan`) that mean a file of the set is broken.
BROKEN = ("dangling symlink", "symlink loop", "not a regular file")


@dataclass
class Finding:
    """One line of a verification report: ``level`` is ``ok``, ``info`` or ``PROBLEM``."""

    level: str
    message: str


@dataclass
class VerifyReport:
    """The result of :func:`verify`.

    Attributes
    ----------
    index : DatasetIndex
        The resolved dataset.
    findings : list of Finding
        In report order.
    fractions : ndarray, shape (N,), dtype float64
        In-focus fraction of every readable mask, in sample order.
    """

    index: DatasetIndex
    findings: list[Finding] = field(default_factory=list)
    fractions: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def problems(self) -> list[str]:
        """Messages of the findings that make the check fail."""
        return [f.message for f in self.findings if f.level == PROBLEM]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def add(self, level: str, message: str) -> None:
        self.findings.append(Finding(level, message))

    def render(self) -> str:
        """A readable multi-line report."""
        ix = self.index
        white = white_means(ix.gt_polarity)
        head = f"{ix.name} '{ix.split}' at {ix.root} (masks as stored: white = {white})"
        lines = [head] + [f"  {f.level:<7} {f.message}" for f in self.findings]
        n = len(self.problems)
        lines.append(f"{n} problem{'s' if n != 1 else ''} found" if n else "all checks passed")
        return "\n".join(lines)


def _header_size(path: Path) -> tuple[int, int] | None:
    """(height, width) of an image from its header, after EXIF rotation; None if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


def mask_stats(sample: Sample) -> dict:
    """Per-mask statistics used by :func:`verify` (a top-level function, so workers can run it).

    Returns
    -------
    dict
        ``name``, ``error`` (message or None), ``shape`` (H, W), ``image_shape``, ``mode`` (PIL mode
        of the file), ``binary``, ``fraction`` (in-focus share), ``centre`` and ``border`` (in-focus
        share of the central half box and of the outer tenth ring).
    """
    from PIL import Image

    out: dict = {"name": sample.name, "error": None}
    try:
        grey = read_grey(sample.gt_path)
    except DbdError as exc:
        out["error"] = str(exc)
        return out
    with Image.open(sample.gt_path) as im:
        out["mode"] = im.mode
    out["binary"] = bool(np.all((grey == 0) | (grey == max_level(grey))))
    m = to_infocus(grey, sample.gt_polarity)
    h, w = m.shape
    b = max(1, min(h, w) // 10)
    ring = np.concatenate([m[:b].ravel(), m[-b:].ravel(), m[b:-b, :b].ravel(), m[b:-b, -b:].ravel()])
    out.update(
        shape=(h, w),
        fraction=float(m.mean()),
        centre=float(m[h // 4 : h - h // 4, w // 4 : w - w // 4].mean()),
        border=float(ring.mean()),
        image_shape=_header_size(sample.image_path) if sample.image_path is not None else None,
    )
    return out


def _names(items, n: int = 5) -> str:
    items = [str(i) for i in items]
    shown = ", ".join(items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


def _check_files(rep: VerifyReport) -> None:
    ix = rep.index
    where = f"masks in {ix.gt_dir}" + (f", photos in {ix.image_dir}" if ix.image_dir else "")
    rep.add(OK, f"layout {ix.layout.describe()} found ({where})")
    n = len(ix.samples)
    if ix.expected_count is None:
        if ix.name == "sim":
            rep.add(PROBLEM, f"{ix.root / 'manifest.csv'} is missing or unreadable; re-run generate-sim")
        else:
            rep.add(INFO, f"{n} masks (no expected count for a user folder)")
    elif n == ix.expected_count:
        rep.add(OK, f"{n} masks, as expected")
    else:
        rep.add(
            PROBLEM,
            f"{n} masks in {ix.gt_dir}, expected {ix.expected_count}: the copy is incomplete or mixed",
        )
    if ix.name == "sim" and not (ix.root / "recipe.toml").is_file():
        rep.add(PROBLEM, f"{ix.root / 'recipe.toml'} is missing; re-run generate-sim")
    if ix.image_dir is None:
        rep.add(
            INFO,
            f"no photos ({ix.layout.image_dir}/ absent or empty): evaluation works from the masks alone; "
            "training and prediction need the photos",
        )
    else:
        missing = ix.missing_images
        if missing:
            rep.add(PROBLEM, f"{len(missing)} masks have no photo in {ix.image_dir}: {_names(missing)}")
        else:
            rep.add(OK, f"every mask has a photo in {ix.image_dir}")
    if ix.orphan_images:
        rep.add(
            PROBLEM, f"{len(ix.orphan_images)} photos have no mask in {ix.gt_dir}: {_names(ix.orphan_images)}"
        )
    if ix.foreign_names:
        rep.add(
            PROBLEM,
            f"{len(ix.foreign_names)} images in {ix.gt_dir} do not belong to {ix.name}: "
            f"{_names(ix.foreign_names)}; remove them",
        )
    for scan in {sc.folder: sc for sc in ix.scans}.values():  # photos and masks may share a folder
        broken = [(p, k) for k in BROKEN for p in scan.skipped.get(k, ())]
        if broken:
            rep.add(
                PROBLEM,
                f"{len(broken)} entries in {scan.folder} cannot be read: "
                + _names(f"{p.name} ({k})" for p, k in broken)
                + "; fix or remove them",
            )
        subs = scan.skipped.get("subfolder", []) + scan.skipped.get("linked folder", [])
        if subs:
            rep.add(
                INFO,
                f"{len(subs)} subfolders in {scan.folder} are not searched: " + _names(p.name for p in subs),
            )
    if ix.other_files:
        rep.add(
            PROBLEM,
            f"{len(ix.other_files)} files that are not images in the dataset folders: "
            f"{_names(p.relative_to(ix.root) for p in ix.other_files)}; remove them",
        )
    # a named dataset whose files carry another dataset's names is probably the wrong one ('folder'
    # may hold anything, e.g. an export of CUHK)
    if ix.name != "folder" and ix.spec.pattern in (None, r"\d+", r"\d{6}"):
        guess = guess_from_names([s.name for s in ix.samples], exclude=ix.name)
        if guess:
            rep.add(
                PROBLEM,
                f"the file names look like dataset '{guess}', not '{ix.name}'; check the dataset name",
            )


def _check_masks(rep: VerifyReport, stats: list[dict]) -> None:
    ix = rep.index
    bad = [s for s in stats if s["error"]]
    for s in bad[:5]:
        rep.add(PROBLEM, s["error"])
    if len(bad) > 5:
        rep.add(PROBLEM, f"... {len(bad)} unreadable masks in all")
    good = [s for s in stats if not s["error"]]
    if not good:
        return
    modes: dict[str, int] = {}
    for s in good:
        modes[s["mode"]] = modes.get(s["mode"], 0) + 1
    rep.add(
        INFO,
        "mask file modes: " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items())) + " (all read as grey)",
    )
    mism = [s for s in good if s["image_shape"] is not None and s["image_shape"] != s["shape"]]
    if mism:
        ex = ", ".join(
            f"{s['name']} (photo {s['image_shape'][0]}x{s['image_shape'][1]}, "
            f"mask {s['shape'][0]}x{s['shape'][1]})"
            for s in mism[:3]
        )
        rep.add(PROBLEM, f"{len(mism)} masks differ in size from their photo (HxW): {ex}")
    elif ix.image_dir is not None:
        rep.add(OK, "every mask has the size of its photo")
    if ix.spec.size is not None:
        wrong = [s for s in good if s["shape"] != ix.spec.size]
        if wrong:
            h, w = ix.spec.size
            rep.add(PROBLEM, f"{len(wrong)} masks are not {h}x{w}: {_names(s['name'] for s in wrong)}")
    soft = [s["name"] for s in good if not s["binary"]]
    if soft and ix.spec.binary:
        rep.add(
            PROBLEM, f"{len(soft)} masks are not binary (values other than black and white): {_names(soft)}"
        )
    elif soft:
        rep.add(
            INFO, f"{len(soft)} of {len(good)} masks have grey levels (soft labels, allowed for {ix.name})"
        )
    else:
        rep.add(OK, "every mask is binary")
    fr = np.array([s["fraction"] for s in good], dtype=np.float64)
    rep.fractions = fr
    q = np.quantile(fr, [0, 0.1, 0.5, 0.9, 1])
    rep.add(INFO, "in-focus fraction min/10%/median/90%/max: " + " / ".join(f"{v:.3f}" for v in q))
    n_sharp, n_blur = int((fr >= 1.0).sum()), int((fr <= 0.0).sum())
    if n_sharp or n_blur:
        rep.add(INFO, f"{n_sharp} masks entirely in focus, {n_blur} entirely blurred")
    varied = [s for s in good if s["centre"] != s["border"]]
    if ix.name == "sim":
        rep.add(INFO, "polarity not checked: generate-sim writes white = in-focus by construction")
    elif len(varied) < MIN_POLARITY_MASKS:
        rep.add(
            INFO,
            f"polarity not checked: {len(varied)} masks with a centre unlike their border, "
            f"{MIN_POLARITY_MASKS} needed to judge",
        )
    else:
        share = sum(s["centre"] > s["border"] for s in varied) / len(varied)
        white = white_means(ix.gt_polarity)
        msg = f"centre more in focus than border in {100 * share:.0f}% of masks, read with white = {white}"
        if share < 0.5:
            rep.add(
                PROBLEM, msg + "; the masks look inverted: wrong dataset name, or a copy already inverted"
            )
        else:
            rep.add(OK, msg + " (polarity plausible)")


def verify(
    name: str,
    root: str | os.PathLike,
    split: str | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
) -> VerifyReport:
    """Check a dataset folder: layout, counts, names, sizes, mask values and polarity.

    Parameters
    ----------
    name, root, split
        As for :func:`~dbdbench.datasets.resolve`.
    workers, scheduler
        Parallel reading of the masks (:func:`dbdbench.executor.run_tasks`).

    Returns
    -------
    VerifyReport
        ``report.ok`` is False when anything is wrong; ``report.render()`` is readable text.

    Raises
    ------
    DbdError
        When the folder cannot be resolved at all (see :func:`resolve`).
    """
    index = resolve(name, root, split, note_skipped=False)  # the report lists them
    rep = VerifyReport(index)
    _check_files(rep)
    stats = run_tasks(mask_stats, index.samples, workers=workers, scheduler=scheduler, desc="verify")
    _check_masks(rep, stats)
    return rep
