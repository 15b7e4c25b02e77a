"""The four local blur features of DBDF, at one patch size.

Jianping Shi, Li Xu and Jiaya Jia, "Discriminative Blur Detection Features", IEEE CVPR 2014.
Each function takes the grey image ``im`` (H, W) float64 in [0, 1] and a patch side ``p`` (odd) and
returns one value per pixel, computed on the ``p x p`` patch centred there; a border of
``(p - 1) / 2`` pixels repeats the nearest computed value. Where the paper leaves a detail open
(gradient definition at the last row and column, NaN handling, clipping), the authors' released
code (v1.0, 2014) is followed, so that the naive-Bayes tables they trained apply unchanged:

- gradients ``dx = [diff(im, axis=1), -im[:, -1]]`` and ``dy`` likewise down the rows;
- **local kurtosis**: ``min(log K(dx), log K(dy))`` with ``K = m4 / m2^2`` the kurtosis of
  the patch's gradients after dividing them by their sum, so a patch whose gradients sum to 0 has
  no kurtosis (NaN, replaced by the smallest value of the image; both directions are centred on
  the mean of the divided ``dx``, so a ``dx`` sum of 0 voids both);
- **gradient histogram span**: the larger standard deviation of the zero-mean two-Gaussian
  mixture fitted by EM to the patch's gradient magnitudes (mirrored, which changes no estimate),
  started at variances 0.5 and 1e-4 with equal weights, stopped when the weight moves by 1e-3
  relatively or after 100 steps; it is computed on all patches at once (:func:`gmm_span`). The
  outer 3 rows and columns of patches repeat their inner neighbours;
- **power-spectrum slope**: the patch, divided by its sum, has its power spectrum
  ``|F(u, v)|^2 / h^2`` (``h = (p - 1) / 2``, frequencies 0..h-1) averaged over rings of radius
  ``round(|(u + 1, v + 1)|)``; the rings are grouped in bins of 0.2 in log radius and the log power
  of every bin but the last is summed (a sum of log power over log-frequency bins, whose value falls
  as the spectrum's slope steepens); empty bins (power exactly 0, as in a constant patch) are left
  out;
- **learned filters**: the responses of the first two of the released linear filters
  of that scale, clipped to their 3rd and 97th percentiles over the image.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Patches per block of the patch-wise features (bounds their temporary arrays to a few MB).
_BLOCK = 1024
#: GMM fit of the gradient histogram span: initial variances and weight, tolerance, step limit.
_V_WIDE, _V_NARROW, _WEIGHT, _TOL, _MAX_STEPS = 0.5, 1e-4, 0.5, 1e-3, 100
#: Patches at the border of the valid region whose span is replaced by the inner neighbour's.
_SPAN_MARGIN = 3


def gradients(im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences along x and y, the last column / row being ``-im`` there.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64

    Returns
    -------
    dx, dy : ndarray, shape (H, W), float64
    """
    dx = np.empty_like(im)
    dx[:, :-1] = im[:, 1:] - im[:, :-1]
    dx[:, -1] = -im[:, -1]
    dy = np.empty_like(im)
    dy[:-1] = im[1:] - im[:-1]
    dy[-1] = -im[-1]
    return dx, dy


def _pad(valid: np.ndarray, p: int) -> np.ndarray:
    """Values of the valid patches (H - p + 1, W - p + 1) placed at the patch centres, borders replicated."""
    o = (p - 1) // 2
    return np.pad(valid, o, mode="edge")


