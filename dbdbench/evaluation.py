"""Evaluate prediction maps against ground truth under a named protocol.

``evaluate`` pairs prediction files with GT masks by file stem, scores every pair under one protocol
preset (:mod:`dbdbench.metrics.protocols`) on local worker processes or a dask cluster (each task
scores a chunk of pairs and returns small records, never a map), and gathers summary numbers,
curves, per-image scores and optional bootstrap confidence intervals into an
:class:`EvaluationResult`, saved as JSON (the format below) with a per-image CSV beside it.

Result format (``format_version`` 1)::

    {"format": "dbdbench-result", "format_version": 1, "dbdbench_version": "...",
     "protocol": "sod", "method": "name", "dataset": "cuhk", "split": "te1" or null,
     "counts": {"gt": N, "evaluated": n, "missing": m}, "missing": [names],
     "warnings": [one line each] (absent in files of older releases: read as []),
     "summary": {...}, "intervals": {"max_f": [lo, hi], ...} or {},
     "bootstrap": {"n": N, "level": 0.95, "seed": s} or null,
     "curves": {"thresholds": [...], "precision": [...], "recall": [...], "f": [...]},
     "per_image": [{"name": ..., <metric>: ...}, ...],
     "sources": {"pred_dir": ..., "gt_dir": ... or null, "gt_polarity": ..., "pred_prefix": ...,
                 "pred_suffix": ...} (optional; absent in older files: read as null)}
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from dbdbench._version import __version__
from dbdbench.errors import DbdError
from dbdbench.polarity import FOCUS_WHITE

FORMAT = "dbdbench-result"
FORMAT_VERSION = 1
LEVEL = 0.95
_KEYS = (
    "format", "format_version", "dbdbench_version", "protocol", "method", "dataset", "split",
    "counts", "missing", "summary", "intervals", "bootstrap", "curves", "per_image",
)  # fmt: skip


@dataclass
class EvaluationResult:
    """The outcome of :func:`evaluate`.

    Attributes
    ----------
    protocol, method, dataset : str
        Protocol preset, method name, dataset name (or the GT folder's name).
    split : str or None
    counts : dict
        ``gt`` (GT masks considered), ``evaluated`` (pairs scored), ``missing`` (GT without prediction).
    missing : list of str
        Names of the GT masks without a prediction (only with ``allow_missing``).
    warnings : list of str
        What the evaluation noticed about its input and how it dealt with it (a GT that looks
        inverted, masks or maps read with the 0/1 rule), one line each.
    summary : dict of str to float
        The protocol's summary numbers.
    intervals : dict of str to [float, float]
        Bootstrap confidence intervals of the summary numbers (empty without bootstrap).
    bootstrap : dict or None
        ``n``, ``level``, ``seed`` of the bootstrap.
    curves : dict of str to list
        ``thresholds``, ``precision``, ``recall``, ``f`` in the protocol's threshold order.
    per_image : list of dict
        ``name`` and the protocol's per-image scores.
    dbdbench_version : str
    sources : dict or None
        Where the inputs were: ``pred_dir`` (absolute), ``gt_dir`` (absolute; None when the GT
        files lie in several folders), ``gt_polarity``, ``pred_prefix``, ``pred_suffix``. None in
        results of older releases.
    """

    protocol: str
    method: str
    dataset: str
    split: str | None
    counts: dict
    missing: list[str]
    summary: dict
    warnings: list[str] = field(default_factory=list)
    intervals: dict = field(default_factory=dict)
    bootstrap: dict | None = None
    curves: dict = field(default_factory=dict)
    per_image: list[dict] = field(default_factory=list)
    dbdbench_version: str = __version__
    # issue 18 (map browser): where the maps and GT were, so a leaderboard can show them
    sources: dict | None = None

    def to_dict(self) -> dict:
        """The result as a JSON-ready dict (the format in the module docstring)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "dbdbench_version": self.dbdbench_version,
            "protocol": self.protocol,
            "method": self.method,
            "dataset": self.dataset,
            "split": self.split,
            "counts": dict(self.counts),
            "missing": list(self.missing),
            "warnings": list(self.warnings),
            "summary": dict(self.summary),
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "bootstrap": dict(self.bootstrap) if self.bootstrap else None,
            "curves": {k: list(v) for k, v in self.curves.items()},
            "per_image": [dict(r) for r in self.per_image],
            **({"sources": dict(self.sources)} if self.sources else {}),  # issue 18
        }

    def to_json(self) -> str:
        """The result as JSON text (non-finite numbers become null)."""
        return json.dumps(_finite(self.to_dict()), indent=1, allow_nan=False) + "\n"

    def per_image_csv(self) -> str:
        """The per-image scores as CSV text (a header row, then one row per image)."""
        buf = io.StringIO()
        keys = ["name"] + [k for k in (self.per_image[0] if self.per_image else {}) if k != "name"]
        writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in self.per_image:
            writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        return buf.getvalue()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON to ``path`` and the per-image CSV beside it (same stem, ``.csv``), atomically.

        Returns
        -------
        Path
            The JSON path.
        """
        from dbdbench.atomic import write_text_atomic

        path = Path(path)
        if path.suffix.lower() == ".csv":
            raise DbdError(f"--out '{path}' must be a .json file; the CSV is written beside it")
        text = self.to_json()
        write_text_atomic(path.with_suffix(".csv"), self.per_image_csv())
        return write_text_atomic(path, text)


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def result_error(path: str | os.PathLike, what: str, fix: str = "re-run dbdbench evaluate to write it again"):
    """The one-line :class:`DbdError` for a bad result file: ``result file '<path>': <what>; <fix>``."""
    return DbdError(f"result file '{path}': {what}; {fix}")


def load_result(path: str | os.PathLike) -> EvaluationResult:
    """Read and validate a result JSON written by :meth:`EvaluationResult.save`.

    This is the one reader and validator of result files (``dbdbench leaderboard`` reads them
    through it too). What a protocol's numbers must be comes from the protocol registry
    (:mod:`dbdbench.metrics.protocols`): its summary keys and their valid ranges.

    Raises
    ------
    DbdError
        One line naming the file: missing or unreadable file, invalid JSON, not a dbdbench result
        of this format version, a missing key, an empty method, dataset or protocol, a field of the
        wrong type, an unknown protocol, a summary number of the protocol that is absent, not a
        finite number or outside its range, no evaluated image, an interval that is not a
        [low, high] pair within the range, curves that are not lists of numbers of equal length.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DbdError(f"result file '{path}' does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DbdError(f"cannot read result file '{path}': {exc}; check the file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise result_error(path, f"not valid JSON (corrupt JSON at {where}: {exc.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise result_error(
            path,
            f'not a dbdbench result (no "format": "{FORMAT}")',
            "give files written by dbdbench evaluate",
        )
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise result_error(
            path,
            f"format_version {version!r} (written by dbdbench {data.get('dbdbench_version', '?')}) "
            f"but this dbdbench reads format_version {FORMAT_VERSION}",
            "re-evaluate the predictions with this dbdbench release",
        )
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise result_error(path, f"lacks {', '.join(missing)}")
    for key in ("method", "dataset", "protocol"):
        if not isinstance(data[key], str) or not data[key]:
            raise result_error(path, f"field '{key}' is missing or empty")
    if data["split"] is not None and not isinstance(data["split"], str):
        raise result_error(path, f"field 'split' is {data['split']!r}, not a name or null")
    data["intervals"] = data["intervals"] or {}
    types = {
        "summary": dict,
        "counts": dict,
        "curves": dict,
        "per_image": list,
        "missing": list,
        "intervals": dict,
    }
    for key, typ in types.items():
        if not isinstance(data[key], typ):
            raise result_error(path, f"'{key}' must be a {typ.__name__}")
    warnings = data.get("warnings", [])
    if not (isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)):
        raise result_error(path, "'warnings' must be a list of strings")
    sources = data.get("sources")  # issue 18: optional
    if sources is not None and not (
        isinstance(sources, dict) and all(isinstance(v, (str, type(None))) for v in sources.values())
    ):
        raise result_error(path, "'sources' must be an object of folder names")
    _check_counts(path, data["counts"])
    _check_numbers(path, data)
    return EvaluationResult(
        protocol=data["protocol"],
        method=data["method"],
        dataset=data["dataset"],
        split=data["split"],
        counts=data["counts"],
        missing=data["missing"],
        warnings=warnings,
        summary=data["summary"],
        intervals={k: tuple(v) for k, v in data["intervals"].items()},
        bootstrap=data["bootstrap"],
        curves=data["curves"],
        per_image=data["per_image"],
        dbdbench_version=data["dbdbench_version"],
        sources=sources,
    )


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_counts(path: Path, counts: dict) -> None:
    """Image counts: non-negative integers, at least one image evaluated, no more than the GT."""
    for key in ("gt", "evaluated", "missing"):
        v = counts.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise result_error(path, f"counts.{key} is {v!r}, not a count of images")
    if counts["evaluated"] == 0:
        raise result_error(
            path, "no image was evaluated (counts.evaluated is 0)", "evaluate at least one image"
        )
    if counts["evaluated"] > counts["gt"]:
        raise result_error(path, f"counts.evaluated {counts['evaluated']} exceeds counts.gt {counts['gt']}")


