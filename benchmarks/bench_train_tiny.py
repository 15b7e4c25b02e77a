"""Does the ``tiny`` BTBCRL learn on a CPU in a few minutes? (Zhao et al., IEEE TPAMI 2020)

Trains ``--model`` (default btbcrl) with the ``tiny`` preset on ~100 simulated 160 x 160 images for
``--epochs`` (default 29 = 725 steps, what 3 minutes gave on an idle core; ``--minutes`` only guards
a slow machine) on one CPU thread, then scores it on held-out simulated images against
the best simple focus operator (maxF and MAE of the ``sod`` protocol, computed with the third-party
PySODMetrics package). The loss curve (loss.csv, loss.png) and checkpoints land in ``--out``.

Data: ``dbdbench.generators.generate_sim`` when it is installed, else the built-in partial-blur maker
(:mod:`dbdbench.baselines.deep.synthetic`). Reference operator: the registry's focus operators when
they are installed, else the local variance of the Laplacian and Tenengrad written here (windows
11, 15, 21); the table names the best one.

    .venv/bin/python benchmarks/bench_train_tiny.py --out runs/bench-train-tiny
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import torch


def simulated(folder: Path, count: int, size: int, seed: int) -> tuple[Path, str]:
    """Write ``count`` pairs to folder/image + folder/gt; return (folder, source description)."""
    try:
        from dbdbench.generators import generate_sim  # the generate-sim engineer's library function
    except ImportError:
        generate_sim = None
    if generate_sim is not None:
        try:
            generate_sim(folder, count=count, size=size, seed=seed)
            return folder, "dbdbench.generators.generate_sim"
        except TypeError:
            pass  # another signature: fall back to the built-in maker
    from dbdbench.baselines.deep.synthetic import write_pairs

    return write_pairs(folder, count, size, seed), "dbdbench.baselines.deep.synthetic"


def lapvar(image: np.ndarray, window: int) -> np.ndarray:
    """Local variance of the Laplacian of the grey image, min-max normalised (1 = sharp)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    mean = cv2.boxFilter(lap, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    sq = cv2.boxFilter(lap * lap, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    var = np.maximum(sq - mean * mean, 0)
    return (var - var.min()) / max(float(var.max() - var.min()), 1e-12)


def tenengrad(image: np.ndarray, window: int) -> np.ndarray:
    """Local mean of the squared Sobel gradient magnitude of the grey image, min-max normalised."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    energy = cv2.boxFilter(gx * gx + gy * gy, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    return (energy - energy.min()) / max(float(energy.max() - energy.min()), 1e-12)


def reference_operators() -> dict:
    """name -> func(image) for the simple focus operators."""
    try:
        from dbdbench.baselines.registry import list_methods

        ops = {
            m.name: m.func
            for m in list_methods()
            if getattr(getattr(m.func, "func", m.func), "__module__", "").endswith("focus_operators")
        }
    except ImportError:
        ops = {}
    if ops:
        return ops
    ops = {f"lapvar-{w} (local)": (lambda im, w=w: lapvar(im, w)) for w in (11, 15, 21)}
    ops.update({f"tenengrad-{w} (local)": (lambda im, w=w: tenengrad(im, w)) for w in (11, 15, 21)})
    return ops


def score(maps: list[np.ndarray], gts: list[np.ndarray]) -> tuple[float, float]:
    """(maxF, MAE) of the sod protocol via PySODMetrics."""
    from py_sod_metrics import MAE, Fmeasure

    fm, mae = Fmeasure(), MAE()
    for m, g in zip(maps, gts, strict=True):
        pred = np.clip(np.rint(m * 255), 0, 255).astype(np.uint8)
        gt = np.clip(np.rint(g * 255), 0, 255).astype(np.uint8)
        fm.step(pred=pred, gt=gt)
        mae.step(pred=pred, gt=gt)
    return float(fm.get_results()["fm"]["curve"].max()), float(mae.get_results()["mae"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench-train-tiny"))
    ap.add_argument("--model", default="btbcrl")
    ap.add_argument("--train", type=int, default=100)
    ap.add_argument("--test", type=int, default=30)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--minutes", type=float, default=30.0, help="a guard: stop after this long")
    ap.add_argument(
        "--epochs",
        type=int,
        default=29,
        help="the step budget (25 steps per epoch; the learning rate decays over it): 29 epochs = "
        "725 steps, what 3 minutes give on an idle core",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, help="override the preset's learning rate")
    ap.add_argument("--train-size", type=int, help="override the preset's training crop side")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    from dbdbench.baselines.deep.data import training_sources
    from dbdbench.baselines.deep.predictor import predict_map
    from dbdbench.baselines.deep.train import TrainOptions, train

    if args.out.exists():
        shutil.rmtree(args.out)
    train_dir, source = simulated(args.out / "train-data", args.train, args.size, args.seed)
    test_dir, _ = simulated(args.out / "test-data", args.test, args.size, args.seed + 1)
    print(f"data: {args.train} training + {args.test} held-out {args.size}x{args.size} images from {source}")

    t0 = time.monotonic()
    opts = TrainOptions(
        args.model,
        args.out / "run",
        "tiny",
        epochs=args.epochs,
        max_minutes=args.minutes,
        seed=args.seed,
        device="cpu",
    )
    result = train(opts, training_sources([train_dir]), echo=None)
    seconds = time.monotonic() - t0
    hist = result.history
    print(
        f"trained {args.model} (tiny) for {seconds:.0f} s: {len(hist)} steps, {result.epochs} full epochs, "
        f"loss {hist[0][2]:.3f} -> {np.mean([h[2] for h in hist[-10:]]):.3f} (mean of last 10 steps)"
    )

    (test_index,) = training_sources([test_dir])
    images = [s.read_image() for s in test_index.samples]
    gts = [s.read_mask() for s in test_index.samples]
    rows = []
    t = time.monotonic()
    maps = [predict_map(im, model=args.model, checkpoint=str(result.checkpoint)) for im in images]
    rows.append((f"{args.model} (tiny, {seconds / 60:.1f} min CPU)", *score(maps, gts), time.monotonic() - t))
    for name, func in reference_operators().items():
        t = time.monotonic()
        maps = [func(im) for im in images]
        rows.append((name, *score(maps, gts), time.monotonic() - t))
    print(f"\n{'method':<36} {'maxF':>7} {'MAE':>7} {'s':>6}")
    for name, f, m, s in rows:
        print(f"{name:<36} {f:7.4f} {m:7.4f} {s:6.2f}")
    best_ref = max(rows[1:], key=lambda r: r[1])
    print(f"\n{args.model} maxF / best operator ({best_ref[0]}) maxF = {rows[0][1] / best_ref[1]:.3f}")
    print(f"loss curve: {args.out / 'run' / 'loss.csv'}, {args.out / 'run' / 'loss.png'}")


if __name__ == "__main__":
    main()
