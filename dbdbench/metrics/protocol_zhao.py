"""Protocol ``zhao``: the MATLAB ``evaluate_dbd`` of Zhao et al.

Source: W. Zhao, F. Zhao, D. Wang, H. Lu, "Defocus blur detection via multi-stream bottom-top-bottom
fully convolutional network", CVPR 2018 (BTBNet), whose evaluation code was reused by CENet, DENets,
MLDBD and APL. Rules as described in ``docs/evaluation.md``:

- GT: scaled to [0, 1] on the in-focus scale (a blurred-white GT is inverted first), positive =
  value >= 0.1, so a non-binary GT counts every pixel of at least 10% as in-focus.
- Prediction: value / 255 (65535), resized to the GT size with MATLAB-like bicubic ``imresize`` when
  sizes differ, negatives clipped to 0, divided by its own maximum (an all-zero map stays zero).
- An image whose GT has no positive pixel is scored with GT and prediction inverted (1 - map).
- PR curve: 21 thresholds 1, 0.95, ..., 0 (positive when map >= threshold); P and R are 0 where
  TP = 0; P and R are averaged over images, F (beta^2 = 0.3) from the means; ``max_f`` is its max.
- ``mean_best_f``: per image, the best F over thresholds i/255, i = 1..255; then the mean over images
  (what these papers print as "F-measure"; higher than ``max_f``).
- ``mae``: mean |map - binary GT| per image (before the empty-GT inversion), averaged.
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.imageio import max_level
from dbdbench.metrics.counts import joint_histogram, levels_of
from dbdbench.metrics.curves import f_from_pr
from dbdbench.metrics.protocol import Metric, Protocol, focus_levels
from dbdbench.metrics.resize import resize_bicubic_matlab

CURVE_THRESHOLDS = np.linspace(1.0, 0.0, 21)
BEST_F_THRESHOLDS = np.arange(1, 256) / 255


def _counts_at(values_sorted: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many values are >= each threshold (values sorted ascending)."""
    return len(values_sorted) - np.searchsorted(values_sorted, thresholds, side="left")


def _weighted_counts_at(values: np.ndarray, counts: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many pixels have a value >= each threshold, from the pixel count of every value."""
    order = np.argsort(values, kind="stable")
    at_or_above = np.cumsum(counts[order][::-1])[::-1]
    idx = np.searchsorted(values[order], thresholds, side="left")
    return np.where(idx < len(values), at_or_above[np.minimum(idx, len(values) - 1)], 0)


def _pr(tp, pp, n_pos):
    hit = tp > 0
    precision = np.where(hit, tp / np.where(hit, pp, 1), 0.0)
    recall = np.where(hit, tp / max(n_pos, 1), 0.0)
    return precision, recall


class ZhaoProtocol(Protocol):
    """Zhao et al.'s MATLAB evaluation (see the module docstring)."""

    name = "zhao"
    source = "Zhao et al., CVPR 2018 (BTBNet) evaluate_dbd, reused by CENet, DENets, MLDBD, APL"
    resize = "bicubic"
    metrics = (
        Metric("mean_best_f", "meanBestF", higher_is_better=True),
        Metric("max_f", "maxF", higher_is_better=True),
        Metric("mae", "MAE", higher_is_better=False),
    )
    headline_f = "mean_best_f"
    headline_mae = "mae"
    curve_order = "1, 0.95, ..., 0"
    per_image_keys = ("best_f", "mae")

    def prepare_gt(self, gt, polarity):
        return focus_levels(gt, polarity).astype(np.float64) / max_level(gt) >= 0.1

    def score_prepared(self, pred, g):
        if pred.shape == g.shape:
            return self._score_levels(pred, g)
        m = pred.astype(np.float64) / max_level(pred)
        m = resize_bicubic_matlab(m, g.shape)
        m = np.maximum(m, 0)
        top = m.max()
        if top > 0:
            m = m / top
        mae = float(np.mean(np.abs(m - g)))
        if not g.any():
            g, m = ~g, 1 - m
        all_sorted = np.sort(m, axis=None)
        pos_sorted = np.sort(m[g])
        n_pos = len(pos_sorted)
        precision, recall = _pr(
            _counts_at(pos_sorted, CURVE_THRESHOLDS), _counts_at(all_sorted, CURVE_THRESHOLDS), n_pos
        )
        bp, br = _pr(
            _counts_at(pos_sorted, BEST_F_THRESHOLDS), _counts_at(all_sorted, BEST_F_THRESHOLDS), n_pos
        )
        return {
            "precision": precision,
            "recall": recall,
            "best_f": float(f_from_pr(bp, br).max()),
            "mae": mae,
        }

    def _score_levels(self, pred, g):
        """The same rules on a map of the GT's size, from its histogram of levels (no sorting).

        A map of stored levels takes one value per level; each is computed with the same floating-
        point operations as the per-pixel rule, so the counts at every threshold, and the numbers,
        are identical.
        """
        hist = joint_histogram(pred, g)  # row 1: GT positive
        values = np.arange(levels_of(pred)) / max_level(pred)
        occurring = np.flatnonzero(hist.sum(axis=0))
        top = values[occurring[-1]]
        if top > 0:
            values = values / top
        # |m - g| per pixel: m off the GT, 1 - m on it (exactly |m - 1| for m <= 1)
        err = cv2.LUT(pred, values) if pred.dtype == np.uint8 else values[pred]
        np.subtract(1.0, err, out=err, where=g)
        mae = float(np.mean(err))
        if not hist[1].any():
            hist, values = hist[::-1], 1 - values
        pos, allc = hist[1], hist[0] + hist[1]
        n_pos = int(pos.sum())
        curve = _pr(
            _weighted_counts_at(values, pos, CURVE_THRESHOLDS),
            _weighted_counts_at(values, allc, CURVE_THRESHOLDS),
            n_pos,
        )
        bp, br = _pr(
            _weighted_counts_at(values, pos, BEST_F_THRESHOLDS),
            _weighted_counts_at(values, allc, BEST_F_THRESHOLDS),
            n_pos,
        )
        return {
            "precision": curve[0],
            "recall": curve[1],
            "best_f": float(f_from_pr(bp, br).max()),
            "mae": mae,
        }

    def summarize(self, stacked):
        p = stacked["precision"].mean(axis=0)
        r = stacked["recall"].mean(axis=0)
        return {
            "mean_best_f": float(stacked["best_f"].mean()),
            "max_f": float(f_from_pr(p, r).max()),
            "mae": float(stacked["mae"].mean()),
        }

    def curves(self, stacked):
        p = stacked["precision"].mean(axis=0)
        r = stacked["recall"].mean(axis=0)
        return {
            "thresholds": CURVE_THRESHOLDS.tolist(),
            "precision": p.tolist(),
            "recall": r.tolist(),
            "f": f_from_pr(p, r).tolist(),
        }
