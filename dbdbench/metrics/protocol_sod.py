"""Protocol ``sod``: the salient-object-detection convention of PySODMetrics 1.6.

Source: PySODMetrics (Pang et al., https://github.com/lartpang/PySODMetrics), the de-facto evaluator
of salient object detection; metric definitions in :mod:`dbdbench.metrics.sod`.

The in-focus region is the positive class: GT positive = in-focus value > 128 (a blurred-white GT is
inverted first, so a non-binary GT is cut at 128 of 255 on the in-focus scale). P, R, F and E curves
(256 thresholds, listed from 255 down to 0 as the reference does) are averaged over images;
``max_f`` / ``max_e`` are the maxima of the mean curves, ``mean_f`` / ``mean_e`` their means; the
other numbers are means of per-image scores.
"""

from __future__ import annotations

import numpy as np

from dbdbench.metrics.protocol import Metric, Protocol, focus_levels
from dbdbench.metrics.sod import SodTruth, sod_scores

#: PySODMetrics divides the E-measure's sum over the n pixels of an image by n - 1, so a perfect map
#: scores n / (n - 1): up to 2 (images of 2 pixels), not 1.
E_HIGH = 2.0


class SodProtocol(Protocol):
    """PySODMetrics-compatible F, E, S, weighted F, MAE, IoU and Dice (see the module docstring)."""

    name = "sod"
    source = "PySODMetrics 1.6 (Fmeasure, Emeasure, Smeasure, WeightedFmeasure, MAE, FmeasureV2 binary)"
    resize = "bilinear"
    metrics = (
        Metric("max_f", "maxF", higher_is_better=True),
        Metric("mean_f", "meanF", higher_is_better=True),
        Metric("adaptive_f", "adpF", higher_is_better=True),
        Metric("mae", "MAE", higher_is_better=False),
        Metric("s_measure", "S", higher_is_better=True),
        Metric("max_e", "maxE", higher_is_better=True, high=E_HIGH),
        Metric("mean_e", "meanE", higher_is_better=True, high=E_HIGH),
        Metric("adaptive_e", "adpE", higher_is_better=True, high=E_HIGH),
        Metric("weighted_f", "wF", higher_is_better=True),
        Metric("iou", "IoU", higher_is_better=True),
        Metric("dice", "Dice", higher_is_better=True),
    )
    # IoU and Dice at 0.5 are rarely printed in this field: the table keeps to the SOD columns
    table_keys = (
        "max_f", "mean_f", "adaptive_f", "mae", "s_measure", "max_e", "mean_e", "adaptive_e", "weighted_f",
    )  # fmt: skip
    headline_f = "max_f"
    headline_mae = "mae"
    curve_order = "255 ... 0 (of 255)"
    per_image_keys = (
        "max_f", "adaptive_f", "mae", "s_measure", "max_e", "adaptive_e", "weighted_f", "iou", "dice",
        "adaptive_precision", "adaptive_recall",
    )  # fmt: skip

    def prepare_gt(self, gt, polarity):
        return SodTruth(focus_levels(gt, polarity) > (128 if gt.dtype == np.uint8 else 128 * 257))

    def score_prepared(self, pred, truth):
        scores = sod_scores(pred, truth)
        scores["max_f"] = float(scores["f"].max())
        scores["max_e"] = float(scores["e"].max())
        return scores

    def summarize(self, stacked):
        f = stacked["f"].mean(axis=0)
        e = stacked["e"].mean(axis=0)
        out = {"max_f": float(f.max()), "mean_f": float(f.mean())}
        for key in ("adaptive_f", "mae", "s_measure"):
            out[key] = float(stacked[key].mean())
        out.update(max_e=float(e.max()), mean_e=float(e.mean()))
        for key in ("adaptive_e", "weighted_f", "iou", "dice"):
            out[key] = float(stacked[key].mean())
        return out

    def curves(self, stacked):
        return {
            "thresholds": [k / 255 for k in range(255, -1, -1)],
            "precision": stacked["precision"].mean(axis=0).tolist(),
            "recall": stacked["recall"].mean(axis=0).tolist(),
            "f": stacked["f"].mean(axis=0).tolist(),
        }
