"""The result format of :func:`dbdbench.evaluate`: :class:`EvaluationResult`, its JSON and CSV, and
:func:`load_result`, the one reader and validator of result files.

Result format (``format_version`` 1)::

    {"format": "dbdbench-result", "format_version": 1, "dbdbench_version": "...",
     "protocol": "sod", "method": "name", "dataset": "cuhk", "split": "te1" or null,
     "counts": {"gt": N, "evaluated": n, "missing": m}, "missing": [names],
     "warnings": [one line each] (absent in files of older releases: read as []),
     "summary": {...}, "intervals": {"max_f": [lo, hi], ...} or {},
     "bootstrap": {"n": N, "level": 0.95, "seed": s} or null,
     "curves": {"thresholds": [...], "precision": [...], "recall": [...], "f": [...]},
     "per_image": [{"name": ..., <metric>: ..., "resized_from": "WxH" or ""}, ...],
     "sources": {"pred_dir": ..., "gt_dir": ... or null, "gt_polarity": ..., "pred_prefix": ...,
                 "pred_suffix": ...} (absent in files of older releases: read as null)}

``per_image`` rows hold ``resized_from`` (the map's own size, or ``""``) only in a result where some
map was resized. A field added in a later release of format version 1 is optional: list it in
:data:`OPTIONAL` with the value that files without it read as, and check it in :func:`_check_optional`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench._version import __version__
from dbdbench.atomic import write_text_atomic
from dbdbench.errors import DbdError
from dbdbench.metrics.protocols import get_protocol, protocol_names

FORMAT = "dbdbench-result"
FORMAT_VERSION = 1
#: confidence level of the bootstrap intervals
LEVEL = 0.95
#: fields every result file of format version 1 has
REQUIRED = (
    "format", "format_version", "dbdbench_version", "protocol", "method", "dataset", "split",
    "counts", "missing", "summary", "intervals", "bootstrap", "curves", "per_image",
)  # fmt: skip
#: fields added to format version 1 later, and what a file without them reads as
OPTIONAL = {"warnings": [], "sources": None}


@dataclass
class EvaluationResult:
    """The outcome of :func:`dbdbench.evaluate`.

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
        inverted, masks or maps read with the binary rule, resized maps), one line each.
    summary : dict of str to float
        The protocol's summary numbers.
    intervals : dict of str to [float, float]
        Bootstrap confidence intervals of the summary numbers (empty without bootstrap).
    bootstrap : dict or None
        ``n``, ``level``, ``seed`` of the bootstrap.
    curves : dict of str to list
        ``thresholds``, ``precision``, ``recall``, ``f`` in the protocol's threshold order.
    per_image : list of dict
        ``name`` and the protocol's per-image scores (and ``resized_from`` when a map was resized).
    dbdbench_version : str
    sources : dict or None
        Where the inputs were, for the leaderboard's map browser: ``pred_dir`` (absolute),
        ``gt_dir`` (absolute; None when the GT files lie in several folders), ``gt_polarity``,
        ``pred_prefix``, ``pred_suffix``. None in results of older releases.
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
            **({"sources": dict(self.sources)} if self.sources else {}),
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
    data = _read_json(path)
    _check_header(path, data)
    _check_fields(path, data)
    _check_optional(path, data)
    _check_counts(path, data["counts"])
    _check_numbers(path, data)
    return EvaluationResult(
        protocol=data["protocol"],
        method=data["method"],
        dataset=data["dataset"],
        split=data["split"],
        counts=data["counts"],
        missing=data["missing"],
        warnings=data["warnings"],
        summary=data["summary"],
        intervals={k: tuple(v) for k, v in data["intervals"].items()},
        bootstrap=data["bootstrap"],
        curves=data["curves"],
        per_image=data["per_image"],
        dbdbench_version=data["dbdbench_version"],
        sources=data["sources"],
    )


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DbdError(f"result file '{path}' does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DbdError(f"cannot read result file '{path}': {exc}; check the file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise result_error(path, f"not valid JSON (corrupt JSON at {where}: {exc.msg})") from None


def _check_header(path: Path, data) -> None:
    """A dbdbench result of this format version."""
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


def _check_fields(path: Path, data: dict) -> None:
    """Every required field present, with its type; ``intervals`` null read as {}."""
    missing = [k for k in REQUIRED if k not in data]
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


def _check_optional(path: Path, data: dict) -> None:
    """Fields of :data:`OPTIONAL`: their default where absent, their type where present."""
    for key, default in OPTIONAL.items():
        data.setdefault(key, None if default is None else type(default)(default))
    warnings = data["warnings"]
    if not (isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)):
        raise result_error(path, "'warnings' must be a list of strings")
    sources = data["sources"]
    if sources is not None and not (
        isinstance(sources, dict) and all(isinstance(v, (str, type(None))) for v in sources.values())
    ):
        raise result_error(path, "'sources' must be an object of folder names")


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
    """Summary and intervals against the protocol's metrics (from the registry), then the curves."""
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
    _check_curves(path, data["curves"])


def _check_curves(path: Path, curves: dict) -> None:
    lengths = set()
    for key in ("thresholds", "precision", "recall", "f"):
        seq = curves.get(key, [])
        if not isinstance(seq, list):
            raise result_error(path, f"curves.{key} is not a list")
        bad = [v for v in seq if v is not None and not _is_number(v)]
        if bad:
            raise result_error(path, f"curves.{key} holds {bad[0]!r}, not a number")
        lengths.add(len(seq))
    if len(lengths) > 1:
        raise result_error(path, f"curves have unequal lengths {sorted(lengths)}")
