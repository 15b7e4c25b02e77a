"""Singular-value blur metric of Su, Lu & Tan.

B. Su, S. Lu and C. L. Tan, "Blurred image region detection and classification", ACM Multimedia
2011.

Blur concentrates a patch's energy in its few largest singular values. For the ``window`` x
``window`` grey patch around every pixel (rows and columns ``-window // 2 .. window - window // 2 -
1`` around it, reflected border), ``beta = (sum of the k largest singular values) / (sum of all)``;
the map is ``1 - beta``, min-max normalised (1 = in-focus). Patches without any contrast count as
blurred (``beta = 1``).

The singular values are the square roots of the eigenvalues of the small Gram matrices
``P^T P``, built for all pixels at once from vertical box sums of products of column-shifted
images, and decomposed in batches (``numpy.linalg.eigvalsh`` on stacks) tile by tile, so memory
stays bounded for any photo size.
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.baselines.imageops import as_rgb, rgb2gray_matlab
from dbdbench.baselines.registry import detector
from dbdbench.baselines.windows import BORDER, finish
from dbdbench.errors import DbdError
from dbdbench.params import at_least

# Pixels per batch of Gram matrices (bounds memory: 4096 x window^2 float64).
TILE_PIXELS = 4096


def svd_beta(grey: np.ndarray, window: int = 20, k: int = 3, tile_pixels: int = TILE_PIXELS) -> np.ndarray:
    """Per-pixel share of the ``k`` largest singular values of the surrounding patch.

    Parameters
    ----------
    grey : ndarray, shape (H, W), float
        Grey image.
    window : int
        Patch side.
    k : int
        Number of largest singular values in the numerator.
    tile_pixels : int
        Patches decomposed per batch.

    Returns
    -------
    ndarray, shape (H, W), dtype float64
        beta in [k / window, 1]: 1 = all energy in the k largest singular values (blurred).
    """
    h, w = grey.shape
    a = window // 2
    b = window - a - 1
    g = cv2.copyMakeBorder(np.asarray(grey, np.float64), a, b, a, b, BORDER)
    # s[d][r, x] = sum over the window rows of g[y, x] * g[y, x + d].
    kernel_rows = np.ones((window, 1), np.float64)
    s = []
    for d in range(window):
        prod = g[:, : g.shape[1] - d] * g[:, d:]
        s.append(cv2.filter2D(prod, -1, kernel_rows, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:h])
    iu, ju = np.triu_indices(window)
    beta = np.empty(h * w, dtype=np.float64)
    rows_per_tile = max(1, tile_pixels // w)
    gram = np.empty((rows_per_tile, w, window, window), dtype=np.float64)
    for r0 in range(0, h, rows_per_tile):
        r1 = min(h, r0 + rows_per_tile)
        gt = gram[: r1 - r0]
        for i, j in zip(iu, ju, strict=True):
            gt[:, :, i, j] = s[j - i][r0:r1, i : i + w]
        lam = np.linalg.eigvalsh(gt.reshape(-1, window, window), UPLO="U")  # ascending
        sv = np.sqrt(np.maximum(lam, 0.0))
        total = sv.sum(axis=1)
        top = sv[:, -k:].sum(axis=1)
        beta[r0 * w : r1 * w] = np.where(total > 1e-12, top / np.where(total > 1e-12, total, 1.0), 1.0)
    return beta.reshape(h, w)


@detector(
    "svd",
    citation="Su, Lu & Tan, ACM MM 2011",
    description="1 - share of the k largest singular values of the local patch",
    checks={"window": at_least(2), "k": at_least(1)},
)
def svd(image: np.ndarray, window: int = 20, k: int = 3, refine: bool = False) -> np.ndarray:
    """Su et al. singular-value sharpness map ``1 - beta``.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W) or (H, W, 4)
        uint8; uint16, bool and [0, 1] float are converted (:func:`~dbdbench.baselines.imageops.as_rgb`).
    window : int
        Patch side (the paper's implementations use 20; at least 2).
    k : int
        Largest singular values in the blur ratio (3; 1 to window - 1).
    refine : bool
        Refine the map with a guided filter on the image.

    Returns
    -------
    ndarray, shape (H, W), dtype float32, values in [0, 1], 1 = in-focus
    """
    if k >= window:
        raise DbdError(f"svd: parameter k must be in [1, window - 1 = {window - 1}], got {k}")
    rgb = as_rgb(image, min_size=window, method="svd")
    grey = rgb2gray_matlab(rgb, opencv=True).astype(np.float64) / 255.0
    return finish(1.0 - svd_beta(grey, window, k), rgb, refine, window // 2)
