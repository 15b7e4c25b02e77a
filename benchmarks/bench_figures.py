"""Speed of the visual comparison figure and of the map browser's thumbnails.

Gallery: `dbdbench figure`'s work (read 8 CUHK-sized photos, their GT and the maps of 6 methods,
score them under `sod`, compose the grid, write PNG + SVG + PDF) against the plain way, a
matplotlib grid of 8 x 8 ``imshow`` axes of the full-size images saved in the same three formats.
Thumbnails: the browser's thumbnails and large views for N images x (photo, GT, 5 methods) with
``--workers``, against Pillow's ``Image.thumbnail`` + save of the same files in one process.

Synthetic photos and maps of CUHK's size (640 x 427), made in a temporary folder first. Wall and
CPU seconds (of this process) are both printed: on a shared machine the CPU time shows the cost
on a quiet one. Run:

    .venv/bin/python benchmarks/bench_figures.py [--images 1000] [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from dbdbench.imageio import write_image

H, W = 427, 640
METHODS = 6


def make_data(root: Path, n: int, methods: int, seed: int = 0) -> None:
    """n smooth random photos with a GT each and ``methods`` noisy maps of it."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        small = rng.integers(0, 256, (27, 40, 3), dtype=np.uint8)
        write_image(root / "image" / f"{i:04d}.jpg", cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC))
        field = cv2.GaussianBlur(rng.standard_normal((H // 8, W // 8)).astype(np.float32), (0, 0), 3)
        gt = (cv2.resize(field, (W, H)) > 0).astype(np.uint8) * 255
        write_image(root / "gt" / f"{i:04d}.png", gt)
        for m in range(methods):
            soft = cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 4 + 2 * m)
            pred = np.clip(soft + rng.normal(0, 20 + 10 * m, (H, W)), 0, 255).astype(np.uint8)
            write_image(root / f"m{m}" / f"{i:04d}.png", pred)


def best_of(func, repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time of this process over ``repeats`` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def imshow_grid(root: Path, names: list[str], out: Path) -> None:
    """The reference: one axes per cell, full-size images, saved as PNG, SVG and PDF."""
    from matplotlib.figure import Figure

    from dbdbench.imageio import read_grey, read_rgb

    cols = ["image", *(f"m{m}" for m in range(METHODS)), "gt"]
    fig = Figure(figsize=(7.16, 7.16 * len(names) / len(cols) * H / W))
    axes = fig.subplots(len(names), len(cols), squeeze=False)
    for r, n in enumerate(names):
        for c, col in enumerate(cols):
            ax = axes[r][c]
            if col == "image":
                ax.imshow(read_rgb(root / col / f"{n}.jpg"))
            else:
                ax.imshow(read_grey(root / col / f"{n}.png"), cmap="gray", vmin=0, vmax=255)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(col, fontsize=7)
    for fmt in ("png", "svg", "pdf"):
        fig.savefig(out.with_suffix(f".{fmt}"), dpi=300)


def pillow_thumbnails(tasks: list[tuple[str, str, str | None, str, str]]) -> None:
    """The reference: Pillow opens each file, ``thumbnail``s it twice (large view, thumbnail), saves."""
    from PIL import Image

    from dbdbench.leaderboards.browser import FULL, THUMB

    for src, kind, _, thumb, full in tasks:
        with Image.open(src) as im:
            im = im.convert("RGB" if kind == "photo" else "L")
            im.thumbnail((FULL, FULL))
            im.save(full)
            im.thumbnail((THUMB, THUMB))
            im.save(thumb)


def bench_gallery(root: Path, repeats: int, workers: int) -> None:
    from dbdbench.leaderboards.gallery import make_gallery

    g = root / "g"
    make_data(g, 8, METHODS)
    preds = {f"m{m}": g / f"m{m}" for m in range(METHODS)}
    names = [f"{i:04d}" for i in range(8)]
    out = root / "out"
    out.mkdir()
    common = {"images_dir": g / "image", "gt_dir": g / "gt", "score": "f"}
    rows = [
        ("matplotlib imshow grid, 64 axes (reference)", lambda: imshow_grid(g, names, out / "ref.png")),
        ("dbdbench figure --stems (read, score, draw)",
         lambda: make_gallery(preds, out / "a.png", names=names, **common)),
        ("dbdbench figure --pick hardest --rows 8",
         lambda: make_gallery(preds, out / "b.png", rows=8, **common)),
        (f"dbdbench figure --stems --workers {workers}",
         lambda: make_gallery(preds, out / "c.png", names=names, workers=workers, **common)),
    ]  # fmt: skip
    times = [(label, best_of(func, repeats)) for label, func in rows]
    print(f"gallery: 8 rows x {METHODS} methods of {W}x{H} photos, PNG + SVG + PDF (best of {repeats})")
    print(f"{'implementation':<48}{'wall s':>9}{'CPU s':>9}{'ratio':>8}")
    ref = times[0][1][0]
    for label, (wall, cpu) in times:
        cpu_text = f"{cpu:>9.2f}" if "--workers" not in label else f"{'-':>9}"  # workers' CPU is elsewhere
        print(f"{label:<48}{wall:>9.2f}{cpu_text}{ref / wall:>8.2f}")


def bench_thumbnails(root: Path, n: int, workers: int) -> None:
    from dbdbench.leaderboards.browser import Browser, Column, write_pictures

    b = root / "b"
    t = time.perf_counter()
    make_data(b, n, 5, seed=1)
    made = time.perf_counter() - t
    numbers = {f"{i:04d}": i for i in range(n)}
    cols = [Column("Image", "photo", {k: b / "image" / f"{k}.jpg" for k in numbers}, "image")]
    cols.append(Column("GT", "gt", {k: b / "gt" / f"{k}.png" for k in numbers}, "gt", "focus-white"))
    cols += [
        Column(f"m{m}", "map", {k: b / f"m{m}" / f"{k}.png" for k in numbers}, f"m{m}") for m in range(5)
    ]
    browser = Browser("s", "bench", list(numbers), cols, [], {}, numbers=numbers)
    t = time.perf_counter()
    files = write_pictures([browser], root / "board", workers=workers)
    t_ours = time.perf_counter() - t
    ref_dir = root / "ref"
    ref_dir.mkdir()
    sample = list(numbers)[: max(1, n // 10)]
    tasks = []
    for c in cols:
        ext = ".jpg" if c.kind == "photo" else ".png"
        for k in sample:
            tasks.append((str(c.files[k]), c.kind, None, str(ref_dir / f"{c.folder}-{k}{ext}"),
                          str(ref_dir / f"{c.folder}-{k}-full{ext}")))  # fmt: skip
    t = time.perf_counter()
    pillow_thumbnails(tasks)
    t_ref = (time.perf_counter() - t) * len(files) / (2 * len(tasks))
    print(f"\nbrowser pictures: {n} images x 7 columns = {len(files)} files (test data made in {made:.0f} s)")
    print(f"{'implementation':<48}{'wall s':>9}{'ratio':>8}")
    print(f"{'Pillow thumbnail + save, 1 process (reference)':<48}{t_ref:>9.1f}{1.0:>8.2f}")
    print(f"{f'dbdbench, --workers {workers}':<48}{t_ours:>9.1f}{t_ref / t_ours:>8.2f}")
    print("(the reference is timed on a tenth of the images and scaled)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000, help="Images of the thumbnail part.")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_gallery(Path(tmp), args.repeats, args.workers)
        bench_thumbnails(Path(tmp), args.images, args.workers)


if __name__ == "__main__":
    main()
