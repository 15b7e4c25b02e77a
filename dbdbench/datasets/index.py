"""Resolving a dataset folder: find its layout, list and match its files, select a split.

:func:`resolve` is the one entry point; it reads no pixels (except for EBD's ``partial`` split, which
is defined by the masks) and works when only the mask folder is present (``image_path`` is then None).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dbdbench.datasets.registry import (
    BLURRED_WHITE,
    DatasetSpec,
    Layout,
    SplitSpec,
    get_spec,
    guess_from_names,
)
from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey, read_rgb, to_unit
from dbdbench.notes import note
from dbdbench.pairing import FolderScan, scan_folder

SPLITS_DIR = Path(__file__).parent / "splits"


def to_infocus(grey: np.ndarray, polarity: str) -> np.ndarray:
    """Scale a mask as read from disk to [0, 1] with 1 = in-focus.

    Parameters
    ----------
    grey : ndarray, shape (H, W), dtype uint8 or uint16
        The mask as stored (:func:`dbdbench.imageio.read_grey`).
    polarity : {"focus-white", "blurred-white"}
        What white means in the stored mask.

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Values in [0, 1], 1 = in-focus.
    """
    unit = to_unit(grey)
    return (np.float32(1.0) - unit) if polarity == BLURRED_WHITE else unit


def read_mask(path: str | os.PathLike, polarity: str) -> np.ndarray:
    """Read a mask file as float32 in [0, 1], 1 = in-focus (RGBA and palette masks included).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
    """
    return to_infocus(read_grey(path), polarity)


@dataclass(frozen=True)
class Sample:
    """One sample of a dataset: its name and files; nothing is read until asked.

    Attributes
    ----------
    name : str
        File stem shared by the photo and the mask (``out_of_focus0026``).
    image_path : Path or None
        The photo; None when only the masks are present.
    gt_path : Path
        The mask as distributed.
    gt_polarity : {"focus-white", "blurred-white"}
        What white means in ``gt_path``.
    """

    name: str
    image_path: Path | None
    gt_path: Path
    gt_polarity: str

    def read_mask(self) -> np.ndarray:
        """The mask, shape (H, W), float32 in [0, 1], 1 = in-focus."""
        return read_mask(self.gt_path, self.gt_polarity)

    def read_image(self) -> np.ndarray:
        """The photo, shape (H, W, 3), uint8 RGB.

        Raises
        ------
        DbdError
            When the dataset folder has no photo for this sample.
        """
        if self.image_path is None:
            raise DbdError(
                f"sample '{self.name}' has no photo (only its mask '{self.gt_path}' was found); "
                "add the photos next to the masks"
            )
        return read_rgb(self.image_path)


@dataclass
class DatasetIndex:
    """The resolved files of one split of a dataset.

    Attributes
    ----------
    name, split : str
        Dataset and split.
    gt_polarity : {"focus-white", "blurred-white"}
        What white means in the masks as stored on disk (loaders convert to 1 = in-focus).
    samples : list of Sample
        Sorted by name.
    citation : str
        The paper to cite.
    root : Path
        The folder given.
    layout : Layout
        The layout found.
    gt_dir, image_dir : Path, Path or None
        The folders found (``image_dir`` None when there are no photos).
    expected_count : int or None
        How many samples the split should have.
    orphan_images : list of str
        Photos of this dataset without a mask.
    foreign_names : list of str
        Mask names that do not belong to this dataset (another dataset's files, stray images).
    other_files : list of Path
        Files in the folders that are not images.
    scans : list of FolderScan
        The listing of each folder read, with every entry skipped and why (dangling symlinks,
        subfolders, ...).
    """

    name: str
    split: str
    gt_polarity: str
    samples: list[Sample]
    citation: str
    root: Path
    layout: Layout
    gt_dir: Path
    image_dir: Path | None
    spec: DatasetSpec
    expected_count: int | None
    orphan_images: list[str] = field(default_factory=list)
    foreign_names: list[str] = field(default_factory=list)
    other_files: list[Path] = field(default_factory=list)
    scans: list[FolderScan] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def missing_images(self) -> list[str]:
        """Names of samples without a photo."""
        return [s.name for s in self.samples if s.image_path is None]


def _find_dir(root: Path, rel: str) -> Path | None:
    """``root/rel`` matching each path component case-insensitively; None when absent."""
    here = root
    for part in rel.split("/"):
        exact = here / part
        if exact.is_dir():
            here = exact
            continue
        try:
            match = [p for p in here.iterdir() if p.is_dir() and p.name.lower() == part.lower()]
        except OSError:
            return None
        if not match:
            return None
        here = sorted(match)[0]
    return here


def _list_folder(
    folder: Path, exts: tuple[str, ...], what: str, scans: list[FolderScan]
) -> tuple[dict[str, Path], list[Path]]:
    """Images (stem -> path) and non-image files of a folder; ``exts`` restricts the images.

    The scan (with every skipped entry) is appended to ``scans``.
    """
    scan = scan_folder(folder, exts=exts or None, what=what)
    scans.append(scan)
    others = sorted(p for k, v in scan.skipped.items() if k.startswith("unsupported ") for p in v)
    return scan.images, others


def te1_names() -> list[str]:
    """The 100 CUHK-TE-1 names in the order of the 320x320 "xu100" copy: xu100 image k is
    ``te1_names()[k - 1]``."""
    return _read_names("cuhk-te-1.txt")


def _read_names(filename: str) -> list[str]:
    """Stems listed in a package split file (lines ``k name.ext`` or ``name.ext``)."""
    path = SPLITS_DIR / filename
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts:
            names.append(Path(parts[-1]).stem)
    return names


def _manifest_rows(path: Path) -> int | None:
    """Rows of a CSV manifest (None when absent or unreadable)."""
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _first(names, n: int = 5) -> str:
    names = list(names)
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else "")


def _find_layout(root: Path, spec: DatasetSpec, split: SplitSpec) -> tuple[Layout, Path]:
    for layout in split.layouts:
        gt = _find_dir(root, layout.gt_dir)
        if gt is not None:
            return layout, gt
    looked = "; ".join(lay.describe() for lay in split.layouts)
    hint = ""
    if any(root.name.lower() == lay.gt_dir.split("/")[-1].lower() for lay in split.layouts) or any(
        root.name.lower() == lay.image_dir.split("/")[-1].lower() for lay in split.layouts
    ):
        hint = f"; '{root}' looks like one of those folders: give its parent as --root"
    else:
        subs = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        hint = f"; it holds: {_first(subs)}" if subs else "; it has no subfolders"
    raise DbdError(
        f"no {spec.name} '{split.name}' layout under '{root}': looked for {looked}{hint}; "
        "check --root and the dataset name ('dbdbench datasets list')"
    )


def _open_root(root: str | os.PathLike | None, spec: DatasetSpec) -> Path:
    """The dataset folder, checked to exist and be a folder."""
    if root is None:
        raise DbdError(f"no folder given for dataset '{spec.name}'; pass --root DIR")
    root = Path(root)
    if not root.exists():
        raise DbdError(f"dataset root '{root}' does not exist; check --root")
    if not root.is_dir():
        raise DbdError(f"dataset root '{root}' is not a folder; give the folder that holds the dataset")
    return root


@dataclass
class _Files:
    """What the layout's folders hold: masks and photos by stem, and the files that are not images."""

    gt_dir: Path
    image_dir: Path | None
    gts: dict[str, Path]
    images: dict[str, Path]
    other_files: list[Path]
    scans: list[FolderScan]


def _scan(root: Path, layout: Layout, gt_dir: Path) -> _Files:
    """List the mask and photo folders of a layout (``image_dir`` None when it has no photos)."""
    scans: list[FolderScan] = []
    gts, other_files = _list_folder(gt_dir, layout.gt_exts, "mask folder", scans)
    image_dir = _find_dir(root, layout.image_dir)
    images: dict[str, Path] = {}
    if image_dir is not None:
        images, other_images = _list_folder(image_dir, layout.image_exts, "photo folder", scans)
        if image_dir != gt_dir:
            other_files += other_images
        if not images:
            image_dir = None
    if layout.image_dir == layout.gt_dir:  # photos and masks side by side: anything else is extra
        known = layout.image_exts + layout.gt_exts
        other_files = [
            p
            for p in sorted(gt_dir.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in known
        ]
    return _Files(gt_dir, image_dir, gts, images, other_files, scans)


def _split_names(spec: DatasetSpec, sp: SplitSpec, files: _Files) -> list[str]:
    """Sorted names of the split: the dataset's masks, restricted by the split's name lists."""
    names = [n for n in files.gts if spec.belongs(n)]
    if not names:
        gts = files.gts
        found = f"{len(gts)} masks, e.g. {_first(sorted(gts), 3)}" if gts else "no masks"
        guess = guess_from_names(gts, exclude=spec.name)
        hint = f"; they look like dataset '{guess}'" if guess else ""
        raise DbdError(
            f"the {spec.name} '{sp.name}' split is empty: mask folder '{files.gt_dir}' has {found}{hint}; "
            "check --root and the dataset name"
        )
    if sp.names_file:
        wanted = _read_names(sp.names_file)
        have = set(names)
        missing = [n for n in wanted if n not in have]
        if missing:
            raise DbdError(
                f"{len(missing)} of the {len(wanted)} {spec.name} '{sp.name}' masks are missing from "
                f"'{files.gt_dir}': {_first(missing)}; complete the mask folder"
            )
        names = wanted
    if sp.exclude_file:
        drop = set(_read_names(sp.exclude_file))
        names = [n for n in names if n not in drop]
    return sorted(names)


def _samples(spec: DatasetSpec, sp: SplitSpec, names: list[str], files: _Files, root: Path) -> list[Sample]:
    """The samples of the split (EBD ``partial``: only masks not entirely in focus); never empty."""
    samples = [Sample(n, files.images.get(n), files.gts[n], spec.polarity) for n in names]
    if sp.partial_only:
        samples = [s for s in samples if float(s.read_mask().min()) < 0.5]
    if not samples:
        raise DbdError(f"the {spec.name} '{sp.name}' split under '{root}' has no samples; check --root")
    return samples


def resolve(
    name: str, root: str | os.PathLike, split: str | None = None, *, note_skipped: bool = True
) -> DatasetIndex:
    """Find and list the files of one split of a registered dataset.

    Parameters
    ----------
    name : str
        Registered dataset (``dbdbench datasets list``).
    root : path-like
        The dataset folder (the one that holds ``image/`` + ``gt/`` or the dataset's own folders).
    split : str, optional
        Split name; None selects the dataset's first split.
    note_skipped : bool
        Say in one note per folder which entries were skipped (see :attr:`DatasetIndex.scans`).

    Returns
    -------
    DatasetIndex
        Samples sorted by name; photos may be absent (``image_path`` None).

    Raises
    ------
    DbdError
        Unknown dataset or split, missing root, no known layout, names of the split missing from the
        mask folder, or an empty split.
    """
    spec = get_spec(name)
    sp = spec.split(split)
    root = _open_root(root, spec)
    layout, gt_dir = _find_layout(root, spec, sp)
    files = _scan(root, layout, gt_dir)
    samples = _samples(spec, sp, _split_names(spec, sp, files), files, root)
    expected = _manifest_rows(root / spec.manifest) if spec.manifest else sp.count
    if note_skipped:
        for scan in {sc.folder: sc for sc in files.scans}.values():  # folders may repeat
            if scan.note():
                note(f"dataset {spec.name}: {scan.note()}")
    return DatasetIndex(
        name=spec.name,
        split=sp.name,
        gt_polarity=spec.polarity,
        samples=samples,
        citation=spec.citation,
        root=root,
        layout=layout,
        gt_dir=gt_dir,
        image_dir=files.image_dir,
        spec=spec,
        expected_count=expected,
        # what `datasets verify` reports beside the samples
        orphan_images=sorted(n for n in files.images if n not in files.gts and spec.belongs(n)),
        foreign_names=sorted(n for n in files.gts if not spec.in_family(n)),
        other_files=files.other_files,
        scans=files.scans,
    )
