"""LBP sharpness of Yi & Eramian, and their full segmentation pipeline.

Xin Yi and Mark Eramian, "LBP-based segmentation of defocus blur", IEEE Transactions on Image
Processing 25(4):1626-1638, 2016.

``lbp`` (the sharpness metric, Eq. 15 of the paper):

1. Grey image (ITU-R 601, uint8). Rotation-invariant uniform LBP, 8 neighbours on the circle of radius
   1: the 4 axial neighbours are pixels, the 4 diagonal ones (at +-sqrt(2)/2 in x and y) are bilinearly
   interpolated from the 2 x 2 pixels around them and floored. Bit p is set when
   ``g_p - g_c > T_LBP`` with ``T_LBP = 0.016 * 255``. A pattern with at most 2 bit transitions around
   the circle is uniform and its code is its number of set bits (0..8); any other pattern gets code 9.
   Borders are replicated.
2. Sharpness = fraction of the pixels in the s x s window (replicated borders) whose code is 6, 7, 8
   or 9 (patterns of sharp texture), min-max normalised over the image. Default ``s = 21``, the largest
   of the paper's three scales (11, 15, 21): the most stable single-scale map, and the layer the
   authors' released code returns after multiscale inference.

``lbp-matting`` (the full method, Sections III-C and III-D):

1. The metric at s = 11, 15 and 21.
2. Per scale, seeds (Eq. 21): sharp where the metric > 0.3, blurred where it is < 0.01, set as the
   authors' released code sets them (:func:`seeds`); closed-form matting (Levin et al. 2008)
   propagates them to every pixel the way that code calls Levin's: coarse-to-fine over 3 levels with
   one active level, i.e. solved with soft constraints (weight 100) at a quarter of the resolution and
   brought up twice by the per-window colour-linear model
   (:func:`dbdbench.baselines.matting.coarse_to_fine_matte`), clipped to [0, 1] (Eq. 18).
3. Multiscale inference (Eq. 19): the three mattes are the observations of a three-layer binary Potts
   MRF (4-neighbour links in each layer, links between the same pixel in adjacent scales, cost
   ``alpha = 0.5`` per differing pair; :mod:`dbdbench.baselines.potts`), solved by loopy belief
   propagation at the photo's resolution. The output is P(sharp) of the s = 21 layer. Our reading
   of the paper follows the authors' released MATLAB code in two details the text leaves open: the
   observations are z-scored over the three layers before the unary terms ``exp(-|1 - x|)`` /
   ``exp(-|x|)`` are formed, and the layer returned is the one of the largest window.
4. Images whose longer side exceeds ``max_side`` are matted and inferred at that size and brought back
   with Levin's local linear model (:func:`dbdbench.baselines.matting.linear_upsample`). The
   default, 1600, is the longest side of the registered datasets (EBD), so they run at full size:
   on out_of_focus0035 (640 x 426) a working size of 320 takes 0.94 s of CPU instead of 2.29 s and
   331 MiB peak instead of 394 MiB, but drops r with the authors' map from 0.9995 to 0.956
   (benchmarks/validate_authors.py, 2026-12-03; docs/baselines.md, "Validation against the
   authors' code").
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.baselines.imageops import MIN_SIDE, RGB2GRAY_WEIGHTS, as_rgb, minmax, rgb2gray_matlab
from dbdbench.baselines.matting import MIN_WORKING_SIDE
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import at_least, between, odd_between

CITATION = "Yi & Eramian, LBP-based segmentation of defocus blur, IEEE TIP 2016"
T_LBP = 0.016
SCALES = (11, 15, 21)
#: T_LBP is a fraction of the grey range; at 1 or more no bit is ever set (a constant map).
THRESHOLD = between(0, 1, open_high=True)
#: Rows per strip when computing codes (bounds the temporary memory of very large images).
_STRIP = 1024


def _riu2_table() -> np.ndarray:
    """Code of each 8-bit pattern: number of set bits when uniform (<= 2 circular transitions), else 9."""
    table = np.empty(256, np.uint8)
    for pattern in range(256):
        bits = [(pattern >> k) & 1 for k in range(8)]
        transitions = sum(bits[k] != bits[k - 1] for k in range(8))
        table[pattern] = sum(bits) if transitions <= 2 else 9
    return table


_RIU2 = _riu2_table()


def _codes_strip(p: np.ndarray, threshold: float) -> np.ndarray:
    """LBP(8,1) riu2 codes of the interior of a padded int16 strip (one replicated pixel around).

    A bit is set when ``floor(g_p) - g_c > T``; with integer grey levels that is
    ``g_p - g_c >= k`` with ``k = floor(T) + 1``, which needs no floor and is exact in float32 here
    (a diagonal sample minus the centre, ``d (h - c) + d (v - c) + (c - h - v + hv) / 2``, is an
    integer only when ``h - c = -(v - c)``, and then float32 computes it exactly).
    """
    k = np.floor(threshold) + 1
    c = p[1:-1, 1:-1]
    dr, dl = p[1:-1, 2:] - c, p[1:-1, :-2] - c
    du, dd = p[:-2, 1:-1] - c, p[2:, 1:-1] - c
    d = np.float32(np.sqrt(0.5))

    def diag(dh: np.ndarray, dv: np.ndarray, corner: np.ndarray) -> np.ndarray:
        # bilinear sample at (+-d, +-d) minus the centre
        return d * dh + d * dv + np.float32(0.5) * (corner - c - dh - dv)

    ring = (
        dr,
        diag(dr, du, p[:-2, 2:]),
        du,
        diag(dl, du, p[:-2, :-2]),
        dl,
        diag(dl, dd, p[2:, :-2]),
        dd,
        diag(dr, dd, p[2:, 2:]),
    )
    pattern = np.zeros(c.shape, np.uint8)
    for bit, diff in enumerate(ring):
        pattern |= (diff >= k).astype(np.uint8) << bit
    return _RIU2[pattern]


def lbp_codes(grey: np.ndarray, threshold: float = T_LBP * 255) -> np.ndarray:
    """Rotation-invariant uniform LBP codes, 8 neighbours at radius 1 (see the module docstring).

    Parameters
    ----------
    grey : ndarray, shape (H, W), dtype uint8
        Grey image.
    threshold : float
        ``T_LBP`` in grey levels: bit set when ``g_p - g_c > threshold``.

    Returns
    -------
    ndarray, shape (H, W), dtype uint8
        Codes 0..8 for uniform patterns (number of set bits), 9 for the others.
    """
    g = np.pad(np.asarray(grey, dtype=np.int16), 1, mode="edge")
    h = grey.shape[0]
    out = np.empty(grey.shape, np.uint8)
    for top in range(0, h, _STRIP):
        bottom = min(h, top + _STRIP)
        out[top:bottom] = _codes_strip(g[top : bottom + 2], threshold)
    return out


def sharp_fraction(codes: np.ndarray, s: int) -> np.ndarray:
    """Fraction of codes 6..9 in the s x s window around each pixel (replicated borders), normalised.

    Parameters
    ----------
    codes : ndarray, shape (H, W), dtype uint8
        Output of :func:`lbp_codes`.
    s : int
        Window side; clipped to the largest odd size that fits the image.

    Returns
    -------
    ndarray, shape (H, W), dtype float32, min-max normalised to [0, 1]
    """
    s = min(int(s), *codes.shape)
    s = max(1, s if s % 2 else s - 1)
    frac = cv2.boxFilter(
        (codes >= 6).astype(np.float32), -1, (s, s), normalize=True, borderType=cv2.BORDER_REPLICATE
    )
    return minmax(frac.astype(np.float64)).astype(np.float32)


@detector(
    "lbp",
    citation=CITATION,
    description="fraction of sharp LBP patterns (codes 6-9) in an s x s window",
    checks={"s": odd_between(3), "threshold": THRESHOLD},
)
def lbp_sharpness(image: np.ndarray, s: int = 21, threshold: float = T_LBP) -> np.ndarray:
    """LBP sharpness metric of Yi & Eramian (TIP 2016, Eq. 15).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image (grey and RGBA are converted).
    s : int
        Odd window side in pixels (11, 15 or 21 in the paper); clipped to the image.
    threshold : float
        ``T_LBP`` as a fraction of the grey range (0.016 in the paper).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Sharpness in [0, 1], 1 = in-focus.
    """
    grey = rgb2gray_matlab(as_rgb(image, min_size=MIN_SIDE, method="lbp"), opencv=True)
    return sharp_fraction(lbp_codes(grey, float(threshold) * 255.0), int(s))


def seeds(
    rgb01: np.ndarray, metric: np.ndarray, sharp_seed: float = 0.3, blur_seed: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Matting constraints from the metric's double threshold (Eq. 21), as the released code sets them.

    Sharp seeds (metric > ``sharp_seed``) are painted white and blurred ones (metric <
    ``blur_seed``, tested as ``1 - metric > 1 - blur_seed``) black; a pixel is constrained where the
    painted image differs from the photo (summed absolute difference > 0.001, so a seed already
    white or black is left free), to the grey level of its paint.

    Parameters
    ----------
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
    metric : ndarray, shape (H, W), float in [0, 1]
    sharp_seed, blur_seed : float

    Returns
    -------
    known : ndarray, shape (H, W), bool
    values : ndarray, shape (H, W), float64
        1 at constrained sharp seeds (the grey of white), 0 elsewhere.
    """
    sharp = metric > sharp_seed
    blurred = (1.0 - metric) > (1.0 - blur_seed)
    painted = np.where(sharp[:, :, None], 1.0, rgb01)
    painted[blurred] = 0.0
    known = np.abs(rgb01 - painted).sum(axis=2) > 0.001
    grey_white = float(RGB2GRAY_WEIGHTS.sum())
    return known, np.where(known & sharp & ~blurred, grey_white, 0.0)


