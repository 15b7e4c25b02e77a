"""Evaluation results as leaderboard rows, and grouping them into tables.

A result is the JSON file written by ``dbdbench evaluate`` (format ``dbdbench-result``, version 1):
one method scored on one dataset under one protocol (see ``docs/evaluation.md``). A leaderboard never
mixes protocols: results are grouped by (protocol, dataset, split), and each group becomes one table
and one set of figures.

Files are read and validated by :func:`dbdbench.evaluation.load_result`, the one reader of result
files (format and version, every field and its type, the protocol's summary numbers finite and in
their range, at least one image evaluated). On top of that a leaderboard refuses:

- a method name that ends like a published reference (``" (published)"``);
- two files that give the same method on the same dataset, split and protocol.

Files written by another dbdbench *release* with the same format version are accepted; the versions
are listed in the leaderboard so a reader can see them.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dbdbench.errors import DbdError
from dbdbench.evaluation import EvaluationResult, result_error
from dbdbench.metrics.protocols import protocol_names

#: Appended to the labels of published references, so they never clash with user methods.
PUBLISHED_SUFFIX = " (published)"


@dataclass
class Result(EvaluationResult):
    """An evaluation result as a leaderboard row: a user's file or a published reference.

    The fields of :class:`~dbdbench.evaluation.EvaluationResult`, where a published reference may
    lack summary numbers (None: the publication does not give them), plus:

    Attributes
    ----------
    source : str
        ``"user"`` for results given on the command line, ``"published"`` for shipped references.
    ranked : bool
        Whether the row takes part in the table's ranking. False for numbers printed in a paper
        (a published table): they are shown as printed, never ranked as if dbdbench had computed
        them. Published curves are ranked: their numbers are computed from the curves by the
        protocol.
    citation : str
        Where a published result comes from ("" for user results).
    origin : str
        For a published result, where in the publication the numbers are (figure, table).
    aliases : tuple of str
        Lower-case dataset names a published result may be drawn beside (empty for user results).
    path : Path or None
        File it was read from.
    """

    source: str = "user"
    ranked: bool = True
    citation: str = ""
    origin: str = ""
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


def from_evaluation(ev: EvaluationResult, path: str | os.PathLike = "<memory>") -> Result:
    """A user's evaluation result as a leaderboard row.

    Parameters
    ----------
    ev : EvaluationResult
        As read (and validated) by :func:`dbdbench.evaluation.load_result`, or just computed.
    path : path-like
        Where it came from, for error messages.

    Raises
    ------
    DbdError
        A method name ending like a published reference.
    """
    path = Path(path)
    if ev.method.endswith(PUBLISHED_SUFFIX):
        raise result_error(path, f"method name '{ev.method}' ends like a published reference", "rename it")
    fields = {f.name: getattr(ev, f.name) for f in dataclasses.fields(EvaluationResult)}
    fields["split"] = str(ev.split) if ev.split not in (None, "") else None
    return Result(**fields, source="user", path=path)


def load_result(path: str | os.PathLike) -> Result:
    """Read one result file with :func:`dbdbench.evaluation.load_result`, as a leaderboard row.

    Raises
    ------
    DbdError
        The file is missing, unreadable or not a valid result, or its method name ends like a
        published reference.
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
        unknown = [p for p in protocols if p not in protocol_names()]
        if unknown:
            raise DbdError(
                f"--protocol: unknown protocol '{unknown[0]}'; choose from {', '.join(protocol_names())}"
            )
    results = [load_result(p) for p in paths]
    if protocols is not None:
        for r in results:
            if r.protocol not in protocols:
                raise DbdError(
                    f"result file '{r.path}' was scored under protocol '{r.protocol}', not under "
                    f"--protocol {','.join(protocols)}; drop the file or add its protocol"
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
    order = {p: i for i, p in enumerate(protocol_names())}
    out = []
    for (protocol, dataset, split), rs in sorted(
        groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2] or "")
    ):
        rs = [r for r in rs if r.source != "published"] + [r for r in rs if r.source == "published"]
        out.append(Group(protocol, dataset, split, rs))
    return out
