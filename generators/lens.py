"""The ``lens`` recipe: thin-lens defocus of a scene with depth, rendered in layers in linear light.

Model (thin lens; e.g. Potmesil & Chakravarty, "A lens and aperture camera model for synthetic image
generation", SIGGRAPH 1981): a lens of focal length ``f`` and f-number ``N`` (aperture diameter
``A = f / N``) focused at distance ``S`` images a point at depth ``Z`` as a circle of confusion of
diameter ``c = A * f / (S - f) * |Z - S| / Z`` on the sensor, which is ``sensor_width_mm`` wide and
sampled by the output's ``size`` pixels. As in SYNDOF (Lee et al., "Deep Defocus Map Estimation using
Domain Adaptation", CVPR 2019) the f-number is solved so that the scene's largest CoC hits a target
and the scene is rendered back to front in depth layers: each layer's premultiplied colour and its
alpha are blurred with the same PSF and composited with "over"; the result is divided by the
accumulated alpha (normalised convolution). A blurred background therefore stops at a sharp occluder's
edge, and a blurred occluder gets a soft, semi-transparent edge over what is behind it. Blurring happens
in linear light (sRGB decoded and re-encoded, IEC 61966-2-1), so highlights spread as light does.
The optics are in :mod:`dbdbench.generators.optics`.

Labels: the CoC of the visible surface of each pixel (``defocus/``, uint16 PNG, value =
CoC diameter in pixels x :data:`DEFOCUS_SCALE`; read with :func:`read_defocus`) and the binary
in-focus mask (CoC below ``lens.infocus_coc_px``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np

from dbdbench.errors import DbdError
from dbdbench.generators.masks import draw_region, lens_objects
from dbdbench.generators.optics import (
    Layer,
    coc_diameter_px,
    linear_to_srgb,
    render_layers,
    solve_f_number,
    srgb_to_linear,
)
from dbdbench.generators.recipe import RECIPES, Need, Recipe, RecipeKind
from dbdbench.generators.sources import SourceSet, apply_crop, draw_source, load_photo, skimage_data_dir
from dbdbench.imageio import read_grey

DEFOCUS_SCALE = 1000.0
"""uint16 value per pixel of CoC diameter in ``defocus/`` files (resolution 0.001 px, max 65.535 px)."""
DEFOCUS_UNIT = "px CoC diameter"

# Calibration of scikit-image's 4x down-sampled Middlebury 2014 Motorcycle pair (from its docstring).
MIDDLEBURY_FOCAL_PX = 994.978
MIDDLEBURY_DOFFS_PX = 31.086
MIDDLEBURY_BASELINE_M = 0.193001

_EPS = 1e-6


def read_defocus(path: str | os.PathLike, scale: float = DEFOCUS_SCALE) -> np.ndarray:
    """Read a ``defocus/`` label of the ``lens`` recipe.

    Parameters
    ----------
    path : path-like
        A uint16 PNG written by ``generate-sim --recipe lens``.
    scale : float
        The manifest's ``defocus_scale`` (stored value per pixel of CoC).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        CoC diameter in pixels of the image.
    """
    raw = read_grey(path)
    if raw.dtype != np.uint16:
        raise DbdError(f"defocus map '{path}' is not a 16-bit PNG; read the defocus/ folder of a lens set")
    return raw.astype(np.float32) / np.float32(scale)


@functools.lru_cache(maxsize=1)
def middlebury() -> tuple[np.ndarray, np.ndarray]:
    """The Middlebury 2014 Motorcycle left view and its depth, bundled with scikit-image.

    Depth ``Z = B f / (d + doffs)`` from the ground-truth disparity ``d`` with the down-sampled
    calibration; pixels without ground truth take the disparity of the nearest valid pixel.

    Returns
    -------
    image : ndarray, shape (500, 741, 3), uint8
    depth : ndarray, shape (500, 741), float32, metres
    """
    from scipy import ndimage

    root = skimage_data_dir()
    image = load_photo(str(root / "motorcycle_left.png"))
    with np.load(root / "motorcycle_disp.npz") as z:
        disp = z["arr_0"].astype(np.float64)
    bad = ~np.isfinite(disp)
    if bad.any():
        idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
        disp = disp[tuple(idx)]
    depth = (MIDDLEBURY_BASELINE_M * MIDDLEBURY_FOCAL_PX / (disp + MIDDLEBURY_DOFFS_PX)).astype(np.float32)
    depth.setflags(write=False)
    return image, depth


@functools.lru_cache(maxsize=16)
def _depth_file(path: str, encoding: str, near: float, far: float) -> np.ndarray:
    raw = read_grey(path).astype(np.float64)
    top = raw.max()
    v = raw / top if top > 0 else raw
    if encoding == "depth":
        depth = near + v * (far - near)
    else:
        depth = 1.0 / (1.0 / far + v * (1.0 / near - 1.0 / far))
    out = depth.astype(np.float32)
    out.setflags(write=False)
    return out


def _focus_quantile(rng: np.random.Generator, foreground: bool) -> float:
    return float(rng.uniform(0.02, 0.4) if foreground else rng.uniform(0.6, 0.98))


def _depth_map_scene(rng, recipe, sources: SourceSet, depth_files: dict[str, str]):
    """One-layer scene from a real depth map (Middlebury or a --depths file) and its photo."""
    lo, size = recipe.lens, recipe.size
    if lo.depth_source == "middlebury":
        image, depth, name = *middlebury(), "skimage:motorcycle_left.png"
    else:
        src = sources.photos[int(rng.integers(len(sources.photos)))]
        image, name = load_photo(src.path), src.name
        depth = _depth_file(depth_files[src.name], lo.depth_encoding, lo.depth_near_m, lo.depth_far_m)
        if depth.shape != image.shape[:2]:
            raise DbdError(
                f"depth map '{depth_files[src.name]}' is {depth.shape[1]}x{depth.shape[0]} but its photo "
                f"'{src.path}' is {image.shape[1]}x{image.shape[0]}; give depth maps of the photo's size"
            )
    h, w = depth.shape
    side = int(rng.integers(size, min(h, w) + 1))
    y, x, flip = (
        int(rng.integers(0, h - side + 1)),
        int(rng.integers(0, w - side + 1)),
        int(rng.integers(0, 2)),
    )
    colour = apply_crop(image, x, y, side, flip, size)
    depth = apply_crop(depth, x, y, side, flip, size, nearest=True).astype(np.float64)
    foreground = bool(rng.random() < recipe.mask.focused_foreground)
    focus = float(np.quantile(depth, _focus_quantile(rng, foreground)))
    layers = [Layer(srgb_to_linear(colour), np.ones((size, size), np.float32), depth)]
    info = {
        "source": name,
        "crop_x": x,
        "crop_y": y,
        "crop_size": side,
        "flip": flip,
        "mask_kind": "depth-map",
    }
    return layers, depth, focus, foreground, info


def _procedural_scene(rng, recipe, sources: SourceSet, user_masks: tuple[str, ...]):
    """A textured slanted background and 1..max_objects textured objects in front of it."""
    lo, size = recipe.lens, recipe.size
    inv_far, inv_near = 1.0 / lo.depth_far_m, 1.0 / lo.depth_near_m
    span = inv_near - inv_far
    bg, info = draw_source(rng, sources, size)
    ub = inv_far + rng.uniform(0.0, 0.35, 2) * span
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    t = (xx - 0.5) * np.cos(theta) + (yy - 0.5) * np.sin(theta)
    t = (t - t.min()) / max(t.max() - t.min(), _EPS)
    bg_depth = 1.0 / (ub[0] + (ub[1] - ub[0]) * t)
    layers = [Layer(srgb_to_linear(bg), np.ones((size, size), np.float32), bg_depth)]
    objects = lens_objects()
    weights = {k: v for k, v in recipe.mask.weights.items() if k in objects} or {"ellipses": 1.0}
    n_obj = int(rng.integers(1, lo.max_objects + 1))
    inv_obj = np.sort(rng.uniform(ub.max() + 0.1 * span, inv_near, n_obj))  # far to near
    visible = bg_depth.copy()
    kinds = []
    for inv in inv_obj:
        tex, _ = draw_source(rng, sources, size)
        region, kind = draw_region(rng, size, weights, tex, user_masks)
        kinds.append(kind)
        z = 1.0 / inv
        layers.append(Layer(srgb_to_linear(tex), region, np.full((size, size), z)))
        visible[region > 0.5] = z
    foreground = bool(rng.random() < recipe.mask.focused_foreground)
    if foreground:
        focus = float(1.0 / inv_obj[int(rng.integers(n_obj))])
    else:
        bg_visible = visible == bg_depth
        pool = bg_depth[bg_visible] if bg_visible.any() else bg_depth.ravel()
        focus = float(pool[int(rng.integers(pool.size))])
    info["mask_kind"] = "+".join(kinds)
    return layers, visible, focus, foreground, info


def render(rng: np.random.Generator, job) -> tuple[np.ndarray, np.ndarray, dict, dict] | None:
    """Draw and render one ``lens`` sample.

    Parameters
    ----------
    rng : numpy Generator
        The sample's own stream.
    job : dbdbench.generators.generate.Job
        Its ``recipe`` (with ``recipe.lens`` set), ``sources`` (SourceSet: textures of procedural
        scenes, or photos paired with depth maps), ``user_masks`` (object shapes of the ``user``
        family) and ``depth_files`` (pairs source name, depth map file; ``depth_source = "folder"``).

    Returns
    -------
    image : ndarray, shape (size, size, 3), uint8
    infocus : ndarray, shape (size, size), float32 in {0, 1}
    info : dict
        Manifest fields (lens, focus, CoC range, ``edge_band_px``: the largest blur radius, how far
        from a depth edge the label can be ambiguous).
    extra : dict
        ``{"defocus": uint16 (size, size)}``, CoC diameter x :data:`DEFOCUS_SCALE`.

    None is returned instead when the in-focus fraction is outside ``recipe.checks`` (the draw is
    rejected before the costly rendering).
    """
    recipe, sources = job.recipe, job.sources
    lo, size = recipe.lens, recipe.size
    if lo.depth_source == "procedural":
        layers, visible, focus, foreground, info = _procedural_scene(rng, recipe, sources, job.user_masks)
    else:
        layers, visible, focus, foreground, info = _depth_map_scene(
            rng, recipe, sources, dict(job.depth_files)
        )
    focal = float(lo.focal_lengths_mm[int(rng.integers(len(lo.focal_lengths_mm)))])
    target = float(rng.uniform(*lo.coc_max_px))
    geometry = dict(focal_mm=focal, focus_m=focus, sensor_width_mm=lo.sensor_width_mm, width_px=size)
    all_depths = np.concatenate([layer.depth[layer.alpha > 0] for layer in layers])
    f_number = float(np.clip(solve_f_number(all_depths, target, **geometry), *lo.f_number_range))
    rotation = float(rng.uniform(0, 2 * np.pi / lo.blades))

    def coc(z):
        return coc_diameter_px(z, f_number=f_number, **geometry)

    # CoC = K |1 - S/Z| with K = CoC(S/2): linear in 1/Z with slope K S, so a slice of width
    # coc_step_px / (K S) in 1/Z spans coc_step_px of CoC
    slope = coc(focus / 2.0) * focus
    step = lo.coc_step_px / max(slope, _EPS)
    coc_map = coc(visible)
    infocus = (coc_map < lo.infocus_coc_px).astype(np.float32)
    if not recipe.checks.infocus_min <= float(infocus.mean()) <= recipe.checks.infocus_max:
        return None  # fails the fraction check whatever the rendering: skip it
    linear = render_layers(
        layers, coc, psf=lo.psf, blades=lo.blades, rotation=rotation, inverse_depth_step=step
    )
    if lo.noise_shot > 0 or lo.noise_read > 0:
        sd = np.sqrt(lo.noise_shot * np.clip(linear, 0, None) + lo.noise_read**2)
        linear = linear + sd * rng.standard_normal(linear.shape).astype(np.float32)
    image = linear_to_srgb(linear)
    defocus = np.clip(np.rint(coc_map * DEFOCUS_SCALE), 0, 65535).astype(np.uint16)
    info.update(
        focus="foreground" if foreground else "background",
        depth_source=lo.depth_source,
        psf=lo.psf,
        focal_mm=focal,
        f_number=f_number,
        sensor_width_mm=lo.sensor_width_mm,
        focus_distance_m=focus,
        depth_min_m=float(visible.min()),
        depth_max_m=float(visible.max()),
        coc_max_px=float(coc_map.max()),
        edge_band_px=float(coc_map.max()) / 2.0,
        infocus_coc_px=lo.infocus_coc_px,
        defocus_unit=DEFOCUS_UNIT,
        defocus_scale=DEFOCUS_SCALE,
    )
    return image, infocus, info, {"defocus": defocus}


@dataclass
class LensOptions:
    """Thin-lens recipe.

    ``depth_source``: ``procedural`` (layered scenes: a textured slanted background and 1..``max_objects``
    textured objects at their own depths), ``middlebury`` (the real Motorcycle stereo pair and disparity
    shipped with scikit-image) or ``folder`` (``--depths DIR``, one depth map per source photo, matched
    by file stem; ``depth_encoding`` ``depth`` or ``inverse`` maps grey 0..max linearly to depth or to
    inverse depth over [``depth_near_m``, ``depth_far_m``]).
    Lens: focal length drawn from ``focal_lengths_mm`` on a sensor ``sensor_width_mm`` wide imaged by the
    output's ``size`` pixels; focus distance on a random object (``mask.focused_foreground``) or the
    background; f-number solved so that the largest circle of confusion (CoC, diameter) in the scene is
    uniform in ``coc_max_px``, clipped to ``f_number_range``.
    ``psf``: ``disk``, ``gaussian`` (sigma = CoC / 4, the same second moment as the disk) or ``polygon``
    (regular aperture with ``blades`` blades, random rotation). Blur happens in linear light, in depth
    layers at most ``coc_step_px`` of CoC apart. A pixel is in focus when its CoC is below
    ``infocus_coc_px``. ``noise_shot``/``noise_read``: Poisson-Gaussian sensor noise in linear light
    (variance = shot * x + read^2; 0 disables)."""

    depth_source: str = "procedural"
    depth_encoding: str = "inverse"
    depth_near_m: float = 1.0
    depth_far_m: float = 20.0
    max_objects: int = 3
    focal_lengths_mm: list[float] = field(default_factory=lambda: [50.0, 70.0, 85.0])
    sensor_width_mm: float = 8.0
    coc_max_px: list[float] = field(default_factory=lambda: [8.0, 20.0])
    f_number_range: list[float] = field(default_factory=lambda: [1.0, 32.0])
    psf: str = "disk"
    blades: int = 6
    coc_step_px: float = 1.5
    infocus_coc_px: float = 2.0
    noise_shot: float = 0.0
    noise_read: float = 0.0


def _check_lens(lo, r: Recipe, need: Need) -> None:
    """Ranges of the ``[lens]`` table."""
    need(
        lo.depth_source in ("procedural", "middlebury", "folder"),
        "lens.depth_source",
        "must be procedural, middlebury or folder",
    )
    need(
        lo.depth_encoding in ("depth", "inverse"),
        "lens.depth_encoding",
        "must be depth or inverse",
    )
    need(
        0 < lo.depth_near_m < lo.depth_far_m,
        "lens.depth_near_m",
        "must be positive and below lens.depth_far_m",
    )
    need(lo.max_objects >= 1, "lens.max_objects", "must be at least 1")
    need(
        len(lo.focal_lengths_mm) >= 1 and all(f > 0 for f in lo.focal_lengths_mm),
        "lens.focal_lengths_mm",
        "must be a non-empty list of positive focal lengths",
    )
    need(lo.sensor_width_mm > 0, "lens.sensor_width_mm", "must be positive")
    need(
        len(lo.coc_max_px) == 2 and 0 < lo.coc_max_px[0] <= lo.coc_max_px[1] <= r.size,
        "lens.coc_max_px",
        f"must be [low, high] with 0 < low <= high <= size = {r.size} pixels, got {lo.coc_max_px!r}",
    )
    need(
        len(lo.f_number_range) == 2 and 0 < lo.f_number_range[0] <= lo.f_number_range[1],
        "lens.f_number_range",
        "must be [low, high] with 0 < low <= high",
    )
    need(lo.psf in ("disk", "gaussian", "polygon"), "lens.psf", "must be disk, gaussian or polygon")
    need(lo.blades >= 3, "lens.blades", "must be at least 3")
    need(lo.coc_step_px > 0, "lens.coc_step_px", "must be positive")
    need(lo.infocus_coc_px > 0, "lens.infocus_coc_px", "must be positive")
    need(
        lo.noise_shot >= 0 and lo.noise_read >= 0,
        "lens.noise_shot",
        "and lens.noise_read must be >= 0",
    )


RECIPE = RECIPES.register(
    RecipeKind(
        "lens",
        LensOptions,
        render,
        bytes_per_pixel=320,
        check=_check_lens,
        description="thin-lens rendering of a scene with depth, in layers in linear light",
    )
)
