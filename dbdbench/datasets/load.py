"""Loading samples of a dataset: in-focus masks (float32, 1 = in-focus) and lazily read photos."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dbdbench.datasets.index import DatasetIndex, Sample, resolve


@dataclass
class LoadedSample:
    """A sample with its mask loaded; the photo is read on first access of :attr:`image`.

    Attributes
    ----------
    name : str
        Sample name.
    mask : ndarray, shape (H, W), dtype float32
        In [0, 1], 1 = in-focus, whatever the polarity on disk.
    image_path : Path or None
        The photo (None when only masks are present).
    gt_path : Path
        The mask file.
    """

    name: str
    mask: np.ndarray
    image_path: Path | None
    gt_path: Path
    _sample: Sample = field(repr=False)
    _image: np.ndarray | None = field(default=None, repr=False)

    @property
    def image(self) -> np.ndarray:
        """The photo, shape (H, W, 3), uint8 RGB (read once; DbdError when there is none)."""
        if self._image is None:
            self._image = self._sample.read_image()
        return self._image


def load_dataset(
    name: str | DatasetIndex, root: str | os.PathLike | None = None, split: str | None = None
) -> Iterator[LoadedSample]:
    """Iterate over the samples of a dataset split with in-focus masks.

    Parameters
    ----------
    name : str or DatasetIndex
        Registered dataset name, or an index already returned by :func:`resolve`.
    root : path-like
        Dataset folder (unused when ``name`` is an index).
    split : str, optional
        Split; None selects the dataset's first split.

    Yields
    ------
    LoadedSample
        In name order. Photos are only read when ``.image`` is accessed, so GT-only folders work for
        evaluation.
    """
    index = name if isinstance(name, DatasetIndex) else resolve(name, root, split)
    for sample in index.samples:
        yield LoadedSample(
            name=sample.name,
            mask=sample.read_mask(),
            image_path=sample.image_path,
            gt_path=sample.gt_path,
            _sample=sample,
        )
