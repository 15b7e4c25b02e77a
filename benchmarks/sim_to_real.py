"""Sim-to-real: which simulated training set makes the tiny BTBCRL better on real defocus photos?

BTBCRL (Zhao et al., IEEE TPAMI 2020) is pre-trained on simulated data (their "PT-SD"). This benchmark
pre-trains the ``tiny`` preset on two simulated sets of equal size made by
:func:`dbdbench.generators.generate_sim` (the ``btbnet`` recipe: Gaussian blur outside a mask, as the
papers do; the ``lens`` recipe: thin-lens blur from depth), with the same seed and the same step
budget, then scores both on the real photos of ``$DBDBENCH_DATA``:

- ``cuhk``: the CUHK defocus photos present in ``cuhk/image`` (masks white = blurred),
- ``xu100`` and ``dut500``: the 320 x 320 test copies in ``denets-samples`` (white = in-focus),

under the ``sod`` (maxF, MAE) and ``ddffnet`` (MAE, F, IoU) protocols, beside the classical lapvar,
lbp and hifst detectors. One PyTorch thread and one OpenCV thread.

    DBDBENCH_DATA=/work/shared/data .venv/bin/python benchmarks/sim_to_real.py --out runs/sim-to-real
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import time
from pathlib import Path

import cv2
import torch

# (dataset, folder under $DBDBENCH_DATA, split)
REAL = (
    ("cuhk", "cuhk", "all"),
    ("xu100", "denets-samples/xu100", None),
    ("dut500", "denets-samples/dut500", None),
)
BASELINES = ("lapvar", "lbp", "hifst")
PROTOCOLS = {"sod": ("max_f", "mae"), "ddffnet": ("mae", "f", "iou")}


def real_items(data: Path) -> dict[str, tuple[Path, str | None, list[tuple[str, str]]]]:
    """dataset -> (root, split, [(name, image path)]) for the samples whose photo is present."""
    from dbdbench.datasets import resolve

    out = {}
    for name, folder, split in REAL:
        index = resolve(name, data / folder, split)
        items = [
            (s.name, str(s.image_path)) for s in index.samples if s.image_path and s.image_path.is_file()
        ]
        out[name] = (data / folder, split, items)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/sim-to-real"))
    ap.add_argument("--count", type=int, default=300, help="simulated images per recipe")
    ap.add_argument("--size", type=int, default=320, help="side of the simulated images")
    ap.add_argument("--epochs", type=int, default=8, help="training epochs per recipe (the step budget)")
    ap.add_argument("--minutes", type=float, default=3.0, help="safety cap on each training run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="btbcrl")
    ap.add_argument(
        "--reuse-baselines",
        action="store_true",
        help="keep the baselines' maps of a previous run in --out (they do not depend on training)",
    )
    args = ap.parse_args()
    if "DBDBENCH_DATA" not in os.environ:
        raise SystemExit("set DBDBENCH_DATA to the shared real-data folder")
    data = Path(os.environ["DBDBENCH_DATA"])
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    from dbdbench.baselines.deep.data import training_sources
    from dbdbench.baselines.deep.train import TrainOptions, train
    from dbdbench.baselines.predict import predict_paths
    from dbdbench.evaluation import evaluate_many
    from dbdbench.generators import generate_sim

    for old in sorted(args.out.glob("*")):
        if not (args.reuse_baselines and old.name == "pred"):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    real = real_items(data)
    print("real photos: " + ", ".join(f"{k} {len(v[2])}" for k, v in real.items()))

    methods: dict[str, dict] = {}
    for recipe in ("btbnet", "lens"):
        sim = args.out / f"sim-{recipe}"
        t = time.monotonic()
        generate_sim(sim, recipe=recipe, count=args.count, size=args.size, seed=args.seed, progress=False)
        gen = time.monotonic() - t
        opts = TrainOptions(
            args.model, args.out / f"run-{recipe}", "tiny", epochs=args.epochs, max_minutes=args.minutes,
            seed=args.seed, device="cpu",
        )  # fmt: skip
        t = time.monotonic()
        result = train(opts, training_sources([sim]), echo=None, progress=False)
        hist = result.history
        print(
            f"{recipe}: generated {args.count} x {args.size} px in {gen:.0f} s; trained {len(hist)} steps "
            f"({result.epochs} epochs, stopped by {result.stopped}) in {time.monotonic() - t:.0f} s, "
            f"loss {hist[0][2]:.3f} -> {sum(h[2] for h in hist[-20:]) / min(20, len(hist)):.3f}"
        )
        methods[f"{args.model} (tiny, {recipe} sim)"] = {
            "method": args.model,
            "params": {"checkpoint": str(result.checkpoint), "device": "cpu"},
        }
    for name in BASELINES:
        methods[name] = {"method": name, "params": None}

    rows = []
    for label, spec in methods.items():
        for dataset, (root, split, items) in real.items():
            pred = args.out / "pred" / re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") / dataset
            t = time.monotonic()
            reuse = (
                args.reuse_baselines and label in BASELINES and len(list(pred.glob("*.png"))) == len(items)
            )
            if not reuse:
                predict_paths(spec["method"], items, pred, params=spec["params"])
            seconds = float("nan") if reuse else time.monotonic() - t
            res = evaluate_many(
                {label: pred},
                dataset=dataset,
                root=root,
                split=split,
                protocols=list(PROTOCOLS),
                allow_missing=True,
            )  # both protocols from one read of every map and mask
            scores = {f"{p} {k}": res[label, p].summary[k] for p, keys in PROTOCOLS.items() for k in keys}
            rows.append((label, dataset, len(items), scores, seconds))
            print(f"  {label} on {dataset}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))

    keys = [f"{p} {k}" for p, ks in PROTOCOLS.items() for k in ks]
    lines = [
        "| method | data | n | " + " | ".join(keys) + " | s |",
        "|---|---|---:|" + "---:|" * len(keys) + "---:|",
    ]
    for label, dataset, n, scores, seconds in rows:
        lines.append(
            f"| {label} | {dataset} | {n} | "
            + " | ".join(f"{scores[k]:.3f}" for k in keys)
            + f" | {seconds:.1f} |"
        )
    table = "\n".join(lines)
    (args.out / "table.md").write_text(table + "\n", encoding="utf-8")
    print("\n" + table)


if __name__ == "__main__":
    main()
