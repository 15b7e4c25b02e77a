"""Speed of ``generate-sim`` (btbnet recipe), as ratios measured in one run.

1. Per-sample overhead: ``generate_sim(workers=1)`` against a bare loop that does only the same crop,
   Gaussian blur, composite and PNG encoding (image and mask) with the parameters the generator drew
   (read back from its manifest; masks preloaded; sources decoded once, as the generator caches them).
   Both after a warm-up run (imports), best of two; wall and CPU time of this process.
2. Scaling: ``workers=2`` against ``workers=1``.
3. The time of the full default run (40000 samples, 320 px) extrapolated from the measured rate.

Usage::

    .venv/bin/python benchmarks/bench_generate.py [--count 300] [--size 320]

Built-in photos only (no procedural textures), so that the bare loop can redo every sample.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from dbdbench.generators import generate_sim, load_recipe
from dbdbench.generators.btbnet import composite
from dbdbench.generators.sources import apply_crop, skimage_data_dir
from dbdbench.imageio import encode_image, read_grey, read_rgb


def bare_loop(out: Path, size: int) -> tuple[float, float]:
    """(wall, CPU) seconds for crop + blur + composite + encode of every sample in ``out``'s manifest."""
    with (out / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    masks = [(read_grey(out / r["gt"]) > 127).astype(np.float32) for r in rows]
    cv2.setNumThreads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    root = skimage_data_dir()  # the sources are decoded once, as the generator's cache does
    photos = {f"skimage:{n}": read_rgb(root / n) for n in {r["source"][8:] for r in rows}}
    for r, m in zip(rows, masks, strict=True):
        src = photos[r["source"]]
        crop = apply_crop(src, int(r["crop_x"]), int(r["crop_y"]), int(r["crop_size"]), int(r["flip"]), size)
        img = composite(crop, m, float(r["sigma_px"]), method=r["compositing"])
        encode_image(img, ".png")
        encode_image((m > 0.5).astype(np.uint8) * np.uint8(255), ".png")
    return time.perf_counter() - t0, time.process_time() - c0


def timed_run(out: Path, recipe, count: int, size: int, workers: int) -> tuple[float, float]:
    """(wall, CPU of this process) seconds of one generate_sim run into a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    generate_sim(out, recipe=recipe, count=count, size=size, workers=workers, progress=False)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--size", type=int, default=320)
    args = ap.parse_args()
    recipe = load_recipe("btbnet")
    recipe.screen.procedural_fraction = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        load0 = os.getloadavg()[0]
        timed_run(tmp / "warm", recipe, 4, args.size, 1)  # imports and caches, not timed
        timed_run(tmp / "warm2", recipe, 8, args.size, 2)  # starts the worker processes, not timed
        t1, c1 = timed_run(tmp / "w1", recipe, args.count, args.size, 1)
        bare_ = bare_loop(tmp / "w1", args.size)
        w2 = timed_run(tmp / "w2", recipe, args.count, args.size, 2)
        t1b, c1b = timed_run(tmp / "w1b", recipe, args.count, args.size, 1)
        bare_ = min(bare_, bare_loop(tmp / "w1", args.size))
        load1 = os.getloadavg()[0]
    (t1, c1) = min((t1, c1), (t1b, c1b))
    (bare, cbare), (t2, _) = bare_, w2
    n = args.count
    print(
        f"generate-sim btbnet, {n} samples of {args.size} px, {os.cpu_count()} CPUs, "
        f"load average {load0:.2f} -> {load1:.2f}"
    )
    print(f"{'run':<36}{'wall s':>8}{'ms/sample':>10}{'ratio':>7}{'CPU s':>8}{'ratio':>7}")
    print(f"{'bare loop (best of 2)':<36}{bare:>8.2f}{1000 * bare / n:>10.2f}{1:>7.2f}{cbare:>8.2f}{1:>7.2f}")
    print(
        f"{'generate_sim workers=1 (best of 2)':<36}{t1:>8.2f}{1000 * t1 / n:>10.2f}{t1 / bare:>7.2f}"
        f"{c1:>8.2f}{c1 / cbare:>7.2f}"
    )
    print(f"{'generate_sim workers=2':<36}{t2:>8.2f}{1000 * t2 / n:>10.2f}{t2 / bare:>7.2f}")
    print(f"speed-up of 2 workers over 1 (wall): {t1 / t2:.2f}x")
    for w, t in ((1, t1), (2, t2)):
        print(f"estimated full default run (40000 x 320 px), workers={w}: {40000 * t / n / 3600:.2f} h")


if __name__ == "__main__":
    main()