def _check_numbers(path: Path, data: dict) -> None:
    """Summary, intervals and curves against the protocol's metrics (:mod:`dbdbench.metrics.protocols`)."""
    from dbdbench.metrics.protocols import get_protocol, protocol_names

    if data["protocol"] not in protocol_names():
        raise result_error(
            path,
            f"unknown protocol '{data['protocol']}' (known: {', '.join(protocol_names())})",
            "re-evaluate with one of those protocols",
        )
    proto = get_protocol(data["protocol"])
    summary = data["summary"]
    absent = [k for k in proto.summary_keys if k not in summary]
    if absent:
        raise result_error(path, f"summary lacks {', '.join(absent)} required by protocol '{proto.name}'")
    for metric in proto.metrics:
        values = [(f"summary.{metric.key}", summary[metric.key])]
        if metric.key in data["intervals"]:
            pair = data["intervals"][metric.key]
            if not (isinstance(pair, list) and len(pair) == 2):
                raise result_error(path, f"intervals.{metric.key} is not a [low, high] pair")
            values += [(f"intervals.{metric.key}", v) for v in pair]
        for where, v in values:
            if not _is_number(v):
                raise result_error(path, f"{where} is {json.dumps(v)}, not a number")
            if not metric.contains(v):
                raise result_error(
                    path,
                    f"{where} is {v!r}, outside [{metric.low:g}, {metric.high:g}] "
                    f"({metric.label} of protocol {proto.name})",
                )
        if len(values) == 3 and values[1][1] > values[2][1]:
            raise result_error(path, f"intervals.{metric.key} has its low end above its high end")
    unknown = [k for k in data["intervals"] if k not in proto.summary_keys]
    if unknown:
        raise result_error(path, f"intervals.{unknown[0]} is not a summary number of protocol '{proto.name}'")
    lengths = set()
    for key in ("thresholds", "precision", "recall", "f"):
        seq = data["curves"].get(key, [])
        if not isinstance(seq, list):
            raise result_error(path, f"curves.{key} is not a list")
        bad = [v for v in seq if v is not None and not _is_number(v)]
        if bad:
            raise result_error(path, f"curves.{key} holds {bad[0]!r}, not a number")
        lengths.add(len(seq))
    if len(lengths) > 1:
        raise result_error(path, f"curves have unequal lengths {sorted(lengths)}")


