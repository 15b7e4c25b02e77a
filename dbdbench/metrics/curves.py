"""Threshold curves from per-image counts: precision, recall, F-measure and E-measure.

Every function takes the number of positive predictions among GT positives (``tp``) and negatives
(``fp``) at each threshold, so that one histogram per image (:mod:`dbdbench.metrics.counts`) gives
all curves. The arithmetic follows PySODMetrics 1.6 operation by operation, so the curves are
bit-identical to it for the same counts.

References
----------
Achanta et al., "Frequency-tuned salient region detection", CVPR 2009 (F-measure, beta^2 = 0.3).
Fan et al., "Enhanced-alignment measure for binary foreground map evaluation", IJCAI 2018 (E-measure).
"""

from __future__ import annotations

import numpy as np

EPS = np.spacing(1)
BETA2 = 0.3


def descending_cumulative(hist: np.ndarray) -> np.ndarray:
    """Pixels at or above each level, highest level first.

    Parameters
    ----------
    hist : ndarray, shape (..., K), integer
        Counts per level 0..K-1.

    Returns
    -------
    ndarray, shape (..., K), int64
        Entry ``i`` counts the pixels with level >= K - 1 - i (the PySODMetrics order).
    """
    return np.cumsum(hist[..., ::-1], axis=-1, dtype=np.int64)


def precision_recall_f(tp: np.ndarray, fp: np.ndarray, n_pos: int, beta2: float = BETA2):
    """Precision, recall and F-measure per threshold (PySODMetrics ``Fmeasure.cal_pr`` conventions).

    Parameters
    ----------
    tp, fp : ndarray, shape (K,), int
        Positive predictions on GT positives / GT negatives at each threshold.
    n_pos : int
        GT positives.
    beta2 : float
        beta^2 of the F-measure.

    Returns
    -------
    precision, recall, f : ndarray, shape (K,), float64
        P = TP / max(TP + FP, 1), R = TP / max(n_pos, 1), F = 0 where P * R = 0.
    """
    ps = tp + fp
    ps = np.where(ps == 0, 1, ps)
    precision = tp / ps
    recall = tp / max(n_pos, 1)
    return precision, recall, f_from_pr(precision, recall, beta2)


def f_from_pr(precision, recall, beta2: float = BETA2, eps: float = 0.0):
    """F = (1 + beta2) P R / (beta2 P + R + eps), 0 where the denominator is 0: the one F-measure.

    Parameters
    ----------
    precision, recall : float or ndarray, float64, values in [0, 1]
    beta2 : float
        beta^2 of the F-measure (0.3 in every DBD protocol).
    eps : float
        Added to the denominator, as some tools do (``binseg``: 1e-8); 0 for the exact formula.

    Returns
    -------
    float or ndarray, float64
    """
    precision = np.asarray(precision, dtype=np.float64)
    recall = np.asarray(recall, dtype=np.float64)
    num = (1 + beta2) * precision * recall
    den = beta2 * precision + recall + eps
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def e_measure_counts(tp, fp, n_pos: int, n: int):
    """Enhanced-alignment measure of binary predictions, from counts.

    The enhanced alignment matrix of a binarised prediction takes only four values (one per
    combination of predicted and true class), each a function of the fraction of predicted positives
    and of GT positives; the sum over pixels is therefore a weighted sum of the four counts. Special
    cases as in the reference: an empty GT scores the predicted negatives, a full GT the predicted
    positives; the sum is divided by ``n - 1 + eps``.

    Parameters
    ----------
    tp, fp : int or ndarray of int
        Predicted positives on GT positives / negatives (one entry per threshold).
    n_pos, n : int
        GT positives and pixels.

    Returns
    -------
    float or ndarray, float64
        E-measure per threshold, in [0, 1].
    """
    tp = np.asarray(tp, dtype=np.int64)
    fp = np.asarray(fp, dtype=np.int64)
    pred_pos = tp + fp
    pred_neg = n - pred_pos
    if n_pos == 0:
        total = pred_neg
    elif n_pos == n:
        total = pred_pos
    else:
        fn = n_pos - tp
        tn = pred_neg - fn
        mean_pred = pred_pos / n
        mean_gt = n_pos / n
        dp_fg, dp_bg = 1 - mean_pred, 0 - mean_pred
        dg_fg, dg_bg = 1 - mean_gt, 0 - mean_gt
        total = 0
        for count, a, b in ((tp, dp_fg, dg_fg), (fp, dp_fg, dg_bg), (fn, dp_bg, dg_fg), (tn, dp_bg, dg_bg)):
            align = 2 * (a * b) / (a**2 + b**2 + EPS)
            total = total + (align + 1) ** 2 / 4 * count
    return total / (n - 1 + EPS)
