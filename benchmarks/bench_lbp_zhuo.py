"""Time per image and sod-protocol scores of lbp, lbp-matting, zhuo and msjf(lbp) on real photos.

Data: the CUHK photos with a defocus GT in $DBDBENCH_DATA/cuhk (GT white = blurred, inverted here) and
the five DUT-DBD samples in $DBDBENCH_DATA/denets-samples/dut500 (GT white = in-focus). Scores: maxF
(beta^2 = 0.3, max of the mean F curve) and MAE from the reference implementation py_sod_metrics
(sod protocol). Time: wall time per image, one process; the reference for the speed ratios is the
``lbp`` metric in the same run.

Usage::

    DBDBENCH_DATA=/path/to/shared/data python benchmarks/bench_lbp_zhuo.py [--methods lbp,zhuo]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import py_sod_metrics

from dbdbench.baselines.registry import get_method
from dbdbench.imageio import read_rgb, read_unit, to_uint8

METHODS = ("lbp", "lbp-matting", "zhuo", "msjf")


def datasets(root: Path) -> dict[str, list[tuple[Path, Path, bool]]]:
    """name -> [(image, gt, gt_white_is_blurred)]."""
    cuhk = sorted(p for p in (root / "cuhk/image").iterdir() if p.stem.startswith("out_of_focus"))
    dut = sorted((root / "denets-samples/dut500/image").iterdir())
    return {
        "cuhk": [(p, root / "cuhk/gt" / f"{p.stem}.png", True) for p in cuhk],
        "dut500": [(p, root / "denets-samples/dut500/gt" / f"{p.stem}.bmp", False) for p in dut],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    root = Path(os.environ.get("DBDBENCH_DATA", "../shared/data"))
    sets = datasets(root)
    rows = []
    for name in args.methods.split(","):
        func = get_method(name).func
        for ds, items in sets.items():
            handler = py_sod_metrics.FmeasureHandler(with_dynamic=True, with_adaptive=False, beta=0.3)
            fm, mae = py_sod_metrics.FmeasureV2(metric_handlers={"fm": handler}), py_sod_metrics.MAE()
            times = []
            for img_path, gt_path, white_blurred in items:
                img = read_rgb(img_path)
                gt = read_unit(gt_path)
                if white_blurred:
                    gt = 1.0 - gt
                t0 = time.perf_counter()
                pred = func(img)
                times.append(time.perf_counter() - t0)
                if pred.shape != gt.shape:
                    import cv2

                    pred = cv2.resize(pred, gt.shape[::-1], interpolation=cv2.INTER_LINEAR)
                p8, g8 = to_uint8(pred), to_uint8(gt)
                fm.step(p8, g8)
                mae.step(p8, g8)
            max_f = float(fm.get_results()["fm"]["dynamic"].max())
            rows.append((name, ds, len(items), float(np.mean(times)), max_f, float(mae.get_results()["mae"])))
    ref = {ds: t for n, ds, _, t, _, _ in rows if n == "lbp"}
    print(f"{'method':<12} {'data':<7} {'n':>2} {'s/image':>8} {'x lbp':>8} {'maxF':>6} {'MAE':>6}")
    for name, ds, n, t, f, m in rows:
        ratio = f"{t / ref[ds]:8.1f}" if ds in ref else f"{'-':>8}"
        print(f"{name:<12} {ds:<7} {n:>2} {t:8.3f} {ratio} {f:6.3f} {m:6.3f}")


if __name__ == "__main__":
    main()