def _size(a: np.ndarray) -> str:
    return f"{a.shape[1]}x{a.shape[0]}"


def read_levels(path: str | os.PathLike) -> tuple[np.ndarray, bool]:
    """Read a mask or map as stored, with the 0/1 rule: an image whose maximum is 1 is 0/1-valued.

    Such a file (a binary mask saved as 0 and 1 instead of 0 and 255) is read as 0 and full scale
    (255, or 65535 for 16 bits), so that every protocol's threshold sees it as binary; the caller
    reports that it did so.

    Returns
    -------
    levels : ndarray, shape (H, W), dtype uint8 or uint16
    zero_one : bool
        True when the file held only 0 and 1 and was scaled.
    """
    from dbdbench.imageio import max_level, read_grey

    a = read_grey(path)
    if a.size and int(a.max()) == 1:
        return a * a.dtype.type(max_level(a)), True
    return a, False


def _focus_mask(gt: np.ndarray, polarity: str) -> tuple[np.ndarray, int] | None:
    """uint8 mask of the GT's in-focus half (cut at half scale) and its pixel count; None with one class."""
    from dbdbench.imageio import max_level
    from dbdbench.metrics.protocol import focus_levels

    focus = (focus_levels(gt, polarity) > max_level(gt) // 2).view(np.uint8)
    n = int(np.count_nonzero(focus))
    if n in (0, focus.size):
        return None
    return focus, n


def _separation(pred: np.ndarray, mask) -> float | None:
    """Mean prediction on the GT's in-focus region minus on its blurred region, in [-1, 1]."""
    import cv2

    from dbdbench.imageio import max_level

    if mask is None:
        return None
    focus, n_in = mask
    n_out = focus.size - n_in
    # integer sums, exact in float64: one masked pass and one plain one
    inside = cv2.mean(pred, mask=focus)[0] * n_in
    total = cv2.sumElems(pred)[0]
    return (inside / n_in - (total - inside) / n_out) / max_level(pred)


def score_items(
    items: list[tuple[str, str, tuple[str | None, ...]]],
    *,
    protocols: tuple[str, ...],
    polarity: str,
    resize: bool,
) -> list[tuple[bool, list]]:
    """Read GT masks and the predictions of every method for them, score under every protocol (one task).

    Each GT mask is decoded once and prepared once per protocol (:meth:`Protocol.prepare_gt`: its
    binarisation, distance transform, ...); the predictions of all methods are scored against that.
    A task holds a chunk of GT items, so that the cost of shipping it to a worker process is shared
    by many images; only paths go in and small records come out.

    Parameters
    ----------
    items : list of (name, GT path, prediction paths)
        Prediction paths in method order; None where a method has no map for this GT.
    protocols : tuple of str
    polarity : {"focus-white", "blurred-white"}
        How the GT is stored.
    resize : bool
        Resize a prediction of another size to its GT's, as the protocol does; False: error.

    Returns
    -------
    list of (gt_zero_one, per_method)
        Per item: whether the GT was 0/1-valued (see :func:`read_levels`), and per method None (no
        map) or ``(pred_zero_one, separation, records)``: the map's 0/1 flag, its
        :func:`_separation` from the GT (None for a one-class GT) and the per-protocol records of
        :meth:`~dbdbench.metrics.protocol.Protocol.score_prepared`.
    """
    from dbdbench.metrics.protocols import get_protocol
    from dbdbench.metrics.resize import resize_bilinear

    protos = [get_protocol(p) for p in protocols]
    out = []
    for _, gt_path, pred_paths in items:
        gt, gt01 = read_levels(gt_path)
        prepared = [proto.prepare_gt(gt, polarity) for proto in protos]
        mask = _focus_mask(gt, polarity)
        per_method = []
        for pred_path in pred_paths:
            if pred_path is None:
                per_method.append(None)
                continue
            pred, pred01 = read_levels(pred_path)
            resized = pred
            if pred.shape != gt.shape:
                sizes = f"prediction '{pred_path}' is {_size(pred)} but its GT '{gt_path}' is {_size(gt)}"
                for proto in protos:
                    if proto.resize is None:
                        raise DbdError(
                            f"{sizes}; protocol {proto.name} compares equal sizes only: resize the maps"
                        )
                if not resize:
                    raise DbdError(f"{sizes}; drop --no-resize or resize the maps")
                resized = resize_bilinear(pred, gt.shape)
            records = [
                proto.score_prepared(resized if proto.resize == "bilinear" else pred, prep)
                for proto, prep in zip(protos, prepared, strict=True)
            ]
            per_method.append((pred01, _separation(resized, mask), records))
        out.append((gt01, per_method))
    return out


def _chunks(items: list, workers: int, parallel: bool) -> list[list]:
    """Split the GT items into tasks: one per item in this process, else about 8 chunks per worker."""
    size = min(64, max(1, math.ceil(len(items) / (8 * workers)))) if parallel else 1
    return [items[i : i + size] for i in range(0, len(items), size)]


def _reference(gt_dir, dataset, root, split, gt_polarity):
    """GT name -> path, the dataset name, split and GT polarity."""
    from dbdbench.pairing import list_images
    from dbdbench.polarity import check_polarity

    if dataset is not None:
        if gt_dir is not None:
            raise DbdError("give either --gt or --dataset, not both")
        if root is None:
            raise DbdError("--dataset needs --root (the folder that holds the dataset)")
        from dbdbench.datasets import resolve

        index = resolve(dataset, root, split)
        check_polarity(index.gt_polarity)
        reference = {s.name: Path(s.gt_path) for s in index.samples}
        if not reference:
            raise DbdError(f"dataset '{dataset}' (split {split}) has no samples; check --root and --split")
        return reference, index.name, index.split, index.gt_polarity
    if gt_dir is None:
        raise DbdError("give the ground truth: --gt DIR, or --dataset NAME --root DIR")
    check_polarity(gt_polarity)
    reference = list_images(gt_dir, what="--gt folder")
    if not reference:
        raise DbdError(f"--gt folder '{gt_dir}' has no images; point it at the ground-truth masks")
    return reference, Path(gt_dir).resolve().name, split, gt_polarity


MAX_BOOTSTRAP = 100_000
#: the polarity check fires when the maps are lower on the GT's in-focus region than on its blurred
#: region in at least this fraction of the images ...
POLARITY_FRACTION = 0.75
#: ... and a fair coin would give that many such images with at most this probability
POLARITY_P = 0.01


def _bootstrap(proto, stacked, n_boot, seed, bar=None):
    rng = np.random.default_rng(seed)
    n = len(next(iter(stacked.values())))
    draws = {k: [] for k in proto.summary_keys}
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        summary = proto.summarize({k: v[idx] for k, v in stacked.items()})
        for k in draws:
            draws[k].append(summary[k])
        if bar is not None:
            bar.update(1)
    tail = (1 - LEVEL) / 2 * 100
    return {k: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for k, v in draws.items()}


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


def _polarity_warning(inverted: dict[str, tuple[int, int]], polarity: str, dataset: str | None) -> str:
    counts = ", ".join(f"{k} of {n} images ({m})" for m, (k, n) in inverted.items())
    if dataset is None:
        if polarity == "focus-white":
            fix = "if the --gt masks are white = blurred, add --gt-polarity blurred-white (or --dataset cuhk)"
        else:
            fix = "if the --gt masks are white = in-focus, drop --gt-polarity blurred-white"
    else:
        fix = f"dataset '{dataset}' stores its masks {polarity}: check that the maps are high = in-focus"
    return (
        f"GT polarity looks inverted: the maps are lower on the GT's in-focus region than on its "
        f"blurred region in {counts}; {fix}"
    )


def _zero_one_note(what: str, count: int, total: int, example: str) -> str:
    return (
        f"{count} of {total} {what} hold only the values 0 and 1 (e.g. '{example}'): read as binary, "
        "1 = full scale (255)"
    )


def evaluate_many(
    preds: Mapping[str, str | os.PathLike],
    gt_dir: str | os.PathLike | None = None,
    *,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    split: str | None = None,
    gt_polarity: str = "focus-white",
    protocols: Sequence[str] | str = ("sod",),
    pred_prefix: str = "",
    pred_suffix: str = "",
    allow_missing: bool = False,
    resize: bool = True,
    bootstrap: int = 0,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    strict_polarity: bool = False,
) -> dict[tuple[str, str], EvaluationResult]:
    """Evaluate the prediction maps of several methods under several protocols in one pass.

    Each GT mask is decoded once and its derived data (each protocol's binarisation, the weighted
    F-measure's distance transform, the S-measure's split point, ...) computed once, then shared by
    the maps of every method; a worker task scores all methods on a chunk of GT masks. The results
    are identical to evaluating each method and protocol on its own (:func:`evaluate` is this
    function with one method and one protocol).

    Parameters
    ----------
    preds : mapping of str to path-like
        Method name -> folder of its maps (any image format, grey, high = in-focus), named like
        their GT by stem, optionally with a prefix/suffix (``out_of_focus0001_HiFSTBlurMap.png``).
        Names are used in result file names: no path separators.
    gt_dir : path-like, optional
        Folder of GT masks; or use ``dataset`` and ``root``.
    dataset, root, split : str, path-like, str, optional
        A registered dataset (``dbdbench.datasets.resolve``); with a split, maps for images outside
        it are ignored.
    gt_polarity : {"focus-white", "blurred-white"}
        How the masks in ``gt_dir`` are stored (a dataset knows its own).
    protocols : sequence of str, or str
        Protocol presets (``"sod"``, ``"hifst"``, ``"zhao"``, ``"binseg"``, ``"ddffnet"``); a string
        may list several, comma-separated.
    pred_prefix, pred_suffix : str
        Removed from prediction stems before matching (the same for every method).
    allow_missing : bool
        Evaluate the matched pairs when some GT masks have no map (their names are recorded per
        method); otherwise that is an error.
    resize : bool
        Resize maps of another size to the GT size as each protocol does; False: an error.
    bootstrap : int
        Bootstrap resamples of the images (0: none, at most 100000) for 95% confidence intervals.
    seed : int
        Seed of the bootstrap (the same for every result, so each equals its single run).
    workers : int
        Local worker processes.
    scheduler : str, optional
        dask.distributed scheduler address (overrides ``workers``).
    progress : bool, optional
        Force the progress bars on or off.
    strict_polarity : bool
        Make the GT polarity warning (``docs/evaluation.md``) an error.

    Returns
    -------
    dict of (method, protocol) to EvaluationResult
        Methods in the given order, protocols in the given order within each method.

    Raises
    ------
    DbdError
        Missing or empty folders, unmatched or duplicate names, unreadable images, size mismatch
        with ``resize=False``, bad options, and with ``strict_polarity`` a GT that looks inverted.
    """
    from dbdbench.executor import run_tasks
    from dbdbench.metrics.protocol import stack
    from dbdbench.metrics.protocols import get_protocol
    from dbdbench.pairing import list_images, pair_by_stem, strip_affixes

    protocols = _protocol_list(protocols)
    protos = {p: get_protocol(p) for p in protocols}
    if not preds:
        raise DbdError("give at least one --pred folder")
    for method in preds:
        if not method or method.strip() != method or any(c in method for c in "/\\:"):
            raise DbdError(
                f"method name '{method}' must be non-empty, without spaces around it, '/', '\\' or ':'"
            )
    if bootstrap < 0:
        raise DbdError(f"--bootstrap must be 0 or more, got {bootstrap}")
    if bootstrap > MAX_BOOTSTRAP:
        raise DbdError(
            f"--bootstrap {bootstrap} is above the cap of {MAX_BOOTSTRAP}; 1000 to 10000 resamples are usual"
        )
    reference, dataset_name, split_name, polarity = _reference(gt_dir, dataset, root, split, gt_polarity)
    several = len(preds) > 1
    pairings = {}
    for method, pred_dir in preds.items():
        try:
            items = list_images(pred_dir, what="--pred folder")
            if not items:
                raise DbdError(f"--pred folder '{pred_dir}' has no images; point it at the prediction maps")
            if dataset is not None and split is not None:
                # a folder of maps for the whole dataset, evaluated on one split: ignore the other names
                items = {
                    k: v for k, v in items.items() if strip_affixes(k, pred_prefix, pred_suffix) in reference
                }
                if not items:
                    raise DbdError(
                        f"no map in --pred folder '{pred_dir}' is named like an image of split '{split}'; "
                        "check --pred-prefix/--pred-suffix"
                    )
            pairings[method] = pair_by_stem(
                items, reference, prefix=pred_prefix, suffix=pred_suffix, allow_missing=allow_missing
            )
        except DbdError as exc:
            if several:
                raise DbdError(f"method '{method}': {exc}") from None
            raise
    methods = list(preds)
    by_name = [{n: str(p) for n, p, _ in pairings[m].pairs} for m in methods]
    gt_items = [
        (name, str(reference[name]), tuple(pred.get(name) for pred in by_name))
        for name in sorted(reference)
        if any(name in pred for pred in by_name)
    ]
    parallel = workers > 1 or bool(scheduler)
    tasks = _chunks(gt_items, workers, parallel)
    func = partial(score_items, protocols=tuple(protocols), polarity=polarity, resize=resize)
    what = f"{len(methods)} methods, " if several else ""
    desc = f"evaluate {what}{','.join(protocols)}" + (
        f" ({len(tasks[0])} GT masks per task)" if parallel else ""
    )
    chunks = run_tasks(func, tasks, workers=workers, scheduler=scheduler, desc=desc, progress=progress)
    scored = [
        (item, r)
        for task, chunk in zip(tasks, chunks, strict=True)
        for item, r in zip(task, chunk, strict=True)
    ]

    # each result's notes count only its own images, so that it equals its single-method run
    notes = {m: [] for m in methods}
    separations = {m: [] for m in methods}
    records = {m: {p: [] for p in protocols} for m in methods}
    for j, m in enumerate(methods):
        gt01, pred01 = [], []
        for (name, _, _), (gt_flag, per_method) in scored:
            entry = per_method[j]
            if entry is None:
                continue
            pred_flag, separation, recs = entry
            if gt_flag:
                gt01.append(name)
            if pred_flag:
                pred01.append(name)
            separations[m].append(separation)
            for p, rec in zip(protocols, recs, strict=True):
                records[m][p].append(rec)
        n = len(separations[m])
        if gt01:
            notes[m].append(_zero_one_note("GT masks", len(gt01), n, gt01[0]))
        if pred01:
            notes[m].append(_zero_one_note(f"maps of {m}", len(pred01), n, pred01[0]))
    inverted = {m: inverted_images(separations[m]) for m in methods}
    inverted = {m: kn for m, kn in inverted.items() if looks_inverted(*kn)}
    if inverted and strict_polarity:
        raise DbdError(
            _polarity_warning(inverted, polarity, dataset) + "; --strict-polarity makes this an error"
        )
    for m, kn in inverted.items():
        notes[m].append(_polarity_warning({m: kn}, polarity, dataset))

    # issue 18: where the maps and GT are, for the leaderboard's map browser
    gt_dirs = {Path(p).resolve().parent for p in reference.values()}
    gt_folder = str(gt_dirs.pop()) if len(gt_dirs) == 1 else None
    sources = {
        m: {"pred_dir": str(Path(d).resolve()), "gt_dir": gt_folder, "gt_polarity": polarity,
            "pred_prefix": pred_prefix, "pred_suffix": pred_suffix}
        for m, d in preds.items()
    }  # fmt: skip

    bar = None
    if bootstrap:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=bootstrap * len(methods) * len(protocols),
            desc="bootstrap",
            unit="resample",
            disable=(not progress) if progress is not None else None,
            delay=1.0,
            dynamic_ncols=True,
            leave=False,
        )
    results = {}
    try:
        for m in methods:
            names = [n for n, _, _ in pairings[m].pairs]
            for p in protocols:
                proto = protos[p]
                stacked = stack(records[m][p])
                per_image = [
                    {"name": n, **{k: float(r[k]) for k in proto.per_image_keys}}
                    for n, r in zip(names, records[m][p], strict=True)
                ]
                results[(m, p)] = EvaluationResult(
                    protocol=p,
                    method=m,
                    dataset=dataset_name,
                    split=split_name,
                    counts={
                        "gt": len(reference),
                        "evaluated": len(names),
                        "missing": len(pairings[m].missing),
                    },
                    missing=pairings[m].missing,
                    warnings=list(notes[m]),
                    summary=proto.summarize(stacked),
                    intervals=_bootstrap(proto, stacked, bootstrap, seed, bar) if bootstrap else {},
                    bootstrap={"n": bootstrap, "level": LEVEL, "seed": seed} if bootstrap else None,
                    curves=proto.curves(stacked),
                    per_image=per_image,
                    sources=sources[m],
                )
    finally:
        if bar is not None:
            bar.close()
    return results


