"""Fidelity, accuracy and speed of the DHCF port (``dbdbench predict --method dhcf``) in one run.

1. Hand-crafted features of the Octave reference's saved patches (``reference/dhde_features``, the
   first 200 edge patches per scale of the 9 CUHK photos): largest absolute difference.
2. Edges against the Octave reference (``reference/dhde_edge``; Octave's Canny is not MATLAB's):
   pixel agreement of the labels and the IoU of each scale's edges.
3. The rolling-guidance image against ``reference/dhde_rgf`` (8-bit PNGs): Pearson r per channel.
4. The network on edge patches of ``out_of_focus0035`` blurred with each of the 11 label sigmas
   (the authors' training recipe): confusion matrix, exact and within-one-label accuracy.
5. maxF (beta^2 = 0.3, 256 thresholds, ``py_sod_metrics``) and MAE on the 7 CUHK defocus photos for
   ``dhcf`` at each ``--max-side`` (steps 1-4 computed once per photo, steps 5-6 at each working
   size) and, as the named reference in the same run, ``zhuo`` (the other edge + matting pipeline)
   and ``lapvar``; time per photo and its ratio to ``zhuo``'s.

Usage::

    DBDBENCH_DATA=/path/to/shared/data python benchmarks/bench_dhcf.py [--skip-maps] [--max-side 320,480]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-maps", action="store_true", help="skip part 5 (the full maps)")
    parser.add_argument(
        "--max-side",
        default="320,480,100000",
        help="comma-separated working sizes of dhcf's propagation (100000: full size)",
    )
    args = parser.parse_args()
    import scipy.io

    from dbdbench.baselines import dhcf_features as F
    from dbdbench.baselines import dhcf_net as N
    from dbdbench.baselines import dhcf_validation as V
    from dbdbench.baselines.dhcf import RGF_ITERATIONS, RGF_SIGMA_RANGE, RGF_SIGMA_SPACE, rolling_guidance
    from dbdbench.imageio import read_rgb

    root = Path(os.environ["DBDBENCH_DATA"])
    ref = root / "reference"
    weights_file = root / "authors/dhde/DHDE_model.caffemodel"
    stems = sorted(p.stem for p in (ref / "dhde_features").glob("*.mat"))

    print("1. features vs Octave (200 patches per scale and photo)")
    worst = 0.0
    for stem in stems:
        m = scipy.io.loadmat(ref / "dhde_features" / f"{stem}.mat")
        for s in (0, 1):
            ours = F.features(np.moveaxis(m[f"pGry_s{s + 1}"], 2, 0), m[f"pGrd_s{s + 1}"].T, s)
            for name, o in zip(("DCT", "GRD", "SVD"), ours, strict=True):
                worst = max(worst, float(np.abs(o - m[f"f{name}_s{s + 1}"]).max()))
    print(f"   largest |difference| over {len(stems)} photos: {worst:.1e}")

    print("2. edges vs Octave's Canny: photo, pixel agreement, IoU scale 1, IoU scale 2")
    for stem in stems:
        e = scipy.io.loadmat(ref / "dhde_edge" / f"{stem}.mat")
        a = V.edge_agreement(F.edge_labels(e["gray"]), e["map"])
        print(f"   {stem:18s} {a['pixels']:.4f} {a['iou_s1']:.3f} {a['iou_s2']:.3f}")

    print("3. rolling guidance filter vs the authors' (bilateral grid): Pearson r per channel")
    for stem in stems[:3]:
        rgb = read_rgb(ref / "inputs" / f"{stem}.png").astype(np.float64) / 255
        ours = rolling_guidance(rgb, RGF_SIGMA_SPACE, RGF_SIGMA_RANGE, RGF_ITERATIONS)
        theirs = read_rgb(ref / "dhde_rgf" / f"{stem}.png").astype(np.float64) / 255
        r = [np.corrcoef(ours[..., c].ravel(), theirs[..., c].ravel())[0, 1] for c in range(3)]
        print(f"   {stem:18s} " + " ".join(f"{x:.4f}" for x in r))

    print("4. network on blurred edge patches of out_of_focus0035 (rows: true sigma, columns: predicted)")
    weights = N.load_weights(str(weights_file))
    rgb = read_rgb(root / "cuhk/image/out_of_focus0035.jpg").astype(np.float64) / 255
    conf = V.confusion(weights, V.blurred_patches(rgb, per_scale=40, seed=0))
    for sigma, row in zip(N.SIGMAS, conf, strict=True):
        print(f"   {sigma:4.2f} | " + " ".join(f"{v:3d}" for v in row))
    n = conf.sum()
    near = sum(np.trace(conf, k) for k in (-1, 0, 1))
    print(
        f"   {n} patches: exact {np.trace(conf) / n:.3f}, within one label {near / n:.3f} "
        "(chance 1/11 = 0.091)"
    )

    if args.skip_maps:
        return
    import py_sod_metrics

    from dbdbench.baselines.predict import run_detector
    from dbdbench.imageio import read_grey
    from dbdbench.pairing import list_images

    warnings.filterwarnings("ignore", message="This class will be removed")
    images = {k: v for k, v in list_images(root / "cuhk/image").items() if k.startswith("out_of_focus")}
    print("5. 7 CUHK defocus photos: method, maxF, MAE, s per photo, time / zhuo's")
    from dbdbench.baselines import dhcf

    sides = [int(x) for x in args.max_side.split(",")]
    gts = {n: 255 - read_grey(root / "cuhk/gt" / f"{n}.png") for n in images}  # white = blurred on disk
    maps: dict[str, dict[str, np.ndarray]] = {}
    times: dict[str, float] = {}
    sparse_time = 0.0
    for name, path in images.items():
        rgb01 = read_rgb(path).astype(np.float64) / 255
        t = time.perf_counter()
        labels, jbf, guide = dhcf.sparse_defocus(rgb01, weights)
        sparse_time += time.perf_counter() - t
        for side in sides:
            t = time.perf_counter()
            dense = dhcf.dense_defocus(guide, labels > 0, jbf, 0.005, side, (5, 0.25, 3))
            key = f"dhcf max_side={side}"
            times[key] = times.get(key, 0.0) + time.perf_counter() - t
            maps.setdefault(key, {})[name] = dhcf.sharpness(dense)
    for key in times:
        times[key] = (times[key] + sparse_time) / len(images)
    for method in ("zhuo", "lapvar"):
        total = 0.0
        for name, path in images.items():
            img = read_rgb(path)
            t = time.perf_counter()
            maps.setdefault(method, {})[name] = run_detector(method, img)
            total += time.perf_counter() - t
        times[method] = total / len(images)
    for key, by_name in maps.items():
        fm, mae = py_sod_metrics.Fmeasure(), py_sod_metrics.MAE()
        for name, out in by_name.items():
            pred = np.rint(out * 255).astype(np.uint8)
            fm.step(pred, gts[name])
            mae.step(pred, gts[name])
        f, m = fm.get_results()["fm"]["curve"].max(), mae.get_results()["mae"]
        print(f"   {key:22s} {f:.3f} {m:.3f} {times[key]:6.1f} {times[key] / times['zhuo']:5.2f}x")
    print(f"   (dhcf steps 1-4, shared by its rows: {sparse_time / len(images):.1f} s per photo)")


if __name__ == "__main__":
    main()
