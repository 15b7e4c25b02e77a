"""DBDF: discriminative blur detection features with per-scale naive Bayes and multiscale inference.

Jianping Shi, Li Xu and Jiaya Jia, "Discriminative Blur Detection Features", IEEE CVPR 2014.

1. Grey image ``rgb2gray(im2double(rgb))`` (MATLAB weights, not rounded), values in [0, 1].
2. At each patch side s = 11, 15, 21: the five features of every s x s patch
   (:mod:`dbdbench.baselines.dbdf_features`: local kurtosis, gradient histogram span, power-spectrum
   slope, two learned linear filters), a feature's NaN replaced by its smallest value, then the
   Gaussian naive-Bayes posterior of the blurred class with the authors' released tables
   (:mod:`dbdbench.baselines.dbdf_model`), min-max normalised over the patches.
3. Multiscale inference (Eq. 21): one binary node per patch and scale, the three layers
   (valid patch centres of s = 21, 15, 11, nested and centred) linked 4-neighbour within a layer
   and centre-to-centre between adjacent layers. The posteriors, z-scored over all nodes, give the
   unary potentials ``exp(-|1 - x|)`` (blurred) and ``exp(-|x|)`` (sharp); linked nodes that differ
   cost ``exp(-alpha)``. Sum-product loopy belief propagation gives each node's marginal; the map is
   P(sharp) of the s = 21 layer, its 10-pixel border repeating the nearest node.

The per-scale maps and the inference follow the authors' released MATLAB code (v1.0, 2014) where
the paper leaves details open, so that their tables apply. The released code passes messages node
after node, at most 100 sweeps; here all messages are updated together (vectorised, in the
log-odds domain) until none moves by more than 1e-3, about 200 parallel steps on a 320 x 320
photo, as many as 100 sequential sweeps amount to (running on to a change of 1e-9 moves the map
of xu100_1 by 1e-5 on average, at most 0.009, and no closer to the authors' map). The graph
differs from the one of :mod:`dbdbench.baselines.potts` in that its layers have different sizes.
"""

from __future__ import annotations

import numpy as np

from dbdbench.baselines.dbdf_features import (
    gradient_histogram_span,
    learned_filter_responses,
    local_kurtosis,
    power_spectrum_slope,
)
from dbdbench.baselines.dbdf_model import SCALES, ScaleModel, load_model
from dbdbench.baselines.imageops import RGB2GRAY_WEIGHTS, as_rgb, single_blas_thread
from dbdbench.baselines.registry import detector
from dbdbench.params import at_least

#: Smallest image side: the largest patch (21) plus the 3-patch margin of the histogram span on both sides.
MIN_SIDE = max(SCALES) + 6
#: Loopy belief propagation: largest message change (log-odds) at which it stops, and step limit.
_BP_TOL, _BP_MAX_STEPS = 1e-3, 1000


