"""What evaluation checks about its input: how masks and maps are stored, and whether the GT
polarity looks inverted; the one-line warnings it records (``docs/evaluation.md#input-checks``).

Scale rules, applied to every file ``evaluate`` reads (:func:`read_levels`), the same for every
protocol:

- a 16-bit file whose values all fit in 0..255 is an 8-bit image saved in 16 bits: read as 8-bit,
  values unchanged;
- a GT mask holding two values 0 and k, k below full scale (0/1 label images, 0/128 masks), is binary:
  k is read as full scale; a map whose maximum is 1 (a 0/1 binary map) likewise.

The polarity check is a one-sided sign test on the difference between a map's mean on the GT's
in-focus region and on its blurred region (:func:`inverted_images`, :func:`looks_inverted`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np

from dbdbench.imageio import max_level, read_grey
from dbdbench.metrics.protocol import focus_levels
from dbdbench.polarity import FOCUS_WHITE

#: the polarity check fires when the maps are lower on the GT's in-focus region than on its blurred
#: region in at least this fraction of the images ...
POLARITY_FRACTION = 0.75
#: ... and a fair coin would give that many such images with at most this probability
POLARITY_P = 0.01
#: a bootstrap over fewer images is noted: its intervals say little (zero width on one image)
MIN_BOOTSTRAP_IMAGES = 10


@dataclass(frozen=True)
class Scale:
    """How one file's levels were read (:func:`read_levels`).

    Attributes
    ----------
    sixteen_bit : bool
        A 16-bit file holding 0..255, read as 8-bit.
    binary_level : int or None
        The level k of a 0/k binary file read as full scale; None when the levels were kept.
    full : int
        The full scale of the levels as read: 255, or 65535 for a 16-bit file with higher values.
    """

    sixteen_bit: bool = False
    binary_level: int | None = None
    full: int = 255


KEPT = Scale()


def read_levels(path: str | os.PathLike, *, mask: bool) -> tuple[np.ndarray, Scale]:
    """Read a mask or map as stored, then apply the scale rules of the module docstring.

    Parameters
    ----------
    path : path-like
        Image file (8 or 16 bit grey; colour is converted).
    mask : bool
        A GT mask (any 0/k binary mask is scaled) rather than a map (only a 0/1 map is).

    Returns
    -------
    levels : ndarray, shape (H, W), dtype uint8 or uint16
    scale : Scale
        What was changed (:data:`KEPT` when nothing was).
    """
    a = read_grey(path)
    if not a.size:
        return a, KEPT
    top = int(a.max())
    sixteen_bit = a.dtype == np.uint16 and top <= 255
    if sixteen_bit:
        a = a.astype(np.uint8)
    full = max_level(a)
    level = None
    if mask and 0 < top < full and not np.any((a != 0) & (a != top)):
        level = top
    elif top == 1:
        level = 1
    if level is not None:
        a = (a == level).astype(a.dtype) * a.dtype.type(full)
    return a, Scale(sixteen_bit, level, full)


def focus_mask(gt: np.ndarray, polarity: str) -> tuple[np.ndarray, int] | None:
    """uint8 mask of the GT's in-focus half (cut at half scale) and its pixel count; None with one class."""
    focus = (focus_levels(gt, polarity) > max_level(gt) // 2).view(np.uint8)
    n = int(np.count_nonzero(focus))
    if n in (0, focus.size):
        return None
    return focus, n


def separation(pred: np.ndarray, mask: tuple[np.ndarray, int] | None) -> float | None:
    """Mean prediction on the GT's in-focus region minus on its blurred region, in [-1, 1].

    Parameters
    ----------
    pred : ndarray, shape (H, W), dtype uint8 or uint16
        The map, at the GT's size.
    mask : (ndarray, int) or None
        :func:`focus_mask` of the GT; None for a one-class GT (the result is then None).
    """
    if mask is None:
        return None
    focus, n_in = mask
    n_out = focus.size - n_in
    # integer sums, exact in float64: one masked pass and one plain one
    inside = cv2.mean(pred, mask=focus)[0] * n_in
    total = cv2.sumElems(pred)[0]
    return (inside / n_in - (total - inside) / n_out) / max_level(pred)


def _binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def inverted_images(separations: list[float | None]) -> tuple[int, int]:
    """How many images have a map lower on the GT's in-focus region than on its blurred one, of how many.

    Parameters
    ----------
    separations : list of float or None
        Per image, the map's mean on the in-focus half of the GT minus its mean on the blurred half
        (unit scale); None for a GT with one class only (not counted).

    Returns
    -------
    (k, n) : tuple of int
    """
    valid = [s for s in separations if s is not None]
    return sum(s < 0 for s in valid), len(valid)


def looks_inverted(k: int, n: int) -> bool:
    """The polarity rule: at least 75% of the images inverted, and that many unlikely by chance (p < 0.01).

    A method that detects anything puts higher values on the in-focus region in most images; a
    random one does so in about half of them. Most images inverted therefore means the GT as read
    (or the maps) has the other polarity. The sign test keeps small sets and random maps quiet.
    """
    return n > 0 and k >= POLARITY_FRACTION * n and _binomial_tail(k, n) < POLARITY_P


def polarity_warning(inverted: dict[str, tuple[int, int]], polarity: str, dataset: str | None) -> str:
    """The one line for GT masks that look inverted: per method ``(k, n)``, and the fix."""
    counts = ", ".join(f"{k} of {n} images ({m})" for m, (k, n) in inverted.items())
    if dataset is None:
        if polarity == FOCUS_WHITE:
            fix = "if the --gt masks are white = blurred, add --gt-polarity blurred-white (or --dataset cuhk)"
        else:
            fix = "if the --gt masks are white = in-focus, drop --gt-polarity blurred-white"
    else:
        fix = f"dataset '{dataset}' stores its masks {polarity}: check that the maps are high = in-focus"
    return (
        f"GT polarity looks inverted: the maps are lower on the GT's in-focus region than on its "
        f"blurred region in {counts}; {fix}"
    )


def scale_notes(what: str, scales: list[tuple[str, Scale]], total: int) -> list[str]:
    """The lines for the files of one kind (``"GT masks"``, ``"maps of m"``) read with a scale rule.

    Parameters
    ----------
    what : str
        The files, plural.
    scales : list of (name, Scale)
        One entry per file read, in order.
    total : int
        Files of this kind in the result.
    """
    notes = []
    sixteen = [n for n, s in scales if s.sixteen_bit]
    if sixteen:
        notes.append(
            f"{len(sixteen)} of {total} {what} are 16-bit files holding only 0..255 (e.g. '{sixteen[0]}'): "
            "read as 8-bit"
        )
    binary = [(n, s.binary_level) for n, s in scales if s.binary_level is not None]
    full = "255" if all(s.full == 255 for _, s in scales) else "255, or 65535 for 16-bit files"
    if binary:
        levels = sorted({k for _, k in binary})
        k = str(levels[0]) if len(levels) == 1 else "k"
        which = "" if len(levels) == 1 else f", k = {', '.join(map(str, levels[:5]))}"
        notes.append(
            f"{len(binary)} of {total} {what} hold only the values 0 and {k} (e.g. '{binary[0][0]}'{which}): "
            f"read as binary, {k} = full scale ({full})"
        )
    return notes


def one_class_warning(n: int, polarity: str) -> str:
    """The line for a GT set whose every mask has one class only (all in-focus or all blurred)."""
    return (
        f"every one of the {n} GT masks has one class only (all in-focus or all blurred, read as "
        f"{polarity}): F-measures, IoU and the polarity check mean little; check the masks"
    )


def resized_warning(method: str, resized: list[tuple[str, str, str]], total: int) -> str:
    """The line for the maps of ``method`` scored at another size: ``(name, map size, GT size)`` each."""
    name, size, gt_size = resized[0]
    return (
        f"{len(resized)} of {total} maps of {method} have another size than their GT (e.g. '{name}': "
        f"{size} for a {gt_size} GT): resized to the GT size as each protocol does; "
        "the per-image CSV lists them (resized_from)"
    )


def bootstrap_note(n_images: int) -> str | None:
    """The line for a bootstrap over fewer than :data:`MIN_BOOTSTRAP_IMAGES` images, else None."""
    if n_images >= MIN_BOOTSTRAP_IMAGES:
        return None
    return (
        f"bootstrap over {n_images} image{'s' if n_images != 1 else ''} only: its intervals say little "
        f"(zero width on one image); evaluate {MIN_BOOTSTRAP_IMAGES} or more images for intervals"
    )
