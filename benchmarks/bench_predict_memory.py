"""Peak memory of ``dbdbench predict`` with a deep model on a large photo: untiled vs tiled.

BTBCRL (Zhao et al., IEEE TPAMI 2020), ``tiny`` preset, which predicts at the photo's own size. The
photo is synthetic (seeded noise plus smooth gradients: memory depends on the size only) and the
weights are the seeded initial ones (memory does not depend on them). Each case is one
``dbdbench predict`` process under ``/usr/bin/time -v``; its maximum resident set size is reported
beside the model's own estimate (:meth:`~dbdbench.baselines.deep.models.DBDModel.forward_bytes`).
Cases: ``--param max_pixels=N`` with N above the photo's pixel count (one forward pass: what
``predict`` did before it tiled) and the default ``max_pixels=0`` (tiles within a 2 GiB estimate).

    .venv/bin/python benchmarks/bench_predict_memory.py --out runs/bench-predict-memory
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/bench-predict-memory"))
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--model", default="btbcrl")
    args = ap.parse_args()
    import torch

    from dbdbench.baselines.deep.checkpoint import save_checkpoint
    from dbdbench.baselines.deep.models import build_model
    from dbdbench.imageio import write_image

    if args.out.exists():
        shutil.rmtree(args.out)
    photos = args.out / "photos"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: args.height, : args.width]
    base = (127 + 60 * np.sin(xx / 97.0) * np.cos(yy / 131.0))[..., None]
    image = np.clip(base + rng.normal(0, 20, (args.height, args.width, 3)), 0, 255).astype(np.uint8)
    write_image(photos / "big.png", image)
    torch.manual_seed(0)
    model = build_model(args.model, "tiny")
    ckpt = save_checkpoint(args.out / "model.pt", model)
    estimate = model.forward_bytes(args.height, args.width) / 2**30
    pixels = args.height * args.width
    print(f"{args.model} (tiny), {args.width}x{args.height} photo; forward pass estimate {estimate:.2f} GiB")
    print("\n| case | max RSS GiB | wall s |\n|---|---:|---:|")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for case, param in (("untiled (max_pixels above the photo)", f"max_pixels={pixels + 1}"),
                        ("tiled (default max_pixels=0)", "max_pixels=0")):  # fmt: skip
        out = args.out / f"maps-{param.split('=')[1]}"
        cmd = [
            "/usr/bin/time", "-v", sys.executable, "-m", "dbdbench", "predict", "--method", args.model,
            "--checkpoint", str(ckpt), "--images", str(photos), "--out", str(out), "--param", param,
        ]  # fmt: skip
        t = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.monotonic() - t
        if done.returncode != 0:
            print(f"| {case} | failed: {done.stderr.strip().splitlines()[-1]} | |")
            continue
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 2**20
        print(f"| {case} | {rss:.2f} | {wall:.0f} |", flush=True)
    from dbdbench.imageio import read_grey

    a = read_grey(args.out / f"maps-{pixels + 1}" / "big.png").astype(int)
    b = read_grey(args.out / "maps-0" / "big.png").astype(int)
    print(f"\n8-bit maps: max |tiled - untiled| = {np.abs(a - b).max()} grey levels")


if __name__ == "__main__":
    main()
