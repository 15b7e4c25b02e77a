"""Edge patches and hand-crafted features of DHCF (Park, Tai, Cho & Kweon, CVPR 2017).

J. Park, Y.-W. Tai, D. Cho and I. S. Kweon, "A Unified Approach of Multi-scale Deep and Hand-crafted
Features for Defocus Estimation", CVPR 2017 (the authors' code calls it DHDE). Written from the
paper and the description of the authors' MATLAB code; the feature definitions follow that code so
that the vectors equal its output (``reference/dhde_features``):

- Grey image: the V channel of HSV, ``max(R, G, B)`` of the [0, 1] image.
- Edges (:func:`canny`): MATLAB ``edge(V, 'canny', [low high])`` at the two scales' thresholds;
  a pixel is labelled with the last scale whose edges contain it (scale 2 overrides scale 1).
- Patches (:func:`cut_patches`) of radius 13 (scale 1) and 7 (scale 2) around each edge pixel of
  its scale, the image replicate-padded by the radius; the gradient magnitude
  ``sqrt(gx^2 + gy^2) / sqrt(2)`` uses forward differences on the padded V channel (the last row
  and column repeat the previous difference).
- Features of a patch (:func:`features`), each ``log(1 + h) / sum(log(1 + h))`` of a histogram-like
  vector ``h`` of ``n`` bins (25 at scale 1, 13 at scale 2), followed by a bias entry of 1:

  * DCT: the grey patch zero-padded (after its last row and column) to 32 x 32 (16 x 16), the
    absolute orthonormal 2-D DCT-II, averaged over ``n`` overlapping rings of radius
    ``rho = sqrt(u^2 + v^2)``: ring ``b`` holds ``rho`` in ``[e_b - 0.1 d, e_{b+1} + 0.1 d]`` with
    ``e = linspace(0, m - 1, n + 1)`` and ``d = (m - 1) / n``.
  * Gradient: the counts of the patch's gradient magnitudes in ``n`` bins whose centres are those
    of ``linspace(0, 1, n + 1)`` (``hist``: the first and last bins are open-ended). A value on a
    boundary between two bins counts in the lower one, as in Octave's ``hist`` (``y <= cutoff``),
    which made the reference; MATLAB's ``hist`` (``histc``) counts it in the upper one. Boundaries
    are hit exactly, e.g. a magnitude of 0.4 from differences of 102/255 in both directions.
  * SVD: the ``n`` largest singular values of the grey patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import ndimage

from dbdbench.baselines.imageops import dct_matrix

RADII = (13, 7)
BINS = (25, 13)
DCT_SIZES = (32, 16)
RING_OVERLAP = 0.1
# Canny thresholds (relative to the largest gradient magnitude) of the two scales at test time.
EDGE_LOW = (0.117, 0.234)
EDGE_HIGH = (0.176, 0.351)
# Largest gradient magnitude of an image treated as flat (no edges).
FLAT_GRADIENT = 1e-9
# Patches per block of the feature computation (bounds its working memory to a few tens of MB).
BLOCK = 2048


@dataclass(frozen=True)
class _Rings:
    dct: np.ndarray  # (m, m) float64 orthonormal DCT-II matrix
    masks: np.ndarray  # (bins, m * m) float64 0/1, the rings
    area: np.ndarray  # (bins,) float64, pixels per ring
    grad_cuts: np.ndarray  # (bins - 1,) float64, boundaries between the gradient bins


@cache
def _rings(scale: int) -> _Rings:
    m, n = DCT_SIZES[scale], BINS[scale]
    yy, xx = np.mgrid[0:m, 0:m].astype(np.float64)
    rho = np.sqrt(xx**2 + yy**2)
    edges = np.linspace(0.0, m - 1, n + 1)
    step = (m - 1) / n
    masks = np.stack(
        [
            (rho >= edges[b] - RING_OVERLAP * step) & (rho <= edges[b + 1] + RING_OVERLAP * step)
            for b in range(n)
        ]
    ).reshape(n, m * m)
    bounds = np.linspace(0.0, 1.0, n + 1)
    centres = (bounds[:-1] + bounds[1:]) / 2
    cuts = (centres[:-1] + centres[1:]) / 2
    return _Rings(dct_matrix(m), masks.astype(np.float64), masks.sum(axis=1).astype(np.float64), cuts)


def _log_normalise(h: np.ndarray) -> np.ndarray:
    lg = np.log1p(h)
    return lg / lg.sum(axis=1, keepdims=True)


def features(grey: np.ndarray, grad: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DCT, gradient and SVD feature vectors of patches of one scale.

    Parameters
    ----------
    grey : ndarray, shape (N, w, w), float in [0, 1]
        V-channel patches, ``w = 2 RADII[scale] + 1``.
    grad : ndarray, shape (N, w, w) or (N, w * w), float
        Gradient-magnitude patches (any order of the pixels).
    scale : int
        0 (radius 13, 25 bins) or 1 (radius 7, 13 bins).

    Returns
    -------
    dct, grd, svd : ndarray, shape (N, BINS[scale] + 1), float64
        Each row sums to 1 over its bins; the last column is the bias, 1.
    """
    rings = _rings(scale)
    n, w = BINS[scale], 2 * RADII[scale] + 1
    grey = np.asarray(grey, np.float64)
    grad = np.asarray(grad, np.float64).reshape(len(grey), -1)
    if grey.shape[1:] != (w, w) or grad.shape[1] != w * w:
        raise ValueError(
            f"scale {scale} patches must be {w} x {w}, got {grey.shape[1:]} and {grad.shape[1:]}"
        )
    m = rings.dct.shape[0]
    out = [np.empty((len(grey), n + 1)) for _ in range(3)]
    for o in out:
        o[:, n] = 1.0
    for s in range(0, len(grey), BLOCK):
        g = grey[s : s + BLOCK]
        padded = np.zeros((len(g), m, m))
        padded[:, :w, :w] = g
        coeff = np.abs(rings.dct @ padded @ rings.dct.T).reshape(len(g), m * m)
        out[0][s : s + BLOCK, :n] = _log_normalise(coeff @ rings.masks.T / rings.area)
        which = np.searchsorted(rings.grad_cuts, grad[s : s + BLOCK], side="left")
        which += n * np.arange(len(g))[:, None]
        counts = np.bincount(which.ravel(), minlength=n * len(g)).reshape(len(g), n).astype(np.float64)
        out[1][s : s + BLOCK, :n] = _log_normalise(counts)
        out[2][s : s + BLOCK, :n] = _log_normalise(np.linalg.svd(g, compute_uv=False)[:, :n])
    return out[0], out[1], out[2]


