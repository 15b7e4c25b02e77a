"""CPU time of ``dbdbench``'s training loop against a plain PyTorch loop on the same model and data.

BTBCRL (Zhao et al., IEEE TPAMI 2020), ``tiny`` preset, one thread. Both runs build the model with
the same seed, read the same :class:`~dbdbench.baselines.deep.data.TrainingSet` through a DataLoader
with the same sampler order and batch, and take Adam steps on the summed deep-supervision loss; the
plain loop does nothing else. ``train`` adds the cosine learning rate, the loss bookkeeping, the
progress bar, and per epoch ``last.pt``, a snapshot, ``loss.csv`` and the log (``loss.png`` at the
end). The runs alternate ``--repeats`` times; the table gives the fastest of each (process CPU
time) and their ratio, and checks that both loops end with the same weights.

    .venv/bin/python benchmarks/bench_train_overhead.py --epochs 5 --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch


def plain_loop(sources, epochs: int, seed: int):
    """The reference: seeded model, DataLoader, forward, summed loss, backward, Adam; nothing else."""
    from dbdbench.baselines.deep.data import TrainingSet
    from dbdbench.baselines.deep.distributed import Ranks
    from dbdbench.baselines.deep.losses import deep_supervision_loss
    from dbdbench.baselines.deep.models import build_model, get_preset
    from dbdbench.baselines.deep.train import cosine_lr, make_loader

    preset = get_preset("tiny")
    torch.manual_seed(seed)
    model = build_model("btbcrl", preset).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr)
    dataset = TrainingSet(sources, preset.train_size, preset.crop, seed=seed)
    loader, sampler = make_loader(dataset, preset.batch_size, Ranks(), seed, 0, pin=False)
    planned, step = epochs * len(loader), 0
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch)
        for x, y, _ in loader:
            for group in optimizer.param_groups:  # the same schedule, so the weights can be compared
                group["lr"] = cosine_lr(preset.lr, step, planned)
            loss = deep_supervision_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--count", type=int, default=24, help="simulated training pairs (batch 4)")
    ap.add_argument("--size", type=int, default=96, help="side of the simulated images")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from dbdbench.baselines.deep.data import training_sources
    from dbdbench.baselines.deep.synthetic import write_pairs
    from dbdbench.baselines.deep.train import TrainOptions, train

    work = Path(tempfile.mkdtemp(prefix="bench-train-overhead-"))
    try:
        sources = training_sources([write_pairs(work / "data", args.count, args.size, seed=0)])
        times = {"plain loop": [], "dbdbench train": []}
        for k in range(args.repeats):
            t = time.process_time()
            ref = plain_loop(sources, args.epochs, seed=0)
            times["plain loop"].append(time.process_time() - t)
            t = time.process_time()
            opts = TrainOptions("btbcrl", work / f"run{k}", epochs=args.epochs, seed=0, device="cpu")
            result = train(opts, sources, echo=None, progress=False)
            times["dbdbench train"].append(time.process_time() - t)
        a, b = ref.state_dict(), result.model.state_dict()
        same = all(torch.equal(a[key], b[key]) for key in a)
        steps = len(result.history)
        print(
            f"btbcrl (tiny), {args.count} pairs of {args.size}x{args.size}, "
            f"{args.epochs} epochs = {steps} steps, 1 thread"
        )
        print(f"\n| loop | CPU s (fastest of {args.repeats}) | ratio |\n|---|---:|---:|")
        base = min(times["plain loop"])
        for name, ts in times.items():
            print(f"| {name} | {min(ts):.2f} | {min(ts) / base:.3f} |")
        print(f"\nsame final weights: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
