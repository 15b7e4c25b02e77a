"""``dbdbench demo``: the whole pipeline on built-in data, in about a minute.

1. generate a small simulated set with the BTBNet recipe (built-in sharp sources, no download);
2. run the fast classical baselines on its images;
3. evaluate every method under every protocol (bootstrap intervals for ``sod``), so the
   leaderboard also shows the protocol-sensitivity view;
4. build the leaderboard (tables, figures, web page).

Output layout under ``out``::

    data/          the simulated set (image/, gt/, manifest.csv)
    predictions/   one folder of maps per method
    results/       results/<protocol>/<method>.json (+ per-image CSV)
    leaderboard/   leaderboard.md/.tex/.csv, plots/, index.html
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench.errors import DbdError

#: Fast detectors the demo runs when registered (seconds for a few dozen small images).
DEMO_METHODS = ("lapvar", "tenengrad", "dct", "lbp")
DATASET_NAME = "demo-sim"


@dataclass
class DemoRun:
    """What the demo made and how long each stage took.

    Attributes
    ----------
    out : Path
    methods : list of str
    results : list of Path
        Result JSON files.
    page : Path
        The leaderboard's ``index.html``.
    seconds : dict of str to float
        Wall time per stage (``generate``, ``predict``, ``evaluate``, ``leaderboard``).
    """

    out: Path
    methods: list[str] = field(default_factory=list)
    results: list[Path] = field(default_factory=list)
    page: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def _choose_methods(methods: Sequence[str] | None) -> list[str]:
    from dbdbench.baselines.registry import get_method, list_methods

    if methods:
        return [get_method(m).name for m in methods]  # DbdError for an unknown name
    available = {m.name for m in list_methods()}
    chosen = [m for m in DEMO_METHODS if m in available]
    if not chosen:
        raise DbdError(
            f"none of the demo's detectors ({', '.join(DEMO_METHODS)}) is installed; "
            "reinstall dbdbench or pass --methods"
        )
    return chosen


def run_demo(
    out: str | os.PathLike = "demo-out",
    *,
    count: int = 24,
    size: int = 160,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    bootstrap: int = 200,
    workers: int = 1,
    log: Callable[[str], None] = print,
) -> DemoRun:
    """Generate, predict, evaluate and build the leaderboard on built-in data.

    Parameters
    ----------
    out : path-like
        Output folder (created; a previous demo there is replaced).
    count, size, seed : int
        Number of simulated images, their side in pixels, and the seed of the whole run.
    methods : sequence of str, optional
        Detectors to run (default: those of ``DEMO_METHODS`` that are registered).
    protocols : sequence of str, optional
        Protocols to score under (default: every registered one).
    bootstrap : int
        Bootstrap resamples for the intervals of the ``sod`` numbers (0: none).
    workers : int
        Local worker processes for every stage.
    log : callable
        Receives one line per stage.

    Returns
    -------
    DemoRun
    """
    from dbdbench.baselines import predict_folder
    from dbdbench.evaluation import evaluate
    from dbdbench.generators import generate_sim
    from dbdbench.leaderboards.build import build_leaderboard
    from dbdbench.metrics.protocols import protocol_names

    out = Path(out)
    protocols = list(protocols or protocol_names())
    run = DemoRun(out=out, methods=_choose_methods(methods))
    data = out / "data"

    t = time.perf_counter()
    generate_sim(data, recipe="btbnet", count=count, size=size, seed=seed, workers=workers, overwrite=True)
    run.seconds["generate"] = time.perf_counter() - t
    log(f"generated {count} simulated images of {size} px in {data} ({run.seconds['generate']:.1f} s)")

    t = time.perf_counter()
    for m in run.methods:
        predict_folder(m, data / "image", out / "predictions" / m, params=None, workers=workers)
    run.seconds["predict"] = time.perf_counter() - t
    log(f"ran {', '.join(run.methods)} into {out / 'predictions'} ({run.seconds['predict']:.1f} s)")

    t = time.perf_counter()
    for p in protocols:
        for m in run.methods:
            result = evaluate(
                out / "predictions" / m,
                data / "gt",
                protocol=p,
                name=m,
                bootstrap=bootstrap if p == "sod" else 0,
                seed=seed,
                workers=workers,
            )
            result.dataset = DATASET_NAME
            run.results.append(result.save(out / "results" / p / f"{m}.json"))
    run.seconds["evaluate"] = time.perf_counter() - t
    log(f"evaluated under {', '.join(protocols)} into {out / 'results'} ({run.seconds['evaluate']:.1f} s)")

    t = time.perf_counter()
    board = build_leaderboard(run.results, out / "leaderboard", workers=workers)
    run.page = board.files["html"]
    run.seconds["leaderboard"] = time.perf_counter() - t
    log(f"built the leaderboard in {board.out} ({run.seconds['leaderboard']:.1f} s)")
    return run