def _protocol_list(protocols: Sequence[str] | str) -> list[str]:
    """Protocol names from a sequence or a comma-separated string; unknown or repeated: an error."""
    from dbdbench.metrics.protocols import protocol_names

    known = protocol_names()

    if isinstance(protocols, str):
        protocols = protocols.split(",")
    names = [p.strip() for p in protocols]
    if not names or not all(names):
        raise DbdError(f"--protocol needs one or more of {', '.join(known)}, comma-separated")
    for name in names:
        if name not in known:
            raise DbdError(f"unknown --protocol '{name}'; choose one or more of {', '.join(known)}")
    if len(set(names)) != len(names):
        raise DbdError(f"--protocol lists a protocol twice: {','.join(names)}")
    return names


def evaluate(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike | None = None,
    *,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    split: str | None = None,
    gt_polarity: str = FOCUS_WHITE,
    protocol: str = "sod",
    name: str | None = None,
    pred_prefix: str = "",
    pred_suffix: str = "",
    allow_missing: bool = False,
    resize: bool = True,
    bootstrap: int = 0,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    strict_polarity: bool = False,
) -> EvaluationResult:
    """Evaluate a folder of prediction maps under one protocol (:func:`evaluate_many` with one entry).

    Parameters
    ----------
    pred_dir : path-like
        Folder of maps (any image format, grey, high = in-focus), named like their GT by stem,
        optionally with a prefix/suffix (``out_of_focus0001_HiFSTBlurMap.png``).
    gt_dir : path-like, optional
        Folder of GT masks; or use ``dataset`` and ``root``.
    dataset, root, split : str, path-like, str, optional
        A registered dataset (``dbdbench.datasets.resolve``); with a split, predictions for images
        outside it are ignored.
    gt_polarity : {"focus-white", "blurred-white"}
        How the masks in ``gt_dir`` are stored (a dataset knows its own).
    protocol : str
        A registered protocol (:func:`dbdbench.metrics.protocols.protocol_names`; ``docs/evaluation.md``).
    name : str, optional
        Method name for the result (default: the prediction folder's name).
    pred_prefix, pred_suffix : str
        Removed from prediction stems before matching.
    allow_missing : bool
        Evaluate the matched pairs when some GT masks have no prediction (their names are recorded);
        otherwise that is an error.
    resize : bool
        Resize predictions of another size to the GT size as the protocol does; False: an error.
    bootstrap : int
        Number of bootstrap resamples of the images (0: none, at most 100000) for 95% confidence
        intervals.
    seed : int
        Seed of the bootstrap.
    workers : int
        Local worker processes.
    scheduler : str, optional
        dask.distributed scheduler address (overrides ``workers``).
    progress : bool, optional
        Force the progress bar on or off.
    strict_polarity : bool
        Make the GT polarity warning an error.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    DbdError
        Missing or empty folders, unmatched or duplicate names, unreadable images, size mismatch
        with ``resize=False``, bad options.
    """
    name = name or Path(pred_dir).resolve().name
    results = evaluate_many(
        {name: pred_dir},
        gt_dir,
        dataset=dataset,
        root=root,
        split=split,
        gt_polarity=gt_polarity,
        protocols=[protocol],
        pred_prefix=pred_prefix,
        pred_suffix=pred_suffix,
        allow_missing=allow_missing,
        resize=resize,
        bootstrap=bootstrap,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        strict_polarity=strict_polarity,
    )
    return results[(name, protocol)]
