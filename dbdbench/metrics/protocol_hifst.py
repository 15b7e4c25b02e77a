"""Protocol ``hifst``: the PR-curve evaluation of Golestaneh & Karam, CVPR 2017.

Source: S. A. Golestaneh and L. J. Karam, "Spatially-varying blur detection based on multiscale
fused and sorted transform coefficients of gradient magnitudes", CVPR 2017; the PR curves of 11
methods on all 1000 CUHK images published with it (one row "precision recall" per threshold t).

Rules (``docs/evaluation.md``):

- The blurred region is the positive class, on the GT as CUHK stores it (white = blurred): positive =
  stored value > 0. A focus-white GT is first turned into its blurred-white form (max - value), so the
  same physical mask gives the same numbers: there, positive = value < 255 (65535 for 16 bits).
- Prediction (high = sharp): min-max normalised to p in [0, 1] (a constant map gives all zeros), then
  m = 255 - 255 p (high = blurred). Threshold t = 0..255: positive when m >= t. m is evaluated in
  exact arithmetic, ``m >= t  <=>  255 (max - v) >= t (max - min)`` for stored levels v.
- Per image, R = TP / |G| and P = TP / (TP + FP) enter the running sums only where TP > 0; the sums are
  divided by the number of images; F (beta^2 = 0.3) is computed from the mean P and mean R.
- ``max_f`` = max over thresholds of that F; ``mae`` = mean over images of mean |m / 255 - blurred GT|.
"""

from __future__ import annotations

import numpy as np

from dbdbench.metrics.counts import dot, joint_histogram, levels_of
from dbdbench.metrics.curves import f_from_pr
from dbdbench.metrics.protocol import Metric, Protocol, blur_levels


class HifstProtocol(Protocol):
    """Curves as published with HiFST (see the module docstring)."""

    name = "hifst"
    source = "Golestaneh & Karam, CVPR 2017 (HiFST), published CUHK PR curves"
    resize = "bilinear"
    metrics = (Metric("max_f", "maxF", higher_is_better=True), Metric("mae", "MAE", higher_is_better=False))
    headline_f = "max_f"
    headline_mae = "mae"
    curve_order = "t = 0 ... 255"
    per_image_keys = ("max_f", "mae")

    def prepare_gt(self, gt, polarity):
        return blur_levels(gt, polarity) > 0

    def score_prepared(self, pred, blurred):
        hist = joint_histogram(pred, blurred)
        levels = levels_of(pred)
        occurring = np.flatnonzero(hist.sum(axis=0))
        lo, hi = int(occurring[0]), int(occurring[-1])
        v = np.arange(levels, dtype=np.int64)
        if hi > lo:
            # k(v) = floor(m) = floor(255 (hi - v) / (hi - lo)): the highest threshold t with m >= t
            k = np.clip((255 * (hi - v)) // (hi - lo), 0, 255)
            m = 255 * (hi - v) / (hi - lo)
        else:
            k = np.full(levels, 255)  # constant map: p = 0, m = 255 everywhere
            m = np.full(levels, 255.0)
        neg = np.bincount(k, weights=hist[0], minlength=256)
        pos = np.bincount(k, weights=hist[1], minlength=256)
        # positives at threshold t = pixels with k >= t (t ascending)
        tp = np.cumsum(pos[::-1])[::-1]
        fp = np.cumsum(neg[::-1])[::-1]
        n_pos = int(hist[1].sum())
        hit = tp > 0
        precision = np.where(hit, tp / np.where(hit, tp + fp, 1), 0.0)
        recall = np.where(hit, tp / max(n_pos, 1), 0.0)
        n = hist.sum()
        mae = (float(dot(hist[1], np.abs(m / 255 - 1))) + float(dot(hist[0], m / 255))) / n
        return {
            "precision": precision,
            "recall": recall,
            "max_f": float(f_from_pr(precision, recall).max()),
            "mae": mae,
        }

    def _mean_pr(self, stacked):
        n = len(stacked["precision"])
        return stacked["precision"].sum(axis=0) / n, stacked["recall"].sum(axis=0) / n

    def summarize(self, stacked):
        p, r = self._mean_pr(stacked)
        return {"max_f": float(f_from_pr(p, r).max()), "mae": float(stacked["mae"].mean())}

    def curves(self, stacked):
        p, r = self._mean_pr(stacked)
        return {
            "thresholds": list(range(256)),
            "precision": p.tolist(),
            "recall": r.tolist(),
            "f": f_from_pr(p, r).tolist(),
        }
