"""Protocol ``ddffnet``: the re-evaluation of 12 methods in D-DFFNet (ICME 2023).

Source: Y. Jin et al., "Depth and DOF cues make a better defocus blur detector" (D-DFFNet), ICME
2023, which re-scored 12 methods on CUHK-TE-1, DUT-TE, CTCUG and EBD. Rules (``docs/evaluation.md``):

- Prediction p = value / 255 (65535), high = in-focus. GT on the in-focus scale (a blurred-white GT is
  inverted first), positive (in-focus) where value / max > 0.5, so a non-binary GT is cut at half.
- ``mae``: mean |gt - p| with the continuous prediction, per image, averaged.
- ``f``: p binarised at p >= 0.5; the BLURRED region is the positive class (1 - gt, 1 - binary);
  P, R and F (beta^2 = 0.3; 0 where undefined) per image; the mean of the per-image F.
- ``iou``: one IoU pooled over all pixels of the dataset, blurred region positive, blurred prediction
  = not (p > 0.5).
"""

from __future__ import annotations

import numpy as np

from dbdbench.imageio import max_level
from dbdbench.metrics.counts import dot, joint_histogram
from dbdbench.metrics.curves import f_from_pr
from dbdbench.metrics.protocol import Metric, Protocol, focus_levels


class DdffnetProtocol(Protocol):
    """D-DFFNet's MAE, per-image F and pooled IoU (see the module docstring)."""

    name = "ddffnet"
    source = "Jin et al., D-DFFNet, ICME 2023 (re-evaluation of 12 methods)"
    resize = "bilinear"
    metrics = (
        Metric("mae", "MAE", higher_is_better=False),
        Metric("f", "F", higher_is_better=True),
        Metric("iou", "IoU", higher_is_better=True),
    )
    headline_f = "f"
    headline_mae = "mae"
    curve_order = "one point, 0.5"
    per_image_keys = ("mae", "f", "precision", "recall", "iou")

    def prepare_gt(self, gt, polarity):
        return ~(focus_levels(gt, polarity) / max_level(gt) > 0.5)  # blurred

    def score_prepared(self, pred, blurred):
        hist = joint_histogram(pred, blurred)  # row 1: GT blurred
        p = np.arange(hist.shape[1]) / max_level(pred)
        n = int(hist.sum())
        mae = (float(dot(hist[1], p)) + float(dot(hist[0], 1 - p))) / n
        pred_blur = p < 0.5  # not (p >= 0.5)
        tp = int(hist[1][pred_blur].sum())
        fp = int(hist[0][pred_blur].sum())
        fn = int(hist[1].sum()) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        iou_blur = p <= 0.5  # not (p > 0.5)
        i_tp = int(hist[1][iou_blur].sum())
        i_fp = int(hist[0][iou_blur].sum())
        i_fn = int(hist[1].sum()) - i_tp
        return {
            "mae": mae,
            "f": float(f_from_pr(precision, recall)),
            "precision": precision,
            "recall": recall,
            "iou": i_tp / (i_tp + i_fp + i_fn) if i_tp + i_fp + i_fn else 0.0,
            "iou_tp": i_tp,
            "iou_union": i_tp + i_fp + i_fn,
        }

    def summarize(self, stacked):
        union = stacked["iou_union"].sum()
        return {
            "mae": float(stacked["mae"].mean()),
            "f": float(stacked["f"].mean()),
            "iou": float(stacked["iou_tp"].sum() / union) if union else 0.0,
        }

    def curves(self, stacked):
        return {
            "thresholds": [0.5],
            "precision": [float(stacked["precision"].mean())],
            "recall": [float(stacked["recall"].mean())],
            "f": [float(stacked["f"].mean())],
        }
