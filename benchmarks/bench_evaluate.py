"""Speed of dbdbench's evaluator against named references, as ratios measured in the same run.

1. Metric kernel on in-memory arrays, against PySODMetrics 1.6 (``py_sod_metrics``) at 320x320 and
   1024x768: F + MAE + E curves (Fmeasure, MAE, Emeasure), S-measure (Smeasure), weighted F
   (WeightedFmeasure). Numbers are checked to be identical (1e-9) before timing.
2. End to end on the 1000 CUHK HiFST maps (needs DBDBENCH_DATA or --data): ``evaluate`` (protocol sod,
   all metrics; and protocol hifst) with 1 and 2 workers, against only decoding the PNG pairs with
   OpenCV, and against the usual pipeline (OpenCV decode + PySODMetrics F, MAE, S, E, weighted F).
3. Many methods in one run (needs the data): ``evaluate_many`` of 5 methods (the HiFST maps linked
   under 5 names) against one method and against 5 separate ``evaluate`` runs in this process, for
   protocol sod and for all five protocols, on the first ``--many-images`` CUHK masks, 1 worker.

The CPU column counts this process and its worker processes (``psutil``, installed with
dask.distributed): with 2 workers it shows what parallelism costs in total, which, unlike the wall
time, a machine busy with other users' work does not hide.

Run: ``python benchmarks/bench_evaluate.py [--data /path/to/shared/data] [--repeat 3] [--skip-kernel]
[--skip-e2e] [--skip-many] [--many-images 300]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import psutil
import py_sod_metrics as psm

from dbdbench.metrics.sod import s_measure, sod_scores, weighted_f_measure


def best_time(func, repeat):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def synthetic(shape, seed=0):
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    gt = ((yy - 0.45 * h) ** 2 / (0.3 * h) ** 2 + (xx - 0.55 * w) ** 2 / (0.35 * w) ** 2 < 1).astype(np.uint8)
    pred = cv2.GaussianBlur(gt.astype(np.float32) * 200 + 30, (0, 0), 0.04 * min(h, w))
    pred = np.clip(pred + rng.normal(0, 20, shape), 0, 255).astype(np.uint8)
    return pred, gt * 255


def ref_curves(p, g):
    fm, mae, em = psm.Fmeasure(), psm.MAE(), psm.Emeasure()
    for m in (fm, mae, em):
        m.step(p, g)
    f, e = fm.get_results(), em.get_results()
    return np.concatenate([f["fm"]["curve"], e["em"]["curve"], [mae.get_results()["mae"]]])


def our_curves(p, g):
    r = sod_scores(p, g, structure=False)
    return np.concatenate([r["f"], r["e"], [r["mae"]]])


def ref_metric(cls, key):
    def run(p, g):
        m = cls()
        m.step(p, g)
        return m.get_results()[key]

    return run


def kernel(repeat):
    """Per image pair, the best of ``repeat`` interleaved runs (robust on a shared machine), summed."""
    print(f"Metric kernel, in-memory arrays (8 image pairs per size; per pair the best of {repeat})")
    print(f"{'size':>9} {'metric':<16} {'PySODMetrics':>12} {'dbdbench':>9} {'speed-up':>8}  identical")
    rows = [
        ("F+MAE+E curves", ref_curves, our_curves),
        ("S-measure", ref_metric(psm.Smeasure, "sm"), s_measure),
        ("weighted F", ref_metric(psm.WeightedFmeasure, "wfm"), weighted_f_measure),
    ]
    for shape in ((320, 320), (768, 1024)):
        pairs = [synthetic(shape, s) for s in range(8)]
        for label, ref, mine in rows:
            t_ref = t_our = 0.0
            same = True
            for p, g in pairs:
                best_ref = best_our = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    v_ref = ref(p, g)
                    t1 = time.perf_counter()
                    v_our = mine(p, g)
                    t2 = time.perf_counter()
                    best_ref, best_our = min(best_ref, t1 - t0), min(best_our, t2 - t1)
                same &= bool(np.allclose(v_ref, v_our, rtol=0, atol=1e-9))
                t_ref += best_ref
                t_our += best_our
            size = f"{shape[1]}x{shape[0]}"
            line = f"{size:>9} {label:<16} {t_ref * 1e3:10.1f}ms {t_our * 1e3:7.1f}ms {t_ref / t_our:7.1f}x"
            print(f"{line}  {same}")


def decode_only(pairs):
    for p, g in pairs:
        cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        cv2.imread(str(g), cv2.IMREAD_GRAYSCALE)


def usual_pipeline(pairs):
    ms = [psm.Fmeasure(), psm.MAE(), psm.Smeasure(), psm.Emeasure(), psm.WeightedFmeasure()]
    for p, g in pairs:
        pred = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        gt = 255 - cv2.imread(str(g), cv2.IMREAD_GRAYSCALE)  # CUHK GT is white = blurred
        for m in ms:
            m.step(pred, gt)
    return [m.get_results() for m in ms]


def end_to_end(data: Path, repeat: int):
    from dbdbench.evaluation import evaluate

    cuhk = data / "cuhk"
    pairs = [
        (cuhk / "results" / "hifst" / f"{g.stem}_HiFSTBlurMap.png", g)
        for g in sorted((cuhk / "gt").glob("*.png"))
    ]
    print(f"\nEnd to end, {len(pairs)} CUHK HiFST maps (best of {repeat}; the machine is shared)")

    def ev(protocol, workers):
        return lambda: evaluate(
            cuhk / "results" / "hifst", cuhk / "gt", gt_polarity="blurred-white", protocol=protocol,
            pred_suffix="_HiFSTBlurMap", workers=workers, progress=False,
        )  # fmt: skip

    def timed(func, n):
        """Best wall time of n runs, and the CPU time of this process and its workers in that run."""
        best = (float("inf"), 0.0)
        for _ in range(n):
            w, c = time.perf_counter(), cpu_time()
            func()
            best = min(best, (time.perf_counter() - w, cpu_time() - c))
        return best

    ev("hifst", 2)()  # start the worker processes once, as a long session would
    print(f"load average before: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    t_dec, c_dec = timed(lambda: decode_only(pairs), repeat)
    t_usual, c_usual = timed(lambda: usual_pipeline(pairs), 1)
    print(f"{'run':<42} {'wall':>7} {'/ decode':>8} {'usual /':>8} {'cpu':>7} {'/ decode':>8}")

    def row(label, t, c):
        print(f"{label:<42} {t:6.2f}s {t / t_dec:7.2f}x {t_usual / t:7.1f}x {c:6.2f}s {c / c_dec:7.2f}x")

    row("OpenCV decode of the PNG pairs only", t_dec, c_dec)
    row("usual: OpenCV + PySODMetrics F,MAE,S,E,wF", t_usual, c_usual)
    for protocol in ("sod", "hifst"):
        for workers in (1, 2):
            t, c = timed(ev(protocol, workers), repeat)
            row(f"evaluate --protocol {protocol} --workers {workers}", t, c)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print("cpu: CPU time of this process and its worker processes, less disturbed by other users' load")


def many_methods(data: Path, repeat: int, n_images: int, n_methods: int = 5):
    """evaluate_many of ``n_methods`` copies of the HiFST maps against 1 method and n separate runs."""
    import tempfile

    from dbdbench.evaluation import evaluate, evaluate_many

    cuhk = data / "cuhk"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gt_dir, maps = tmp / "gt", tmp / "maps"
        gt_dir.mkdir()
        maps.mkdir()
        for g in sorted((cuhk / "gt").glob("*.png"))[:n_images]:
            (gt_dir / g.name).symlink_to(g)
            m = f"{g.stem}_HiFSTBlurMap.png"
            (maps / m).symlink_to(cuhk / "results" / "hifst" / m)
        preds = {f"method{k}": tmp / f"method{k}" for k in range(n_methods)}
        for d in preds.values():
            d.symlink_to(maps, target_is_directory=True)
        kw = dict(gt_polarity="blurred-white", pred_suffix="_HiFSTBlurMap", progress=False)
        print(f"\n{n_methods} methods in one run, {n_images} CUHK masks, 1 worker (best of {repeat})")
        print("  1 method: evaluate_many of one method (all the protocols in one run)")
        print(
            f"  separate: {n_methods} x evaluate, one call per method and protocol (the single-method form)"
        )
        print(f"  many: evaluate_many of the {n_methods} methods")
        print(f"load average before: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
        cols = f"{'1 method':>9} {'separate':>9} {'many':>9} {'many / 1':>9} {'separate / many':>16}"
        print(f"{'protocols':<28} {'':>5} {cols}")
        for protocols in (["sod"], ["sod", "hifst", "zhao", "binseg", "ddffnet"]):

            def one(protocols=protocols):
                return evaluate_many({"method0": preds["method0"]}, gt_dir, protocols=protocols, **kw)

            def separate(protocols=protocols):
                return [
                    evaluate(d, gt_dir, protocol=p, name=m, **kw) for m, d in preds.items() for p in protocols
                ]

            def many(protocols=protocols):
                return evaluate_many(preds, gt_dir, protocols=protocols, **kw)

            # interleaved, the best of each in wall and in CPU time of this process (which other
            # users' load disturbs less): a shared machine's load changes during the run
            best = {k: [float("inf"), float("inf")] for k in ("one", "separate", "many")}
            out = {}
            for _ in range(repeat):
                for key, func in (("one", one), ("separate", separate), ("many", many)):
                    w, c = time.perf_counter(), time.process_time()
                    out[key] = func()
                    best[key][0] = min(best[key][0], time.perf_counter() - w)
                    best[key][1] = min(best[key][1], time.process_time() - c)
            same = [r.to_dict() for r in out["separate"]] == [r.to_dict() for r in out["many"].values()]
            label = ",".join(protocols)
            for i, kind in enumerate(("wall", "cpu")):
                t_one, t_sep, t_many = (best[k][i] for k in ("one", "separate", "many"))
                print(
                    f"{label:<28} {kind:>5} {t_one:8.2f}s {t_sep:8.2f}s {t_many:8.2f}s {t_many / t_one:8.2f}x"
                    f" {t_sep / t_many:15.2f}x" + (f"  identical={same}" if i == 0 else "")
                )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def cpu_time() -> float:
    """CPU seconds used so far by this process and its live child processes (the workers)."""
    me = psutil.Process()
    return sum(sum(p.cpu_times()[:2]) for p in [me, *me.children(recursive=True)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("DBDBENCH_DATA"), help="shared real-data folder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-kernel", action="store_true")
    parser.add_argument("--skip-many", action="store_true")
    parser.add_argument("--many-images", type=int, default=300, help="CUHK masks in the many-methods run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cv2.setNumThreads(1)
    if not args.skip_kernel:
        kernel(args.repeat)
    if not args.data:
        print("\nEnd to end and many methods skipped: set DBDBENCH_DATA or pass --data")
        return
    if not args.skip_e2e:
        end_to_end(Path(args.data), args.repeat)
    if not args.skip_many:
        many_methods(Path(args.data), args.repeat, args.many_images)


if __name__ == "__main__":
    main()
