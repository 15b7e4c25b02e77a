"""Agreement between annotators: pairwise IoU and Fleiss' kappa.

Reference
---------
J. L. Fleiss, "Measuring nominal scale agreement among many raters", Psychological Bulletin 76(5),
378-382, 1971.
"""

from __future__ import annotations

import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two binary masks (1.0 when both are empty).

    Parameters
    ----------
    a, b : ndarray, same shape, bool
        Binary masks.

    Returns
    -------
    float
        In [0, 1].
    """
    union = np.count_nonzero(a | b)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(a & b) / union)


def fleiss_kappa(table: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Fleiss' kappa of a subjects x categories table of rating counts.

    Parameters
    ----------
    table : ndarray, shape (N, k), int
        ``table[i, c]`` = raters who put subject i in category c; every row sums to the same n >= 2.
    weights : ndarray, shape (N,), optional
        Multiplicity of each row (identical subjects counted once with a weight).

    Returns
    -------
    float
        Kappa in [-1, 1]; NaN when chance agreement is 1 (every rating in one category).
    """
    table = np.asarray(table, dtype=np.float64)
    n = table.sum(axis=1)
    if table.ndim != 2 or n.size == 0 or np.any(n != n[0]) or n[0] < 2:
        raise ValueError("fleiss_kappa needs a non-empty table whose rows all sum to the same n >= 2")
    n = n[0]
    w = np.ones(len(table)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    p_i = ((table * (table - 1)).sum(axis=1)) / (n * (n - 1))
    p_bar = float((w * p_i).sum() / total)
    p_c = (w[:, None] * table).sum(axis=0) / (total * n)
    p_e = float((p_c**2).sum())
    if p_e >= 1.0 - 1e-15:
        return float("nan")
    return (p_bar - p_e) / (1.0 - p_e)


def fleiss_kappa_masks(masks: list[np.ndarray]) -> float:
    """Fleiss' kappa of n binary masks, every pixel a subject rated in-focus or blurred.

    Parameters
    ----------
    masks : list of ndarray, same shape, bool
        At least two annotators.

    Returns
    -------
    float
        Kappa; NaN when every annotator marks every pixel alike (agreement by chance is then 1).
    """
    n = len(masks)
    votes = np.zeros(masks[0].shape, dtype=np.int32)
    for m in masks:
        votes += m
    per_k = np.bincount(votes.ravel(), minlength=n + 1).astype(np.float64)
    k = np.arange(n + 1)
    keep = per_k > 0
    table = np.stack([k, n - k], axis=1)[keep]
    return fleiss_kappa(table, weights=per_k[keep])
