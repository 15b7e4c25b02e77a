"""The whole pipeline on built-in data, in one to two minutes (``dbdbench demo``).

1. generate a small simulated set with the BTBNet recipe (built-in sharp sources, no download);
2. run the fast classical baselines on its images; with PyTorch installed, also train the ``tiny``
   BTBCRL (Zhao et al., IEEE TPAMI 2020) on a second simulated set for a fixed, seeded number of epochs
   and predict the test images with it, so the leaderboard has a ``btbcrl`` row;
3. evaluate every method under every protocol in one :func:`~dbdbench.evaluation.evaluate_many` pass
   (each GT mask read once; bootstrap intervals), so the leaderboard also shows the
   protocol-sensitivity view;
4. build the leaderboard (tables, figures, web page).

Output layout under ``out``::

    data/          the simulated test set (image/, gt/, manifest.csv)
    train-data/    the simulated training set of btbcrl (another seed)
    train/         the btbcrl training run (last.pt, loss.csv, loss.png, train.log)
    predictions/   one folder of maps per method
    results/       results/<protocol>/<method>.json (+ per-image CSV)
    leaderboard/   leaderboard.md/.tex/.csv, plots/, browser/ (the map browser's images), index.html
    figure/        comparison.png/.svg/.pdf: photo | each method's map | GT for the 4 hardest images
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench.baselines import predict_folder
from dbdbench.baselines.registry import get_method, list_methods
from dbdbench.errors import DbdError
from dbdbench.evaluation import evaluate_many
from dbdbench.generators import generate_sim
from dbdbench.leaderboards.build import build_leaderboard
from dbdbench.metrics.protocols import protocol_names

#: Fast detectors the demo runs when registered (seconds for a few dozen small images).
DEMO_METHODS = ("lapvar", "tenengrad", "dct", "lbp")
DATASET_NAME = "demo-sim"
#: The deep model the demo trains (``tiny`` preset) and scores when PyTorch is installed.
DEEP_METHOD = "btbcrl"
#: Its training set: this many simulated images of the demo's size, made with seed + 1.
DEEP_TRAIN_COUNT = 48
#: Its budget in epochs (12 steps each), so the row is reproducible; the wall-clock cap below only
#: guards a slow machine.
DEEP_EPOCHS = 20
DEEP_MAX_MINUTES = 2.0


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
    figure : Path
        The visual comparison figure (PNG; SVG and PDF beside it).
    seconds : dict of str to float
        Wall time per stage (``generate``, ``predict``, ``train``, ``evaluate``, ``leaderboard``).
    """

    out: Path
    methods: list[str] = field(default_factory=list)
    results: list[Path] = field(default_factory=list)
    page: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    figure: Path | None = None


def _choose_methods(methods: Sequence[str] | None) -> list[str]:
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


def _train_deep(out: Path, size: int, seed: int, epochs: int, workers: int, log) -> Path | None:
    """Train the tiny BTBCRL on a fresh simulated set; None (with a one-line log) without PyTorch."""
    try:
        import torch
    except ImportError:
        log(f"no {DEEP_METHOD} row: PyTorch is not installed (pip install 'dbdbench[deep]')")
        return None
    # torch-only modules: imported once PyTorch is known to be there
    from dbdbench.baselines.deep.data import training_sources
    from dbdbench.baselines.deep.train import TrainOptions, train

    data = out / "train-data"
    generate_sim(data, count=DEEP_TRAIN_COUNT, size=size, seed=seed + 1, workers=workers, overwrite=True)
    if (out / "train").exists():
        shutil.rmtree(out / "train")  # the previous demo's run
    opts = TrainOptions(
        DEEP_METHOD,
        out / "train",
        "tiny",
        epochs=epochs,
        max_minutes=DEEP_MAX_MINUTES,
        seed=seed,
        device="cpu",
    )
    # One thread: the same floating-point sums on every machine (a reproducible row), and no thread
    # contention on a small, busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(opts, training_sources([data]), echo=None, progress=False)
    finally:
        torch.set_num_threads(threads)
    log(
        f"trained {DEEP_METHOD} (tiny) on {DEEP_TRAIN_COUNT} other simulated images: {len(result.history)} "
        f"steps, {result.epochs} epochs (stopped by {result.stopped})"
    )
    return result.checkpoint