def grey_unit(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray(im2double(rgb))``: the weighted sum of the [0, 1] channels, unrounded.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), dtype uint8

    Returns
    -------
    ndarray, shape (H, W), float64 in [0, 1]
    """
    return (rgb.astype(np.float64) / 255.0) @ RGB2GRAY_WEIGHTS


def scale_features(im: np.ndarray, p: int, filters: np.ndarray) -> np.ndarray:
    """The five features of every valid p x p patch, NaN replaced by the feature's smallest value.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
    p : int
        Patch side.
    filters : ndarray, shape (p * p, 2)
        The two learned filters of that scale.

    Returns
    -------
    ndarray, shape (H - p + 1, W - p + 1, 5), float64
        Per patch centre: kurtosis, gradient histogram span, power spectrum, filter 1, filter 2.
    """
    o = (p - 1) // 2
    maps = [local_kurtosis(im, p), gradient_histogram_span(im, p), power_spectrum_slope(im, p)]
    maps += learned_filter_responses(im, filters)
    data = np.stack([m[o : im.shape[0] - o, o : im.shape[1] - o] for m in maps], axis=-1)
    for k in range(data.shape[-1]):
        column = data[..., k]
        bad = np.isnan(column)
        if bad.all():
            column[...] = 0.0
        elif bad.any():
            column[bad] = column[~bad].min()
    return data


def blurred_posterior(data: np.ndarray, model: ScaleModel) -> np.ndarray:
    """Gaussian naive-Bayes posterior of the blurred class (class 2 of the released tables).

    Parameters
    ----------
    data : ndarray, shape (..., 5), float64
        Feature vectors.
    model : ScaleModel
        Means, deviations and priors of the scale.

    Returns
    -------
    ndarray, shape (...), float64 in [0, 1]
        ``P(blurred | x)`` from the summed per-feature log densities and the log prior,
        normalised after subtracting the larger of the two log scores.
    """
    z = (data[..., None, :] - model.mu) / model.sigma  # (..., 2, 5)
    log_p = -0.5 * np.sum(z * z, axis=-1) - np.log(model.sigma).sum(axis=-1) + np.log(model.prior)
    log_p -= log_p.max(axis=-1, keepdims=True)
    p = np.exp(log_p)
    return p[..., 1] / p.sum(axis=-1)


def _mat2gray(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def scale_posteriors(im: np.ndarray, model: dict[int, ScaleModel]) -> dict[int, np.ndarray]:
    """Per-scale blurred posterior of every valid patch, min-max normalised.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
        Grey image, each side >= :data:`MIN_SIDE`.
    model : dict
        Patch side -> :class:`~dbdbench.baselines.dbdf_model.ScaleModel`.

    Returns
    -------
    dict
        Patch side s -> ndarray (H - s + 1, W - s + 1), float64 in [0, 1], high = blurred (the
        authors' per-scale map without its zero border).
    """
    return {
        s: _mat2gray(blurred_posterior(scale_features(im, s, model[s].filters), model[s])) for s in SCALES
    }


def _edge_message(cavity: np.ndarray, t: float, out: np.ndarray) -> None:
    """Log-odds message through an edge that costs ``exp(-alpha)``: ``2 atanh(t tanh(a / 2))``."""
    np.multiply(cavity, 0.5, out=out)
    np.tanh(out, out=out)
    out *= t
    np.arctanh(out, out=out)
    out *= 2.0


def multiscale_inference(layers: list[np.ndarray], alpha: float) -> np.ndarray:
    """Marginal P(blurred) of the first layer of the nested three-layer binary MRF (Eq. 21).

    Parameters
    ----------
    layers : list of ndarray
        Blurred posteriors, coarsest patch first; each (h_k, w_k) float64, a layer being larger than
        the previous by an even number of rows and columns (centres aligned).
    alpha : float
        Cost of two linked nodes taking different labels (potential ``exp(-alpha)``).

    Returns
    -------
    ndarray, shape of ``layers[0]``, float64 in [0, 1]
    """
    x = np.concatenate([a.ravel() for a in layers])
    sd = x.std(ddof=1)
    t = np.tanh(alpha / 2.0)
    unary = []
    for a in layers:
        z = (a - x.mean()) / sd if sd > 0 else np.zeros_like(a)
        unary.append(np.abs(z) - np.abs(1.0 - z))  # log exp(-|1 - z|) / exp(-|z|)
    n = len(layers)
    offsets = [(layers[k + 1].shape[0] - layers[k].shape[0]) // 2 for k in range(n - 1)]
    inner = [
        (slice(o, o + layers[k].shape[0]), slice(o, o + layers[k].shape[1])) for k, o in enumerate(offsets)
    ]
    # messages into each node, by where they come from: 0 left, 1 right, 2 up, 3 down neighbour,
    # 4 the coarser layer, 5 the finer layer (zero where there is no such neighbour)
    inbox = [np.zeros((6, *u.shape)) for u in unary]
    new = [np.zeros_like(m) for m in inbox]
    belief = [np.empty_like(u) for u in unary]
    for _ in range(_BP_MAX_STEPS):
        for k in range(n):
            np.sum(inbox[k], axis=0, out=belief[k])
            belief[k] += unary[k]
        for b, box, nb in zip(belief, inbox, new, strict=True):
            _edge_message((b - box[1])[:, :-1], t, nb[0, :, 1:])
            _edge_message((b - box[0])[:, 1:], t, nb[1, :, :-1])
            _edge_message((b - box[3])[:-1, :], t, nb[2, 1:, :])
            _edge_message((b - box[2])[1:, :], t, nb[3, :-1, :])
        for k in range(n - 1):
            # coarse node (y, x) <-> fine node (y + o, x + o)
            _edge_message(belief[k] - inbox[k][5], t, new[k + 1][4][inner[k]])
            _edge_message(belief[k + 1][inner[k]] - inbox[k + 1][4][inner[k]], t, new[k][5])
        change = max(float(np.abs(nb - box).max()) for nb, box in zip(new, inbox, strict=True))
        inbox, new = new, inbox
        if change <= _BP_TOL:
            break
    total = unary[0] + inbox[0].sum(axis=0)
    return 1.0 / (1.0 + np.exp(-total))


def blur_maps(im: np.ndarray, model: dict[int, ScaleModel], alpha: float = 0.5) -> tuple[dict, np.ndarray]:
    """The authors' per-scale maps and final map of a grey image, high = blurred.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
        Grey image (:func:`grey_unit`), each side >= :data:`MIN_SIDE`.
    model : dict
        Patch side -> :class:`~dbdbench.baselines.dbdf_model.ScaleModel`.
    alpha : float
        Weight of the multiscale smoothness term.

    Returns
    -------
    posteriors : dict
        Patch side -> per-scale posterior of the valid patches (:func:`scale_posteriors`).
    blurred : ndarray, shape (H, W), float64 in [0, 1]
        P(blurred) of the s = 21 layer after inference, the border repeating the nearest node.
    """
    post = scale_posteriors(im, model)
    blurred = multiscale_inference([post[s] for s in sorted(SCALES, reverse=True)], alpha)
    return post, np.pad(blurred, (max(SCALES) - 1) // 2, mode="edge")


@detector(
    "dbdf",
    citation="Shi, Xu & Jia, CVPR 2014",
    description="kurtosis, gradient span, spectrum, learned filters; naive Bayes at 3 scales, 3-layer BP",
    checks={"alpha": at_least(0)},
)
def dbdf(image: np.ndarray, *, model: str = "", alpha: float = 0.5) -> np.ndarray:
    """DBDF defocus/blur map (Shi, Xu & Jia, CVPR 2014) with the authors' released parameters.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W) or (H, W, 4), dtype uint8
        The photo (grey is replicated, alpha dropped); each side >= 27.
    model : str
        Folder of the authors' ``learned_linear_filter.mat`` and ``nb_classifier.mat`` (or
        ``nb_classifier_plain.mat``), see :func:`~dbdbench.baselines.dbdf_model.load_model`.
    alpha : float
        Weight of the multiscale smoothness term (the paper's 0.5).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Values in [0, 1], 1 = in-focus (1 minus the authors' blurred map).

    Raises
    ------
    DbdError
        An image below 27 x 27, no ``model`` folder, or parameter files that are missing, damaged
        or not the release's.
    """
    rgb = as_rgb(image, min_size=MIN_SIDE, method="dbdf")
    params = load_model(model)
    with single_blas_thread():
        _, blurred = blur_maps(grey_unit(rgb), params, alpha)
    return (1.0 - blurred).astype(np.float32)
