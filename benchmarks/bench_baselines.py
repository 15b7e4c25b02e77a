"""Speed and accuracy of the classical detectors (``dbdbench predict``), ratios in one run.

1. HiFST at every pixel and at stride 4 against the third-party port ``blur-detector`` (PyPI), which
   computes only every 4th pixel in each direction and interpolates: time per photo, and Pearson
   correlation of each with the HiFST authors' own maps, on the 9 CUHK photos.
2. Time per 640 x 427 photo of every registered classical detector (median of repeats, one thread),
   and the LBP metric against scikit-image's ``local_binary_pattern`` (uniform, 8 neighbours, radius
   1) followed by the same window fraction: the codes alone are the reference's whole job.
3. Accuracy of every registered classical detector: maxF (beta^2 = 0.3, 256 thresholds, the
   salient-object protocol, computed with ``py_sod_metrics``) and MAE on the 7 CUHK defocus photos,
   the 5 DUT-DBD samples and a simulated test set (12 images, btbnet recipe, seed 2026), with the
   HiFST authors' maps as a reference row on CUHK, and the mean time per image.
4. ``--part dbdf``: DBDF against the authors' Octave maps on the 10 reference images (Pearson r of
   each per-scale posterior and of the final map, mean absolute difference) and its time per
   320 x 320 image beside the Octave run's (16-54 min per image, ``reference/README.md``).
5. ``--part authors``: the ports against their authors' own code (``benchmarks/validate_authors.py``:
   the r / MAD / maxF table on the photos of the reference run), then each port's CPU time per
   photo beside the time the authors' code took under Octave (:data:`AUTHORS_SECONDS`), as a ratio.

Detectors that need the authors' parameter files (dbdf) read them from ``$DBDBENCH_DATA/authors``.

Usage::

    DBDBENCH_DATA=/path/to/shared/data python benchmarks/bench_baselines.py [--quick] [--part authors]

``--quick`` uses 3 CUHK photos in part 1 and skips nothing else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

#: Wall time of the authors' MATLAB code under GNU Octave per 640-wide CUHK photo, seconds (lowest,
#: highest), from reference/README.md, "Time per image" of section 1 (Yi & Eramian: metric, matting
#: and inference together, 7-21 min) and of section 5a (Zhuo & Sim, 4.4-12.5 min). That machine had
#: 2 cores shared with other jobs (load 7-10), so these are upper bounds of the code's own time.
AUTHORS_SECONDS = {
    "lbp-matting": (7 * 60, 21 * 60),
    "zhuo": (4.4 * 60, 12.5 * 60),
    "zhuo-reference-edges": (4.4 * 60, 12.5 * 60),
    "dbdf": (16 * 60, 54 * 60),  # section 2: per 320 x 320 image (its reference covers only those)
}


def _timed(func, *args, **kwargs):
    t = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - t


def _pearson(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def part_hifst_vs_blur_detector(data: Path, quick: bool):
    import blur_detector

    from dbdbench.baselines.hifst import hifst
    from dbdbench.imageio import read_rgb, read_unit
    from dbdbench.pairing import list_images

    cv2.setNumThreads(1)  # one thread for both ports, as in the other parts
    images = list(list_images(data / "cuhk/image").items())
    if quick:
        images = images[:3]
    print("## HiFST (every pixel, and stride 4) vs blur-detector (stride 4), one process, same photos\n")
    print(
        "| photo | ours s | ours S=4 s | bd(7..63) s | bd(3..31) s | ratio vs 7..63 | ratio vs 3..31 "
        "| ratio S=4 vs 7..63 | r ours | r ours S=4 | r bd(7..63) | r bd(3..31) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name, path in images:
        img = read_rgb(path)
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        ref = read_unit(data / "cuhk/results/hifst" / f"{name}_HiFSTBlurMap.png")
        ours, t_ours = _timed(hifst, img)
        ours4, t_ours4 = _timed(hifst, img, stride=4)
        bd = {}
        for start in (3, 2):  # scales 7, 15, 31, 63 (the paper's) and 3, 7, 15, 31
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bd[start] = _timed(
                    blur_detector.detectBlur,
                    grey,
                    downsampling_factor=4,
                    num_scales=4,
                    scale_start=start,
                    num_iterations_RF_filter=3,
                    show_progress=False,
                )
        row = (
            t_ours,
            t_ours4,
            bd[3][1],
            bd[2][1],
            _pearson(ours, ref),
            _pearson(ours4, ref),
            _pearson(bd[3][0], ref),
            _pearson(bd[2][0], ref),
        )
        rows.append(row)
        print(
            f"| {name} | {row[0]:.2f} | {row[1]:.2f} | {row[2]:.2f} | {row[3]:.2f} | {row[0] / row[2]:.2f} | "
            f"{row[0] / row[3]:.2f} | {row[1] / row[2]:.2f} | {row[4]:.4f} | {row[5]:.4f} | {row[6]:.4f} | "
            f"{row[7]:.4f} |"
        )
    tot = np.sum(rows, axis=0)
    mean = np.mean(rows, axis=0)
    low = np.min(rows, axis=0)
    print(
        f"| **all** | {tot[0]:.1f} | {tot[1]:.1f} | {tot[2]:.1f} | {tot[3]:.1f} | "
        f"**{tot[0] / tot[2]:.2f}** | **{tot[0] / tot[3]:.2f}** | **{tot[1] / tot[2]:.2f}** | "
        f"{mean[4]:.4f} (min {low[4]:.4f}) | "
        f"{mean[5]:.4f} (min {low[5]:.4f}) | {mean[6]:.4f} | {mean[7]:.4f} |\n"
    )


def _needed(m, data: Path, params=None):
    """Parameters a detector cannot run without (dbdf: the authors' folder), added to ``params``."""
    return {"model": str(data / "authors/dbdf"), **(params or {})} if m.name == "dbdf" else params


#: Octave run of the authors' DBDF code per 320 x 320 image, fastest and slowest (reference/README.md).
DBDF_OCTAVE_MIN = (16, 54)


def part_dbdf(data: Path):
    import scipy.io

    from dbdbench.baselines.dbdf import blur_maps, dbdf, grey_unit
    from dbdbench.baselines.dbdf_model import load_model
    from dbdbench.imageio import read_rgb

    cv2.setNumThreads(1)
    ref, folder = data / "reference", data / "authors/dbdf"
    model = load_model(folder)
    print("## DBDF vs the authors' Octave maps (reference/dbdf_*), one thread\n")
    print("| image | r s=11 | r s=15 | r s=21 | r final | mean abs diff final | s / image | CPU s / image |")
    print("|---|---|---|---|---|---|---|---|")
    times, cpu_times = [], []
    for path in sorted((ref / "dbdf_final").glob("*.mat")):
        stem = path.stem
        rgb = read_rgb(ref / "inputs" / f"{stem}.png")
        cpu = time.process_time()  # beside the wall time: the machine may be shared
        out, t = _timed(dbdf, rgb, model=str(folder))
        cpu = time.process_time() - cpu
        times.append(t)
        cpu_times.append(cpu)
        post, _ = blur_maps(grey_unit(rgb), model)  # the per-scale maps the timed call made
        cells = []
        for s in (11, 15, 21):
            o = s // 2
            cells.append(
                _pearson(post[s], scipy.io.loadmat(ref / f"dbdf_nb_s{s}" / path.name)["map"][o:-o, o:-o])
            )
        final = scipy.io.loadmat(path)["map"]
        blurred = 1.0 - out.astype(np.float64)
        cells.append(_pearson(blurred, final))
        mad = float(np.abs(blurred - final).mean())
        rs = " | ".join(f"{c:.4f}" for c in cells)
        print(f"| {stem} | {rs} | {mad:.5f} | {t:.1f} | {cpu:.1f} |")
    med, med_cpu = statistics.median(times), statistics.median(cpu_times)
    lo, hi = DBDF_OCTAVE_MIN
    ratios = f"{lo * 60 / med:.0f}-{hi * 60 / med:.0f}x"
    print(
        f"\nMedian {med:.1f} s ({med_cpu:.1f} s CPU) per image; Octave {lo}-{hi} min per image "
        f"(wall, on a loaded machine): {ratios} faster.\n"
    )


def part_speed(data: Path, repeats: int):
    from dbdbench.baselines.predict import run_detector
    from dbdbench.baselines.registry import list_methods
    from dbdbench.imageio import read_rgb

    cv2.setNumThreads(1)
    img = read_rgb(data / "cuhk/image/out_of_focus0080.JPG")  # 640 x 427
    print(f"## Time per {img.shape[1]} x {img.shape[0]} photo (median of {repeats}, one thread)\n")
    print("| method | ms |")
    print("|---|---|")
    for m in list_methods():
        if m.kind != "classical":
            continue
        slow = m.name in ("hifst", "svd", "zhuo", "lbp-matting", "msjf", "dbdf")
        times = [_timed(run_detector, m, img, _needed(m, data))[1] for _ in range(1 if slow else repeats)]
        print(f"| {m.name} | {statistics.median(times) * 1e3:.1f} |")
    print()
    _lbp_vs_skimage(img, repeats)


def _lbp_vs_skimage(img: np.ndarray, repeats: int):
    from skimage.feature import local_binary_pattern

    from dbdbench.baselines.imageops import rgb2gray_matlab
    from dbdbench.baselines.lbp import T_LBP, lbp_sharpness, sharp_fraction

    grey = rgb2gray_matlab(img, opencv=True)

    def reference():
        # skimage codes 0..9 with a zero threshold; our metric adds T_LBP, which costs nothing extra
        codes = local_binary_pattern(grey, 8, 1, method="uniform").astype(np.uint8)
        return sharp_fraction(codes, 21)

    ours = statistics.median(_timed(lbp_sharpness, img, s=21, threshold=T_LBP)[1] for _ in range(repeats))
    ref = statistics.median(_timed(reference)[1] for _ in range(repeats))
    print(f"## LBP metric vs scikit-image local_binary_pattern, {img.shape[1]} x {img.shape[0]}\n")
    print("| lbp ms | skimage LBP + window ms | ratio |")
    print("|---|---|---|")
    print(f"| {ours * 1e3:.1f} | {ref * 1e3:.1f} | {ours / ref:.2f} |\n")


def _sets(data: Path, sim_dir: Path):
    from dbdbench.generators import generate_sim
    from dbdbench.imageio import read_grey
    from dbdbench.pairing import list_images

    cuhk = [
        (n, p, 255 - read_grey(data / "cuhk/gt" / f"{n}.png"))  # white = blurred on disk
        for n, p in list_images(data / "cuhk/image").items()
        if n.startswith("out_of_focus")
    ]
    dut_gt = list_images(data / "denets-samples/dut500/gt")
    dut = [(n, p, read_grey(dut_gt[n])) for n, p in list_images(data / "denets-samples/dut500/image").items()]
    # a simulated test set: the btbnet recipe on the built-in sources, seed 2026 (not a training seed)
    generate_sim(sim_dir, recipe="btbnet", count=12, size=320, seed=2026, progress=False)
    sim_gt = list_images(sim_dir / "gt")
    sim = [(n, p, read_grey(sim_gt[n])) for n, p in list_images(sim_dir / "image").items()]
    return {"CUHK (7 defocus)": cuhk, "DUT-DBD (5)": dut, "Simulated (12)": sim}


def _scores(maps_and_gts):
    import py_sod_metrics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Fmeasure's deprecation notice; its results are current
        fm, mae = py_sod_metrics.Fmeasure(), py_sod_metrics.MAE()
    for pred, gt in maps_and_gts:
        fm.step(pred, gt)
        mae.step(pred, gt)
    return float(fm.get_results()["fm"]["curve"].max()), float(mae.get_results()["mae"])


def part_accuracy(data: Path, sim_dir: Path):
    from dbdbench.baselines.predict import run_detector
    from dbdbench.baselines.registry import list_methods
    from dbdbench.imageio import read_grey, read_rgb, to_uint8

    cv2.setNumThreads(1)
    sets = _sets(data, sim_dir)
    print("## Accuracy (maxF, MAE; sod protocol via py_sod_metrics) and mean time per image\n")
    print("| method | " + " | ".join(f"{s} maxF | {s} MAE" for s in sets) + " | ms / image |")
    print("|---|" + "---|---|" * len(sets) + "---|")
    cuhk = sets["CUHK (7 defocus)"]
    authors = [(read_grey(data / "cuhk/results/hifst" / f"{n}_HiFSTBlurMap.png"), gt) for n, _, gt in cuhk]
    f, e = _scores(authors)
    blanks = " | ".join(["-"] * (2 * (len(sets) - 1) + 1))
    print(f"| hifst (authors' maps) | {f:.3f} | {e:.3f} | {blanks} |")
    runs = []
    for m in list_methods():
        if m.kind != "classical":
            continue
        runs.append((m.name, m, None))
        if "refine" in m.params:  # the focus operators, also with the guided-filter refinement
            runs.append((f"{m.name} refine=true", m, {"refine": True}))
    for label, m, params in runs:
        cells, times = [], []
        for items in sets.values():
            pairs = []
            for _, path, gt in items:
                out, t = _timed(run_detector, m, read_rgb(path), _needed(m, data, params))
                times.append(t)
                pairs.append((to_uint8(out), gt))
            cells += list(_scores(pairs))
        print(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {np.mean(times) * 1e3:.1f} |")
    print()


def part_authors(data: Path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import validate_authors

    rows = validate_authors.run(data)
    print("## The ports against their authors' code (the photos of the reference run)\n")
    print(validate_authors.markdown(rows) + "\n")
    print("## Time per photo against the authors' code under Octave (reference/README.md)\n")
    print("| port | lowest r | ours, CPU s / photo | authors, Octave s / photo | authors / ours |")
    print("|---|---|---|---|---|")
    for row in rows:
        if row.photo != "all" or row.port not in AUTHORS_SECONDS:
            continue
        low, high = AUTHORS_SECONDS[row.port]
        print(f"| {row.port} | {row.r:.4f} | {row.seconds:.1f} | {low:.0f}-{high:.0f} | "
              f"{low / row.seconds:.0f}x-{high / row.seconds:.0f}x |")  # fmt: skip
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("DBDBENCH_DATA"), help="shared real-data folder")
    ap.add_argument("--quick", action="store_true", help="3 photos in the HiFST comparison")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--part", choices=["hifst", "speed", "accuracy", "dbdf", "authors"], action="append")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DBDBENCH_DATA or pass --data: the folder with cuhk/ and denets-samples/")
    from dbdbench.baselines.imageops import single_blas_thread

    data = Path(args.data)
    parts = args.part or ["hifst", "speed", "accuracy"]
    with single_blas_thread():
        if "hifst" in parts:
            part_hifst_vs_blur_detector(data, args.quick)
        if "speed" in parts:
            part_speed(data, args.repeats)
        if "accuracy" in parts:
            with tempfile.TemporaryDirectory() as tmp:
                part_accuracy(data, Path(tmp) / "sim")
        if "dbdf" in parts:
            part_dbdf(data)
        if "authors" in parts:
            part_authors(data)


if __name__ == "__main__":
    main()
