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
     "summary": {...}, "intervals": {"max_f": [lo, hi], ...} or {},
     "bootstrap": {"n": N, "level": 0.95, "seed": s} or null,
     "curves": {"thresholds": [...], "precision": [...], "recall": [...], "f": [...]},
     "per_image": [{"name": ..., <metric>: ...}, ...]}
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
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
    """

    protocol: str
    method: str
    dataset: str
    split: str | None
    counts: dict
    missing: list[str]
    summary: dict
    intervals: dict = field(default_factory=dict)
    bootstrap: dict | None = None
    curves: dict = field(default_factory=dict)
    per_image: list[dict] = field(default_factory=list)
    dbdbench_version: str = __version__

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
            "summary": dict(self.summary),
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "bootstrap": dict(self.bootstrap) if self.bootstrap else None,
            "curves": {k: list(v) for k, v in self.curves.items()},
            "per_image": [dict(r) for r in self.per_image],
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
    _check_counts(path, data["counts"])
    _check_numbers(path, data)
    return EvaluationResult(
        protocol=data["protocol"],
        method=data["method"],
        dataset=data["dataset"],
        split=data["split"],
        counts=data["counts"],
        missing=data["missing"],
        summary=data["summary"],
        intervals={k: tuple(v) for k, v in data["intervals"].items()},
        bootstrap=data["bootstrap"],
        curves=data["curves"],
        per_image=data["per_image"],
        dbdbench_version=data["dbdbench_version"],
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


def score_pairs(
    items: list[tuple[str, str, str]], *, protocol: str, polarity: str, resize: bool
) -> list[dict]:
    """Read (prediction, GT) pairs and return the protocol's per-image records (one worker task).

    A task scores a chunk of pairs, so that the cost of shipping a task to a worker process is
    shared by many images; only paths go in and small records come out.

    Parameters
    ----------
    items : list of (name, prediction path, GT path)
    protocol : str
    polarity : {"focus-white", "blurred-white"}
        How the GT is stored.
    resize : bool
        Resize a prediction of another size to its GT's, as the protocol does; False: error.

    Returns
    -------
    list of dict
        Per pair, the record of :meth:`~dbdbench.metrics.protocol.Protocol.score_image`.
    """
    from dbdbench.imageio import read_grey
    from dbdbench.metrics.protocols import get_protocol
    from dbdbench.metrics.resize import resize_bilinear

    proto = get_protocol(protocol)
    records = []
    for _, pred_path, gt_path in items:
        pred = read_grey(pred_path)
        gt = read_grey(gt_path)
        if pred.shape != gt.shape:
            sizes = f"prediction '{pred_path}' is {_size(pred)} but its GT '{gt_path}' is {_size(gt)}"
            if proto.resize is None:
                raise DbdError(f"{sizes}; protocol {protocol} compares equal sizes only: resize the maps")
            if not resize:
                raise DbdError(f"{sizes}; drop --no-resize or resize the maps")
            if proto.resize == "bilinear":
                pred = resize_bilinear(pred, gt.shape)
        records.append(proto.score_image(pred, gt, polarity))
    return records


def _chunks(items: list, workers: int, parallel: bool) -> list[list]:
    """Split the pairs into tasks: one per pair in this process, else about 8 chunks per worker."""
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


def _bootstrap(proto, stacked, n_boot, seed):
    rng = np.random.default_rng(seed)
    n = len(next(iter(stacked.values())))
    draws = {k: [] for k in proto.summary_keys}
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        summary = proto.summarize({k: v[idx] for k, v in stacked.items()})
        for k in draws:
            draws[k].append(summary[k])
    tail = (1 - LEVEL) / 2 * 100
    return {k: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for k, v in draws.items()}


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
) -> EvaluationResult:
    """Evaluate a folder of prediction maps.

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
        Number of bootstrap resamples of the images (0: none) for 95% confidence intervals.
    seed : int
        Seed of the bootstrap.
    workers : int
        Local worker processes.
    scheduler : str, optional
        dask.distributed scheduler address (overrides ``workers``).
    progress : bool, optional
        Force the progress bar on or off.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    DbdError
        Missing or empty folders, unmatched or duplicate names, unreadable images, size mismatch
        with ``resize=False``, bad options.
    """
    from dbdbench.executor import run_tasks
    from dbdbench.metrics.protocol import stack
    from dbdbench.metrics.protocols import get_protocol
    from dbdbench.pairing import list_images, pair_by_stem, strip_affixes

    proto = get_protocol(protocol)
    if bootstrap < 0:
        raise DbdError(f"--bootstrap must be 0 or more, got {bootstrap}")
    reference, dataset_name, split_name, polarity = _reference(gt_dir, dataset, root, split, gt_polarity)
    items = list_images(pred_dir, what="--pred folder")
    if not items:
        raise DbdError(f"--pred folder '{pred_dir}' has no images; point it at the prediction maps")
    if dataset is not None and split is not None:
        # a folder of maps for the whole dataset, evaluated on one split: ignore the other names
        items = {k: v for k, v in items.items() if strip_affixes(k, pred_prefix, pred_suffix) in reference}
        if not items:
            raise DbdError(
                f"no map in --pred folder '{pred_dir}' is named like an image of split '{split}'; "
                "check --pred-prefix/--pred-suffix"
            )
    pairing = pair_by_stem(
        items, reference, prefix=pred_prefix, suffix=pred_suffix, allow_missing=allow_missing
    )
    pairs = [(n, str(p), str(g)) for n, p, g in pairing.pairs]
    parallel = workers > 1 or bool(scheduler)
    tasks = _chunks(pairs, workers, parallel)
    func = partial(score_pairs, protocol=protocol, polarity=polarity, resize=resize)
    desc = f"evaluate {protocol}" + (f" ({len(tasks[0])} images per task)" if parallel else "")
    chunks = run_tasks(func, tasks, workers=workers, scheduler=scheduler, desc=desc, progress=progress)
    records = [r for chunk in chunks for r in chunk]
    stacked = stack(records)
    per_image = [
        {"name": n, **{k: float(r[k]) for k in proto.per_image_keys}}
        for (n, _, _), r in zip(pairing.pairs, records, strict=True)
    ]
    intervals = _bootstrap(proto, stacked, bootstrap, seed) if bootstrap else {}
    return EvaluationResult(
        protocol=protocol,
        method=name or Path(pred_dir).resolve().name,
        dataset=dataset_name,
        split=split_name,
        counts={"gt": len(reference), "evaluated": len(records), "missing": len(pairing.missing)},
        missing=pairing.missing,
        summary=proto.summarize(stacked),
        intervals=intervals,
        bootstrap={"n": bootstrap, "level": LEVEL, "seed": seed} if bootstrap else None,
        curves=proto.curves(stacked),
        per_image=per_image,
    )
