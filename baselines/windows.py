"""Local window statistics and map finishing shared by the simple detectors."""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.baselines.imageops import guided_refine, minmax

# Reflection without repeating the edge pixel (OpenCV's default border).
BORDER = cv2.BORDER_REFLECT_101


def box_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over the ``window`` x ``window`` neighbourhood of every pixel (reflected border).

    Parameters
    ----------
    x : ndarray, shape (H, W), float32
    window : int
        Window side (even sizes are centred half a pixel up-left).

    Returns
    -------
    ndarray, shape (H, W), float32
    """
    return cv2.boxFilter(x, cv2.CV_32F, (window, window), normalize=True, borderType=BORDER)


def finish(score: np.ndarray, rgb: np.ndarray, refine: bool, radius: int) -> np.ndarray:
    """Min-max normalise a sharpness score and optionally refine it with a guided filter.

    Parameters
    ----------
    score : ndarray, shape (H, W), float
        Higher = sharper.
    rgb : ndarray, shape (H, W, 3), uint8
        The image (guide of the refinement).
    refine : bool
        Apply :func:`~dbdbench.baselines.imageops.guided_refine` after normalising.
    radius : int
        Guided-filter radius.

    Returns
    -------
    ndarray, shape (H, W), float32 in [0, 1], 1 = in-focus
    """
    out = minmax(np.nan_to_num(score, nan=0.0, posinf=0.0, neginf=0.0))
    if refine:
        out = minmax(guided_refine(out, rgb, radius=max(1, radius)))
    return out.astype(np.float32)