def demo_figure(methods: Sequence[str], out: Path, data: Path, seed: int, workers: int) -> Path:
    """The visual comparison figure of the demo's 4 hardest images, per-image F under each map."""
    from dbdbench.leaderboards.gallery import make_gallery

    preds = {m: out / "predictions" / m for m in methods}
    figure = make_gallery(
        preds, out / "figure" / "comparison.png", images_dir=data / "image", gt_dir=data / "gt",
        pick="hardest", rows=4, seed=seed, score="f", workers=workers,
    )  # fmt: skip
    return figure.files["png"]


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
    deep_epochs: int = DEEP_EPOCHS,
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
        Bootstrap resamples for the intervals of every summary number (0: none).
    workers : int
        Local worker processes for every stage.
    deep_epochs : int
        Training epochs of the ``btbcrl`` row (0: no deep row).
    log : callable
        Receives one line per stage.

    Returns
    -------
    DemoRun
    """
    out = Path(out)
    run = DemoRun(out=out, methods=_choose_methods(methods))
    data = out / "data"
    with _stage(run, "generate"):
        generate_sim(
            data, recipe="btbnet", count=count, size=size, seed=seed, workers=workers, overwrite=True
        )
    log(f"generated {count} simulated images of {size} px in {data} ({run.seconds['generate']:.1f} s)")

    with _stage(run, "predict"):
        for m in run.methods:
            predict_folder(m, data / "image", out / "predictions" / m, params=None, workers=workers)
    log(f"ran {', '.join(run.methods)} into {out / 'predictions'} ({run.seconds['predict']:.1f} s)")

    if deep_epochs > 0:
        with _stage(run, "train"):
            checkpoint = _train_deep(out, size, seed, deep_epochs, workers, log)
            if checkpoint is not None:
                params = {"checkpoint": str(checkpoint), "device": "cpu"}
                predict_folder(DEEP_METHOD, data / "image", out / "predictions" / DEEP_METHOD, params=params)
                run.methods.append(DEEP_METHOD)
        if checkpoint is not None:
            log(f"{DEEP_METHOD} stage took {run.seconds['train']:.1f} s")
        else:
            del run.seconds["train"]

    protocols = list(protocols or protocol_names())
    with _stage(run, "evaluate"):
        run.results = _evaluate(out, run.methods, protocols, bootstrap, seed, workers)
    log(f"evaluated under {', '.join(protocols)} into {out / 'results'} ({run.seconds['evaluate']:.1f} s)")

    with _stage(run, "leaderboard"):
        board = build_leaderboard(run.results, out / "leaderboard", workers=workers, images=data / "image")
        run.page = board.files["html"]
        run.figure = demo_figure(run.methods, out, data, seed, workers)
        log(f"drew the visual comparison figure {run.figure} (and .svg, .pdf)")
    log(f"built the leaderboard in {board.out} ({run.seconds['leaderboard']:.1f} s)")
    return run


@contextmanager
def _stage(run: DemoRun, name: str) -> Iterator[None]:
    """Record the wall time of one stage in ``run.seconds[name]`` (a report only, no budget)."""
    t = time.perf_counter()
    try:
        yield
    finally:
        run.seconds[name] = time.perf_counter() - t


def _evaluate(out: Path, methods: list[str], protocols: list[str], bootstrap: int, seed: int, workers: int):
    """Every method under every protocol in one pass; ``results/<protocol>/<method>.json`` each."""
    results = evaluate_many(
        {m: out / "predictions" / m for m in methods},
        out / "data" / "gt",
        protocols=protocols,
        dataset_name=DATASET_NAME,
        bootstrap=bootstrap,
        seed=seed,
        workers=workers,
    )
    return [result.save(out / "results" / p / f"{m}.json") for (m, p), result in results.items()]
