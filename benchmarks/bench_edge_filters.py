"""Speed of dbdbench's edge-preserving filters against the OpenCV contrib functions of the same filters.

``dbdbench.baselines.edge_filters`` (numpy and core OpenCV) against ``cv2.ximgproc`` (the OpenCV
contrib wheel), same inputs, one OpenCV thread, best of ``--repeats``:

- guided filter, colour guide, radius 8, eps 1e-3 (``refine=true``, ``msjf``), 640 x 427;
- domain-transform recursive filter, sigma_s 15, sigma_r 0.25, 3 iterations (``hifst``), 640 x 427;
- joint bilateral filter of two maps, sigma_colour 0.1, sigma_space 5 (``zhuo``), 320 x 213;
- ``hifst`` on CUHK photos with our filter and with ``ximgproc.dtFilter`` swapped in.

Needs an environment with ``cv2.ximgproc`` (``opencv-contrib-python-headless``; dbdbench does not install it).

Usage::

    DBDBENCH_DATA=/path/to/shared/data python benchmarks/bench_edge_filters.py [--photos 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np


def _best(func, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("DBDBENCH_DATA"), help="shared real-data folder")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--photos", type=int, default=3, help="CUHK photos for the hifst rows (0: none)")
    args = ap.parse_args()
    xip = getattr(cv2, "ximgproc", None)
    if xip is None:
        raise SystemExit("cv2.ximgproc (OpenCV contrib) is not installed: nothing to compare with")
    from dbdbench.baselines import edge_filters as E
    from dbdbench.baselines.imageops import single_blas_thread

    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    rgb = rng.random((427, 640, 3)).astype(np.float32)
    src = rng.random((427, 640)).astype(np.float32)
    grey = np.ascontiguousarray(rgb[:, :, 1])
    small_rgb = np.ascontiguousarray(rgb[:213, :320])
    maps = np.stack([src[:213, :320], (src[:213, :320] > 0.9).astype(np.float32)], axis=-1)
    cases = {
        "guided filter, colour, r 8 (640 x 427)": (
            lambda: E.guided_filter(rgb, src, 8, 1e-3),
            lambda: xip.guidedFilter(rgb, src, 8, 1e-3),
        ),
        "domain-transform RF, 3 iterations (640 x 427)": (
            lambda: E.domain_transform_rf(src, grey, 15.0, 0.25, 3),
            lambda: xip.dtFilter(grey, src, 15.0, 0.25, mode=xip.DTF_RF, numIters=3),
        ),
        "joint bilateral, 2 maps, sigma_s 5 (320 x 213)": (
            lambda: E.joint_bilateral_filter(small_rgb, maps, 0.1, 5.0),
            lambda: [
                xip.jointBilateralFilter(small_rgb, np.ascontiguousarray(maps[:, :, k]), -1, 0.1, 5.0)
                for k in range(2)
            ],
        ),
    }
    print(f"## Edge-preserving filters: ours vs OpenCV contrib {cv2.__version__} (best of {args.repeats})\n")
    print("| filter | ours ms | contrib ms | ours / contrib |")
    print("|---|---|---|---|")
    with single_blas_thread():
        for name, (ours, contrib) in cases.items():
            a, b = _best(ours, args.repeats), _best(contrib, args.repeats)
            print(f"| {name} | {a * 1e3:.1f} | {b * 1e3:.1f} | {a / b:.1f} |")
        print()
        if args.photos and args.data:
            _hifst_rows(Path(args.data), args.photos, xip)


def _hifst_rows(data: Path, photos: int, xip):
    """hifst with our recursive filter and with contrib's, alternating, same photos."""
    from dbdbench.baselines import hifst as H
    from dbdbench.imageio import read_rgb
    from dbdbench.pairing import list_images

    def contrib_rf(src, guide, sigma_s, sigma_r, iterations):
        g, s = np.asarray(guide, np.float32), np.asarray(src, np.float32)
        return xip.dtFilter(g, s, float(sigma_s), float(sigma_r), mode=xip.DTF_RF, numIters=int(iterations))

    ours_rf = H.domain_transform_rf
    total = {"ours": 0.0, "contrib": 0.0}
    print("| photo | hifst, our RF s | hifst, contrib RF s | ratio | max abs difference |")
    print("|---|---|---|---|---|")
    for name, path in list(list_images(data / "cuhk/image").items())[:photos]:
        img = read_rgb(path)
        t = time.perf_counter()
        a = H.hifst(img)
        t_ours = time.perf_counter() - t
        H.domain_transform_rf = contrib_rf
        try:
            t = time.perf_counter()
            b = H.hifst(img)
            t_contrib = time.perf_counter() - t
        finally:
            H.domain_transform_rf = ours_rf
        total["ours"] += t_ours
        total["contrib"] += t_contrib
        diff = float(np.abs(a - b).max())
        print(f"| {name} | {t_ours:.2f} | {t_contrib:.2f} | {t_ours / t_contrib:.3f} | {diff:.1e} |")
    print(
        f"| **all** | {total['ours']:.2f} | {total['contrib']:.2f} | "
        f"**{total['ours'] / total['contrib']:.3f}** | |\n"
    )


if __name__ == "__main__":
    main()
