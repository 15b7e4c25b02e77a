"""Per-sample checks of a simulated sample: in-focus fraction and a visible sharpness gap.

The gap is the ratio of mean squared Laplacian (a classic focus measure, Nayar & Nakagawa, "Shape from
focus", PAMI 1994) inside the in-focus region to that inside the blurred region, both eroded away from
the mask edge so that the transition band does not count.
"""

from __future__ import annotations

import cv2
import numpy as np


def sharpness_ratio(rgb: np.ndarray, infocus: np.ndarray, margin_px: int) -> float:
    """Mean squared Laplacian of the in-focus region over that of the blurred region.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), dtype uint8
        The rendered sample.
    infocus : ndarray, shape (H, W), float32 or bool
        1 = in focus.
    margin_px : int
        Both regions are eroded by this many pixels (kept uneroded where erosion empties them).

    Returns
    -------
    float
        ``inf`` when the blurred region has no Laplacian energy, 0 when the in-focus region has none.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # integer Laplacian of the grey levels 0..255 (the scale cancels in the ratio): its squares (below
    # 2**24) are exact in float32 and their region sums (double accumulators) exact whatever the order
    lap = cv2.Laplacian(grey, cv2.CV_16S, ksize=1).astype(np.float32)
    energy = cv2.multiply(lap, lap)
    inside = (infocus > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * margin_px + 1, 2 * margin_px + 1))
    means = []
    for region in (inside, 1 - inside):
        if margin_px > 0:
            eroded = cv2.erode(region, kernel, borderType=cv2.BORDER_REPLICATE)
            region = eroded if cv2.countNonZero(eroded) else region
        n = cv2.countNonZero(region)
        # copyTo into a new array zero-fills outside the mask: much faster than a masked cv2.mean
        means.append(cv2.sumElems(cv2.copyTo(energy, region))[0] / n if n else 0.0)
    sharp, blurred = means
    if blurred <= 0:
        return float("inf") if sharp > 0 else 0.0
    return sharp / blurred


def check_sample(rgb: np.ndarray, infocus: np.ndarray, checks) -> tuple[bool, float, float]:
    """Apply the recipe's ``[checks]``.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), dtype uint8
    infocus : ndarray, shape (H, W), float32 in {0, 1}
    checks : CheckOptions

    Returns
    -------
    ok : bool
    fraction : float
        In-focus fraction in [0, 1].
    ratio : float
        :func:`sharpness_ratio` (0 when the fraction check already failed).
    """
    fraction = float(infocus.mean())
    if not checks.infocus_min <= fraction <= checks.infocus_max:
        return False, fraction, 0.0
    ratio = sharpness_ratio(rgb, infocus, checks.margin_px)
    return ratio >= checks.min_sharpness_ratio, fraction, ratio
