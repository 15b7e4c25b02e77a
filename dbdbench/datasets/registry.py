"""The registry of defocus blur detection datasets: layouts, expected counts, GT polarity, splits.

Every dataset is a :class:`DatasetSpec`; every split lists the folder layouts in which public copies of
the dataset are found (:class:`Layout`), tried in order. Nothing is downloaded: users fetch the data
from the authors' pages and point dbdbench at the folder. The facts below come from the papers under
References; the user guide is ``docs/datasets.md``.

:data:`DATASETS` (a :class:`dbdbench.registry.Registry`) holds the specs: the built-ins below, in
listing order, then plug-ins (``dbdbench.datasets`` entry points naming a :class:`DatasetSpec`, or a
module that calls :func:`register`). Names are looked up case-insensitively.

References
----------
J. Shi, L. Xu, J. Jia, "Discriminative Blur Detection Features", CVPR 2014 (CUHK).
W. Zhao, F. Zhao, D. Wang, H. Lu, "Defocus Blur Detection via Multi-Stream Bottom-Top-Bottom Fully
Convolutional Network", CVPR 2018, and "... Bottom-Top-Bottom Network", IEEE TPAMI 2020 (DUT-DBD).
C. Tang et al., "DeFusionNET: Defocus Blur Detection via Recurrently Fusing and Refining Multi-scale
Deep Features", CVPR 2019 (CTCUG).
Z. Jin et al., "Depth and DOF Cues Make A Better Defocus Blur Detector", ICME 2023 (EBD).
W. Zhao et al., IEEE Transactions on Multimedia 2023 (DeFBD+).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dbdbench.errors import DbdError
from dbdbench.polarity import BLURRED_WHITE, FOCUS_WHITE, POLARITIES
from dbdbench.registry import Registry


@dataclass(frozen=True)
class Layout:
    """One folder layout of a split: where the photos and the masks are, relative to the root.

    Attributes
    ----------
    gt_dir : str
        Folder of the masks (``/``-separated, matched case-insensitively).
    image_dir : str
        Folder of the photos; may equal ``gt_dir`` when both lie side by side.
    image_exts, gt_exts : tuple of str
        Extensions that select photos and masks in a shared folder (empty: any image file).
    """

    gt_dir: str
    image_dir: str
    image_exts: tuple[str, ...] = ()
    gt_exts: tuple[str, ...] = ()

    def describe(self) -> str:
        """Human-readable form, e.g. ``image/ + gt/`` or ``Imgs/ (*.jpg + *.png)``."""
        if self.image_dir == self.gt_dir:
            imgs = "/".join(f"*{e}" for e in self.image_exts) or "photos"
            gts = "/".join(f"*{e}" for e in self.gt_exts) or "masks"
            return f"{self.gt_dir}/ ({imgs} + {gts} side by side)"
        return f"{self.image_dir}/ + {self.gt_dir}/"


IMAGE_GT = Layout("gt", "image")


@dataclass(frozen=True)
class SplitSpec:
    """One split of a dataset.

    Attributes
    ----------
    name : str
        Split name (``all``, ``te1``, ``test`` ...).
    count : int or None
        Expected number of samples (None: unknown, e.g. a user folder; ``sim`` reads its manifest).
    layouts : tuple of Layout
        Layouts tried in order; the first whose mask folder exists is used.
    names_file : str, optional
        Package file in ``dbdbench/datasets/splits/`` listing the split's names (``k name.ext``).
    exclude_file : str, optional
        Package file listing names removed from the split (the complement of another split).
    partial_only : bool
        Keep only samples whose mask is not entirely in focus (EBD ``partial``).
    """

    name: str
    count: int | None
    layouts: tuple[Layout, ...]
    names_file: str | None = None
    exclude_file: str | None = None
    partial_only: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset.

    Attributes
    ----------
    name : str
        Registry key (``cuhk``, ``dut`` ...).
    title : str
        One-line description.
    citation : str
        The paper to cite.
    polarity : {"focus-white", "blurred-white"}
        What white means in the masks as distributed.
    splits : dict of str to SplitSpec
        The splits; the first is the default.
    binary : bool
        Whether the masks are distributed as binary (0/255) images; ``verify`` flags grey levels.
    size : (int, int) or None
        Fixed (height, width) of every image, for resized copies.
    pattern : str, optional
        Regular expression every sample name of this dataset matches (others are skipped).
    family_pattern : str, optional
        Names that may share the folder without belonging to this dataset (CUHK's motion images
        next to its defocus images); names matching neither are reported as foreign.
    manifest : str, optional
        CSV file in the root with one row per sample; its row count, not ``count``, is the
        expected number of samples (``sim``: the ``manifest.csv`` of generate-sim).
    notes : str
        Remarks shown by ``dbdbench datasets list``.
    """

    name: str
    title: str
    citation: str
    polarity: str
    splits: dict[str, SplitSpec]
    binary: bool = False
    size: tuple[int, int] | None = None
    pattern: str | None = None
    family_pattern: str | None = None
    manifest: str | None = None
    notes: str = ""

    @property
    def default_split(self) -> str:
        """The first split (usually ``all`` or ``test``)."""
        return next(iter(self.splits))

    def belongs(self, name: str) -> bool:
        """Whether a sample name belongs to this dataset (always True without a pattern)."""
        return self.pattern is None or re.fullmatch(self.pattern, name) is not None

    def in_family(self, name: str) -> bool:
        """Whether a name may legitimately appear in this dataset's folders."""
        if self.belongs(name):
            return True
        return self.family_pattern is not None and re.fullmatch(self.family_pattern, name) is not None

    def split(self, split: str | None) -> SplitSpec:
        """Look up a split (None: the default one); unknown names raise :class:`DbdError`."""
        if split is None:
            return self.splits[self.default_split]
        if split not in self.splits:
            raise DbdError(
                f"dataset '{self.name}' has no split '{split}'; choose one of: {', '.join(self.splits)}"
            )
        return self.splits[split]


