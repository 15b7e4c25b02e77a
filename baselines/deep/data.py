"""Training data of BTBNet / BTBCRL: dataset folders resolved by :mod:`dbdbench.datasets`, the seeded
joint transforms of :mod:`dbdbench.datasets.transforms`, and the tensor conversion of photos.

Zhao et al. (CVPR 2018 / IEEE TPAMI 2020) train on 320 x 320 images: the ``paper`` preset resizes whole
images to that size, the ``tiny`` preset takes random crops at the native scale. Masks are float32 in
[0, 1] with 1 = in-focus.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from dbdbench.datasets import DatasetIndex, resolve
from dbdbench.datasets.torch_adapter import TorchDataset
from dbdbench.datasets.transforms import Compose, RandomCrop, RandomFlip, Resize
from dbdbench.errors import DbdError


def training_sources(
    folders: Iterable[str | os.PathLike] = (),
    datasets: Iterable[tuple[str, str | os.PathLike, str | None]] = (),
) -> list[DatasetIndex]:
    """Resolve the training data: ``image/`` + ``gt/`` folders and named datasets.

    Parameters
    ----------
    folders : iterable of path-like
        Folders with ``image/`` and ``gt/`` (white mask = in-focus), e.g. ``generate-sim`` output.
    datasets : iterable of (name, root, split)
        Named datasets (``dbdbench datasets list``); split None selects the first.

    Raises
    ------
    DbdError
        A folder or dataset that cannot be resolved; no data at all.
    """
    indexes = [resolve("folder", f) for f in folders]
    indexes += [resolve(name, root, split) for name, root, split in datasets]
    if not indexes:
        raise DbdError("give training data: --data DIR (image/ + gt/) or --dataset NAME --root DIR")
    return indexes


def training_transform(size: int, crop: bool) -> Compose:
    """Random ``size`` crop (``crop``) or resize to ``size`` x ``size``, then a random horizontal flip."""
    first = RandomCrop((size, size)) if crop else Resize((size, size))
    return Compose((first, RandomFlip(0.5)))


class TrainingSet(torch.utils.data.ConcatDataset):
    """The concatenated sources as one dataset of ``(image (3, s, s), mask (1, s, s), name)`` items.

    Augmentation is seeded per (seed, epoch, index within its source); call :meth:`set_epoch` before
    each epoch.
    """

    def __init__(self, sources: Sequence[DatasetIndex], size: int, crop: bool, seed: int = 0):
        transform = training_transform(size, crop)
        parts = [TorchDataset(index, transform=transform, seed=seed) for index in sources]
        if sum(len(p) for p in parts) == 0:
            raise DbdError("the training data holds no image/mask pairs; check --data / --dataset")
        super().__init__(parts)

    def set_epoch(self, epoch: int) -> None:
        for part in self.datasets:
            part.set_epoch(epoch)


def to_tensor_image(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)