@detector(
    "lbp-matting",
    citation=CITATION,
    description="LBP metric at 3 scales, closed-form matting, multiscale Potts inference",
    checks={
        "alpha": at_least(0),
        # the metric is min-max normalised: a sharp seed needs metric > sharp_seed, a blurred one
        # metric < blur_seed, so 1 and 0 would leave no seed of that kind (a constant matte)
        "sharp_seed": between(0, 1, open_high=True),
        "blur_seed": between(0, 1, open_low=True),
        "threshold": THRESHOLD,
        "max_side": at_least(MIN_WORKING_SIDE),
    },
)
def lbp_matting(
    image: np.ndarray,
    alpha: float = 0.5,
    sharp_seed: float = 0.3,
    blur_seed: float = 0.01,
    threshold: float = T_LBP,
    max_side: int = 1600,
) -> np.ndarray:
    """Full LBP segmentation pipeline of Yi & Eramian: metric, matting per scale, multiscale inference.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image (grey and RGBA are converted).
    alpha : float
        Potts cost of differing linked labels in the multiscale inference (0.5 in the paper).
    sharp_seed, blur_seed : float
        Metric thresholds for the sharp (>) and blurred (<) matting seeds (0.3 and 0.01);
        ``0 < blur_seed <= sharp_seed < 1``.
    threshold : float
        ``T_LBP`` as a fraction of the grey range.
    max_side : int
        Matting and inference run at this longer side at most (at least 16); the result is
        upsampled.

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Sharpness in [0, 1], 1 = in-focus.
    """
    from dbdbench.baselines import matting
    from dbdbench.baselines.potts import potts_marginals

    if blur_seed > sharp_seed:
        raise DbdError(
            f"lbp-matting: blur_seed ({blur_seed}) must not exceed sharp_seed ({sharp_seed}); "
            "the seeds would overlap"
        )
    image = as_rgb(image, min_size=MIN_SIDE, method="lbp-matting")
    codes = lbp_codes(rgb2gray_matlab(image, opencv=True), float(threshold) * 255.0)

    def solve(small: np.ndarray, rgb01: np.ndarray) -> np.ndarray:
        size = small.shape[:2]
        mattes = []
        for s in SCALES[::-1]:  # layer 0 = s 21, the layer returned, as in the released code
            metric = matting.resize(sharp_fraction(codes, s), size).astype(np.float64)
            known, values = seeds(rgb01, metric, float(sharp_seed), float(blur_seed))
            mattes.append(matting.coarse_to_fine_matte("lbp-matting", rgb01, known, values))
        return potts_marginals(np.stack(mattes), alpha=float(alpha))[0]

    return matting.at_working_size(image, max_side, solve)
