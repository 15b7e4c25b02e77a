"""Resizing predictions to the GT size, the way each protocol's reference code does it.

- ``bilinear``: OpenCV ``INTER_LINEAR`` on the stored levels (uint8 / uint16 kept, rounded), as the
  Python evaluators do with ``cv2.resize``.
- ``bicubic``: MATLAB ``imresize(I, [H W])`` semantics for double images (Keys cubic kernel,
  a = -0.5; when shrinking the kernel is widened by 1/scale, MATLAB's default antialiasing; borders
  mirrored symmetrically; weights of each output normalised to sum 1). Written from the MATLAB
  documentation of ``imresize`` and Keys, "Cubic convolution interpolation for digital image
  processing", IEEE TASSP 1981.
"""

from __future__ import annotations

import cv2
import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def matlab_bicubic_matrix(in_len: int, out_len: int) -> np.ndarray:
    """The (out_len, in_len) matrix of MATLAB's bicubic ``imresize`` along one axis.

    Parameters
    ----------
    in_len, out_len : int
        Input and output lengths (>= 1).

    Returns
    -------
    ndarray, shape (out_len, in_len), float64
        Rows sum to 1.
    """
    scale = out_len / in_len
    width = 4.0
    if scale < 1:
        width /= scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - idx
    weights = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    # symmetric mirroring of out-of-range indices (1-based): 1..n, n..1, repeated
    period = 2 * in_len
    mod = np.mod(idx - 1, period).astype(np.int64)
    src = np.where(mod < in_len, mod, period - 1 - mod)
    mat = np.zeros((out_len, in_len))
    rows = np.repeat(np.arange(out_len), taps)
    np.add.at(mat, (rows, src.ravel()), weights.ravel())
    return mat


def resize_bicubic_matlab(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """MATLAB-like bicubic resize of a float image.

    Parameters
    ----------
    image : ndarray, shape (H, W), float
    shape : (H2, W2)

    Returns
    -------
    ndarray, shape (H2, W2), float64
        May leave [0, 1] slightly (cubic overshoot), as MATLAB's result does for double input.
    """
    h, w = image.shape
    rows = matlab_bicubic_matrix(h, shape[0])
    cols = matlab_bicubic_matrix(w, shape[1])
    return rows @ np.asarray(image, dtype=np.float64) @ cols.T


def resize_bilinear(pred: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """OpenCV bilinear resize of a uint8 / uint16 map to ``shape`` (H, W), keeping the dtype."""
    return cv2.resize(pred, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
