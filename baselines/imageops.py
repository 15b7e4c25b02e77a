"""Image operations shared by the classical detectors: input conversion, parameter checking, grey
conversion and normalisation (MATLAB-compatible where a port needs it), guided-filter refinement
(the filters themselves are in :mod:`dbdbench.baselines.edge_filters`).

Every detector starts with :func:`as_rgb` (any grey, RGB or RGBA photo of uint8, uint16, bool or
[0, 1] float becomes RGB uint8).

MATLAB-compatible pieces follow the documented behaviour of the MATLAB functions the published
detectors were written with (``rgb2gray``, ``mat2gray``, ``entropyfilt``), so ports match the authors'
maps.
"""

from __future__ import annotations

import contextlib

import cv2
import numpy as np

from dbdbench.baselines.edge_filters import guided_filter
from dbdbench.errors import DbdError

# ITU-R BT.601 luma weights as MATLAB's rgb2gray uses them (rows of the inverse YIQ matrix).
RGB2GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])

#: Smallest image side of the detectors whose window does not come from a parameter (lbp, zhuo, msjf).
MIN_SIDE = 8


def as_rgb(image: np.ndarray, *, min_size: int = 1, method: str = "detector") -> np.ndarray:
    """Check a detector input and convert it to RGB uint8.

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
        Grey, RGB or RGBA image: uint8 (0..255), uint16 (0..65535, rounded to 8 bits as
        :func:`dbdbench.imageio.read_rgb` does), bool, or float in [0, 1] (clipped, rounded). Grey is
        replicated to three channels; alpha is dropped.
    min_size : int
        Smallest accepted height and width (the detector's window).
    method : str
        Detector name, for the error message.

    Returns
    -------
    ndarray, shape (H, W, 3), dtype uint8, C-contiguous

    Raises
    ------
    DbdError
        Not an image (shape or sample type), NaN or infinite float values, or an image smaller
        than ``min_size`` on a side.
    """
    from dbdbench.imageio import to_uint8

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise DbdError(
            f"{method}: array of shape {image.shape} is not an image; "
            "pass (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA"
        )
    h, w = image.shape[:2]
    if min(h, w) < min_size:
        raise DbdError(
            f"{method}: image of {w}x{h} pixels is too small, smaller than its {min_size}x{min_size} "
            "window; use a larger image or a smaller window"
        )
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * np.uint8(255)
    elif image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise DbdError(f"{method}: image has NaN or infinite values; pass a finite image")
        image = to_uint8(image)
    elif image.dtype != np.uint8:
        raise DbdError(
            f"{method}: image has unsupported sample type {image.dtype}; "
            "pass uint8, uint16, bool or float in [0, 1]"
        )
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def single_blas_thread():
    """Context limiting BLAS to one thread (through threadpoolctl, when installed).

    The detectors make many small matrix products, which extra BLAS threads only slow down,
    badly so on a busy machine; parallelism comes from ``--workers`` instead.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def rgb2gray_matlab(rgb: np.ndarray, *, opencv: bool = False) -> np.ndarray:
    """ITU-R BT.601 grey of an RGB uint8 image, as MATLAB ``rgb2gray`` (weighted sum, rounded).

    The two roundings of the same luma differ by one grey level on 94032 of the 2^24 colours
    (0.56 %), so each detector keeps the one it was written and measured with: the ports of MATLAB
    code (hifst) use MATLAB's, the others (lbp, zhuo, svd, the focus operators) OpenCV's.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), dtype uint8
    opencv : bool
        Use OpenCV's ``cvtColor(RGB2GRAY)`` instead: 14-bit fixed-point weights 4899, 9617, 1868
        (/ 2^14), rounded, which is also faster.

    Returns
    -------
    ndarray, shape (H, W), dtype uint8
    """
    if opencv:
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    grey = rgb.astype(np.float64) @ RGB2GRAY_WEIGHTS
    return np.clip(np.floor(grey + 0.5), 0, 255).astype(np.uint8)


def dct_matrix(m: int) -> np.ndarray:
    """Orthonormal DCT-II matrix (MATLAB ``dctmtx``).

    Returns
    -------
    ndarray, shape (m, m), float64
        Row k is frequency k: ``D[k, n] = c_k cos(pi (2n + 1) k / (2m))``, ``D @ D.T = I``.
    """
    n = np.arange(m)
    d = np.sqrt(2.0 / m) * np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * m))
    d[0] /= np.sqrt(2.0)
    return d


def minmax(x: np.ndarray, axis=None) -> np.ndarray:
    """Rescale to [0, 1] by the minimum and maximum, like MATLAB ``mat2gray``.

    Parameters
    ----------
    x : ndarray, float
        Values to rescale.
    axis : int or tuple, optional
        Axes over which minimum and maximum are taken (default: all).

    Returns
    -------
    ndarray, same shape, float32 (float64 input stays float64)
        ``(x - min) / (max - min)``; a constant input gives zeros.
    """
    x = np.asarray(x)
    if x.dtype != np.float64:
        x = x.astype(np.float32)
    lo = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - lo
    safe = np.where(span > 0, span, 1)
    return np.where(span > 0, (x - lo) / safe, 0).astype(x.dtype)


def entropy_filter_matlab(unit: np.ndarray, size: int = 7) -> np.ndarray:
    """Local entropy like MATLAB ``entropyfilt(I, true(size))`` on a [0, 1] image.

    The image is quantised to 256 grey levels (``round(255 x)``), padded symmetrically, and the
    base-2 entropy of the grey-level histogram of each ``size`` x ``size`` window is returned:
    ``log2(n) - sum_b c_b log2(c_b) / n`` with ``c_b`` the window count of level ``b`` (a box sum of
    the level's indicator), accumulated over the levels present.

    Parameters
    ----------
    unit : ndarray, shape (H, W), float in [0, 1]
    size : int
        Odd window side.

    Returns
    -------
    ndarray, shape (H, W), dtype float64
        Entropy in bits, 0..log2(size**2).
    """
    q = np.clip(np.floor(np.asarray(unit, dtype=np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)
    r, n = size // 2, size * size
    padded = np.pad(q, r, mode="symmetric")
    counts = np.arange(256, dtype=np.float64)
    clogc = counts * np.log2(np.maximum(counts, 1.0))  # lookup table, counts <= n <= 255
    acc = np.zeros(q.shape, dtype=np.float64)
    for level in np.flatnonzero(np.bincount(q.ravel(), minlength=256)):
        indicator = (padded == level).view(np.uint8)
        c = cv2.boxFilter(indicator, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
        acc += cv2.LUT(c[r : r + q.shape[0], r : r + q.shape[1]], clogc)
    return np.maximum(np.log2(n) - acc / n, 0.0)


def guided_refine(map01: np.ndarray, rgb: np.ndarray, radius: int = 8, eps: float = 1e-3) -> np.ndarray:
    """Refine a map with a colour guided filter (He et al., ECCV 2010) guided by the image.

    Parameters
    ----------
    map01 : ndarray, shape (H, W), float in [0, 1]
    rgb : ndarray, shape (H, W, 3), uint8
        Guide image.
    radius : int
        Filter radius in pixels.
    eps : float
        Regularisation on the [0, 1] intensity scale.

    Returns
    -------
    ndarray, shape (H, W), float32, in [0, 1]
    """
    out = guided_filter(rgb.astype(np.float64) / 255.0, map01, radius, eps)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
