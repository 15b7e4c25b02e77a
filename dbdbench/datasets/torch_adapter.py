"""A PyTorch map-style dataset over a dbdbench dataset (photos and in-focus masks).

PyTorch is imported only when an item is converted, so this module imports without it. Randomness of
the joint transforms is seeded per (seed, epoch, index): the same item of the same epoch is always
transformed the same way, whatever the worker that loads it.
"""

from __future__ import annotations

import os

import numpy as np

from dbdbench.datasets.index import DatasetIndex, resolve
from dbdbench.errors import DbdError


def _torch():
    try:
        import torch
    except ImportError:
        raise DbdError("the PyTorch adapter needs torch: pip install 'dbdbench[deep]'") from None
    return torch


class TorchDataset:
    """Map-style dataset for ``torch.utils.data.DataLoader``.

    Parameters
    ----------
    name : str or DatasetIndex
        Registered dataset name, or an index from :func:`~dbdbench.datasets.resolve`.
    root : path-like, optional
        Dataset folder (unused with an index).
    split : str, optional
        Split name.
    transform : callable, optional
        ``transform(image, mask, rng) -> (image, mask)``, e.g. a
        :class:`~dbdbench.datasets.transforms.Compose`.
    seed : int
        Seed of the per-item random generators.

    Items are ``(image, mask, name)``: image a float32 tensor (3, H, W) in [0, 1], mask a float32
    tensor (1, H, W) in [0, 1] with 1 = in-focus.
    """

    def __init__(
        self,
        name: str | DatasetIndex,
        root: str | os.PathLike | None = None,
        split: str | None = None,
        *,
        transform=None,
        seed: int = 0,
    ):
        _torch()
        self.index = name if isinstance(name, DatasetIndex) else resolve(name, root, split)
        missing = self.index.missing_images
        if missing:
            raise DbdError(
                f"{len(missing)} samples of {self.index.name} have no photo under '{self.index.root}' "
                f"(e.g. {missing[0]}); training needs the photos"
            )
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch, so each epoch draws different crops and flips (still seeded)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.index.samples)

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Item ``i`` as numpy arrays after the transform: (H, W, 3) uint8 and (H, W) float32."""
        sample = self.index.samples[i]
        image, mask = sample.read_image(), sample.read_mask()
        if image.shape[:2] != mask.shape:
            raise DbdError(
                f"photo '{sample.image_path}' is {image.shape[0]}x{image.shape[1]} but its mask "
                f"'{sample.gt_path}' is {mask.shape[0]}x{mask.shape[1]}; see 'dbdbench datasets verify'"
            )
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            image, mask = self.transform(image, mask, rng)
        return image, mask

    def __getitem__(self, i: int):
        torch = _torch()
        if not 0 <= i < len(self):
            raise IndexError(i)
        image, mask = self.arrays(i)
        img = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)
        msk = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]
        return img, msk, self.index.samples[i].name
