"""Partially defocused photos with exact masks, for tests, smoke runs and the training benchmark.

A crop of a real photograph shipped with scikit-image is blurred with a Gaussian outside a random
in-focus region (an ellipse or a half-plane); the mask is that region (1 = in-focus). This follows the
simulated pre-training data of Zhao et al. (CVPR 2018, TPAMI 2020): sharp images partially blurred with
Gaussian blur, the blur masks as pixel-wise labels. ``dbdbench generate-sim`` is the full generator.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from dbdbench.imageio import to_uint8, write_image

# scikit-image photographs available without download.
SOURCES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "brick",
    "grass",
    "gravel",
    "camera",
    "coins",
    "moon",
    "page",
    "text",
)


def _photos() -> list[np.ndarray]:
    from skimage import data

    out = []
    for name in SOURCES:
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        out.append(np.ascontiguousarray(img[:, :, :3]))
    return out


def blur_pair(
    photo: np.ndarray, size: int, rng: np.random.Generator, sigma: tuple[float, float] = (1.5, 4.0)
) -> tuple[np.ndarray, np.ndarray]:
    """One partially blurred crop of ``photo`` and its in-focus mask.

    Parameters
    ----------
    photo : ndarray, (H, W, 3) uint8
    size : int
        Side of the square output; the photo is first rescaled by a random factor in [0.5, 1]
        (enlarged where it would be smaller than ``size``).
    rng : numpy Generator
    sigma : (float, float)
        Range of the Gaussian blur sigma, pixels.

    Returns
    -------
    image : ndarray, (size, size, 3) uint8
    mask : ndarray, (size, size) float32 in {0, 1}, 1 = in-focus
    """
    f = max(rng.uniform(0.5, 1.0), (size + 1) / min(photo.shape[:2]))
    scaled = cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    h, w = scaled.shape[:2]
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    sharp = scaled[y : y + size, x : x + size].astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if rng.random() < 0.5:
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        ay, ax = rng.uniform(0.15, 0.45, 2) * size
        mask = ((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2 <= 1.0
    else:
        angle = rng.uniform(0, 2 * np.pi)
        offset = rng.uniform(-0.25, 0.25) * size
        mask = (xx - size / 2) * np.cos(angle) + (yy - size / 2) * np.sin(angle) <= offset
    mask = mask.astype(np.float32)
    s = float(rng.uniform(*sigma))
    blurred = cv2.GaussianBlur(sharp, (0, 0), s, borderType=cv2.BORDER_REFLECT)
    m3 = mask[:, :, None]
    image = sharp * m3 + blurred * (1 - m3)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask


def make_pairs(count: int, size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` pairs from :func:`blur_pair`; sample k uses the generator seeded by (seed, k)."""
    photos = _photos()
    out = []
    for k in range(count):
        rng = np.random.default_rng([seed, k])
        out.append(blur_pair(photos[int(rng.integers(len(photos)))], size, rng))
    return out


def write_pairs(folder: str | os.PathLike, count: int, size: int, seed: int) -> Path:
    """Write :func:`make_pairs` as ``folder/image/NNNNNN.png`` + ``folder/gt/NNNNNN.png``."""
    folder = Path(folder)
    for k, (image, mask) in enumerate(make_pairs(count, size, seed)):
        write_image(folder / "image" / f"{k:06d}.png", image)
        write_image(folder / "gt" / f"{k:06d}.png", to_uint8(mask))
    return folder
