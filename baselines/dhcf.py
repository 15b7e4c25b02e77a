"""DHCF: defocus from multi-scale deep and hand-crafted features of edge patches.

J. Park, Y.-W. Tai, D. Cho and I. S. Kweon, "A Unified Approach of Multi-scale Deep and Hand-crafted
Features for Defocus Estimation", CVPR 2017 (``DHDE`` in the authors' code). Written from the paper
and the description of the authors' MATLAB pipeline (``DHDE_defocus_estimation.m``):

1. Edges of the V channel at two scales and their patches, with the DCT, gradient and SVD features
   (:mod:`dbdbench.baselines.dhcf_features`).
2. Each patch is classified by the authors' trained network (:mod:`dbdbench.baselines.dhcf_net`,
   weights read from their ``DHDE_model.caffemodel``) into one of 11 blur labels, ``sigma = 0.5 ..
   2.0``; the sparse defocus map holds the label's sigma at the edge pixel, the confidence map the
   winning probability. (The authors' random seed points are off at their threshold of 1.)
3. Rolling guidance filter of the RGB image (sigma_s 1.5, sigma_r 1.5, 3 iterations): each
   iteration is a bilateral filter of the image guided by the previous result (the first by a
   constant, a Gaussian blur). The authors use a bilateral-grid approximation; the filter here is
   exact, over a window of radius ``ceil(2 sigma_s)``, replicated border.
4. Probability-joint bilateral filter at every edge pixel over a 27 x 27 window: weights
   ``exp(-d^2 / 2 100^2)`` in space, ``exp(-(g - g0)^2 / 2 100^2)`` in the guide (the authors' code
   sums this term over the three colour channels of the guide, each against the centre of the
   first: kept), ``exp(-(1 - p)^2 / 2)`` in confidence, over edge pixels only.
5. Propagation to every pixel with the matting Laplacian of the guide: ``(L + lambda D) x = lambda D
   s`` (``lambda = 0.005``, ``eps = 1e-5`` added to each 3 x 3 window's covariance, ``D`` the edge
   indicator), solved exactly (sparse LU).
6. Joint weighted median filter guided by the filtered image (radius 5, ``exp`` weights with
   sigma 0.25 after the guide is stretched to [0, 255] as the authors' ``jointWMF`` does, 3
   iterations). The authors' mex quantises the input and the guide's colours to 256 values; the
   median here is exact.

Steps 1-4 run at full size. Steps 5 and 6 run at a working size whose longer side is ``max_side``
(default 480) and the result is brought back with the local linear colour model of the guide
(:func:`dbdbench.baselines.matting.linear_upsample`); ``max_side=100000`` gives the full-size
pipeline. The default is chosen by measurement (docs/baselines.md, "DHCF": sod maxF and time per
photo on the 7 CUHK defocus photos at 320, 480 and full size).

The output of the paper is the defocus sigma; the detector returns the min-max normalised negative
sigma (clipped to [0.5, 2]), so 1 = in-focus. An image without edges gives an all-zero map.
"""

from __future__ import annotations

import numpy as np

from dbdbench.baselines import dhcf_features as feat
from dbdbench.baselines import dhcf_net as net
from dbdbench.baselines.imageops import MIN_SIDE, as_rgb, minmax
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import at_least, between, positive

CITATION = (
    "Park, Tai, Cho & Kweon, A Unified Approach of Multi-scale Deep and Hand-crafted Features for "
    "Defocus Estimation, CVPR 2017"
)
RGF_SIGMA_SPACE = 1.5
RGF_SIGMA_RANGE = 1.5
RGF_ITERATIONS = 3
JBF_RADIUS = 13
JBF_SIGMA_SPACE = 100.0
JBF_SIGMA_RANGE = 100.0
JBF_SIGMA_PROB = 1.0
MATTING_EPS = 1e-5
# Edge pixels per block of patch classification and filtering (bounds the working memory).
BLOCK = 4096


