"""Input checks shared by the classical detectors: image conversion, parameter checks, map scaling.

Every detector takes an RGB uint8 image; :func:`detector` wraps a detector function so that it also
accepts grey, single-channel, RGBA, 16-bit and [0, 1] float images, rejects images that are too small
or not images at all, and turns an unknown keyword parameter into a one-line
:class:`~dbdbench.errors.DbdError` that lists the valid ones.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import cv2
import numpy as np

from dbdbench.errors import DbdError

#: Smallest image side every classical detector accepts.
MIN_SIDE = 8


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image to RGB uint8.

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
        uint8 (0..255), uint16 (0..65535, rounded to 8 bits), bool, or float in [0, 1] (clipped).
        A fourth channel (alpha) is dropped; grey is replicated to three channels.

    Returns
    -------
    ndarray, shape (H, W, 3), dtype uint8
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise DbdError(
            f"image of shape {img.shape} is not an image; pass (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA"
        )
    if img.shape[0] < MIN_SIDE or img.shape[1] < MIN_SIDE:
        raise DbdError(
            f"image of {img.shape[1]}x{img.shape[0]} pixels is too small; "
            f"the classical detectors need at least {MIN_SIDE}x{MIN_SIDE}"
        )
    if img.dtype == np.uint8:
        pass
    elif img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    elif img.dtype == np.uint16:
        img = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif np.issubdtype(img.dtype, np.floating):
        if not np.isfinite(img).all():
            raise DbdError("image has NaN or infinite values; pass a finite image")
        img = np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise DbdError(f"image has unsupported sample type {img.dtype}; pass uint8 RGB")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma (as MATLAB ``rgb2gray``), rounded.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), dtype uint8

    Returns
    -------
    ndarray, shape (H, W), dtype uint8
    """
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def normalise(values: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1]; a constant map becomes all zeros.

    Parameters
    ----------
    values : ndarray, float

    Returns
    -------
    ndarray, same shape, dtype float32, values in [0, 1]
    """
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        return np.zeros(v.shape, np.float32)
    return ((v - lo) / (hi - lo)).astype(np.float32)


def odd_window(size: int, height: int, width: int) -> int:
    """A window side clipped to the image: the largest odd number <= ``size`` and <= the smaller side.

    Parameters
    ----------
    size : int
        Requested window side (pixels).
    height, width : int
        Image size.

    Returns
    -------
    int
        Odd window side, at least 1.
    """
    s = min(int(size), height, width)
    return max(1, s if s % 2 else s - 1)


def detector(name: str) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Decorate a detector ``func(rgb, **params)``: convert its image and check its parameters.

    The wrapped function converts ``image`` with :func:`as_rgb_uint8` and raises a one-line
    :class:`~dbdbench.errors.DbdError` for a parameter name the function does not declare.

    Parameters
    ----------
    name : str
        Detector name used in error messages.
    """

    def wrap(func: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        valid = [p for p in inspect.signature(func).parameters if p != "image"]

        @functools.wraps(func)
        def run(image: np.ndarray, **params) -> np.ndarray:
            unknown = sorted(set(params) - set(valid))
            if unknown:
                raise DbdError(
                    f"unknown parameter '{unknown[0]}' for method '{name}'; valid: {', '.join(valid)}"
                )
            return func(as_rgb_uint8(image), **params)

        return run

    return wrap