# -- edges -----------------------------------------------------------------------------------------


def _imfilter_conv(x: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """MATLAB ``imfilter(x, kernel, 'conv', 'replicate')`` with a 1-D kernel along ``axis``.

    The kernel is flipped and centred at ``floor((k + 1) / 2)`` (1-based), as imfilter does for
    even lengths too.
    """
    k = len(kernel)
    flipped = kernel[::-1]
    centre = (k + 1) // 2 - 1
    pad = [(0, 0)] * x.ndim
    pad[axis] = (centre, k - 1 - centre)
    xp = np.pad(x, pad, mode="edge")
    out = np.zeros_like(x)
    size = x.shape[axis]
    for i in range(k):
        out += flipped[i] * np.take(xp, np.arange(i, i + size), axis=axis)
    return out


def _smooth_gradient(grey: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Derivative-of-Gaussian gradient (columns, rows) as MATLAB's Canny computes it."""
    length = 8 * int(np.ceil(sigma))
    half = (length - 1) / 2
    x = np.arange(-half, half + 1)
    gauss = np.exp(-(x**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    gauss /= gauss.sum()
    deriv = np.gradient(gauss)
    pos, neg = deriv > 0, deriv < 0
    deriv[pos] /= deriv[pos].sum()
    deriv[neg] /= abs(deriv[neg].sum())
    gx = _imfilter_conv(_imfilter_conv(grey, gauss, 0), deriv, 1)
    gy = _imfilter_conv(_imfilter_conv(grey, gauss, 1), deriv, 0)
    return gx, gy


def _local_maxima(gx: np.ndarray, gy: np.ndarray, mag: np.ndarray) -> np.ndarray:
    """Non-maximum suppression by interpolation along the gradient (interior pixels only)."""
    h, w = mag.shape
    keep = np.zeros(mag.shape, bool)
    ix, iy, m = gx[1:-1, 1:-1], gy[1:-1, 1:-1], mag[1:-1, 1:-1]

    def at(dr, dc):
        return mag[1 + dr : h - 1 + dr, 1 + dc : w - 1 + dc]

    with np.errstate(divide="ignore", invalid="ignore"):
        cases = (
            ((iy <= 0) & (ix > -iy)) | ((iy >= 0) & (ix < -iy)),
            ((ix > 0) & (-iy >= ix)) | ((ix < 0) & (-iy <= ix)),
            ((ix <= 0) & (ix > iy)) | ((ix >= 0) & (ix < iy)),
            ((iy < 0) & (ix <= iy)) | ((iy > 0) & (ix >= iy)),
        )
        dy_over_dx = np.abs(iy / ix)
        dx_over_dy = np.abs(ix / iy)
        # neighbours (row, col offsets) interpolated on either side, per direction case
        sides = (
            (dy_over_dx, ((0, 1), (-1, 1)), ((0, -1), (1, -1))),
            (dx_over_dy, ((-1, 0), (-1, 1)), ((1, 0), (1, -1))),
            (dx_over_dy, ((-1, 0), (-1, -1)), ((1, 0), (1, 1))),
            (dy_over_dx, ((0, -1), (-1, -1)), ((0, 1), (1, 1))),
        )
        inner = np.zeros(m.shape, bool)
        for case, (d, (a, b), (c, e)) in zip(cases, sides, strict=True):
            g1 = at(*a) * (1 - d) + at(*b) * d
            g2 = at(*c) * (1 - d) + at(*e) * d
            inner |= case & (m >= g1) & (m >= g2)
    keep[1:-1, 1:-1] = inner
    return keep


def canny(grey: np.ndarray, low: float, high: float, sigma: float = np.sqrt(2)) -> np.ndarray:
    """Canny edges as MATLAB's ``edge(grey, 'canny', [low high], sigma)`` documents them.

    Derivative-of-Gaussian gradient (``8 ceil(sigma)`` taps, replicated border), magnitude divided
    by its maximum, non-maximum suppression interpolated along the gradient direction, and
    hysteresis: the 8-connected components of the local maxima above ``low`` that hold one above
    ``high``.

    Parameters
    ----------
    grey : ndarray, shape (H, W), float
    low, high : float
        Hysteresis thresholds relative to the largest gradient magnitude, ``0 <= low < high < 1``.
    sigma : float
        Gaussian standard deviation.

    Returns
    -------
    ndarray, shape (H, W), bool
    """
    grey = np.asarray(grey, np.float64)
    gx, gy = _smooth_gradient(grey, sigma)
    mag = np.hypot(gx, gy)
    peak = mag.max()
    # a flat image leaves rounding residue (~1e-17) that the normalisation would turn into edges
    if peak <= FLAT_GRADIENT or min(grey.shape) < 3:
        return np.zeros(grey.shape, bool)
    mag /= peak
    weak = _local_maxima(gx, gy, mag) & (mag > low)
    labels, count = ndimage.label(weak, structure=np.ones((3, 3)))
    strong = np.unique(labels[weak & (mag > high)])
    return np.isin(labels, strong[strong > 0])


def edge_labels(grey: np.ndarray) -> np.ndarray:
    """Edge label of every pixel: 0 none, 1 scale-1 edge, 2 scale-2 edge (overrides 1).

    Parameters
    ----------
    grey : ndarray, shape (H, W), float in [0, 1]
        V channel.

    Returns
    -------
    ndarray, shape (H, W), uint8
    """
    out = np.zeros(grey.shape, np.uint8)
    for k, (lo, hi) in enumerate(zip(EDGE_LOW, EDGE_HIGH, strict=True), start=1):
        out[canny(grey, lo, hi)] = k
    return out


# -- patches ---------------------------------------------------------------------------------------


def value_channel(rgb01: np.ndarray) -> np.ndarray:
    """V of HSV (MATLAB ``rgb2hsv``): the largest of R, G, B; (H, W, 3) -> (H, W)."""
    return rgb01.max(axis=2)


def gradient_magnitude(grey: np.ndarray) -> np.ndarray:
    """``sqrt(gx^2 + gy^2) / sqrt(2)`` with forward differences, the last one repeated at the end."""
    gx = np.empty_like(grey)
    gy = np.empty_like(grey)
    gx[:, :-1] = grey[:, 1:] - grey[:, :-1]
    gx[:, -1] = gx[:, -2]
    gy[:-1] = grey[1:] - grey[:-1]
    gy[-1] = gy[-2]
    return np.sqrt(gx**2 + gy**2) / np.sqrt(2)


def edge_positions(labels: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (0-based) of the edges of one scale in MATLAB's column-major order."""
    cols, rows = np.nonzero(labels.T == scale + 1)
    return rows, cols


def cut_patches(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, radius: int) -> np.ndarray:
    """Square patches of ``2 radius + 1`` pixels centred at (rows, cols), replicate padding.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    rows, cols : ndarray of int, shape (N,)
    radius : int

    Returns
    -------
    ndarray, shape (N, 2 radius + 1, 2 radius + 1) (+ (C,))
    """
    pad = [(radius, radius), (radius, radius)] + [(0, 0)] * (image.ndim - 2)
    padded = np.pad(image, pad, mode="edge")
    w = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (w, w), axis=(0, 1))
    out = windows[rows, cols]
    if image.ndim == 3:
        out = np.moveaxis(out, 1, -1)
    return np.ascontiguousarray(out)
