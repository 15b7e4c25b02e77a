"""Reading, validating and grouping evaluation results for leaderboards.

A result is the JSON file written by ``dbdbench evaluate`` (format ``dbdbench-result``, version 1):
one method scored on one dataset under one protocol (see ``docs/evaluation.md``). A leaderboard never
mixes protocols: results are grouped by (protocol, dataset, split), and each group becomes one table
and one set of figures.

Rules a set of results must follow (each broken rule is a :class:`~dbdbench.errors.DbdError` naming
the file and the fix):

- the file passes :func:`dbdbench.evaluation.load_result`, the one reader of result files: valid
  JSON of format ``dbdbench-result`` with ``format_version`` 1 (a file of another format version comes
  from an incompatible dbdbench and must be re-evaluated), every field present and of its type;
- its protocol is one the leaderboards know, its summary holds that protocol's numbers, its
  numbers are numbers and its curves have equal lengths;
- no two files give the same method on the same dataset, split and protocol.

Files written by another dbdbench *release* with the same format version are accepted; the versions
are listed in the leaderboard so a reader can see them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbdbench.errors import DbdError
from dbdbench.evaluation import result_error

if TYPE_CHECKING:
    from dbdbench.evaluation import EvaluationResult

#: Summary numbers of each protocol, in table order: (key, label, higher_is_better).
METRICS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "sod": (
        ("max_f", "maxF", True),
        ("mean_f", "meanF", True),
        ("adaptive_f", "adpF", True),
        ("mae", "MAE", False),
        ("s_measure", "S", True),
        ("max_e", "maxE", True),
        ("mean_e", "meanE", True),
        ("adaptive_e", "adpE", True),
        ("weighted_f", "wF", True),
    ),
    "hifst": (("max_f", "maxF", True), ("mae", "MAE", False)),
    "zhao": (("mean_best_f", "meanBestF", True), ("max_f", "maxF", True), ("mae", "MAE", False)),
    "binseg": (("max_f", "maxF", True), ("mae", "MAE", False)),
    "ddffnet": (("f", "F", True), ("mae", "MAE", False), ("iou", "IoU", True)),
}

#: The single "F-measure" each protocol's papers print (used for ranking and the sensitivity view).
HEADLINE_F = {"sod": "max_f", "hifst": "max_f", "zhao": "mean_best_f", "binseg": "max_f", "ddffnet": "f"}

PROTOCOLS = tuple(METRICS)

#: Appended to the labels of published references, so they never clash with user methods.
PUBLISHED_SUFFIX = " (published)"


def higher_is_better(protocol: str, key: str) -> bool:
    """Direction of a summary number (True: higher is better)."""
    for k, _, up in METRICS[protocol]:
        if k == key:
            return up
    raise KeyError(f"protocol '{protocol}' has no metric '{key}'")


@dataclass
class Result:
    """One method scored on one dataset under one protocol.

    Attributes
    ----------
    method, dataset, protocol : str
        What was scored, where, and how.
    split : str or None
        Dataset split (``"te1"``) or None for the whole dataset.
    summary : dict of str to float or None
        The protocol's summary numbers (None where unknown, e.g. the MAE of a published curve).
    intervals : dict of str to (float, float)
        Bootstrap confidence intervals of summary numbers (may be empty).
    curves : dict of str to list of float
        ``thresholds``, ``precision``, ``recall``, ``f`` of equal length (empty for ddffnet).
    counts : dict of str to int
        ``gt``, ``evaluated``, ``missing`` image counts.
    dbdbench_version : str
        Release that wrote the file (``"published"`` for reference curves).
    source : str
        ``"user"`` for results given on the command line, ``"published"`` for reference curves.
    citation : str
        Where a published result comes from ("" for user results).
    aliases : tuple of str
        Lower-case dataset names a published result may be drawn beside (empty for user results).
    path : Path or None
        File it was read from.
    """

    method: str
    dataset: str
    protocol: str
    split: str | None = None
    summary: dict[str, float | None] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    dbdbench_version: str = ""
    source: str = "user"
    citation: str = ""
    aliases: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def label(self) -> str:
        """Name shown in tables and legends (published references carry a suffix)."""
        return self.method + PUBLISHED_SUFFIX if self.source == "published" else self.method

    @property
    def dataset_label(self) -> str:
        """``dataset`` or ``dataset/split``."""
        return f"{self.dataset}/{self.split}" if self.split else self.dataset

    @property
    def key(self) -> tuple[str, str, str | None]:
        """The group this result belongs to: (protocol, dataset, split)."""
        return (self.protocol, self.dataset, self.split)

    def value(self, metric: str) -> float | None:
        """A summary number, None when absent or not finite."""
        v = self.summary.get(metric)
        if v is None or not math.isfinite(v):
            return None
        return float(v)


def _number(path: Path, where: str, v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise result_error(path, f"{where} is {v!r}, not a number")
    return float(v)


def from_evaluation(ev: EvaluationResult, path: str | os.PathLike = "<memory>") -> Result:
    """Check an evaluation result for a leaderboard and turn it into a :class:`Result`.

    Parameters
    ----------
    ev : EvaluationResult
        As read by :func:`dbdbench.evaluation.load_result` (which checked format, version, fields).
    path : path-like
        Where it came from, for error messages.

    Raises
    ------
    DbdError
        A method name ending like a published reference, a protocol without leaderboard metrics,
        a summary without the protocol's numbers, a value that is not a number, curves of unequal
        lengths.
    """
    path = Path(path)
    if ev.method.endswith(PUBLISHED_SUFFIX):
        raise result_error(path, f"method name '{ev.method}' ends like a published reference", "rename it")
    if ev.protocol not in METRICS:
        raise result_error(path, f"unknown protocol '{ev.protocol}' (known: {', '.join(PROTOCOLS)})")
    absent = [k for k, _, _ in METRICS[ev.protocol] if k not in ev.summary]
    if absent:
        raise result_error(path, f"summary lacks {', '.join(absent)} required by protocol '{ev.protocol}'")
    summary = {k: _number(path, f"summary.{k}", v) for k, v in ev.summary.items()}
    intervals: dict[str, tuple[float, float]] = {}
    for k, pair in ev.intervals.items():
        lo, hi = (_number(path, f"intervals.{k}", x) for x in pair)
        if lo is not None and hi is not None:
            intervals[k] = (lo, hi)
    curves = {}
    for k in ("thresholds", "precision", "recall", "f"):
        seq = ev.curves.get(k, [])
        if not isinstance(seq, list):
            raise result_error(path, f"curves.{k} is not a list")
        curves[k] = [_number(path, f"curves.{k}", x) for x in seq]
    lengths = {len(v) for v in curves.values()}
    if len(lengths) > 1:
        raise result_error(path, f"curves have unequal lengths {sorted(lengths)}")
    return Result(
        method=ev.method,
        dataset=ev.dataset,
        protocol=ev.protocol,
        split=str(ev.split) if ev.split not in (None, "") else None,
        summary=summary,
        intervals=intervals,
        curves=curves,
        counts={k: int(v) for k, v in ev.counts.items() if isinstance(v, (int, float))},
        dbdbench_version=str(ev.dbdbench_version or ""),
        source="user",
        path=path,
    )


def load_result(path: str | os.PathLike) -> Result:
    """Read one result JSON file with :func:`dbdbench.evaluation.load_result` and check it for a
    leaderboard (:func:`from_evaluation`).

    Raises
    ------
    DbdError
        The file is missing, unreadable or not a valid result, or unfit for a leaderboard.
    """
    from dbdbench import evaluation

    return from_evaluation(evaluation.load_result(path), path)


def check_unique(results: Iterable[Result]) -> None:
    """Refuse two results for the same method on the same dataset, split and protocol.

    Raises
    ------
    DbdError
        Naming both files and how to tell them apart.
    """
    seen: dict[tuple, Result] = {}
    for r in results:
        k = (r.label, *r.key)
        if k in seen:
            raise DbdError(
                f"result files '{seen[k].path}' and '{r.path}' both hold method '{r.method}' on "
                f"'{r.dataset_label}' under protocol '{r.protocol}'; drop one or re-evaluate one "
                "with another --name"
            )
        seen[k] = r


def load_results(paths: Sequence[str | os.PathLike], protocols: Sequence[str] | None = None) -> list[Result]:
    """Read several result files and check they can share a leaderboard.

    Parameters
    ----------
    paths : sequence of path-like
        Result JSON files.
    protocols : sequence of str, optional
        Only these protocols may appear; a file of another protocol is an error (a leaderboard never
        silently drops a file). None accepts every protocol (each gets its own tables and figures).

    Returns
    -------
    list of Result
        In the order given.
    """
    if protocols is not None:
        unknown = [p for p in protocols if p not in METRICS]
        if unknown:
            raise DbdError(
                f"--protocols: unknown protocol '{unknown[0]}'; choose from {', '.join(PROTOCOLS)}"
            )
    results = [load_result(p) for p in paths]
    if protocols is not None:
        for r in results:
            if r.protocol not in protocols:
                raise DbdError(
                    f"result file '{r.path}' was scored under protocol '{r.protocol}', not under "
                    f"--protocols {','.join(protocols)}; drop the file or add its protocol"
                )
    check_unique(results)
    return results


@dataclass
class Group:
    """The results that share one table: same protocol, dataset and split.

    Attributes
    ----------
    protocol, dataset : str
    split : str or None
    results : list of Result
        User results first (in input order), then published references.
    """

    protocol: str
    dataset: str
    split: str | None
    results: list[Result]

    @property
    def dataset_label(self) -> str:
        return f"{self.dataset}/{self.split}" if self.split else self.dataset

    @property
    def slug(self) -> str:
        """File-name-safe identifier ``<protocol>_<dataset>[_<split>]``."""
        raw = "_".join(x for x in (self.protocol, self.dataset, self.split) if x)
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)

    def get(self, label: str) -> Result | None:
        """The result of the method with this label, or None."""
        for r in self.results:
            if r.label == label:
                return r
        return None


def group_results(results: Iterable[Result]) -> list[Group]:
    """Group results by (protocol, dataset, split), groups sorted by protocol order then dataset.

    Within a group, user results come first in input order, published references after.
    """
    groups: dict[tuple, list[Result]] = {}
    for r in results:
        groups.setdefault(r.key, []).append(r)
    order = {p: i for i, p in enumerate(PROTOCOLS)}
    out = []
    for (protocol, dataset, split), rs in sorted(
        groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2] or "")
    ):
        rs = [r for r in rs if r.source != "published"] + [r for r in rs if r.source == "published"]
        out.append(Group(protocol, dataset, split, rs))
    return out