def classify_edges(rgb01: np.ndarray, labels: np.ndarray, weights: net.Weights):
    """Blur sigma and confidence of every edge pixel.

    Parameters
    ----------
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
    labels : ndarray, shape (H, W), uint8
        Edge labels (:func:`dbdbench.baselines.dhcf_features.edge_labels`).
    weights : Weights

    Returns
    -------
    sigma, confidence : ndarray, shape (H, W), float64
        0 off the edges.
    """
    grey = feat.value_channel(rgb01)
    sigma = np.zeros(grey.shape)
    conf = np.zeros(grey.shape)
    for scale, r in enumerate(feat.RADII):
        rows, cols = feat.edge_positions(labels, scale)
        if not len(rows):
            continue
        grad = feat.gradient_magnitude(np.pad(grey, r, mode="edge"))
        for s in range(0, len(rows), BLOCK):
            rr, cc = rows[s : s + BLOCK], cols[s : s + BLOCK]
            p_grey = feat.cut_patches(grey, rr, cc, r)
            p_grad = feat.cut_patches(grad, rr + r, cc + r, r)  # grad is already padded
            rgb = feat.cut_patches(rgb01, rr, cc, net.PATCH // 2)
            if r < net.PATCH // 2:  # the authors replicate the small patch's border, not the image
                d = net.PATCH // 2 - r
                rgb = np.pad(rgb[:, d:-d, d:-d], ((0, 0), (d, d), (d, d), (0, 0)), mode="edge")
            inputs = net.network_inputs(*feat.features(p_grey, p_grad, scale), rgb, scale)
            prob = net.forward(weights, *inputs)
            sigma[rr, cc] = np.asarray(net.SIGMAS)[prob.argmax(axis=1)]
            conf[rr, cc] = prob.max(axis=1)
    return sigma, conf


def _shifts(radius: int):
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            yield dy, dx


def rolling_guidance(
    rgb01: np.ndarray, sigma_space: float, sigma_range: float, iterations: int
) -> np.ndarray:
    """Rolling guidance filter (Zhang et al., ECCV 2014) of each channel, exact bilateral steps.

    Parameters
    ----------
    rgb01 : ndarray, shape (H, W, C), float64
    sigma_space, sigma_range : float
    iterations : int

    Returns
    -------
    ndarray, shape (H, W, C), float64
    """
    r = int(np.ceil(2 * sigma_space))
    h, w = rgb01.shape[:2]
    src = np.pad(rgb01, ((r, r), (r, r), (0, 0)), mode="edge")
    guide = np.zeros_like(rgb01)
    for _ in range(iterations):
        gp = np.pad(guide, ((r, r), (r, r), (0, 0)), mode="edge")
        num = np.zeros_like(rgb01)
        den = np.zeros_like(rgb01)
        for dy, dx in _shifts(r):
            g = gp[r + dy : r + dy + h, r + dx : r + dx + w]
            wt = np.exp(-(dy * dy + dx * dx) / (2 * sigma_space**2) - (g - guide) ** 2 / (2 * sigma_range**2))
            num += wt * src[r + dy : r + dy + h, r + dx : r + dx + w]
            den += wt
        guide = num / den
    return guide


def probability_jbf(sigma: np.ndarray, conf: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """Probability-joint bilateral filter of the sparse sigma at its nonzero pixels (step 4).

    Parameters
    ----------
    sigma, conf : ndarray, shape (H, W), float64
        Sparse sigma (0 = no value) and its confidence.
    guide : ndarray, shape (H, W, 3), float64
        Filtered image.

    Returns
    -------
    ndarray, shape (H, W), float64
        Filtered sigma at the nonzero pixels of ``sigma``, 0 elsewhere.
    """
    r = JBF_RADIUS
    h, w = sigma.shape
    pad = ((r, r), (r, r))
    sp, pp = np.pad(sigma, pad), np.pad(conf, pad)
    gp = np.pad(guide, pad + ((0, 0),))
    rows, cols = np.nonzero(sigma)
    out = np.zeros_like(sigma)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    w_space = np.exp(-(yy**2 + xx**2) / (2 * JBF_SIGMA_SPACE**2)).ravel()
    win = np.lib.stride_tricks.sliding_window_view
    for s in range(0, len(rows), BLOCK):
        rr, cc = rows[s : s + BLOCK], cols[s : s + BLOCK]
        vals = win(sp, (2 * r + 1, 2 * r + 1))[rr, cc].reshape(len(rr), -1)
        prob = win(pp, (2 * r + 1, 2 * r + 1))[rr, cc].reshape(len(rr), -1)
        g = win(gp, (2 * r + 1, 2 * r + 1), axis=(0, 1))[rr, cc].reshape(len(rr), 3, -1)
        centre = guide[rr, cc, 0][:, None, None]
        w_range = np.exp(-((g - centre) ** 2) / (2 * JBF_SIGMA_RANGE**2)).sum(axis=1)
        wt = w_space * w_range * np.exp(-((1 - prob) ** 2) / (2 * JBF_SIGMA_PROB**2)) * (vals != 0)
        out[rr, cc] = (wt * vals).sum(axis=1) / wt.sum(axis=1)
    return out


def weighted_median(
    values: np.ndarray, guide: np.ndarray, radius: int, sigma: float, iterations: int
) -> np.ndarray:
    """Joint weighted median filter (Zhang, Xu & Jia, CVPR 2014, exact form).

    Each output pixel is the weighted median of the values in its ``(2 radius + 1)^2`` window (the
    part inside the image), weights ``exp(-|F(p) - F(q)|^2 / (2 sigma'^2))``: ``F`` is the guide
    stretched to [0, 255] by its global range and ``sigma' = sigma 255 / range``, as the authors'
    ``jointWMF`` does; the median is the smallest value whose cumulative weight reaches half.

    Parameters
    ----------
    values : ndarray, shape (H, W), float
    guide : ndarray, shape (H, W, C), float
    radius : int
    sigma : float
        Weight scale in guide units.
    iterations : int

    Returns
    -------
    ndarray, shape (H, W), float64
    """
    h, w = values.shape
    lo, hi = float(guide.min()), float(guide.max())
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    f = (guide - lo) * scale
    s = sigma * scale
    k = 2 * radius + 1
    fp = np.pad(f, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
    inside = np.pad(np.ones((h, w), bool), radius)
    win = np.lib.stride_tricks.sliding_window_view
    out = np.asarray(values, np.float64)
    rows_per_block = max(1, 40000 // w)
    for _ in range(iterations):
        vp = np.pad(out, radius, mode="edge")
        new = np.empty_like(out)
        for y0 in range(0, h, rows_per_block):
            y1 = min(h, y0 + rows_per_block)
            fw = win(fp[y0 : y1 + 2 * radius], (k, k), axis=(0, 1)).reshape(y1 - y0, w, f.shape[2], k * k)
            d2 = ((fw - f[y0:y1, :, :, None]) ** 2).sum(axis=2)
            wt = np.exp(-d2 / (2 * s * s)) * win(inside[y0 : y1 + 2 * radius], (k, k)).reshape(
                y1 - y0, w, k * k
            )
            v = win(vp[y0 : y1 + 2 * radius], (k, k)).reshape(y1 - y0, w, k * k)
            order = np.argsort(v, axis=2)
            vs = np.take_along_axis(v, order, axis=2)
            cum = np.cumsum(np.take_along_axis(wt, order, axis=2), axis=2)
            idx = (cum < 0.5 * cum[:, :, -1:]).sum(axis=2)
            new[y0:y1] = np.take_along_axis(vs, idx[:, :, None], axis=2)[:, :, 0]
        out = new
    return out


@detector(
    "dhcf",
    citation=CITATION,
    description="Park et al.: CNN + DCT/gradient/SVD features of edge patches (authors' weights), propagated",
    checks={
        "lam": positive(),
        "wmf_radius": between(0, 20),
        "wmf_sigma": positive(),
        "wmf_iterations": between(0, 10),
        "max_side": at_least(16),
    },
)
def dhcf(
    image: np.ndarray,
    *,
    checkpoint: str = "",
    lam: float = 0.005,
    wmf_radius: int = 5,
    wmf_sigma: float = 0.25,
    wmf_iterations: int = 3,
    max_side: int = 480,
) -> np.ndarray:
    """DHCF defocus map (Park et al., CVPR 2017), inverted so that 1 = in-focus.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image (grey and RGBA are converted).
    checkpoint : str
        The authors' ``DHDE_model.caffemodel``.
    lam : float
        Data weight lambda of the matting-Laplacian propagation.
    wmf_radius, wmf_sigma, wmf_iterations : int, float, int
        Window radius, weight sigma (guide in [0, 1]) and iterations of the weighted median.
    max_side : int
        Longer side of the working size of the propagation and the median filter (at least 16;
        larger images are filtered smaller and brought back, see the module notes).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Sharpness in [0, 1], 1 = in-focus.

    Raises
    ------
    DbdError
        No checkpoint given, or a weights file that is missing, truncated or of another network.
    """
    if not checkpoint:
        raise DbdError(f"dhcf needs the authors' trained network: download {net.RELEASE}")
    weights = net.load_weights(checkpoint)
    image = as_rgb(image, min_size=MIN_SIDE, method="dhcf")
    labels, jbf, guide = sparse_defocus(image.astype(np.float64) / 255.0, weights)
    if not labels.any():
        return np.zeros(labels.shape, np.float32)
    wmf = (int(wmf_radius), float(wmf_sigma), int(wmf_iterations))
    return sharpness(dense_defocus(guide, labels > 0, jbf, float(lam), int(max_side), wmf))


def sparse_defocus(rgb01: np.ndarray, weights: net.Weights):
    """Steps 1-4: edge labels, the filtered sparse sigma at the edges, and the guide image.

    Parameters
    ----------
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
    weights : Weights

    Returns
    -------
    labels : ndarray, shape (H, W), uint8
        0 no edge, 1 or 2 the edge's scale.
    jbf : ndarray, shape (H, W), float64
        Sigma after the probability-joint bilateral filter at the edges, 0 elsewhere.
    guide : ndarray, shape (H, W, 3), float64
        The rolling-guidance-filtered image.
    """
    labels = feat.edge_labels(feat.value_channel(rgb01))
    guide = rolling_guidance(rgb01, RGF_SIGMA_SPACE, RGF_SIGMA_RANGE, RGF_ITERATIONS)
    if not labels.any():
        return labels, np.zeros(labels.shape), guide
    sigma, conf = classify_edges(rgb01, labels, weights)
    return labels, probability_jbf(sigma, conf, guide), guide


def sharpness(sigma: np.ndarray) -> np.ndarray:
    """The detector's map of a dense sigma: clipped to the labels' range, negated, min-max; float32."""
    return minmax(-np.clip(sigma, net.SIGMAS[0], net.SIGMAS[-1])).astype(np.float32)


def dense_defocus(
    guide: np.ndarray, known: np.ndarray, values: np.ndarray, lam: float, max_side: int, wmf: tuple
) -> np.ndarray:
    """Steps 5 and 6 at the working size: dense sigma, (H, W) float64.

    The known pixels' values are area-averaged down to the working size (a small pixel is known
    where a quarter of its area is) and the result is brought back with the local linear colour
    model of ``guide`` ((H, W, 3) in [0, 1]). ``wmf`` is (radius, sigma, iterations) of
    :func:`weighted_median`.
    """
    from dbdbench.baselines import matting

    # pymatting adds epsilon / 9 to each window covariance; the authors add eps itself
    eps = 9 * MATTING_EPS
    h, w = known.shape
    size = matting.working_size(h, w, max_side)
    if size == (h, w):
        small, small_known, small_values = guide, known, values
    else:
        small = matting.resize(guide.astype(np.float32), size).astype(np.float64)
        weight = matting.resize(known.astype(np.float32), size)
        total = matting.resize(np.where(known, values, 0.0).astype(np.float32), size)
        small_known = weight > 0.25
        small_values = np.where(small_known, total / np.maximum(weight, 1e-6), 0.0)
    dense = matting.propagate("dhcf", small, small_known, small_values, lam, eps)
    result = weighted_median(dense, small, *wmf)
    if size == (h, w):
        return result
    return matting.linear_upsample(result, small, guide).astype(np.float64)
