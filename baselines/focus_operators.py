"""Simple focus operators: fast, windowed sharpness measures used as floors in every report.

Each maps an RGB uint8 image to a [0, 1] float32 map (1 = in-focus): a local statistic over a
``window`` x ``window`` neighbourhood of the grey image (ITU-R 601), min-max normalised, optionally
refined by a guided filter on the image (``refine=True``). Images smaller than the window are an
error (the statistic would be dominated by the border reflection).

- ``lapvar``: local standard deviation of the Laplacian (square root of the variance-of-Laplacian
  focus measure; Pech-Pacheco et al., ICPR 2000).
- ``tenengrad``: root of the local mean of the squared Sobel gradient (Tenenbaum 1970; Krotkov,
  IJCV 1987).
- ``kurtosis``: local kurtosis of the horizontal and vertical derivatives, the smaller of the two
  (heavy-tailed gradients are a sign of sharpness; Shi, Xu & Jia, CVPR 2014).
- ``dct``: high-frequency energy ratio of 8 x 8 DCT blocks (coefficients with u + v >= 4 over all
  AC coefficients) on a 4-pixel grid, averaged over the window (Shen & Chen, 2006 family of DCT
  focus measures).
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.baselines.imageops import as_rgb, dct_matrix, rgb2gray_matlab, single_blas_thread
from dbdbench.baselines.registry import detector
from dbdbench.baselines.windows import BORDER, box_mean, finish
from dbdbench.params import at_least, between

#: The window of a local statistic: at least 2 pixels (a variance needs two samples).
WINDOW = {"window": at_least(2)}


def _prepare(image, window, method):
    rgb = as_rgb(image, min_size=window, method=method)
    return rgb, rgb2gray_matlab(rgb, opencv=True).astype(np.float32) / np.float32(255.0)


@detector(
    "lapvar",
    citation="Pech-Pacheco et al., ICPR 2000",
    description="local standard deviation of the Laplacian",
    checks=WINDOW,
)
def lapvar(image: np.ndarray, window: int = 15, refine: bool = False) -> np.ndarray:
    """Local standard deviation of the Laplacian.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W) or (H, W, 4)
        uint8; uint16, bool and [0, 1] float are converted (:func:`~dbdbench.baselines.imageops.as_rgb`).
    window : int
        Window side in pixels (at least 2).
    refine : bool
        Refine the map with a guided filter on the image.

    Returns
    -------
    ndarray, shape (H, W), dtype float32, values in [0, 1], 1 = in-focus
    """
    rgb, g = _prepare(image, window, "lapvar")
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1, borderType=BORDER)
    var = box_mean(lap * lap, window) - box_mean(lap, window) ** 2
    return finish(np.sqrt(np.maximum(var, 0)), rgb, refine, window // 2)


@detector(
    "tenengrad",
    citation="Krotkov, IJCV 1987 (Tenenbaum 1970)",
    description="root mean squared Sobel gradient",
    checks=WINDOW,
)
def tenengrad(image: np.ndarray, window: int = 15, refine: bool = False) -> np.ndarray:
    """Root mean squared Sobel gradient over the window.

    Parameters and returns as :func:`lapvar`.
    """
    rgb, g = _prepare(image, window, "tenengrad")
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, borderType=BORDER)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, borderType=BORDER)
    return finish(np.sqrt(np.maximum(box_mean(gx * gx + gy * gy, window), 0)), rgb, refine, window // 2)


def _local_kurtosis(d: np.ndarray, window: int) -> np.ndarray:
    """Kurtosis ``E[(d - mu)^4] / var^2`` over each window; 3 (Gaussian) where var is ~0."""
    d2 = d * d
    m1 = box_mean(d, window)
    m2 = box_mean(d2, window)
    m3 = box_mean(d2 * d, window)
    m4 = box_mean(d2 * d2, window)
    mm = m1 * m1
    var = m2 - mm
    c4 = m4 - 4 * m1 * m3 + mm * (6 * m2 - 3 * mm)
    eps = np.float32(1e-8)
    flat = var <= eps
    var[flat] = 1.0
    c4[flat] = 3.0
    return np.maximum(c4, 0) / (var * var)


@detector(
    "kurtosis",
    citation="Shi, Xu & Jia, CVPR 2014 (gradient kurtosis feature)",
    description="local kurtosis of derivatives",
    checks=WINDOW,
)
def kurtosis(image: np.ndarray, window: int = 15, refine: bool = False) -> np.ndarray:
    """Local kurtosis of the image derivatives: ``log(min(K(dx), K(dy)))``.

    Parameters and returns as :func:`lapvar`.
    """
    rgb, g = _prepare(image, window, "kurtosis")
    dx = cv2.filter2D(g, cv2.CV_32F, np.array([[-1, 1]], np.float32), borderType=BORDER)
    dy = cv2.filter2D(g, cv2.CV_32F, np.array([[-1], [1]], np.float32), borderType=BORDER)
    k = np.minimum(_local_kurtosis(dx, window), _local_kurtosis(dy, window))
    return finish(np.log(np.maximum(k, 1.0)), rgb, refine, window // 2)


_DCT8 = dct_matrix(8).astype(np.float32)
_FREQ = np.add.outer(np.arange(8), np.arange(8))


def _block_dct_energy(g: np.ndarray, cutoff: int) -> np.ndarray:
    """AC and high-frequency energy of the 8 x 8 DCT of the blocks at every 4th row and column.

    ``g`` has sides divisible by 4; block (i, j) covers rows 4i .. 4i + 7 and columns 4j .. 4j + 7,
    so each block is two adjacent 4-pixel chunks in each direction and the transform is two
    small contiguous matrix products per direction.
    """
    hq, wq = g.shape[0] // 4, g.shape[1] // 4
    left, right = _DCT8[:, :4].T.copy(), _DCT8[:, 4:].T.copy()  # (4, 8)
    x = g.reshape(g.shape[0], wq, 4)
    rows = x[:, :-1] @ left + x[:, 1:] @ right  # (H, wq - 1, 8): horizontal frequencies
    y = rows.reshape(hq, 4, wq - 1, 8).transpose(0, 2, 3, 1)  # (hq, wq - 1, 8 u, 4 rows)
    c = y[:-1] @ left + y[1:] @ right  # (hq - 1, wq - 1, 8 u, 8 v)
    energy = (c * c).reshape(hq - 1, wq - 1, 64)
    masks = np.stack([_FREQ.ravel() >= 1, _FREQ.ravel() >= cutoff], axis=1).astype(np.float32)
    sums = energy @ masks
    return sums[..., 0], sums[..., 1]


@detector(
    "dct",
    citation="Shen & Chen, ICIP 2006 (DCT energy-ratio focus measure)",
    description="high-frequency energy ratio of 8x8 DCT blocks",
    # u + v of an 8 x 8 block runs from 0 to 14: cutoff 1 counts every AC coefficient as high (a
    # constant ratio of 1), cutoff 15 none
    checks={"window": at_least(8), "cutoff": between(2, 14)},
)
def dct(image: np.ndarray, window: int = 15, refine: bool = False, cutoff: int = 4) -> np.ndarray:
    """High-frequency DCT energy ratio of 8 x 8 blocks, averaged over the window.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W) or (H, W, 4)
        uint8; uint16, bool and [0, 1] float are converted (:func:`~dbdbench.baselines.imageops.as_rgb`).
    window : int
        Averaging window side in pixels (at least 8, the DCT block size).
    refine : bool
        Refine the map with a guided filter on the image.
    cutoff : int
        Coefficients with ``u + v >= cutoff`` count as high frequency (2..14).

    Returns
    -------
    ndarray, shape (H, W), dtype float32, values in [0, 1], 1 = in-focus
    """
    rgb, g = _prepare(image, window, "dct")
    h, w = g.shape
    # Pad 4 on the top/left and up to a multiple of 4 plus 4 on the bottom/right: block (i, j)
    # then covers image rows 4i - 4 .. 4i + 3, centred on 4i - 0.5.
    gp = cv2.copyMakeBorder(g, 4, 4 + (-h) % 4 + 4, 4, 4 + (-w) % 4 + 4, BORDER)
    with single_blas_thread():
        ac, high = _block_dct_energy(gp, cutoff)
    ratio = high / np.maximum(ac, np.float32(1e-10))
    gh, gw = ratio.shape
    # The resize puts block (i, j) at 4i + 1.5; shift it back by 2 pixels.
    full = cv2.resize(ratio, (gw * 4, gh * 4), interpolation=cv2.INTER_LINEAR)
    shift = np.float32([[1, 0, -2], [0, 1, -2]])
    full = cv2.warpAffine(full, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return finish(box_mean(full, window), rgb, refine, window // 2)