_CUHK_CITE = 'J. Shi, L. Xu, J. Jia, "Discriminative Blur Detection Features", CVPR 2014'
_CUHK_FAMILY = r"(out_of_focus|motion)\d{4}"
_DUT_CITE = (
    'W. Zhao, F. Zhao, D. Wang, H. Lu, "Defocus Blur Detection via Multi-Stream Bottom-Top-Bottom '
    'Fully Convolutional Network", CVPR 2018; TPAMI 2020 (BTBCRL)'
)


def _check(spec: DatasetSpec) -> None:
    """Refuse a spec that cannot work (a programming error in the package that registers it)."""
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"{spec!r} is not a dbdbench.datasets.registry.DatasetSpec")
    if spec.name != spec.name.lower() or not spec.name:
        raise ValueError(f"dataset name {spec.name!r} must be non-empty and lower-case")
    if spec.polarity not in POLARITIES:
        raise ValueError(f"dataset '{spec.name}': polarity {spec.polarity!r} is not one of {POLARITIES}")
    if not spec.splits or any(k != v.name or not v.layouts for k, v in spec.splits.items()):
        raise ValueError(f"dataset '{spec.name}': every split needs its own name as key and a layout")


def _adopt(obj: object) -> DatasetSpec:
    _check(obj)  # type: ignore[arg-type]
    return obj  # type: ignore[return-value]


DATASETS: Registry[DatasetSpec] = Registry(
    "dataset",
    group="dbdbench.datasets",
    adopt=_adopt,
    check=_check,
    casefold=True,
    hint=" (see 'dbdbench datasets list')",
)
register = DATASETS.register

