"""Sharp source images for the simulated sets: a user's photo folder, or the built-in ones.

The built-in sources need no download: the real photographs bundled inside the scikit-image package
(read from its data folder directly, never through pooch) and procedural dead-leaves textures
(Matheron's random "dead leaves" model, as used for image statistics by Lee, Mumford & Huang,
"Occlusion models for natural images", IJCV 2001: opaque disks with power-law radii falling on top of
each other). A sharpness screen (variance of the Laplacian, Pech-Pacheco et al., ICPR 2000) discards
photos that are already blurry.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from dbdbench.errors import DbdError
from dbdbench.imageio import MAX_PIXELS_ENV, max_pixels, read_rgb

# Real photographs bundled with scikit-image (colour or grey, natural content). Left out: synthetic
# or non-photographic files (color wheel, logo, chessboards, phantom), microscopy, and retina/hubble.
BUILTIN_PHOTOS = (
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "coins.png",
    "moon.png",
)
DEAD_LEAVES = "procedural:dead-leaves"


@dataclass(frozen=True)
class Source:
    """One source image.

    Attributes
    ----------
    name : str
        Recorded in the manifest: a path relative to ``--sources``, ``skimage:<file>`` or
        ``procedural:dead-leaves``.
    path : str
        File to read (empty for procedural sources).
    width, height : int
        Pixel size (0 for procedural sources, drawn at the output size).
    """

    name: str
    path: str
    width: int = 0
    height: int = 0


@dataclass
class SourceSet:
    """Accepted photos, procedural share and skip counts of a source scan."""

    photos: list[Source]
    procedural_fraction: float
    skipped: dict[str, int] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Digest of the accepted photo list (names and sizes), to detect a changed folder on resume."""
        h = hashlib.sha256()
        for s in self.photos:
            h.update(f"{s.name}\t{s.width}\t{s.height}\t{os.path.getsize(s.path)}\n".encode())
        h.update(f"procedural\t{self.procedural_fraction!r}".encode())
        return h.hexdigest()[:16]


def skimage_data_dir() -> Path:
    """The folder of images bundled inside the installed scikit-image package."""
    import skimage.data

    return Path(skimage.data.__file__).parent


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of the grey image scaled to [0, 1].

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3), dtype uint8

    Returns
    -------
    float
        Larger is sharper; typical sharp photos give 0.005-0.08, blurry ones below 0.002.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return float(cv2.Laplacian(grey, cv2.CV_32F, ksize=1).var())


def _screen_one(path: str, size: int, min_sharpness: float) -> tuple[str, int, int]:
    """Read one candidate; return (verdict, width, height), verdict ok/unreadable/over_limit (over
    the pixel limit, :func:`dbdbench.imageio.max_pixels`)/too_small/blurry."""
    try:
        img = load_photo(path)  # decoded through the cache: generation in this process reuses it
    except DbdError as exc:
        return ("over_limit" if MAX_PIXELS_ENV in str(exc) else "unreadable"), 0, 0
    h, w = img.shape[:2]
    if min(h, w) < size:
        return "too_small", w, h
    if sharpness(img) < min_sharpness:
        return "blurry", w, h
    return "ok", w, h


def scan_sources(
    folder: str | os.PathLike | None,
    size: int,
    *,
    min_sharpness: float,
    procedural_fraction: float,
    workers: int = 1,
    scheduler: str | None = None,
) -> SourceSet:
    """Find the usable sharp sources.

    Parameters
    ----------
    folder : path-like or None
        A folder of photos, searched recursively (hidden files ignored; every file is tried, so a
        non-image counts as unreadable). None selects the built-in sources.
    size : int
        Output size in pixels; photos whose short side is smaller are skipped.
    min_sharpness : float
        Photos with a lower :func:`sharpness` are skipped as blurry.
    procedural_fraction : float
        Share of dead-leaves textures among the built-in sources (ignored for a folder).
    workers, scheduler :
        Passed to :func:`dbdbench.executor.run_tasks` for the screening.

    Returns
    -------
    SourceSet

    Raises
    ------
    DbdError
        The folder does not exist, or no photo is usable (the message gives the skip counts); for the
        built-in sources only ``procedural_fraction = 1`` runs without photos.
    """
    from dbdbench.executor import run_tasks

    if folder is None:
        root = skimage_data_dir()
        names = [f"skimage:{n}" for n in BUILTIN_PHOTOS if (root / n).is_file()]
        paths = [str(root / n) for n in BUILTIN_PHOTOS if (root / n).is_file()]
        frac = procedural_fraction
        what = "built-in sources"
    else:
        root = Path(folder)
        if not root.is_dir():
            raise DbdError(f"--sources '{folder}' is not a folder; give a folder of sharp photos")
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        names = [p.relative_to(root).as_posix() for p in files]
        paths = [str(p) for p in files]
        frac = 0.0
        what = f"--sources '{folder}'"
    verdicts = run_tasks(
        functools.partial(_screen_one, size=size, min_sharpness=min_sharpness),
        paths,
        workers=workers,
        scheduler=scheduler,
        desc="screening sources",
    )
    photos, skipped = [], {"unreadable": 0, "too_small": 0, "blurry": 0}
    over = 0  # counted as unreadable, and named in the message below
    for name, path, (verdict, w, h) in zip(names, paths, verdicts, strict=True):
        if verdict == "ok":
            photos.append(Source(name, path, w, h))
        else:
            over += verdict == "over_limit"
            skipped["unreadable" if verdict == "over_limit" else verdict] += 1
    if not photos and frac < 1:
        limit = (
            f", {over} of them over the pixel limit of {max_pixels()} pixels ({MAX_PIXELS_ENV})"
            if over
            else ""
        )
        raise DbdError(
            f"{what}: no usable source among {len(paths)} files ({skipped['unreadable']} unreadable{limit}, "
            f"{skipped['too_small']} smaller than --size {size}, {skipped['blurry']} blurry); "
            "give sharp photos at least --size pixels on their short side"
            + (" (or set screen.procedural_fraction = 1 to use textures only)" if folder is None else "")
        )
    return SourceSet(photos=photos, procedural_fraction=frac, skipped=skipped)


