"""Evaluate prediction maps against ground truth under named protocols.

:func:`evaluate_many` pairs each method's map files with GT masks by file stem, scores every pair
under every protocol preset (:mod:`dbdbench.metrics.protocols`) on local worker processes or a dask
cluster (each task scores a chunk of GT masks with the maps of every method and returns small records,
never a map), and gathers summary numbers, curves, per-image scores, warnings about the input and
optional bootstrap confidence intervals into one :class:`EvaluationResult` per method and protocol,
saved as JSON with a per-image CSV beside it. :func:`evaluate` is the one-method, one-protocol form.

Modules, one concern each: :mod:`~dbdbench.evaluation.result` (the result format, its files and
:func:`load_result`, the one validator), :mod:`~dbdbench.evaluation.scoring` (reading and scoring
pairs in a worker task), :mod:`~dbdbench.evaluation.checks` (how masks and maps are stored, the
polarity test, the warnings), :mod:`~dbdbench.evaluation.api` (the steps of a run).
"""

from dbdbench.evaluation.api import DEFAULT_PROTOCOL, MAX_BOOTSTRAP, evaluate, evaluate_many
from dbdbench.evaluation.checks import inverted_images, looks_inverted
from dbdbench.evaluation.result import (
    FORMAT,
    FORMAT_VERSION,
    LEVEL,
    EvaluationResult,
    load_result,
    result_error,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "FORMAT",
    "FORMAT_VERSION",
    "LEVEL",
    "MAX_BOOTSTRAP",
    "EvaluationResult",
    "evaluate",
    "evaluate_many",
    "inverted_images",
    "load_result",
    "looks_inverted",
    "result_error",
]
