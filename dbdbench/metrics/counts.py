"""Per-image confusion counts: one joint histogram of (ground truth, prediction level).

A prediction stored with integer levels (uint8 or uint16) takes at most 256 or 65536 distinct values,
and every threshold metric of an image (precision, recall, F and E-measure curves, adaptive
thresholds, MAE, IoU, Dice) depends only on how many pixels of each level fall on each side of the GT.
One ``np.bincount`` of ``gt * levels + pred`` therefore replaces the per-threshold passes over the
image. The S-measure also needs the counts per quadrant around the GT centroid, which
:func:`quadrant_histograms` returns from the same single pass.
"""

from __future__ import annotations

import cv2
import numpy as np


def levels_of(pred: np.ndarray) -> int:
    """Number of levels of an integer prediction: 256 for uint8, 65536 for uint16.

    Parameters
    ----------
    pred : ndarray, dtype uint8 or uint16

    Returns
    -------
    int
    """
    if pred.dtype == np.uint8:
        return 256
    if pred.dtype == np.uint16:
        return 65536
    raise TypeError(f"prediction levels need a uint8 or uint16 array, got {pred.dtype}")


def joint_histogram(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Count the pixels of every (GT class, prediction level) pair.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8 or uint16
        Prediction levels.
    gt : ndarray, shape (H, W), dtype bool
        Positive class.

    Returns
    -------
    ndarray, shape (2, L), dtype int64
        Row 0: negatives (gt False), row 1: positives; ``L`` = 256 or 65536 levels.
    """
    levels = levels_of(pred)
    return _count(joint_key(pred, gt, levels), 2 * levels).reshape(2, levels)


def joint_key(pred: np.ndarray, gt: np.ndarray, levels: int) -> np.ndarray:
    """``gt * levels + pred`` per pixel (uint16 for 8-bit maps), by shifts: no masked writes.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8 or uint16
    gt : ndarray, shape (H, W), dtype bool
    levels : int
        256 or 65536.

    Returns
    -------
    ndarray, shape (H, W), dtype uint16 (8-bit maps) or uint32, with room for two more bits.
    """
    key = gt.view(np.uint8).astype(np.uint16 if levels == 256 else np.uint32)
    key <<= 8 if levels == 256 else 16
    key |= pred
    return key


def _count(key: np.ndarray, n: int) -> np.ndarray:
    """Occurrences of 0..n-1 in an integer array, as int64."""
    if key.dtype == np.uint16 and key.size < 2**24:
        # OpenCV's histogram of 16-bit data is faster than bincount (which first copies to intp);
        # its float32 counts are exact below 2**24
        return cv2.calcHist([key], [0], None, [n], [0, n]).ravel().astype(np.int64)
    return np.bincount(key.ravel(), minlength=n)


def gt_centroid(gt: np.ndarray) -> tuple[int, int]:
    """The split point of the S-measure's region score (Fan et al., ICCV 2017).

    The GT foreground centroid rounded half to even, plus one (the MATLAB ``1:X`` convention of the
    original code, as PySODMetrics keeps it); the image centre when the GT is empty.

    Parameters
    ----------
    gt : ndarray, shape (H, W), dtype bool

    Returns
    -------
    (cy, cx) : tuple of int
        Rows ``[0, cy)`` and columns ``[0, cx)`` form the top-left quadrant; 1 <= cy <= H, 1 <= cx <= W.
    """
    h, w = gt.shape
    rows = np.count_nonzero(gt, axis=1)
    n = int(rows.sum())
    if n == 0:
        cy, cx = np.round(h / 2), np.round(w / 2)
    else:
        cols = np.count_nonzero(gt, axis=0)
        # exact integer sums, one float division: the same value as mean(argwhere(gt), axis=0)
        cy = np.round(float(np.dot(np.arange(h, dtype=np.int64), rows)) / n)
        cx = np.round(float(np.dot(np.arange(w, dtype=np.int64), cols)) / n)
    return int(cy) + 1, int(cx) + 1


def quadrant_histograms(pred: np.ndarray, gt: np.ndarray, cy: int, cx: int) -> np.ndarray:
    """Joint histograms of the four quadrants split at (cy, cx), from one pass over the image.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8 or uint16
    gt : ndarray, shape (H, W), dtype bool
    cy, cx : int
        Split row and column (see :func:`gt_centroid`).

    Returns
    -------
    ndarray, shape (4, 2, L), dtype int64
        Quadrants in the order top-left, top-right, bottom-left, bottom-right; each as in
        :func:`joint_histogram`. Their sum is the whole image's histogram.
    """
    levels = levels_of(pred)
    key = joint_key(pred, gt, levels)
    key[:, cx:] += 2 * levels
    key[cy:, :] += 4 * levels
    return _count(key, 8 * levels).reshape(4, 2, levels)


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of products of two 1-D arrays, in this thread.

    ``np.dot`` hands long float vectors to BLAS, whose worker threads spin and stall on a busy
    machine (and oversubscribe cores under ``--workers``); ``einsum`` sums in the calling thread.
    """
    return float(np.einsum("i,i->", a, b))