for _spec in [
    DatasetSpec(
        name="cuhk",
        title="CUHK blur detection set, the 704 defocus images (masks white = blurred)",
        citation=_CUHK_CITE,
        polarity=BLURRED_WHITE,
        binary=True,
        pattern=r"out_of_focus\d{4}",
        family_pattern=_CUHK_FAMILY,
        splits={
            "all": SplitSpec("all", 704, (IMAGE_GT,)),
            "te1": SplitSpec("te1", 100, (IMAGE_GT,), names_file="cuhk-te-1.txt"),
            "tr1": SplitSpec("tr1", 604, (IMAGE_GT,), exclude_file="cuhk-te-1.txt"),
        },
        notes="te1 = CUHK-TE-1 (100 names, order of the xu100 copy); tr1 = CUHK-TR-1 (the other 604)",
    ),
    DatasetSpec(
        name="cuhk-motion",
        title="CUHK blur detection set, the 296 motion-blurred images",
        citation=_CUHK_CITE,
        polarity=BLURRED_WHITE,
        binary=True,
        pattern=r"motion\d{4}",
        family_pattern=_CUHK_FAMILY,
        splits={"all": SplitSpec("all", 296, (IMAGE_GT,))},
    ),
    DatasetSpec(
        name="cuhk-full",
        title="CUHK blur detection set, all 1000 images (defocus + motion), as the hifst protocol uses",
        citation=_CUHK_CITE,
        polarity=BLURRED_WHITE,
        binary=True,
        pattern=_CUHK_FAMILY,
        splits={"all": SplitSpec("all", 1000, (IMAGE_GT,))},
    ),
    DatasetSpec(
        name="xu100",
        title="CUHK-TE-1 as the 320x320 'xu100' copy (names 1..100, order of splits/cuhk-te-1.txt)",
        citation=_CUHK_CITE + "; 320x320 copy distributed by Zhao et al.",
        polarity=FOCUS_WHITE,
        size=(320, 320),
        pattern=r"\d+",
        splits={"all": SplitSpec("all", 100, (Layout("xu100-gt", "xu100-source"), IMAGE_GT))},
        notes="GT already inverted and grey-interpolated by the resize (not binary)",
    ),
    DatasetSpec(
        name="dut",
        title="DUT-DBD (600 train + 500 test), masks white = in-focus",
        citation=_DUT_CITE,
        polarity=FOCUS_WHITE,
        splits={
            "test": SplitSpec("test", 500, (Layout("DUT500GT-Testing", "DUT500S-Testing"), IMAGE_GT)),
            "train": SplitSpec("train", 600, (Layout("DUT600GT_Training", "DUT600S_Training"),)),
        },
    ),
    DatasetSpec(
        name="dut500",
        title="DUT-DBD test set as the 320x320 copy (names 1..500)",
        citation=_DUT_CITE + "; 320x320 copy distributed by Zhao et al.",
        polarity=FOCUS_WHITE,
        size=(320, 320),
        pattern=r"\d+",
        splits={"all": SplitSpec("all", 500, (Layout("dut500-gt", "dut500-source"), IMAGE_GT))},
    ),
    DatasetSpec(
        name="ctcug",
        title="CTCUG, 150 images of 480x360 (masks white = blurred)",
        citation='C. Tang et al., "DeFusionNET: Defocus Blur Detection via Recurrently Fusing and Refining '
        'Multi-scale Deep Features", CVPR 2019',
        polarity=BLURRED_WHITE,
        binary=True,
        splits={
            "all": SplitSpec(
                "all",
                150,
                (
                    Layout("CTCUG_gt", "CTCUG_images"),
                    Layout("Imgs", "Imgs", image_exts=(".jpg", ".jpeg"), gt_exts=(".png",)),
                ),
            )
        },
    ),
    DatasetSpec(
        name="ebd",
        title="EBD, 1305 partially focused + 300 fully sharp images of 1600x1024",
        citation='Z. Jin et al., "Depth and DOF Cues Make A Better Defocus Blur Detector", ICME 2023',
        polarity=FOCUS_WHITE,
        splits={
            "all": SplitSpec("all", 1605, (IMAGE_GT,)),
            "partial": SplitSpec("partial", 1305, (IMAGE_GT,), partial_only=True),
        },
        notes="partial = the images whose mask is not entirely in focus",
    ),
    DatasetSpec(
        name="defbd+",
        title="DeFBD+ training set and its CUHK+ / DUT+ test sets",
        citation="W. Zhao et al., DeFBD+, IEEE Transactions on Multimedia 2023",
        polarity=FOCUS_WHITE,
        splits={
            "train": SplitSpec("train", 1924, (Layout("train_data/gt", "train_data/source"),)),
            "cuhk+": SplitSpec("cuhk+", 160, (Layout("test/CUHK/gt", "test/CUHK/source"),)),
            "dut+": SplitSpec("dut+", 800, (Layout("test/DUT/gt", "test/DUT/source"),)),
        },
    ),
    DatasetSpec(
        name="sim",
        title="a simulated set written by generate-sim (image/, gt/, manifest.csv, recipe.toml)",
        citation="dbdbench generate-sim (cite the recipe in recipe.toml)",
        polarity=FOCUS_WHITE,
        pattern=r"\d{6}",
        splits={"all": SplitSpec("all", None, (IMAGE_GT,))},
        manifest="manifest.csv",
        notes="expected count = rows of manifest.csv",
    ),
    DatasetSpec(
        name="folder",
        title="any folder with image/ and gt/ (masks white = in-focus)",
        citation="-",
        polarity=FOCUS_WHITE,
        splits={"all": SplitSpec("all", None, (IMAGE_GT,))},
    ),
]:
    register(_spec)


def get_spec(name: str) -> DatasetSpec:
    """Look up a dataset by name (case-insensitive).

    Raises
    ------
    DbdError
        Unknown name; the message lists the registered ones.
    """
    return DATASETS.get(name)


def list_specs() -> list[DatasetSpec]:
    """All registered datasets in listing order."""
    return DATASETS.entries()


def guess_from_names(names, exclude: str | None = None) -> str | None:
    """The registered dataset whose distinctive name pattern most of ``names`` match, if any.

    Only datasets with a non-numeric name pattern count (``out_of_focus0001`` is distinctive, ``1``
    is not). Used to tell a user that a folder holds another dataset.
    """
    names = list(names)
    if not names:
        return None
    best, best_share = None, 0.5
    for spec in list_specs():
        if spec.name == exclude or spec.pattern is None or spec.pattern in (r"\d+", r"\d{6}"):
            continue
        share = sum(spec.belongs(n) for n in names) / len(names)
        if share > best_share:
            best, best_share = spec.name, share
    return best