@functools.lru_cache(maxsize=16)
def load_photo(path: str) -> np.ndarray:
    """Decode a source photo once per process (cached, read-only).

    Returns
    -------
    ndarray, shape (H, W, 3), dtype uint8
    """
    img = read_rgb(path)
    img.setflags(write=False)
    return img


def random_crop(rng: np.random.Generator, img: np.ndarray, size: int) -> tuple[np.ndarray, dict[str, int]]:
    """A random square crop of side in [size, short side], resized to ``size`` (area), maybe mirrored.

    Parameters
    ----------
    rng : numpy Generator
    img : ndarray, shape (H, W, C) or (H, W)
        At least ``size`` on its short side.
    size : int

    Returns
    -------
    crop : ndarray, shape (size, size, C) or (size, size), same dtype
    info : dict
        ``crop_x``, ``crop_y``, ``crop_size`` (pixels of the source) and ``flip`` (0/1).
    """
    h, w = img.shape[:2]
    side = int(rng.integers(size, min(h, w) + 1))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    flip = int(rng.integers(0, 2))
    return apply_crop(img, x, y, side, flip, size), {
        "crop_x": x,
        "crop_y": y,
        "crop_size": side,
        "flip": flip,
    }


def apply_crop(img: np.ndarray, x: int, y: int, side: int, flip: int, size: int, nearest=False) -> np.ndarray:
    """Cut the square ``[y:y+side, x:x+side]``, resize to ``size`` and mirror when ``flip``."""
    out = img[y : y + side, x : x + side]
    if side != size:
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
        out = cv2.resize(out, (size, size), interpolation=interp)
    if flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def dead_leaves(
    rng: np.random.Generator, size: int, *, r_min: float = 3.0, coverage: float = 3.0
) -> np.ndarray:
    """A dead-leaves texture: opaque disks of random colour with radius density ~ r^-3.

    Parameters
    ----------
    rng : numpy Generator
    size : int
        Output side in pixels.
    r_min : float
        Smallest radius in pixels; the largest is ``size / 3``.
    coverage : float
        Expected total disk area over the image area (3 leaves about e^-3 = 5% of the background
        colour visible); each new disk falls on top of the earlier ones.

    Returns
    -------
    ndarray, shape (size, size, 3), dtype uint8
    """
    r_max = size / 3.0
    # E[r^2] for p(r) ~ r^-3 on [r_min, r_max] is ln(r_max / r_min) / ((r_min^-2 - r_max^-2) / 2)
    mean_area = np.pi * np.log(r_max / r_min) / ((r_min**-2 - r_max**-2) / 2)
    n_disks = int(np.ceil(coverage * size * size / mean_area))
    # inverse CDF of p(r) ~ r^-3 on [r_min, r_max]
    u = rng.random(n_disks)
    r = 1.0 / np.sqrt(1.0 / r_min**2 - u * (1.0 / r_min**2 - 1.0 / r_max**2))
    centres = rng.random((n_disks, 2)) * size
    colours = rng.integers(0, 256, (n_disks, 3))
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(0, 256, 3).astype(np.uint8)
    for (cx, cy), rad, col in zip(centres, r, colours, strict=True):
        cv2.circle(img, (int(cx), int(cy)), int(round(rad)), tuple(int(c) for c in col), -1, cv2.LINE_8)
    return img


def draw_source(
    rng: np.random.Generator, sources: SourceSet, size: int
) -> tuple[np.ndarray, dict[str, object]]:
    """Draw one sharp ``size`` x ``size`` RGB source crop.

    Returns
    -------
    image : ndarray, shape (size, size, 3), dtype uint8
    info : dict
        ``source`` name, ``crop_x``, ``crop_y``, ``crop_size``, ``flip`` (-1 for procedural).
    """
    if not sources.photos or rng.random() < sources.procedural_fraction:
        return dead_leaves(rng, size), {
            "source": DEAD_LEAVES,
            "crop_x": -1,
            "crop_y": -1,
            "crop_size": -1,
            "flip": -1,
        }
    src = sources.photos[int(rng.integers(len(sources.photos)))]
    crop, info = random_crop(rng, load_photo(src.path), size)
    return crop, {"source": src.name, **info}
