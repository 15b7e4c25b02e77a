"""Joint image/mask transforms for training: random crop, horizontal flip, resize.

Every transform takes ``(image, mask, rng)`` and returns the transformed pair; randomness comes only
from ``rng`` (a :class:`numpy.random.Generator`), so a seeded generator gives the same result every time.
Images are (H, W, 3) uint8, masks (H, W) float32 in [0, 1], 1 = in-focus.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dbdbench.errors import DbdError


@dataclass(frozen=True)
class RandomCrop:
    """Crop the same random ``size = (height, width)`` window from image and mask.

    Samples smaller than the window raise :class:`DbdError` (resize first)."""

    size: tuple[int, int]

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        h, w = mask.shape
        ch, cw = self.size
        if ch > h or cw > w:
            raise DbdError(f"random crop {ch}x{cw} is larger than the {h}x{w} sample; resize first")
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        return image[y : y + ch, x : x + cw], mask[y : y + ch, x : x + cw]


@dataclass(frozen=True)
class RandomFlip:
    """Mirror image and mask left-right with probability ``p``."""

    p: float = 0.5

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        if rng.random() < self.p:
            return image[:, ::-1], mask[:, ::-1]
        return image, mask


@dataclass(frozen=True)
class Resize:
    """Resize image and mask to ``size = (height, width)`` (area if shrinking, else linear)."""

    size: tuple[int, int]

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        h, w = self.size
        shrink = h * w < mask.shape[0] * mask.shape[1]
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        img = cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=interp)
        msk = cv2.resize(np.ascontiguousarray(mask), (w, h), interpolation=interp)
        return img, np.clip(msk, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order."""

    transforms: tuple

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        for t in self.transforms:
            image, mask = t(image, mask, rng)
        return image, mask