def _patch_blocks(x: np.ndarray, p: int):
    """Yield ``(rows, block)``: the flattened ``p x p`` patches of consecutive patch rows.

    ``block`` is (n_rows * n_cols, p * p) float64, row-major in both the patch grid and the patch.
    """
    view = sliding_window_view(x, (p, p))
    n_cols = view.shape[1]
    step = max(1, _BLOCK // n_cols)
    for r0 in range(0, view.shape[0], step):
        rows = slice(r0, min(r0 + step, view.shape[0]))
        yield rows, view[rows].reshape(-1, p * p)


def _kurtosis_valid(dx: np.ndarray, dy: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Kurtosis of each patch of ``dx`` and ``dy`` after dividing it by its sum.

    Both are centred on the mean of the divided ``dx`` patch (1 / p^2 for either, up to rounding,
    as the authors' code has it), so both are NaN where the ``dx`` patch sums to 0.
    """
    shape = (dx.shape[0] - p + 1, dx.shape[1] - p + 1)
    kx, ky = np.empty(shape), np.empty(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for (rows, bx), (_, by) in zip(_patch_blocks(dx, p), _patch_blocks(dy, p), strict=True):
            bx = bx / bx.sum(axis=1, keepdims=True)
            by = by / by.sum(axis=1, keepdims=True)
            mean = bx.mean(axis=1, keepdims=True)
            for b, out in ((bx, kx), (by, ky)):
                c = (b - mean) ** 2
                out[rows] = ((c * c).mean(axis=1) / c.mean(axis=1) ** 2).reshape(-1, shape[1])
    return kx, ky


def _fill_nan_with_min(x: np.ndarray) -> np.ndarray:
    bad = np.isnan(x)
    if bad.any() and not bad.all():
        x[bad] = x[~bad].min()
    return x


def local_kurtosis(im: np.ndarray, p: int) -> np.ndarray:
    """Local kurtosis feature: ``min(log K(dx), log K(dy))`` per p x p patch.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
    p : int
        Patch side, odd, at most min(H, W).

    Returns
    -------
    ndarray, shape (H, W), float64
        NaN (gradients summing to 0) replaced by the image's smallest value, per direction.
    """
    dx, dy = gradients(im)
    with np.errstate(divide="ignore", invalid="ignore"):
        kx, ky = _kurtosis_valid(dx, dy, p)
        qx = _fill_nan_with_min(np.log(_pad(kx, p)))
        qy = _fill_nan_with_min(np.log(_pad(ky, p)))
    return np.minimum(qx, qy)


#: Smallest ``t`` with ``exp(-t) == 0`` in float64 (below the smallest subnormal).
_EXP_UNDERFLOW = 745.1332191019412


def gmm_span(x2: np.ndarray) -> np.ndarray:
    """Larger standard deviation of a zero-mean two-Gaussian mixture fitted to each row by EM.

    All rows are fitted at once; each row stops on its own rule (relative change of the narrow
    component's weight at most 1e-3, or 100 steps), so every row gets the estimate a one-row fit
    would. The E step uses one exponential per sample: with ``w`` the narrow weight and ``vn``,
    ``vw`` the variances, the narrow responsibility is ``1 / (1 + A exp(c x^2))`` with
    ``A = (1 - w) / w sqrt(vn / vw)`` and ``c = 1 / (2 vn) - 1 / (2 vw)``.

    Parameters
    ----------
    x2 : ndarray, shape (N, M), float64
        Squared samples, one row per fit.

    Returns
    -------
    ndarray, shape (N,), float64
        ``max(sqrt(V1), sqrt(V2))``; NaN where the fit broke down, as the authors' code gives it
        (``sqrt(V2)`` is NaN there): both densities underflowing to 0 at a sample (0 / 0) or a
        variance reaching 0.
    """
    n, m = x2.shape
    v_wide = np.full(n, _V_WIDE)
    v_narrow = np.full(n, _V_NARROW)
    weight = np.full(n, _WEIGHT)
    previous = 2 * weight
    peak = x2.max(axis=1)
    rows = np.arange(n)  # rows of the working set ``x``
    x = x2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_MAX_STEPS):
            go = np.abs(previous[rows] - weight[rows]) / previous[rows] > _TOL
            if not go.any():
                break
            if go.sum() < 0.7 * rows.size:  # drop finished rows from the working set
                rows, x = rows[go], x[go]
                go = np.ones(rows.size, bool)
            active = rows[go]
            w, vw, vn = weight[rows], v_wide[rows], v_narrow[rows]
            previous[active] = w[go]
            # exp(-x / (2 v)) is 0 for both components at the largest sample: 0 / 0 in the E step
            broken = (peak[rows] * (0.5 / np.maximum(vn, vw)) > _EXP_UNDERFLOW) | ~(vn > 0) | ~(vw > 0)
            ratio = np.exp(x * (0.5 / vn - 0.5 / vw)[:, None])
            ratio *= ((1 - w) / w * np.sqrt(vn / vw))[:, None]
            narrow = ratio + 1.0
            np.reciprocal(narrow, out=narrow)
            ratio *= narrow  # wide responsibility, 1 - narrow without cancellation
            np.nan_to_num(ratio, copy=False, nan=1.0)  # inf * 0 where the narrow density underflows
            s_narrow = narrow.sum(axis=1)
            new_wide = np.einsum("ij,ij->i", ratio, x) / ratio.sum(axis=1)
            new_narrow = np.einsum("ij,ij->i", narrow, x) / s_narrow
            new_weight = s_narrow / m
            new_wide[broken] = new_narrow[broken] = new_weight[broken] = np.nan
            v_wide[active], v_narrow[active], weight[active] = new_wide[go], new_narrow[go], new_weight[go]
    s0, s1 = np.sqrt(v_wide), np.sqrt(v_narrow)
    return np.where(s0 > s1, s0, s1)


def gradient_histogram_span(im: np.ndarray, p: int) -> np.ndarray:
    """Gradient histogram span feature: the wide component's std of a 2-GMM on gradient magnitudes.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
    p : int
        Patch side, odd, with ``p + 6 <= min(H, W)``.

    Returns
    -------
    ndarray, shape (H, W), float64
        May hold NaN where the fit broke down (see :func:`gmm_span`).
    """
    dx, dy = gradients(im)
    mag2 = dx * dx + dy * dy
    k = _SPAN_MARGIN
    inner = mag2[k:-k, k:-k]
    out = np.empty((inner.shape[0] - p + 1, inner.shape[1] - p + 1))
    for rows, block in _patch_blocks(inner, p):
        out[rows] = gmm_span(block).reshape(-1, out.shape[1])
    return _pad(np.pad(out, k, mode="edge"), p)


def _spectrum_bins(h: int) -> np.ndarray:
    """(n_bins - 1, h * h) weights: log-radius bin of the ring averages, the last bin left out."""
    u = np.arange(1, h + 1)
    radius = np.floor(np.hypot(u[None, :], u[:, None]) + 0.5)  # rounds half up; never exactly .5
    rings = np.unique(radius)
    ring_avg = (radius.ravel()[None, :] == rings[:, None]).astype(np.float64)
    ring_avg /= ring_avg.sum(axis=1, keepdims=True)
    log_r = np.log(rings)
    bins = np.unique(np.floor(log_r / 0.2 + 0.5) * 0.2)
    # each ring joins the current bin, or opens the next one when it reaches that bin's value
    which = np.empty(len(rings), int)
    idx = -1
    for i, value in enumerate(log_r):
        if idx + 1 < len(bins) and value >= bins[idx + 1]:
            idx += 1
        which[i] = idx
    group = (np.arange(len(bins))[:, None] == which[None, :]).astype(np.float64)
    return (group @ ring_avg)[:-1]


def power_spectrum_slope(im: np.ndarray, p: int) -> np.ndarray:
    """Local power-spectrum feature: summed log power over log-radius bins of each patch.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
    p : int
        Patch side, odd, >= 5.

    Returns
    -------
    ndarray, shape (H, W), float64
        Finite; 0 for an all-black patch (no finite bin).
    """
    h = (p - 1) // 2
    weights = _spectrum_bins(h).T  # (h * h, n_bins - 1)
    out = np.empty((im.shape[0] - p + 1, im.shape[1] - p + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows, block in _patch_blocks(im, p):
            total = block.sum(axis=1)
            # transform the patch minus its first pixel, then put the sum back at frequency 0:
            # the same spectrum, but exactly 0 off frequency 0 for a constant patch, as FFTW
            # gives it (rounding noise there would enter the sum of logs)
            spec = np.fft.fft2((block - block[:, :1]).reshape(-1, p, p))[:, :h, :h]
            spec[:, 0, 0] = total
            power = (spec.real**2 + spec.imag**2).reshape(-1, h * h)
            power /= (total * total * (h * h))[:, None]
            logs = np.log(power @ weights)
            out[rows] = np.where(np.isfinite(logs), logs, 0.0).sum(axis=1).reshape(-1, out.shape[1])
    return _pad(out, p)


def learned_filter_responses(im: np.ndarray, filters: np.ndarray) -> list[np.ndarray]:
    """Responses of linear patch filters, each clipped to its 3rd..97th percentile.

    Parameters
    ----------
    im : ndarray, shape (H, W), float64 in [0, 1]
    filters : ndarray, shape (p * p, K), float64
        One filter per column, the patch flattened column by column (MATLAB order).

    Returns
    -------
    list of K ndarrays, shape (H, W), float64
        Response at each patch centre (the patch times the filter, summed), borders replicated;
        percentiles taken over the valid patches with midpoint interpolation (MATLAB ``prctile``).
    """
    p = int(round(np.sqrt(filters.shape[0])))
    o = (p - 1) // 2
    out = []
    for k in range(filters.shape[1]):
        kernel = filters[:, k].reshape(p, p, order="F")
        full = cv2.filter2D(im, cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT)
        valid = full[o : im.shape[0] - o, o : im.shape[1] - o]
        low, high = np.percentile(valid, [3, 97], method="hazen")
        out.append(np.clip(_pad(valid, p), low, high))
    return out
