"""Run a registered detector over many images and write one 8-bit PNG map per image.

Used by ``dbdbench predict`` and the demo. Each task reads one image, runs the detector, checks the
map (shape, dtype, range) and writes ``<out>/<name>.png`` atomically, so an interrupted run leaves
only complete maps. Errors are never skipped: the first failing image stops the run with its error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from dbdbench.baselines.registry import Method, get_method
from dbdbench.errors import DbdError


def resolve_params(method: Method, params: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """Check and type a detector's parameters (:meth:`~dbdbench.baselines.registry.Method.resolve`).

    Parameters
    ----------
    method : Method
        The detector.
    params : mapping or iterable of "KEY=VALUE" strings, optional
        Values given as strings are converted to the type of the default
        (:func:`dbdbench.params.coerce`: int, float, bool as true/false/yes/no/1/0, str, comma-separated
        numbers).

    Returns
    -------
    dict
        Every parameter of the method: defaults updated by ``params``.

    Raises
    ------
    DbdError
        Unknown parameter (the message lists the valid ones), malformed ``KEY=VALUE``, a value of
        the wrong type or outside the parameter's range (the message names the range).
    """
    if params is None:
        given: dict[str, Any] = {}
    elif isinstance(params, Mapping):
        given = dict(params)
    else:
        given = {}
        for item in params:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise DbdError(f"--param '{item}' is not KEY=VALUE; write e.g. --param window=15")
            given[key.strip()] = value
    return method.resolve(given)


def run_detector(
    method: Method | str, image: np.ndarray, params: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Run one detector on one image and check its map.

    Parameters
    ----------
    method : Method or str
        Detector or its registered name.
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB photo.
    params : mapping, optional
        Parameters (see :func:`resolve_params`).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Values in [0, 1], 1 = in-focus.
    """
    return run_detector_maps(method, image, params)[""]


def run_detector_maps(
    method: Method | str, image: np.ndarray, params: Mapping[str, Any] | None = None
) -> dict[str, np.ndarray]:
    """Like :func:`run_detector`, with the side maps a detector may return.

    A detector returns its map, or a dict of maps: ``""`` the final one, other keys (e.g. a deep
    model's ``steps/step1`` with ``save_steps=true``) subfolders that ``predict`` writes beside it.

    Returns
    -------
    dict of str to ndarray, each (H, W) float32 in [0, 1]
    """
    if isinstance(method, str):
        method = get_method(method)
    kwargs = resolve_params(method, params)
    raw = method.func(image, **kwargs)
    maps = dict(raw) if isinstance(raw, Mapping) else {"": raw}
    for key, value in maps.items():
        result = np.asarray(value)
        if result.shape != image.shape[:2]:
            raise RuntimeError(
                f"{method.name} returned shape {result.shape} for an image of {image.shape[:2]}"
            )
        result = result.astype(np.float32, copy=False)
        if not np.isfinite(result).all() or result.min() < 0 or result.max() > 1:
            raise RuntimeError(f"{method.name} returned values outside [0, 1] or not finite")
        maps[key] = result
    return maps


def _predict_one(item: tuple[str, str], method_name: str, params: dict[str, Any], out_dir: str) -> Path:
    from dbdbench.imageio import read_rgb, to_uint8, write_image

    name, image_path = item
    image = read_rgb(image_path)
    try:
        maps = run_detector_maps(method_name, image, params)
    except DbdError as exc:  # e.g. an image smaller than the window: say which file
        if str(image_path) in str(exc):
            raise
        raise DbdError(f"image '{image_path}': {exc}") from None
    for key, side in maps.items():
        if key:  # side maps first: the final map is what marks an image as done
            write_image(Path(out_dir) / key / f"{name}.png", to_uint8(side))
    return write_image(Path(out_dir) / f"{name}.png", to_uint8(maps[""]))


def predict_paths(
    method: Method | str,
    items: Sequence[tuple[str, str | os.PathLike]],
    out_dir: str | os.PathLike,
    *,
    params: Mapping[str, Any] | Iterable[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> list[Path]:
    """Write ``<out_dir>/<name>.png`` for every (name, image path).

    Parameters
    ----------
    method : Method or str
        Detector or its registered name.
    items : sequence of (str, path)
        Output name (no extension; may contain ``/`` for subfolders) and image file.
    out_dir : path-like
        Output folder (created).
    params : mapping or iterable of "KEY=VALUE", optional
        Detector parameters (see :func:`resolve_params`).
    workers : int
        Local worker processes.
    scheduler : str, optional
        dask.distributed scheduler address.

    Returns
    -------
    list of Path
        The written maps, in item order: 8-bit grey PNG, same size as the image, 255 = in-focus.
    """
    if isinstance(method, str):
        method = get_method(method)
    resolved = resolve_params(method, params)
    items = [(str(name), os.fspath(path)) for name, path in items]
    names = [n for n, _ in items]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[0]
        raise DbdError(f"two images share the output name '{dup}'; rename one of them")
    from dbdbench.executor import run_tasks

    task = partial(_predict_one, method_name=method.name, params=resolved, out_dir=os.fspath(out_dir))
    return run_tasks(task, items, workers=workers, scheduler=scheduler, desc=f"predict {method.name}")


def predict_folder(
    method: Method | str,
    images_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    params: Mapping[str, Any] | Iterable[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> list[Path]:
    """Run a detector on every image of a folder (see :func:`predict_paths`).

    Raises
    ------
    DbdError
        Missing folder, a folder without images, or any image that cannot be read.
    """
    return predict_paths(
        method, folder_items(images_dir), out_dir, params=params, workers=workers, scheduler=scheduler
    )


def folder_items(images_dir: str | os.PathLike) -> list[tuple[str, Path]]:
    """(stem, path) of every image in a folder, in name order.

    Raises
    ------
    DbdError
        Missing folder, or a folder without images.
    """
    from dbdbench.pairing import list_images

    images = list_images(images_dir, what="--images folder")
    if not images:
        raise DbdError(f"--images folder '{images_dir}' has no images (.png, .jpg, ...); check the path")
    return list(images.items())
