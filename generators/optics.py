"""Thin-lens optics of the ``lens`` recipe: circles of confusion, PSFs, sRGB, layered rendering.

Model (thin lens; e.g. Potmesil & Chakravarty, "A lens and aperture camera model for synthetic image
generation", SIGGRAPH 1981): a lens of focal length ``f`` and f-number ``N`` (aperture diameter
``A = f / N``) focused at distance ``S`` images a point at depth ``Z`` as a circle of confusion of
diameter ``c = A * f / (S - f) * |Z - S| / Z``. As in SYNDOF (Lee et al., "Deep Defocus Map
Estimation using Domain Adaptation", CVPR 2019) a scene is rendered back to front in depth layers:
each layer's premultiplied colour and its alpha are blurred with the same PSF and composited with
"over", and the result is divided by the accumulated alpha (normalised convolution). Colours are
blurred in linear light (sRGB decoded and re-encoded, IEC 61966-2-1). The recipe itself (scenes,
options, labels) is :mod:`dbdbench.generators.lens`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

_EPS = 1e-6


def coc_diameter_px(
    depth_m: np.ndarray | float,
    *,
    focal_mm: float,
    f_number: float,
    focus_m: float,
    sensor_width_mm: float,
    width_px: int,
) -> np.ndarray | float:
    """Thin-lens circle-of-confusion diameter in pixels.

    ``c = (f / N) * f / (S - f) * |Z - S| / Z``, converted from sensor metres to pixels with the pixel
    pitch ``sensor_width_mm / width_px``.

    Parameters
    ----------
    depth_m : float or ndarray
        Object distance ``Z`` in metres (> 0).
    focal_mm : float
        Focal length ``f`` in millimetres.
    f_number : float
        ``N``; the aperture diameter is ``f / N``.
    focus_m : float
        Focus distance ``S`` in metres (> ``f``).
    sensor_width_mm : float
        Width of the sensor imaged by ``width_px`` pixels.
    width_px : int

    Returns
    -------
    float or ndarray (float64)
        CoC diameter in pixels, 0 at ``Z = S``.
    """
    f = focal_mm / 1000.0
    pitch = sensor_width_mm / 1000.0 / width_px
    z = np.asarray(depth_m, dtype=np.float64)
    c = (f / f_number) * f / (focus_m - f) * np.abs(z - focus_m) / z / pitch
    return float(c) if np.ndim(c) == 0 else c


def solve_f_number(
    depths_m: np.ndarray,
    target_coc_px: float,
    *,
    focal_mm: float,
    focus_m: float,
    sensor_width_mm: float,
    width_px: int,
) -> float:
    """The f-number that makes the largest CoC over ``depths_m`` equal ``target_coc_px`` (CoC ~ 1/N)."""
    widest = float(
        np.max(
            coc_diameter_px(
                depths_m,
                focal_mm=focal_mm,
                f_number=1.0,
                focus_m=focus_m,
                sensor_width_mm=sensor_width_mm,
                width_px=width_px,
            )
        )
    )
    return widest / target_coc_px if widest > 0 else math.inf


def psf_kernel(kind: str, diameter_px: float, *, blades: int = 6, rotation: float = 0.0) -> np.ndarray:
    """A normalised point-spread function for a CoC of ``diameter_px``.

    Parameters
    ----------
    kind : {"disk", "gaussian", "polygon"}
        ``disk``: uniform disk, pixel coverage by 8x8 supersampling; ``gaussian``: sigma =
        diameter / 4 (the disk's second moment), truncated at 3 sigma; ``polygon``: uniform regular
        polygon with ``blades`` sides, circumscribed diameter ``diameter_px``, turned by ``rotation``
        radians.
    diameter_px : float
        Below 1 px the PSF is a single pixel.

    Returns
    -------
    ndarray, shape (k, k) with k odd, dtype float32, sum 1
    """
    if diameter_px < 1.0:
        return np.ones((1, 1), np.float32)
    r = diameter_px / 2.0
    if kind == "gaussian":
        sigma = diameter_px / 4.0
        g = cv2.getGaussianKernel(2 * math.ceil(3 * sigma) + 1, sigma, cv2.CV_64F)
        k = g @ g.T
    else:
        half = math.ceil(r - 0.5)
        n, ss = 2 * half + 1, 8
        t = (np.arange(n * ss) + 0.5) / ss - n / 2.0
        yy, xx = np.meshgrid(t, t, indexing="ij")
        if kind == "disk":
            inside = xx**2 + yy**2 <= r * r
        elif kind == "polygon":
            apothem = r * math.cos(math.pi / blades)
            inside = np.ones_like(xx, bool)
            for j in range(blades):
                phi = rotation + (2 * j + 1) * math.pi / blades
                inside &= xx * math.cos(phi) + yy * math.sin(phi) <= apothem
        else:
            raise ValueError(f"unknown PSF {kind!r}")
        k = inside.reshape(n, ss, n, ss).mean(axis=(1, 3))
    return (k / k.sum()).astype(np.float32)


_SRGB_LUT = None


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """Decode uint8 sRGB to linear light (IEC 61966-2-1).

    Parameters
    ----------
    image : ndarray, dtype uint8

    Returns
    -------
    ndarray, same shape, float32 in [0, 1]
    """
    global _SRGB_LUT
    if _SRGB_LUT is None:
        v = np.arange(256) / 255.0
        _SRGB_LUT = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)
    return _SRGB_LUT[image]


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Encode linear light in [0, 1] (clipped) to uint8 sRGB."""
    x = np.clip(linear.astype(np.float64), 0.0, 1.0)
    v = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


@dataclass
class Layer:
    """One scene layer, back layers first.

    Attributes
    ----------
    colour : ndarray, shape (H, W, 3), float32
        Linear-light colour (meaningful where ``alpha > 0``).
    alpha : ndarray, shape (H, W), float32 in [0, 1]
        Coverage.
    depth : ndarray, shape (H, W), float (metres)
        Distance of the layer's surface (meaningful where ``alpha > 0``).
    """

    colour: np.ndarray
    alpha: np.ndarray
    depth: np.ndarray


def render_layers(
    layers: list[Layer],
    coc_px,
    *,
    psf: str,
    blades: int = 6,
    rotation: float = 0.0,
    inverse_depth_step: float,
) -> np.ndarray:
    """Defocus a layered scene back to front with blurred premultiplied alpha.

    Each layer is cut into depth slices ``inverse_depth_step`` wide in 1/Z (so the CoC varies by a
    bounded amount inside a slice, as it is linear in 1/Z); slices go far to near. For each slice,
    ``C = K * (alpha I)``, ``A = K * alpha`` with the slice's PSF ``K``, then ``acc = C + (1 - A) acc``;
    the image is ``acc_C / acc_A``.

    Parameters
    ----------
    layers : list of Layer
        Back to front.
    coc_px : callable
        Maps depth in metres (ndarray) to CoC diameter in pixels.
    psf, blades, rotation :
        See :func:`psf_kernel`.
    inverse_depth_step : float
        Slice width in 1/m.

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        Linear-light image.
    """
    h, w = layers[0].alpha.shape
    acc = np.zeros((h, w, 4), np.float32)
    for layer in layers:
        covered = layer.alpha > 0
        if not covered.any():
            continue
        inv = np.where(covered, 1.0 / np.maximum(layer.depth, _EPS), 0.0)
        bins = np.floor(inv / inverse_depth_step).astype(np.int64)
        for b in np.unique(bins[covered]):
            sel = covered & (bins == b)
            centre_depth = 1.0 / ((b + 0.5) * inverse_depth_step)
            kernel = psf_kernel(
                psf, float(coc_px(np.float64(centre_depth))), blades=blades, rotation=rotation
            )
            r = kernel.shape[0] // 2
            # the slice's blur is zero farther than r from its pixels: work in that box only, filtering
            # a crop with r more context (or the true image border, where the mirror is the same)
            ys, xs = np.nonzero(sel.any(axis=1))[0], np.nonzero(sel.any(axis=0))[0]
            out_y = (max(ys[0] - r, 0), min(ys[-1] + r + 1, h))
            out_x = (max(xs[0] - r, 0), min(xs[-1] + r + 1, w))
            in_y = (max(out_y[0] - r, 0), min(out_y[1] + r, h))
            in_x = (max(out_x[0] - r, 0), min(out_x[1] + r, w))
            win = (slice(*in_y), slice(*in_x))
            alpha = np.where(sel[win], layer.alpha[win], 0.0).astype(np.float32)
            rgba = np.concatenate([layer.colour[win] * alpha[..., None], alpha[..., None]], axis=2)
            if r > 0:
                rgba = cv2.filter2D(rgba, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
            rgba = rgba[out_y[0] - in_y[0] : out_y[1] - in_y[0], out_x[0] - in_x[0] : out_x[1] - in_x[0]]
            box = acc[slice(*out_y), slice(*out_x)]
            box[:] = rgba + (1.0 - rgba[..., 3:4]) * box
    return acc[..., :3] / np.maximum(acc[..., 3:4], _EPS)
