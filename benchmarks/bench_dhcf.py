"""Fidelity, accuracy and speed of the DHCF port (``dbdbench predict --method dhcf``) in one run.

1. Hand-crafted features of the Octave reference's saved patches (``reference/dhde_features``, the
   first 200 edge patches per scale of the 9 CUHK photos): largest absolute difference.
2. Edges against the Octave reference (``reference/dhde_edge``; Octave's Canny is not MATLAB's):
   pixel agreement of the labels and the IoU of each scale's edges.
3. The rolling-guidance image against ``reference/dhde_rgf`` (8-bit PNGs): Pearson r per channel.
4. The network on edge patches of ``out_of_focus0035`` blurred with each of the 11 label sigmas
   (the authors' training recipe): confusion matrix, exact and within-one-label accuracy.
5. maxF (beta^2 = 0.3, 256 thresholds, ``py_sod_metrics``) and MAE on the 7 CUHK defocus photos for
   ``dhcf`` and, as the named reference in the same run, ``zhuo`` (the other edge + matting
   pipeline) and ``lapvar``; time per photo and its ratio to ``zhuo``'s.

Usage::

    DBDBENCH_DATA=/path/to/shared/data python benchmarks/bench_dhcf.py [--skip-maps]
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
    times = {}
    rows = []
    for method, params in (("dhcf", {"checkpoint": str(weights_file)}), ("zhuo", {}), ("lapvar", {})):
        fm, mae = py_sod_metrics.Fmeasure(), py_sod_metrics.MAE()
        total = 0.0
        for name, path in images.items():
            img = read_rgb(path)
            t = time.perf_counter()
            out = run_detector(method, img, params)
            total += time.perf_counter() - t
            pred = np.rint(out * 255).astype(np.uint8)
            gt = 255 - read_grey(root / "cuhk/gt" / f"{name}.png")  # white = blurred on disk
            fm.step(pred, gt)
            mae.step(pred, gt)
        times[method] = total / len(images)
        rows.append((method, fm.get_results()["fm"]["curve"].max(), mae.get_results()["mae"]))
    for method, f, m in rows:
        print(f"   {method:7s} {f:.3f} {m:.3f} {times[method]:6.1f} {times[method] / times['zhuo']:5.2f}x")


if __name__ == "__main__":
    main()
