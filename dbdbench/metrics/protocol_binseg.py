"""Protocol ``binseg``: Binary-Segmentation-Evaluation-Tool (``measures.py``; also DUT_eval).

Source: X. Qin et al., "BASNet: boundary-aware salient object detection", CVPR 2019, and its
Binary-Segmentation-Evaluation-Tool, shipped as DUT_eval in several DBD repositories. Rules
(``docs/evaluation.md``), written from the tool's description:

- Prediction and GT (in-focus scale; a blurred-white GT is inverted first) are each divided by their
  own maximum + 1e-8 and scaled to [0, 255]; GT positive = scaled value > 128 (so a non-binary GT is
  cut at half its own maximum).
- 255 histogram bins (edges 0, 1, ..., 255, the last bin closed); threshold j = 254 .. 0 counts the
  pixels in bins >= j (listed in that order). Per image P = TP / (TP + FP + EPS), R = TP / (|G| + EPS).
- Mean P and mean R over images (sums divided by n + EPS), F = 1.3 P R / (0.3 P + R + EPS),
  ``max_f`` = max over thresholds.
- ``mae``: sum |pred / (max + EPS) - gt / (max + EPS)| / (H W + EPS) per image on the continuous
  maps, averaged. Sizes must match: this protocol never resizes.
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.metrics.counts import joint_histogram, levels_of
from dbdbench.metrics.curves import f_from_pr
from dbdbench.metrics.protocol import Metric, Protocol, focus_levels

EPS = 1e-8  # the tool adds it to its denominators


class BinsegProtocol(Protocol):
    """Binary-Segmentation-Evaluation-Tool (see the module docstring)."""

    name = "binseg"
    source = "Qin et al., Binary-Segmentation-Evaluation-Tool measures.py (BASNet, CVPR 2019; DUT_eval)"
    resize = None
    metrics = (Metric("max_f", "maxF", higher_is_better=True), Metric("mae", "MAE", higher_is_better=False))
    headline_f = "max_f"
    headline_mae = "mae"
    curve_order = "254 ... 0 (of 255)"
    per_image_keys = ("max_f", "mae")

    def prepare_gt(self, gt, polarity):
        g = focus_levels(gt, polarity)
        g_unit = g / (float(g.max()) + EPS)
        return g_unit, g_unit * 255.0 > 128

    def score_prepared(self, pred, prepared):
        g_unit, positive = prepared
        v = np.arange(levels_of(pred))
        p_unit = v / (float(pred.max()) + EPS)
        bins = np.minimum(np.floor(p_unit * 255.0), 254).astype(np.int64)
        # pixels per (GT class, level), then per bin: the counts of the tool's 255-bin histograms
        hist = joint_histogram(pred, positive)
        pos = np.bincount(bins, weights=hist[1], minlength=255).astype(np.int64)
        neg = np.bincount(bins, weights=hist[0], minlength=255).astype(np.int64)
        tp = np.cumsum(pos[::-1])
        fp = np.cumsum(neg[::-1])
        n_pos = int(hist[1].sum())
        precision = tp / (tp + fp + EPS)
        recall = tp / (n_pos + EPS)
        err = cv2.LUT(pred, p_unit) if pred.dtype == np.uint8 else p_unit[pred]
        err -= g_unit
        np.abs(err, out=err)
        mae = float(np.sum(err)) / (float(g_unit.size) + EPS)
        return {
            "precision": precision,
            "recall": recall,
            "max_f": float(f_from_pr(precision, recall, eps=EPS).max()),
            "mae": mae,
        }

    def _mean_pr(self, stacked):
        n = len(stacked["precision"])
        return stacked["precision"].sum(axis=0) / (n + EPS), stacked["recall"].sum(axis=0) / (n + EPS)

    def summarize(self, stacked):
        p, r = self._mean_pr(stacked)
        n = len(stacked["mae"])
        return {
            "max_f": float(f_from_pr(p, r, eps=EPS).max()),
            "mae": float(stacked["mae"].sum() / (n + EPS)),
        }

    def curves(self, stacked):
        p, r = self._mean_pr(stacked)
        return {
            "thresholds": list(range(254, -1, -1)),
            "precision": p.tolist(),
            "recall": r.tolist(),
            "f": f_from_pr(p, r, eps=EPS).tolist(),
        }
