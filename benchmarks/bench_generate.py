"""Speed of ``generate-sim`` (btbnet recipe), as ratios measured in one run.

1. Per-sample overhead: ``generate_sim(workers=1)`` against a bare loop that does only the same crop,
   Gaussian blur, composite and PNG encoding (image and mask) with the parameters the generator drew
   (read back from its manifest; masks preloaded; sources decoded once, as the generator caches them).
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
from dbdbench.generators.sources import BUILTIN_PHOTOS, apply_crop, skimage_data_dir

from dbdbench.imageio import encode_image, read_grey, read_rgb


def bare_loop(out: Path, size: int) -> float:
    """Seconds for crop + blur + composite + encode of every sample listed in ``out``'s manifest."""
    with (out / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    root = skimage_data_dir()
    photos = {f"skimage:{n}": read_rgb(root / n) for n in BUILTIN_PHOTOS if (root / n).is_file()}
    masks = [(read_grey(out / r["gt"]) > 127).astype(np.float32) for r in rows]
    cv2.setNumThreads(1)
    t0 = time.perf_counter()
    for r, m in zip(rows, masks, strict=True):
        src = photos[r["source"]]
        crop = apply_crop(src, int(r["crop_x"]), int(r["crop_y"]), int(r["crop_size"]), int(r["flip"]), size)
        img = composite(crop, m, float(r["sigma_px"]), method=r["compositing"])
        encode_image(img, ".png")
        encode_image(np.where(m > 0.5, 255, 0).astype(np.uint8), ".png")
    return time.perf_counter() - t0


def timed_run(out: Path, recipe, count: int, size: int, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    generate_sim(out, recipe=recipe, count=count, size=size, workers=workers, progress=False)
    return time.perf_counter() - t0


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
        t1 = timed_run(tmp / "w1", recipe, args.count, args.size, 1)
        bare = bare_loop(tmp / "w1", args.size)
        t2 = timed_run(tmp / "w2", recipe, args.count, args.size, 2)
        t1b = timed_run(tmp / "w1b", recipe, args.count, args.size, 1)
        load1 = os.getloadavg()[0]
    t1 = min(t1, t1b)
    n = args.count
    print(
        f"generate-sim btbnet, {n} samples of {args.size} px, {os.cpu_count()} CPUs, "
        f"load average {load0:.2f} -> {load1:.2f}"
    )
    print(f"{'run':<34}{'seconds':>9}{'ms/sample':>11}{'ratio':>8}")
    print(f"{'bare loop (crop+blur+comp+encode)':<34}{bare:>9.2f}{1000 * bare / n:>11.2f}{1.0:>8.2f}")
    print(f"{'generate_sim workers=1 (best of 2)':<34}{t1:>9.2f}{1000 * t1 / n:>11.2f}{t1 / bare:>8.2f}")
    print(f"{'generate_sim workers=2':<34}{t2:>9.2f}{1000 * t2 / n:>11.2f}{t2 / bare:>8.2f}")
    print(f"speed-up of 2 workers over 1: {t1 / t2:.2f}x")
    for w, t in ((1, t1), (2, t2)):
        print(f"estimated full default run (40000 x 320 px), workers={w}: {40000 * t / n / 3600:.2f} h")


if __name__ == "__main__":
    main()
