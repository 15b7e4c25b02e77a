"""Helpers for the leaderboard tests: write small, valid result JSON files by hand."""

from __future__ import annotations

import json
from pathlib import Path

from dbdbench.metrics.protocols import get_protocol


def result_dict(
    method,
    protocol="sod",
    dataset="sim",
    summary=None,
    curve=None,
    intervals=None,
    counts=None,
    version="0.1.0",
    split=None,
):
    """A valid dbdbench-result object; unspecified summary numbers are 0.5."""
    summary = dict.fromkeys(get_protocol(protocol).summary_keys, 0.5) | (summary or {})
    if curve is None:
        curve = {"thresholds": [], "precision": [], "recall": [], "f": []}
    return {
        "format": "dbdbench-result",
        "format_version": 1,
        "dbdbench_version": version,
        "protocol": protocol,
        "method": method,
        "dataset": dataset,
        "split": split,
        "counts": counts or {"gt": 10, "evaluated": 10, "missing": 0},
        "missing": [],
        "summary": summary,
        "intervals": intervals or {},
        "bootstrap": None,
        "curves": curve,
        "per_image": [],
    }


def write_result(folder: Path, name: str, **kw) -> Path:
    path = Path(folder) / f"{name}.json"
    path.write_text(json.dumps(result_dict(**kw)))
    return path


def linear_curve(p0: float, n: int = 11):
    """A hand-made curve: recall 1..0, precision rising from p0 to 1, F from the formula."""
    recall = [1 - i / (n - 1) for i in range(n)]
    precision = [p0 + (1 - p0) * i / (n - 1) for i in range(n)]
    f = [
        1.3 * p * r / (0.3 * p + r) if (0.3 * p + r) > 0 else 0.0
        for p, r in zip(precision, recall, strict=True)
    ]
    return {"thresholds": list(range(n)), "precision": precision, "recall": recall, "f": f}
