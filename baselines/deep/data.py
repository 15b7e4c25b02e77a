"""Training pairs for BTBNet / BTBCRL: an ``image/`` + ``gt/`` folder pair or a named dataset, and the
seeded training transforms (Zhao et al., CVPR 2018 / IEEE TPAMI 2020 train on 320 x 320 images).

Masks are float32 in [0, 1] with 1 = in-focus (the ``generate-sim`` convention; white in the PNG).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from dbdbench.errors import DbdError
from dbdbench.imageio import read_rgb, read_unit
from dbdbench.pairing import list_images, pair_by_stem


@dataclass(frozen=True)
class Pair:
    """One training pair, loaded on demand.

    Attributes
    ----------
    name : str
        Sample name (file stem).
    load : callable
        ``load() -> (image (H, W, 3) uint8 RGB, mask (H, W) float32 in [0, 1], 1 = in-focus)``.
    """

    name: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


def _read_pair(image_path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = read_rgb(image_path)
    mask = read_unit(mask_path)
    if mask.shape != image.shape[:2]:
        raise DbdError(
            f"mask '{mask_path}' is {mask.shape[1]}x{mask.shape[0]} but its image is "
            f"{image.shape[1]}x{image.shape[0]}; give masks of the image size"
        )
    return image, mask


class _FolderLoader:
    """Picklable loader of one image/mask file pair."""

    def __init__(self, image_path: Path, mask_path: Path):
        self.image_path, self.mask_path = image_path, mask_path

    def __call__(self):
        return _read_pair(self.image_path, self.mask_path)


def folder_pairs(root: str | os.PathLike) -> list[Pair]:
    """Pairs from ``root/image/`` and ``root/gt/`` matched by file stem (white mask = in-focus).

    Raises
    ------
    DbdError
        A missing folder, or images and masks whose names do not match.
    """
    root = Path(root)
    images = list_images(root / "image", what="--data image folder")
    masks = list_images(root / "gt", what="--data mask folder")
    pairing = pair_by_stem(images, masks, what="images", ref_what=f"masks in '{root / 'gt'}'")
    return [Pair(name, _FolderLoader(img, gt)) for name, img, gt in pairing.pairs]


class _SampleLoader:
    def __init__(self, sample):
        self.sample = sample

    def __call__(self):
        image, mask = self.sample.image, self.sample.mask
        image = image() if callable(image) else image
        mask = mask() if callable(mask) else mask
        return np.asarray(image), np.asarray(mask, dtype=np.float32)


def dataset_pairs(name: str, root: str | os.PathLike, split: str | None = None) -> list[Pair]:
    """Pairs from a real dataset through :func:`dbdbench.datasets.load_dataset`.

    Raises
    ------
    DbdError
        The dataset loaders are unavailable in this installation, or the loader's own errors.
    """
    try:
        from dbdbench.datasets import load_dataset
    except ImportError:
        raise DbdError(
            "--dataset needs the dataset loaders (dbdbench.datasets), which this installation lacks; "
            "use --data DIR with image/ and gt/ folders"
        ) from None
    samples = load_dataset(name, root, split) if split else load_dataset(name, root)
    return [Pair(s.name, _SampleLoader(s)) for s in samples]


def to_tensor_image(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)


class PairDataset(torch.utils.data.Dataset):
    """Training tensors from pairs, with seeded augmentation.

    Parameters
    ----------
    pairs : sequence of Pair
    size : int
        Side of the square outputs.
    crop : bool
        Random ``size`` crops at the native scale (images whose shorter side is below ``size`` are
        first enlarged to it), or whole images resized to ``size`` x ``size``.
    seed : int
        Augmentation seed; each (epoch, index) draws its own generator, so results do not depend on
        loading order. Call :meth:`set_epoch` before each epoch.

    Notes
    -----
    Items are ``(image (3, size, size) float32 in [0, 1], mask (1, size, size) float32 in [0, 1])``;
    a random horizontal flip is applied with probability 0.5.
    """

    def __init__(self, pairs: Sequence[Pair], size: int, crop: bool, seed: int = 0):
        if not pairs:
            raise DbdError("no training pairs found; check --data / --dataset")
        self.pairs = list(pairs)
        self.size, self.crop, self.seed = size, crop, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, mask = self.pairs[index].load()
        s = self.size
        if self.crop:
            h, w = mask.shape
            if min(h, w) < s:
                f = s / min(h, w)
                nh, nw = max(s, round(h * f)), max(s, round(w * f))
                image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
                mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_LINEAR)
                h, w = nh, nw
            y = int(rng.integers(0, h - s + 1))
            x = int(rng.integers(0, w - s + 1))
            image, mask = image[y : y + s, x : x + s], mask[y : y + s, x : x + s]
        else:
            image = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (s, s), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        mask_t = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32)).clamp_(0, 1)[None]
        return to_tensor_image(image), mask_t
