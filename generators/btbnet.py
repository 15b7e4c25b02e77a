"""The ``btbnet`` recipe: Gaussian blur outside a drawn in-focus region.

After the simulated pre-training set of Zhao et al., "Defocus Blur Detection via Multi-Stream
Bottom-Top-Bottom Fully Convolutional Network" (BTBNet, CVPR 2018) and "Defocus Blur Detection via
Boosting Diversity of Deep Ensemble Networks" / BTBCRL (TPAMI 2020): a sharp image is partially
blurred with a Gaussian and the mask is the label. Their sources, kernels and sigmas are unpublished;
here they are recipe parameters (:class:`BtbnetOptions`).

Compositing, with ``M`` the in-focus mask and ``G`` the Gaussian:

- ``naive``: ``M I + (1 - M) G*I``. The blur averages across the mask edge, so sharp colours halo
  into the blurred side (what the BTBNet set most likely did).
- ``normalized`` (default): ``M I + (1 - M) G*((1 - M) I) / G*(1 - M)``, the normalised convolution
  (Knutsson & Westin, CVPR 1993) of the out-of-focus pixels only: no halo, and the blurred region is
  what a defocused surface behind a sharp occluder looks like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from dbdbench.generators.masks import draw_region
from dbdbench.generators.recipe import RECIPES, Need, Recipe, RecipeKind
from dbdbench.generators.sources import draw_source

_EPS = 1e-6


def gaussian_blur(image: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Gaussian blur with a kernel truncated at ``truncate`` sigmas (mirror border).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C), dtype float32
    sigma : float
        Standard deviation in pixels.
    truncate : float

    Returns
    -------
    ndarray, same shape and dtype
    """
    k = 2 * math.ceil(truncate * sigma) + 1
    return cv2.GaussianBlur(image, (k, k), sigma, borderType=cv2.BORDER_REFLECT_101)


def composite(
    image: np.ndarray, infocus: np.ndarray, sigma: float, *, truncate: float = 3.0, method: str = "normalized"
) -> np.ndarray:
    """Blur the out-of-focus part of a sharp image.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        Sharp image.
    infocus : ndarray, shape (H, W), float32 in {0, 1}
        1 = keep sharp.
    sigma : float
        Gaussian sigma in pixels.
    truncate : float
        Kernel half-width in sigmas.
    method : {"normalized", "naive"}
        See the module docstring.

    Returns
    -------
    ndarray, shape (H, W, 3), dtype uint8
    """
    img = image.astype(np.float32)
    m = infocus.astype(np.float32)[..., None]
    out_w = 1.0 - m
    if method == "naive":
        blurred = gaussian_blur(img, sigma, truncate)
    elif method == "normalized":
        num = gaussian_blur(img * out_w, sigma, truncate)
        den = gaussian_blur(out_w[..., 0], sigma, truncate)[..., None]
        blurred = num / np.maximum(den, _EPS)
    else:
        raise ValueError(f"unknown compositing method {method!r}")
    out = m * img + out_w * blurred
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def render(rng: np.random.Generator, job) -> tuple[np.ndarray, np.ndarray, dict, dict] | None:
    """Draw and render one ``btbnet`` sample.

    Parameters
    ----------
    rng : numpy Generator
        The sample's own stream.
    job : dbdbench.generators.generate.Job
        Its ``recipe`` (with ``recipe.btbnet`` set), ``sources`` (SourceSet) and ``user_masks``
        (files of the ``user`` mask family).

    Returns
    -------
    image : ndarray, shape (size, size, 3), uint8
    infocus : ndarray, shape (size, size), float32 in {0, 1}
    info : dict
        Manifest fields: source and crop, ``mask_kind``, ``focus`` (which side is sharp),
        ``compositing``, ``sigma_px``, ``edge_band_px`` (2 sigma: how far from the mask edge the
        blur mixes the two sides, so the label there is ambiguous).
    extra : dict
        No extra label maps for this recipe (empty).

    None is returned instead when the in-focus fraction is outside ``recipe.checks`` (the draw is
    rejected before the costly blur).
    """
    recipe, sources, user_masks = job.recipe, job.sources, job.user_masks
    opts, size = recipe.btbnet, recipe.size
    sharp, info = draw_source(rng, sources, size)
    region, kind = draw_region(rng, size, recipe.mask.weights, sharp, user_masks)
    foreground = bool(rng.random() < recipe.mask.focused_foreground)
    infocus = region if foreground else 1.0 - region
    if not recipe.checks.infocus_min <= float(infocus.mean()) <= recipe.checks.infocus_max:
        return None  # fails the fraction check whatever the blur: skip rendering
    sigma = float(opts.sigmas_px[int(rng.integers(len(opts.sigmas_px)))])
    image = composite(sharp, infocus, sigma, truncate=opts.truncate, method=opts.compositing)
    info.update(
        mask_kind=kind,
        focus="foreground" if foreground else "background",
        compositing=opts.compositing,
        sigma_px=sigma,
        edge_band_px=2.0 * sigma,
    )
    return image, infocus, info, {}


@dataclass
class BtbnetOptions:
    """Gaussian recipe. ``sigmas_px``: blur levels (Gaussian standard deviation, pixels of the output
    image), one drawn uniformly per sample; the kernel is truncated at ``truncate`` sigmas.
    ``compositing``: ``normalized`` (default: the blurred region is the normalised convolution of the
    out-of-focus pixels only, so no sharp colour bleeds into it) or ``naive`` (blur the whole image
    and paste by the mask, as the BTBNet set likely did; sharp content halos into the blurred side)."""

    sigmas_px: list[float] = field(default_factory=lambda: [1.5, 2.0, 3.0, 4.0, 6.0])
    truncate: float = 3.0
    compositing: str = "normalized"


def _check_btbnet(b, r: Recipe, need: Need) -> None:
    """Ranges of the ``[btbnet]`` table."""
    need(
        len(b.sigmas_px) >= 1 and all(0 < s <= r.size for s in b.sigmas_px),
        "btbnet.sigmas_px",
        f"must be a non-empty list of sigmas in (0, size = {r.size}] pixels, got {b.sigmas_px!r}",
    )
    need(1 <= b.truncate <= 10, "btbnet.truncate", "must be in [1, 10] sigmas")
    need(
        b.compositing in ("normalized", "naive"),
        "btbnet.compositing",
        "must be normalized or naive",
    )


RECIPE = RECIPES.register(
    RecipeKind(
        "btbnet",
        BtbnetOptions,
        render,
        bytes_per_pixel=160,
        check=_check_btbnet,
        description="Gaussian blur of a drawn region (after BTBNet, CVPR 2018)",
    )
)
