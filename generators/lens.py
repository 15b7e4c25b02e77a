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

Labels: the CoC of the visible surface of each pixel (``defocus/``, uint16 PNG, value =
CoC diameter in pixels x :data:`DEFOCUS_SCALE`; read with :func:`read_defocus`) and the binary
in-focus mask (CoC below ``lens.infocus_coc_px``).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from dbdbench.errors import DbdError
from dbdbench.generators.masks import draw_region, lens_objects
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
