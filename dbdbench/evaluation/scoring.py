"""Scoring of (map, GT) pairs: one worker task reads a chunk of GT masks and the maps of every method
for them, and scores them under every protocol.

Each GT mask is decoded once and prepared once per protocol (:meth:`Protocol.prepare_gt`: its
binarisation, distance transform, ...); the maps of all methods are scored against that. A task holds
a chunk of GT items, so that the cost of shipping it to a worker process is shared by many images;
only paths go in and small records come out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dbdbench.errors import DbdError, ParameterError
from dbdbench.evaluation.checks import Scale, focus_mask, read_levels, separation
from dbdbench.metrics.protocols import get_protocol
from dbdbench.metrics.resize import resize_bilinear

#: most GT masks in one worker task (tasks are about 8 per worker, fewer for small sets)
MAX_CHUNK = 64


@dataclass(frozen=True)
class MapScore:
    """One map scored against its GT under every protocol of the run.

    Attributes
    ----------
    scale : Scale
        How the map's levels were read.
    separation : float or None
        :func:`~dbdbench.evaluation.checks.separation` from the GT (None for a one-class GT).
    resized_from : str
        The map's own size ``"WxH"`` when it was resized to its GT's, else ``""``.
    records : list of dict
        Per protocol, :meth:`~dbdbench.metrics.protocol.Protocol.score_prepared`'s record.
    """

    scale: Scale
    separation: float | None
    resized_from: str
    records: list


@dataclass(frozen=True)
class GtScore:
    """One GT mask and the maps of every method scored against it (None where a method has no map).

    Attributes
    ----------
    scale : Scale
        How the mask's levels were read.
    one_class : bool
        The mask is all in-focus or all blurred.
    size : str
        Its size ``"WxH"``.
    maps : tuple of MapScore or None
        Per method, in method order.
    """

    scale: Scale
    one_class: bool
    size: str
    maps: tuple


def size_text(a: np.ndarray) -> str:
    """``"WxH"`` of an image array."""
    return f"{a.shape[1]}x{a.shape[0]}"


def _fit(
    pred: np.ndarray, gt: np.ndarray, where: dict, protos, resize: bool, allow_resize: bool
) -> np.ndarray:
    """The map at its GT's size (bilinear), after the size rules; ``where`` names the two files."""
    sizes = "prediction '{pred}' is {pred_size} but its GT '{gt}' is {gt_size}"
    values = dict(where, pred_size=size_text(pred), gt_size=size_text(gt))
    for proto in protos:
        if proto.resize is None:
            raise DbdError(
                sizes.format(**values) + f"; protocol {proto.name} compares equal sizes only: resize the maps"
            )
    if not resize:
        raise ParameterError(
            sizes + "; resize the maps, or {resize_on}", python={"resize_on": "pass resize=True"}, **values
        )
    if pred.shape == gt.shape[::-1] and not allow_resize:
        raise ParameterError(
            sizes + ": the map looks transposed or rotated; fix the map, or pass {allow_resize} to "
            "resize it anyway",
            python={"allow_resize": "allow_resize=True"},
            **values,
        )
    return resize_bilinear(pred, gt.shape)


def score_items(
    items: list[tuple[str, str, tuple[str | None, ...]]],
    *,
    protocols: tuple[str, ...],
    polarity: str,
    resize: bool,
    allow_resize: bool = False,
) -> list[GtScore]:
    """Read GT masks and the maps of every method for them, score under every protocol (one task).

    Parameters
    ----------
    items : list of (name, GT path, prediction paths)
        Prediction paths in method order; None where a method has no map for this GT.
    protocols : tuple of str
    polarity : {"focus-white", "blurred-white"}
        How the GT is stored.
    resize : bool
        Resize a map of another size to its GT's, as the protocol does; False: an error.
    allow_resize : bool
        Resize also a map whose size is its GT's transposed (else an error: a rotated map).

    Returns
    -------
    list of GtScore
        Per item, the GT's scale rule, whether it has one class only, and per method a
        :class:`MapScore` or None.
    """
    protos = [get_protocol(p) for p in protocols]
    out = []
    for _, gt_path, pred_paths in items:
        gt, gt_scale = read_levels(gt_path, mask=True)
        if gt.size < 2:
            raise DbdError(
                f"GT mask '{gt_path}' is {size_text(gt)}: the measures need 2 pixels or more "
                "(the E-measure divides by pixels - 1); give full-size masks"
            )
        prepared = [proto.prepare_gt(gt, polarity) for proto in protos]
        mask = focus_mask(gt, polarity)
        maps = []
        for pred_path in pred_paths:
            if pred_path is None:
                maps.append(None)
                continue
            pred, pred_scale = read_levels(pred_path, mask=False)
            resized, resized_from = pred, ""
            if pred.shape != gt.shape:
                where = {"pred": pred_path, "gt": gt_path}
                resized = _fit(pred, gt, where, protos, resize, allow_resize)
                resized_from = size_text(pred)
            records = [
                proto.score_prepared(resized if proto.resize == "bilinear" else pred, prep)
                for proto, prep in zip(protos, prepared, strict=True)
            ]
            maps.append(MapScore(pred_scale, separation(resized, mask), resized_from, records))
        out.append(GtScore(gt_scale, mask is None, size_text(gt), tuple(maps)))
    return out


def chunks(items: list, workers: int, parallel: bool) -> list[list]:
    """Split the GT items into tasks: one per item in this process, else about 8 chunks per worker."""
    size = min(MAX_CHUNK, max(1, math.ceil(len(items) / (8 * workers)))) if parallel else 1
    return [items[i : i + size] for i in range(0, len(items), size)]
