"""Salient-object-detection metrics on arrays, numerically identical to PySODMetrics 1.6.

F-measure curves (Achanta et al., CVPR 2009), MAE (Perazzi et al., CVPR 2012), S-measure (Fan et
al., "Structure-measure: a new way to evaluate foreground maps", ICCV 2017), E-measure (Fan et al.,
IJCAI 2018), weighted F-measure (Margolin et al., "How to evaluate foreground maps?", CVPR 2014),
IoU and Dice at the fixed threshold 0.5.

Conventions (those of PySODMetrics, whose behaviour this module reproduces to 1e-9; the code is
written from the papers and the description in ``docs/evaluation.md``):

- GT positive = value > 128 (uint8; > 32896 for uint16, > 128/255 for float input).
- Prediction p = value / 255 (65535 for uint16), then min-max normalised when not constant.
- Curves: q = uint8(p * 255) (truncation), 256 thresholds, positive when q >= k; listed from
  k = 255 down to k = 0 (the reference's order).

Everything except the weighted F-measure is computed from per-quadrant joint histograms of
(GT, prediction level) (:mod:`dbdbench.metrics.counts`), so an image costs one pass plus
O(levels) work. One documented deviation: when the GT centroid falls on the last row or column,
one S-measure quadrant is empty and the reference returns NaN; here the empty quadrant has weight 0
and the score stays finite.
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.errors import DbdError
from dbdbench.metrics.counts import (
    dot,
    gt_centroid,
    joint_histogram,
    joint_key,
    levels_of,
    quadrant_histograms,
)
from dbdbench.metrics.curves import (
    EPS,
    descending_cumulative,
    e_measure_counts,
    f_from_pr,
    precision_recall_f,
)


def as_levels(pred: np.ndarray, what: str = "prediction") -> np.ndarray:
    """A prediction as integer levels: uint8 and uint16 unchanged, float in [0, 1] rounded to uint8.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8, uint16 or float
    what : str
        Name used in error messages.

    Returns
    -------
    ndarray, shape (H, W), dtype uint8 or uint16

    Raises
    ------
    DbdError
        NaN values, float values outside [0, 1], or not a 2-D array.
    """
    pred = np.asarray(pred)
    if pred.ndim != 2:
        raise DbdError(f"{what} must be a 2-D grey map, got shape {pred.shape}")
    if pred.dtype in (np.uint8, np.uint16):
        return pred
    if pred.dtype == bool:
        return pred.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(pred.dtype, np.floating):
        if np.isnan(pred).any():
            raise DbdError(f"{what} contains NaN; fix the map (values must be in [0, 1])")
        if pred.size and (pred.min() < 0 or pred.max() > 1):
            raise DbdError(f"{what} has values outside [0, 1]; rescale the map")
        return np.rint(pred.astype(np.float64) * 255.0).astype(np.uint8)
    raise DbdError(f"{what} has unsupported type {pred.dtype}; use uint8, uint16 or float in [0, 1]")


def gt_positive(gt: np.ndarray, what: str = "ground truth") -> np.ndarray:
    """The sod GT rule: positive = value > 128 (of 255), as a bool mask.

    Parameters
    ----------
    gt : ndarray, shape (H, W), dtype bool, uint8, uint16 or float in [0, 1]

    Returns
    -------
    ndarray, shape (H, W), dtype bool
    """
    gt = np.asarray(gt)
    if gt.ndim != 2:
        raise DbdError(f"{what} must be a 2-D mask, got shape {gt.shape}")
    if gt.dtype == bool:
        return gt
    if gt.dtype == np.uint8:
        return gt > 128
    if gt.dtype == np.uint16:
        return gt > 128 * 257
    if np.issubdtype(gt.dtype, np.floating):
        if np.isnan(gt).any():
            raise DbdError(f"{what} contains NaN; fix the mask")
        return gt > 128 / 255
    raise DbdError(f"{what} has unsupported type {gt.dtype}; use uint8, uint16, bool or float")


def normalised_values(present: np.ndarray, levels: int) -> np.ndarray:
    """The normalised value p of every level, computed exactly as the reference does per pixel.

    Parameters
    ----------
    present : ndarray, shape (L,), int
        Pixel count per level (only which levels occur matters: they give min and max).
    levels : int
        256 or 65536.

    Returns
    -------
    ndarray, shape (L,), float64
        ``v / scale``, min-max normalised over the occurring levels when they are not all equal.
    """
    values = np.arange(levels) / float(levels - 1)
    nz = np.flatnonzero(present)
    lo, hi = values[nz[0]], values[nz[-1]]
    if hi != lo:
        values = (values - lo) / (hi - lo)
    return values


def _s_object(count: np.ndarray, values: np.ndarray) -> float:
    n = count.sum()
    mean = float(dot(count, values)) / n
    std = np.sqrt(float(dot(count, (values - mean) ** 2)) / (n - 1)) if n > 1 else 0.0
    return 2 * mean / (mean**2 + 1 + std + EPS)


def _ssim(hist: np.ndarray, p: np.ndarray, exact_mean) -> float:
    """SSIM-like score of one quadrant from its joint histogram (shape (2, L)).

    ``exact_mean()`` returns the quadrant's mean computed exactly as the reference does (needed only
    where the reference's result hinges on floating-point equality).
    """
    neg, pos = hist[0], hist[1]
    n_pos, n = int(pos.sum()), int(neg.sum() + pos.sum())
    if n == 0:
        return 0.0
    allc = neg + pos
    x = float(dot(allc, p)) / n
    y = n_pos / n
    d = p - x
    denom = n - 1 + EPS
    sigma_x = float(dot(allc, d * d)) / denom
    if n_pos in (0, n):
        # constant GT: sigma_y and sigma_xy are exactly 0, alpha is 0; the score is 1 when beta is 0
        if x == 0 and y == 0:
            return 1.0
        levels_here = np.flatnonzero(allc)
        if len(levels_here) > 1 and p[levels_here].min() != p[levels_here].max():
            return 0.0
        # constant prediction: the reference's sigma_x is 0 only if its mean equals the value exactly
        return 1.0 if exact_mean() == p[levels_here[0]] else 0.0
    sigma_y = (n_pos * (1 - y) ** 2 + (n - n_pos) * y**2) / denom
    sigma_xy = (float(dot(pos, d)) * (1 - y) + float(dot(neg, d)) * (0 - y)) / denom
    alpha = 4 * x * y * sigma_xy
    beta = (x**2 + y**2) * (sigma_x + sigma_y)
    if alpha != 0:
        return alpha / (beta + EPS)
    return 1.0 if beta == 0 else 0.0


def _s_measure(quads: np.ndarray, p: np.ndarray, pred: np.ndarray, cy: int, cx: int, alpha=0.5) -> float:
    hist = quads.sum(axis=0)
    n_pos = int(hist[1].sum())
    n = int(hist.sum())
    allc = hist[0] + hist[1]
    if n_pos == 0:
        return 1 - float(dot(allc, p)) / n
    if n_pos == n:
        return float(dot(allc, p)) / n
    y = n_pos / n
    obj = _s_object(hist[1], p) * y + _s_object(hist[0], 1 - p) * (1 - y)
    h, w = pred.shape
    area = h * w
    w_lt = cx * cy / area
    w_rt = cy * (w - cx) / area
    w_lb = (h - cy) * cx / area
    w_rb = 1 - w_lt - w_rt - w_lb
    slices = (
        (slice(0, cy), slice(0, cx)),
        (slice(0, cy), slice(cx, w)),
        (slice(cy, h), slice(0, cx)),
        (slice(cy, h), slice(cx, w)),
    )
    region = 0.0
    for k, weight in enumerate((w_lt, w_rt, w_lb, w_rb)):
        region += _ssim(quads[k], p, lambda sl=slices[k]: np.mean(p[pred][sl])) * weight
    return max(0.0, obj * alpha + region * (1 - alpha))


def _gauss_1d(size: int = 7, sigma: float = 5.0) -> np.ndarray:
    r = (size - 1) / 2
    x = np.arange(-r, r + 1)
    k = np.exp(-(x * x) / (2 * sigma * sigma))
    return k / k.sum()


_GAUSS = _gauss_1d()
_RADIUS = 3  # of the 7x7 Gaussian


def _offsets_by_tie_rule(max_sq: int) -> tuple[np.ndarray, np.ndarray]:
    """The offsets at each squared distance k <= max_sq, in the order of the reference's tie rule.

    Returns
    -------
    dr, dc : ndarray, shape (max_sq + 1, G), int
        Row k lists the offsets (dr, dc) with dr^2 + dc^2 = k, ordered by column, then row; rows are
        padded to the largest group G by repeating their last offset (rows of a k that is not a sum
        of two squares hold the zero offset; no pixel has such a squared distance).
    """
    r = int(np.floor(np.sqrt(max_sq)))
    dr, dc = np.mgrid[-r : r + 1, -r : r + 1]
    dr, dc = dr.ravel(), dc.ravel()
    sq = dr * dr + dc * dc
    groups = []
    for k in range(max_sq + 1):
        sel = np.flatnonzero((sq == k) & (k > 0))
        groups.append(sel[np.lexsort((dr[sel], dc[sel]))])
    size = max(len(g) for g in groups)
    table_r = np.zeros((max_sq + 1, size), np.intp)
    table_c = np.zeros((max_sq + 1, size), np.intp)
    for k, sel in enumerate(groups):
        if len(sel):
            padded = np.concatenate([sel, np.repeat(sel[-1:], size - len(sel))])
            table_r[k], table_c[k] = dr[padded], dc[padded]
    return table_r, table_c


# a pixel within Chebyshev distance 3 of the GT has its nearest GT pixel within distance sqrt(18)
_MAX_SQ = 2 * _RADIUS * _RADIUS
_TIE_DR, _TIE_DC = _offsets_by_tie_rule(_MAX_SQ)
_WINDOW = np.ones((2 * _RADIUS + 1, 2 * _RADIUS + 1), np.uint8)
_PAD = int(np.sqrt(_MAX_SQ))
_DECAY = np.log(0.5) / 5  # importance B = 2 - exp(_DECAY * distance) off the GT


def _distances(gt: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest GT pixel (exact transform).

    Returns
    -------
    ndarray, shape (H, W), float32 (OpenCV, images under 2048 px) or float64 (scipy, larger)
        The square of each value, rounded, is the exact integer squared distance: OpenCV's float32
        error stays below 0.5 on the square under 2048 px.
    """
    background = (~gt).view(np.uint8)
    if max(gt.shape) >= 2048:
        from scipy.ndimage import distance_transform_edt

        return distance_transform_edt(background)
    return cv2.distanceTransform(background, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _decay(dist: np.ndarray) -> np.ndarray:
    """``exp(_DECAY * D)`` per pixel, with D = sqrt of the exact integer squared distance, float64."""
    e = dist.astype(np.float64)
    cv2.multiply(e, e, dst=e)
    np.rint(e, out=e)
    cv2.sqrt(e, dst=e)
    cv2.multiply(e, _DECAY, dst=e)
    return cv2.exp(e, dst=e)


def _nearest_gt_pixels(gt: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Flat indices of the non-GT pixels near the GT and of their nearest GT pixel.

    "Nearest" follows scipy's exact Euclidean feature transform, which the reference uses, including
    its choice among equidistant GT pixels: the one in the leftmost column, then the topmost row.
    Only the non-GT pixels within Chebyshev distance 3 of the GT are listed: the others never reach
    the 7x7 filter's output on GT pixels, all the measure reads. Their nearest GT pixel lies within
    distance sqrt(18), and ``dist`` gives its exact distance, so only the offsets at exactly that
    distance are searched, in tie order.

    Returns
    -------
    (near, nearest) : tuple of ndarray, shape (K,), intp, or None
        ``err.ravel()[near] = err.ravel()[nearest]`` takes the error at the nearest GT pixel; None when
        no pixel is near the GT.
    """
    g8 = gt.view(np.uint8)
    ring = cv2.dilate(g8, _WINDOW)
    ring -= g8
    points = cv2.findNonZero(ring)
    if points is None:
        return None
    xs, ys = points.reshape(-1, 2).T.astype(np.intp)
    h, w = gt.shape
    d = dist[ys, xs].astype(np.float64)
    sq = np.rint(d * d).astype(np.intp)
    # GT in a frame of _PAD zeros, so that every offset of a ring pixel stays inside
    pw = w + 2 * _PAD
    framed = np.zeros((h + 2 * _PAD, pw), bool)
    framed[_PAD : _PAD + h, _PAD : _PAD + w] = gt
    candidates = framed.ravel()[((ys + _PAD) * pw + (xs + _PAD))[:, None] + (_TIE_DR * pw + _TIE_DC)[sq]]
    first = np.argmax(candidates, axis=1)
    return ys * w + xs, (ys + _TIE_DR[sq, first]) * w + (xs + _TIE_DC[sq, first])


class SodTruth:
    """A GT mask prepared once for the sod metrics of any number of predictions.

    Holds the positive mask, its size and S-measure split point, and (computed on first use, then
    kept) the weighted F-measure's GT-only data: the distance transform, the importance decay and
    the nearest GT pixel of the pixels near the GT.

    Parameters
    ----------
    gt : ndarray, shape (H, W), dtype bool, uint8, uint16 or float
        Ground truth; positive = value > 128 of 255 (bool: itself).
    structure : bool
        Also prepare the S-measure's split point.
    """

    def __init__(self, gt: np.ndarray, structure: bool = True):
        self.gt = gt_positive(gt)
        self.n_pos = int(np.count_nonzero(self.gt))
        self.structure = structure
        self.centroid = gt_centroid(self.gt) if structure else None
        self._dist = self._decay = self._nearest = None
        self._nearest_done = False

    @property
    def dist(self) -> np.ndarray:
        """Distance of every pixel to the nearest GT pixel (see :func:`_distances`)."""
        if self._dist is None:
            self._dist = _distances(self.gt)
        return self._dist

    @property
    def decay(self) -> np.ndarray:
        """``exp(_DECAY * D)`` per pixel (see :func:`_decay`), float64."""
        if self._decay is None:
            self._decay = _decay(self.dist).ravel()
        return self._decay

    @property
    def nearest(self) -> tuple[np.ndarray, np.ndarray] | None:
        """See :func:`_nearest_gt_pixels`."""
        if not self._nearest_done:
            self._nearest = _nearest_gt_pixels(self.gt, self.dist)
            self._nearest_done = True
        return self._nearest


def _weighted_f(err: np.ndarray, truth: SodTruth, sum_err_pos: float, sum_err_neg: float, beta2=1.0) -> float:
    """Weighted F-measure from the error map |p - gt| and its sums on and off the GT.

    ``err`` (float64, C-contiguous) is overwritten. A map without error off the GT needs no
    distance weights; one without error on the GT, no filtering.
    """
    n_pos = truth.n_pos
    if n_pos == 0:
        return 0.0
    fpw = 0.0
    if sum_err_neg > 0:
        # importance B = 2 - exp(_DECAY * D), D = distance to the GT (so B = 1 on the GT):
        # FPw = sum over non-GT of err * B = sum(err * (2 - e)) - sum over GT of err
        fpw = 2 * (sum_err_pos + sum_err_neg) - dot(err.ravel(), truth.decay) - sum_err_pos
    sum_pos = 0.0
    if sum_err_pos > 0:
        # error at the nearest GT pixel (unchanged on the GT), then the 7x7 Gaussian (sigma 5) with
        # a zero border, capped by the error itself on the GT
        nearest = truth.nearest
        if nearest is not None:
            flat_err = err.ravel()
            flat_err[nearest[0]] = flat_err[nearest[1]]
        ea = cv2.sepFilter2D(err, cv2.CV_64F, _GAUSS, _GAUSS, borderType=cv2.BORDER_CONSTANT)
        cv2.min(ea, err, dst=ea)
        sum_pos = float(ea.sum(where=truth.gt))
    tpw = n_pos - sum_pos
    recall = 1 - sum_pos / n_pos
    precision = tpw / (tpw + fpw + EPS)
    return (1 + beta2) * recall * precision / (recall + beta2 * precision + EPS)


def _error_map(pred: np.ndarray, gt: np.ndarray, p: np.ndarray, levels: int) -> np.ndarray:
    """|p - gt| per pixel, float64: the level's value ``p`` off the GT, ``1 - p`` on it."""
    if levels == 256:
        err = cv2.LUT(pred, p)
        cv2.subtract(1.0, err, dst=err, mask=gt.view(np.uint8))
        return err
    return np.concatenate([p, 1 - p])[joint_key(pred, gt, levels)]


def sod_scores(pred: np.ndarray, gt: np.ndarray | SodTruth, *, structure: bool = True) -> dict:
    """All sod-protocol scores of one image.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8, uint16, or float in [0, 1] (rounded to uint8)
        Prediction, high = positive.
    gt : ndarray, shape (H, W), dtype bool, uint8, uint16 or float; or SodTruth
        Ground truth; positive = value > 128 of 255 (bool: itself). A :class:`SodTruth` (prepared
        once, shared by the predictions of many methods) gives identical numbers.
    structure : bool
        Also compute the S-measure and weighted F-measure (they need the full maps). Ignored for a
        :class:`SodTruth`, which says it itself.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f``, ``e``: ndarray, shape (256,), float64, thresholds 255..0;
        ``mae``, ``adaptive_f`` (and its ``adaptive_precision``, ``adaptive_recall``: the P and R at
        the adaptive threshold min(2 x mean, 1)), ``adaptive_e``, ``iou``, ``dice`` and (with ``structure``)
        ``s_measure``, ``weighted_f``: float.
    """
    pred = as_levels(pred)
    truth = gt if isinstance(gt, SodTruth) else SodTruth(gt, structure)
    gt = truth.gt
    structure = truth.structure
    if pred.shape != gt.shape:
        raise DbdError(f"prediction shape {pred.shape} differs from the ground truth's {gt.shape}")
    if pred.size == 0:
        raise DbdError("empty image (0 pixels); remove it")
    levels = levels_of(pred)
    if structure:
        cy, cx = truth.centroid
        quads = quadrant_histograms(pred, gt, cy, cx)
        hist = quads.sum(axis=0)
    else:
        hist = joint_histogram(pred, gt)
    neg, pos = hist
    allc = neg + pos
    n = int(allc.sum())
    n_pos = int(pos.sum())
    p = normalised_values(allc, levels)
    q = (p * 255).astype(np.uint8)
    pos_q = np.bincount(q, weights=pos, minlength=256).astype(np.int64)
    neg_q = np.bincount(q, weights=neg, minlength=256).astype(np.int64)
    tp = descending_cumulative(pos_q)
    fp = descending_cumulative(neg_q)
    precision, recall, f = precision_recall_f(tp, fp, n_pos)
    e = e_measure_counts(tp, fp, n_pos, n)
    out = {"precision": precision, "recall": recall, "f": f, "e": e}
    out["mae"] = (float(dot(pos, 1 - p)) + float(dot(neg, p))) / n

    # adaptive threshold 2 * mean(p): when it lands on a level value, use the reference's exact mean
    mean_p = float(dot(allc, p)) / n
    thr = min(2 * mean_p, 1)
    occurring = p[allc > 0]
    if np.any(np.abs(occurring - thr) <= 1e-12):
        thr = min(2 * np.mean(p[pred]), 1)
    binary = p >= thr
    a_tp = int(pos[binary].sum())
    a_pp = int(allc[binary].sum())
    if a_tp == 0:
        out["adaptive_f"] = 0.0
        out["adaptive_precision"] = out["adaptive_recall"] = 0.0
    else:
        pre, rec = a_tp / a_pp, a_tp / n_pos
        out["adaptive_f"] = float(f_from_pr(pre, rec))
        out["adaptive_precision"], out["adaptive_recall"] = float(pre), float(rec)
    out["adaptive_e"] = float(e_measure_counts(a_tp, a_pp - a_tp, n_pos, n))

    half = p > 0.5
    b_tp = int(pos[half].sum())
    b_fp = int(neg[half].sum())
    b_fn = n_pos - b_tp
    out["iou"] = b_tp / (b_tp + b_fp + b_fn) if b_tp + b_fp + b_fn else 0.0
    out["dice"] = 2 * b_tp / (2 * b_tp + b_fn + b_fp) if b_tp + b_fp + b_fn else 0.0
    if structure:
        out["s_measure"] = _s_measure(quads, p, pred, cy, cx)
        err = _error_map(pred, gt, p, levels)
        out["weighted_f"] = _weighted_f(err, truth, dot(pos, 1 - p), dot(neg, p))
    return out


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """S-measure (Fan et al., ICCV 2017) of one map, alpha = 0.5 by default.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8, uint16 or float in [0, 1]
    gt : ndarray, shape (H, W), dtype bool, uint8, uint16 or float (positive > 128 of 255)

    Returns
    -------
    float
        In [0, 1].
    """
    pred = as_levels(pred)
    gt = gt_positive(gt)
    cy, cx = gt_centroid(gt)
    quads = quadrant_histograms(pred, gt, cy, cx)
    p = normalised_values(quads.sum(axis=(0, 1)), levels_of(pred))
    return _s_measure(quads, p, pred, cy, cx, alpha)


def weighted_f_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """Weighted F-measure (Margolin et al., CVPR 2014) of one map, beta^2 = 1.

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8, uint16 or float in [0, 1]
    gt : ndarray, shape (H, W), dtype bool, uint8, uint16 or float (positive > 128 of 255)

    Returns
    -------
    float
        In [0, 1]; 0 for an empty GT.
    """
    pred = as_levels(pred)
    gt = gt_positive(gt)
    if pred.shape != gt.shape:
        raise DbdError(f"prediction shape {pred.shape} differs from the ground truth's {gt.shape}")
    levels = levels_of(pred)
    neg, pos = joint_histogram(pred, gt)
    p = normalised_values(neg + pos, levels)
    truth = SodTruth(gt, structure=False)
    return _weighted_f(_error_map(pred, gt, p, levels), truth, dot(pos, 1 - p), dot(neg, p))
