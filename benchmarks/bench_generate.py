"""Speed of ``generate-sim`` (btbnet recipe), as ratios measured in one run.

1. Per-sample overhead: ``generate_sim(workers=1)`` against a bare loop that does only the same crop,
   Gaussian blur, composite and PNG encoding (image and mask) with the parameters the generator drew
   (read back from its manifest; masks and sources decoded before timing, as the generator caches
   its sources). Both after a warm-up run (imports), best of ``--repeat`` (3); wall and CPU time of
   this process. Both run with the allocator setting the generator applies to its processes
   (:mod:`dbdbench.generators.allocator`), so the bare loop does not pay the page faults that the
   generator avoids.
2. Scaling: ``workers=2`` against ``workers=1`` (wall, best of ``--repeat`` each; the load average of the
   machine before and after is printed, as other users' jobs take cores away).
3. The time of the full default run (40000 samples, 320 px) extrapolated from the measured rate, plus
   the fixed cost of a run (source screening, manifest), measured with ``count=1``.

Usage::

    .venv/bin/python benchmarks/bench_generate.py [--count 300] [--size 320] [--repeat 3] [--dir DIR]

Built-in photos only (no procedural textures), so that the bare loop can redo every sample. The sets
are written under ``--dir`` (default: the system's temporary folder); the generator's own extra work
includes creating two files per sample, whose cost depends on the file system (``--dir /dev/shm``
measures it on tmpfs).
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
from dbdbench.generators.allocator import keep_freed_memory
from dbdbench.generators.btbnet import composite
from dbdbench.generators.sources import apply_crop, skimage_data_dir
from dbdbench.imageio import encode_image, read_grey, read_rgb


def bare_loop(out: Path, size: int) -> tuple[float, float]:
    """(wall, CPU) seconds for crop + blur + composite + encode of every sample in ``out``'s manifest."""
    with (out / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    masks = [(read_grey(out / r["gt"]) > 127).astype(np.float32) for r in rows]
    cv2.setNumThreads(1)
    root = skimage_data_dir()  # the sources are decoded once, untimed, as the generator's cache does
    photos = {f"skimage:{n}": read_rgb(root / n) for n in {r["source"][8:] for r in rows}}
    t0, c0 = time.perf_counter(), time.process_time()
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
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None, help="folder for the generated sets (default: system temp)")
    args = ap.parse_args()
    recipe = load_recipe("btbnet")
    recipe.screen.procedural_fraction = 0.0
    n = args.count
    keep_freed_memory()  # as generate_sim does in each of its processes, for the bare loop too
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        load0 = os.getloadavg()
        timed_run(tmp / "warm", recipe, 4, args.size, 1)  # imports and caches, not timed
        timed_run(tmp / "warm2", recipe, 8, args.size, 2)  # starts the worker processes, not timed
        fixed = min(timed_run(tmp / "one", recipe, 1, args.size, 1) for _ in range(3))
        runs: dict[str, list[tuple[float, float]]] = {"bare": [], "w1": [], "w2": []}
        for _ in range(args.repeat):
            runs["w1"].append(timed_run(tmp / "w1", recipe, n, args.size, 1))
            runs["bare"].append(bare_loop(tmp / "w1", args.size))
            runs["w2"].append(timed_run(tmp / "w2", recipe, n, args.size, 2))
        load1 = os.getloadavg()
    # best of the repeats, wall and CPU each
    (bare, cbare), (t1, c1), (t2, _) = (
        tuple(map(min, zip(*runs[k], strict=True))) for k in ("bare", "w1", "w2")
    )
    print(
        f"generate-sim btbnet, {n} samples of {args.size} px, written under {Path(tmp).parent}, "
        f"{os.cpu_count()} CPUs, load average "
        f"(1, 5, 15 min) {', '.join(f'{x:.2f}' for x in load0)} -> {', '.join(f'{x:.2f}' for x in load1)}"
    )
    head = f"run (best of {args.repeat})"
    print(f"{head:<28}{'wall s':>8}{'ms/sample':>10}{'ratio':>7}{'CPU s':>8}{'ratio':>7}")
    print(f"{'bare loop':<28}{bare:>8.2f}{1000 * bare / n:>10.2f}{1:>7.2f}{cbare:>8.2f}{1:>7.2f}")
    print(
        f"{'generate_sim workers=1':<28}{t1:>8.2f}{1000 * t1 / n:>10.2f}{t1 / bare:>7.2f}"
        f"{c1:>8.2f}{c1 / cbare:>7.2f}"
    )
    print(f"{'generate_sim workers=2':<28}{t2:>8.2f}{1000 * t2 / n:>10.2f}{t2 / bare:>7.2f}")
    print(
        "speed-up of 2 workers over 1 (wall), each run: "
        + ", ".join(f"{a[0] / b[0]:.2f}x" for a, b in zip(runs["w1"], runs["w2"], strict=True))
        + f"; best of {args.repeat} each: {t1 / t2:.2f}x"
    )
    print(f"fixed cost of a run (count=1, best of 3): {fixed[0]:.3f} s wall")
    for w, t in ((1, t1), (2, t2)):
        full = 40000 * (t - fixed[0]) / n + fixed[0]
        print(f"estimated full default run (40000 x 320 px), workers={w}: {full / 60:.1f} min")


if __name__ == "__main__":
    main()
