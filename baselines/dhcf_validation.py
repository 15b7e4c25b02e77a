"""Checks of the DHCF port (Park, Tai, Cho & Kweon, CVPR 2017) shared by its tests and benchmark.

J. Park, Y.-W. Tai, D. Cho and I. S. Kweon, "A Unified Approach of Multi-scale Deep and Hand-crafted
Features for Defocus Estimation", CVPR 2017.

- :func:`blurred_patches`: network inputs of edge patches cut from copies of a photo blurred with
  each of the 11 label sigmas, the recipe of the authors' training set (27 x 27 Gaussian,
  replicated border, edges found once on the sharp photo at the training thresholds).
- :func:`confusion`: the network's confusion matrix on such patches.
- :func:`edge_agreement`: agreement of two edge label maps.
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.baselines import dhcf_features as feat
from dbdbench.baselines import dhcf_net as net

# Canny thresholds of the authors' training-set edges (low, high) per scale.
TRAIN_EDGES = ((0.234, 0.351), (0.468, 0.702))


def training_edges(grey: np.ndarray) -> np.ndarray:
    """Edge labels (0, 1, 2) of a V channel at the training thresholds; (H, W) -> (H, W) uint8."""
    labels = np.zeros(grey.shape, np.uint8)
    for k, (lo, hi) in enumerate(TRAIN_EDGES, start=1):
        labels[feat.canny(grey, lo, hi)] = k
    return labels


def blurred_patches(rgb01: np.ndarray, per_scale: int, seed: int):
    """Network inputs of edge patches of ``rgb01`` blurred with each label's sigma.

    Parameters
    ----------
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
        A sharp photo.
    per_scale : int
        Edge pixels drawn per scale (the same ones at every sigma).
    seed : int
        Seed of the draw.

    Returns
    -------
    features : ndarray, shape (M, 120), float32
    image : ndarray, shape (M, 3, 27, 27), float32
    truth : ndarray, shape (M,), int
        Label index of each patch (0..10), M = 11 x the pixels drawn.
    """
    labels = training_edges(feat.value_channel(rgb01))
    rng = np.random.default_rng(seed)
    x = np.arange(-13, 14)
    parts = []
    for s, r in enumerate(feat.RADII):
        rows, cols = feat.edge_positions(labels, s)
        pick = np.sort(rng.choice(len(rows), min(per_scale, len(rows)), replace=False))
        rows, cols = rows[pick] + r, cols[pick] + r  # in the padded image
        padded = np.pad(rgb01, ((r, r), (r, r), (0, 0)), mode="edge")
        for k, sigma in enumerate(net.SIGMAS):
            g = np.exp(-(x**2) / (2 * sigma**2))
            g /= g.sum()
            blurred = cv2.sepFilter2D(padded, -1, g, g, borderType=cv2.BORDER_REPLICATE)
            v = feat.value_channel(blurred)
            grey = feat.cut_patches(v, rows, cols, r)
            grad = feat.cut_patches(feat.gradient_magnitude(v), rows, cols, r)
            rgb = feat.cut_patches(blurred, rows, cols, r)
            d = net.PATCH // 2 - r
            if d:
                rgb = np.pad(rgb, ((0, 0), (d, d), (d, d), (0, 0)), mode="edge")
            inputs = net.network_inputs(*feat.features(grey, grad, s), rgb, s)
            parts.append((*inputs, np.full(len(rows), k)))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def confusion(weights: net.Weights, inputs) -> np.ndarray:
    """Confusion matrix (true label x predicted label, counts) of :func:`blurred_patches` inputs."""
    features, image, truth = inputs
    pred = net.forward(weights, features, image).argmax(axis=1)
    out = np.zeros((len(net.SIGMAS),) * 2, int)
    np.add.at(out, (truth, pred), 1)
    return out


def edge_agreement(ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Share of pixels with the same label and the IoU of each scale's edges."""
    out = {"pixels": float((ours == ref).mean())}
    for k in (1, 2):
        a, b = ours == k, ref == k
        out[f"iou_s{k}"] = float((a & b).sum() / max(1, (a | b).sum()))
    return out
