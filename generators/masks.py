"""Region masks for simulated defocus: the drawn region is the "object" of a sample.

Families: random ellipses and star-shaped polygons, smooth-noise blobs, unions of neighbouring
superpixels (watershed regions grown from a grid of seeds, see :func:`superpixel_labels`), half-plane splits,
bands (an in-focus strip, like the focal plane crossing a ground plane), wavy gradient splits, and user
masks from a folder (the BTBNet paper used hand-drawn masks; object masks of a segmentation dataset
serve the same purpose). Every function takes a numpy Generator and returns a float32 (H, W) mask
with values 0 or 1.

A family is one function and one :func:`mask_family` registration (its name, its default weight in
a recipe's ``mask.weights``, whether the ``lens`` recipe may use it as an object's silhouette, and
the inputs it takes besides the generator and the size); the recipes, their validation and
:func:`draw_region` read :data:`FAMILIES`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey
from dbdbench.registry import Registry


@dataclass(frozen=True)
class MaskFamily:
    """A registered mask family.

    Attributes
    ----------
    name : str
        Key in a recipe's ``mask.weights``.
    draw : callable
        ``draw(rng, size, *inputs) -> mask`` or ``-> (mask, detail)``; mask (size, size) float32 in
        {0, 1}; a detail (a file) is added to the manifest's ``mask_kind`` as ``name:<base name>``.
    weight : float
        Default relative frequency in a recipe's ``mask.weights``.
    lens_object : bool
        Whether the ``lens`` recipe may use it as an object's silhouette (a closed region; a split of
        the whole frame is not an object).
    inputs : tuple of str
        What ``draw`` takes after the size: ``"image"`` (the source crop, (size, size, 3) uint8) or
        ``"paths"`` (the user's mask files). A family whose inputs are empty is not drawn.
    """

    name: str
    draw: Callable[..., np.ndarray | tuple[np.ndarray, str]]
    weight: float
    lens_object: bool
    inputs: tuple[str, ...] = ()


FAMILIES: Registry[MaskFamily] = Registry("mask family")
_INPUTS = ("image", "paths")


def mask_family(name: str, *, weight: float, lens_object: bool, inputs: tuple[str, ...] = ()):
    """Register the decorated function as the mask family ``name`` (see :class:`MaskFamily`)."""
    if weight < 0 or not set(inputs) <= set(_INPUTS):
        raise ValueError(f"mask family '{name}': weight must be >= 0 and inputs among {_INPUTS}")

    def wrap(func):
        FAMILIES.register(MaskFamily(name, func, float(weight), lens_object, tuple(inputs)))
        return func

    return wrap


def default_weights() -> dict[str, float]:
    """Family name -> default weight, in registration order (a recipe's ``mask.weights``)."""
    return {f.name: f.weight for f in FAMILIES.entries()}


def lens_objects() -> tuple[str, ...]:
    """Names of the families the ``lens`` recipe may use as objects."""
    return tuple(f.name for f in FAMILIES.entries() if f.lens_object)


@functools.lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only pixel coordinate grids (y, x), float32, shape (size, size)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


@mask_family("ellipses", weight=1.0, lens_object=True)
def ellipses(rng: np.random.Generator, size: int) -> np.ndarray:
    """One to three filled ellipses, axes 10-45% of the side, random angle."""
    m = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        c = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        axes = (int(size * rng.uniform(0.1, 0.45)), int(size * rng.uniform(0.1, 0.45)))
        cv2.ellipse(m, c, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return m.astype(np.float32)


@mask_family("polygons", weight=1.0, lens_object=True)
def polygons(rng: np.random.Generator, size: int) -> np.ndarray:
    """One or two star-shaped polygons of 3-12 vertices at sorted angles and random radii."""
    m = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        n = int(rng.integers(3, 13))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = size * rng.uniform(0.15, 0.5, n)
        c = rng.uniform(0.2, 0.8, 2) * size
        pts = np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    low = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)


@mask_family("blobs", weight=1.0, lens_object=True)
def blobs(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth noise (a 3-8 cell grid, bicubic, on a 4x coarser grid) thresholded at a random quantile
    (20-80% inside), upsampled bilinearly before thresholding so that the edges stay smooth."""
    low = max(16, size // 4)
    field = _smooth_noise(rng, low, int(rng.integers(3, 9)))
    return _threshold_upsampled(field, np.quantile(field, rng.uniform(0.2, 0.8)), size)


def _threshold_upsampled(field: np.ndarray, level: float, size: int) -> np.ndarray:
    """``field > level`` of a coarse float32 field resized bilinearly to ``size`` x ``size``."""
    return (cv2.resize(field, (size, size), interpolation=cv2.INTER_LINEAR) > level).astype(np.float32)


def _fill(size: int, corners: np.ndarray) -> np.ndarray:
    """Fill a polygon given in pixel coordinates (sub-pixel precise, clipped to the image)."""
    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.round(corners * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    return m.astype(np.float32)


@mask_family("halfplane", weight=0.5, lens_object=False)
def halfplane(rng: np.random.Generator, size: int) -> np.ndarray:
    """The pixels on one side of a random line through the central 60% of the image."""
    theta = rng.uniform(0, 2 * np.pi)
    p = rng.uniform(0.2, 0.8, 2) * size
    n = np.array([np.cos(theta), np.sin(theta)])
    d = np.array([-n[1], n[0]])
    far = 4.0 * size
    return _fill(size, np.stack([p + far * d, p + far * d + far * n, p - far * d + far * n, p - far * d]))


@mask_family("band", weight=0.5, lens_object=False)
def band(rng: np.random.Generator, size: int) -> np.ndarray:
    """A straight strip 20-60% of the side wide, at a random angle and offset."""
    theta = rng.uniform(0, np.pi)
    n = np.array([np.cos(theta), np.sin(theta)])
    d = np.array([-n[1], n[0]])
    q = size / 2 + rng.uniform(-0.25, 0.25) * size * n
    half = rng.uniform(0.1, 0.3) * size
    far = 4.0 * size
    return _fill(
        size,
        np.stack(
            [q + half * n + far * d, q + half * n - far * d, q - half * n - far * d, q - half * n + far * d]
        ),
    )


@mask_family("gradient", weight=0.5, lens_object=False)
def gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    """A wavy split: a linear ramp plus smooth noise (built on a 4x coarser grid, bilinear),
    thresholded at a random quantile."""
    low = max(16, size // 4)
    yy, xx = _grid(low)
    theta = float(rng.uniform(0, 2 * np.pi))
    ramp = (xx * math.cos(theta) + yy * math.sin(theta)) / low  # Python floats: stays float32
    field = ramp + 0.15 * _smooth_noise(rng, low, int(rng.integers(3, 7)))
    return _threshold_upsampled(field, np.quantile(field, rng.uniform(0.25, 0.75)), size)


#: Superpixels per crop (a 10 x 10 grid of seeds).
SUPERPIXEL_GRID = 10


def superpixel_labels(image: np.ndarray, grid: int = SUPERPIXEL_GRID) -> np.ndarray:
    """Superpixels that follow the image's edges: a watershed flooded from a grid of seeds.

    Seeds sit on a ``grid`` x ``grid`` lattice, each moved to the pixel of least colour gradient
    in its 5 x 5 neighbourhood so that none starts on an edge (as SLIC places its initial centres,
    Achanta et al., IEEE TPAMI 2012); OpenCV's marker-controlled watershed (Meyer's flooding,
    F. Meyer, "Color image segmentation", 1992) grows them over the CIELAB image until regions
    meet at colour edges (Neubert & Protzel's compact watershed, ICPR 2014, without the
    compactness term). Each pixel of the watershed lines between regions joins the neighbouring
    region of nearest colour.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image, at least ``grid`` pixels on a side.
    grid : int
        Seeds per row and per column.

    Returns
    -------
    ndarray, shape (H, W), dtype int32
        Labels in ``0 .. grid**2 - 1``.
    """
    h, w = image.shape[:2]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    l_, a_, b_ = cv2.split(cv2.morphologyEx(lab, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)))
    gradient = cv2.max(cv2.max(l_, a_), b_)  # numpy's max over the channel axis is 10x slower
    cy = ((np.arange(grid) + 0.5) * h / grid).astype(int)
    cx = ((np.arange(grid) + 0.5) * w / grid).astype(int)
    off = np.arange(-2, 3)
    ys = np.clip(np.repeat(cy, grid)[:, None] + np.repeat(off, 5)[None, :], 0, h - 1)
    xs = np.clip(np.tile(cx, grid)[:, None] + np.tile(off, 5)[None, :], 0, w - 1)
    best = np.argmin(gradient[ys, xs], axis=1)  # first minimum: deterministic
    seeds = np.arange(grid * grid)
    markers = np.zeros((h, w), np.int32)
    markers[ys[seeds, best], xs[seeds, best]] = seeds + 1
    cv2.watershed(lab, markers)  # in place; -1 on the lines between regions and the image frame
    return _join_lines(np.maximum(markers, 0), lab.astype(np.int32))


def _join_lines(labels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Labels 1.. with the 0 pixels (watershed lines) given to the 4-neighbour of nearest colour
    (L1), so a line pixel on a colour edge joins its own side; returns labels - 1."""
    labels = labels.copy()
    h, w = labels.shape
    lp = np.pad(labels, 1)
    cp = np.pad(colour, ((1, 1), (1, 1), (0, 0)))
    while True:
        ys, xs = np.nonzero(labels == 0)
        if ys.size == 0:
            return labels - 1
        best = np.zeros(ys.size, np.int32)
        best_dist = np.full(ys.size, np.iinfo(np.int32).max)
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            nb = lp[ys + 1 + dy, xs + 1 + dx]
            dist = np.abs(cp[ys + 1 + dy, xs + 1 + dx] - colour[ys, xs]).sum(axis=1)
            better = (nb > 0) & (dist < best_dist)
            best[better], best_dist[better] = nb[better], dist[better]
        labels[ys, xs] = best  # a pixel with no labelled neighbour yet waits for the next round
        lp[1 : h + 1, 1 : w + 1] = labels


@mask_family("superpixels", weight=1.0, lens_object=True, inputs=("image",))
def superpixels(rng: np.random.Generator, size: int, image: np.ndarray) -> np.ndarray:
    """The superpixels (:func:`superpixel_labels`, 100) whose centroids are nearest to a random point,
    20-70% of the area.

    The superpixels are computed on the crop downscaled 2x (area); the chosen region is upsampled
    bilinearly and thresholded at 0.5, so its edges follow the image's edges to about a pixel.

    Parameters
    ----------
    image : ndarray, shape (size, size, 3), dtype uint8
        The sample's source crop: the region follows its edges.
    """
    low = max(16, size // 2)
    small = cv2.resize(image, (low, low), interpolation=cv2.INTER_AREA)
    labels = superpixel_labels(small)
    n = int(labels.max()) + 1
    area = np.bincount(labels.ravel(), minlength=n).astype(np.float64)
    # centroids from every 2nd pixel (plenty for ordering 100 cells by distance)
    sub = labels[::2, ::2]
    yy, xx = _grid(low)
    count = np.maximum(np.bincount(sub.ravel(), minlength=n), 1)
    cy = np.bincount(sub.ravel(), yy[::2, ::2].ravel(), n) / count
    cx = np.bincount(sub.ravel(), xx[::2, ::2].ravel(), n) / count
    p = rng.uniform(0.2, 0.8, 2) * low
    order = np.argsort((cx - p[0]) ** 2 + (cy - p[1]) ** 2, kind="stable")
    target = rng.uniform(0.2, 0.7) * low * low
    k = int(np.searchsorted(np.cumsum(area[order]), target)) + 1
    chosen = np.zeros(n, np.float32)
    chosen[order[:k]] = 1.0
    return _threshold_upsampled(chosen[labels], 0.5, size)


@functools.lru_cache(maxsize=64)
def _user_mask(path: str) -> np.ndarray:
    m = read_grey(path)
    thr = 32768 if m.dtype == np.uint16 else 128
    out = (m >= thr).astype(np.uint8)
    out.setflags(write=False)
    return out


@mask_family("user", weight=2.0, lens_object=True, inputs=("paths",))
def user(rng: np.random.Generator, size: int, paths: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """A random user mask (white = region), randomly square-cropped (60-100% of its short side),
    resized (nearest) and mirrored.

    Returns
    -------
    mask : ndarray, shape (size, size), float32
    path : str
        The mask file used.
    """
    path = paths[int(rng.integers(len(paths)))]
    m = _user_mask(path)
    h, w = m.shape
    side = max(1, int(min(h, w) * rng.uniform(0.6, 1.0)))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = cv2.resize(m[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_NEAREST)
    if rng.integers(0, 2):
        out = out[:, ::-1]
    return np.ascontiguousarray(out, dtype=np.float32), path


def draw_region(
    rng: np.random.Generator,
    size: int,
    weights: dict[str, float],
    image: np.ndarray,
    user_masks: tuple[str, ...] = (),
) -> tuple[np.ndarray, str]:
    """Draw a family by ``weights`` (one that takes an empty input, ``user`` without mask files, is
    left out), then a region.

    Parameters
    ----------
    rng : numpy Generator
    size : int
    weights : dict of str to float
        Relative frequency per family (names of :data:`FAMILIES`).
    image : ndarray, shape (size, size, 3), uint8
        The source crop (used by ``superpixels``).
    user_masks : tuple of str
        Mask files for the ``user`` family.

    Returns
    -------
    region : ndarray, shape (size, size), float32 in {0, 1}
    kind : str
        The family, ``user:<file name>`` for a user mask.
    """
    inputs = {"image": image, "paths": user_masks}
    fams = [
        f for f in sorted(weights) if weights[f] > 0 and all(len(inputs[i]) for i in FAMILIES.get(f).inputs)
    ]
    if not fams:
        raise DbdError("recipe key 'mask.weights' leaves no usable mask family; give one a weight > 0")
    w = np.array([weights[f] for f in fams], np.float64)
    family = FAMILIES.get(fams[int(rng.choice(len(fams), p=w / w.sum()))])
    drawn = family.draw(rng, size, *(inputs[i] for i in family.inputs))
    if isinstance(drawn, tuple):
        region, detail = drawn
        return region, f"{family.name}:{os.path.basename(detail)}"
    return drawn, family.name
