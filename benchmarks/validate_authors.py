"""The classical ports against their authors' own code: Pearson r, mean absolute difference, maxF.

References (``$DBDBENCH_DATA``): ``reference/`` holds the outputs of the authors' MATLAB code run under
GNU Octave (``reference/README.md``: entry functions, parameters, polarity and scaling) and
``reference/inputs/<stem>.png`` the exact RGB pixels Octave decoded, which every port is fed here;
``cuhk/results/hifst/`` holds the HiFST authors' own maps. Per port and photo the script prints

- ``r``: Pearson correlation of our map (as ``predict`` computes it, before the 8-bit PNG) with the
  authors' map put on the same scale (see :data:`SCALES`);
- ``MAD``: their mean absolute difference on that scale, in [0, 1];
- ``maxF``: the ``sod`` protocol's maxF (beta^2 = 0.3, 256 thresholds, ``py_sod_metrics``) of each
  map against the ground truth, on the defocus photos; the ``all`` row pools them (mean curve) and
  gives the lowest r and the mean MAD;
- the CPU time of our port per photo (one thread), in the same run.

Adding a port is one :class:`Port` line in :data:`PORTS`: a label, the registered detector, its
parameters (a string value may hold ``{data}``, replaced by the data folder: a parameter folder under
``authors/``), the reference map's path pattern under ``$DBDBENCH_DATA``, the scale of that map
(:data:`SCALES`) and the photos the reference covers; ``stage`` names a function of :data:`STAGES`
that computes our map another way (e.g. from the reference's own edge map) instead of running the
detector. For example, a DBDF port on the 10 DeNets samples it was run on::

    Port("dbdf", "dbdf", {"model": "{data}/authors/dbdf"}, "reference/dbdf_final/{stem}.mat", "blurred",
         photos=SAMPLE_PHOTOS),

Usage::

    DBDBENCH_DATA=/path/to/shared/data python benchmarks/validate_authors.py \\
        [--port LABEL ...] [--photo STEM ...] [--param KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

#: The 9 CUHK photos of the reference run (7 defocus, 2 motion), 640 wide.
CUHK_PHOTOS = (
    "out_of_focus0011", "out_of_focus0031", "out_of_focus0035", "out_of_focus0080", "out_of_focus0088",
    "out_of_focus0223", "out_of_focus0284", "motion0138", "motion0239",
)  # fmt: skip
#: Its 10 DeNets samples, 320 x 320 (``xu100_<n>``: CUHK-TE-1 copies; ``dut500_<n>``: DUT-DBD test).
SAMPLE_PHOTOS = tuple(f"xu100_{i}" for i in range(1, 6)) + tuple(f"dut500_{i}" for i in range(1, 6))


def _sharp(ref: np.ndarray) -> np.ndarray:
    return np.asarray(ref, np.float64)


def _blur_sigma_0_3(ref: np.ndarray) -> np.ndarray:
    # Zhuo & Sim's sigma map put through the detector's own output step: clip to [0, max_blur = 3],
    # negate, min-max normalise
    from dbdbench.baselines.imageops import minmax

    return minmax(-np.clip(np.asarray(ref, np.float64), 0.0, 3.0))


def _blurred(ref: np.ndarray) -> np.ndarray:
    return 1.0 - np.clip(np.asarray(ref, np.float64), 0.0, 1.0)


#: How an authors' map is put on our scale (1 = in-focus, [0, 1]) before comparing: as it is
#: (high = sharp, in [0, 1]), inverted (high = blurred, in [0, 1]), or Zhuo & Sim's sigma.
SCALES = {"sharp": _sharp, "blurred": _blurred, "blur-sigma-0-3": _blur_sigma_0_3}


def _zhuo_reference_edges(data: Path, stem: str, rgb: np.ndarray, params: dict) -> np.ndarray:
    """Our Zhuo & Sim stages after the edge detector, fed the reference run's own (Octave) edge map."""
    from scipy.io import loadmat

    from dbdbench.baselines.imageops import minmax
    from dbdbench.baselines.zhuo import defocus_map

    edges = loadmat(data / "reference/zhuo_sparse" / f"{stem}.mat")["edgeMap"] > 0
    _, blur = defocus_map(rgb.astype(np.float64) / 255.0, edges, **params)
    return minmax(-np.clip(blur, 0.0, 3.0)).astype(np.float32)


#: Ways of computing our map other than running the registered detector.
STAGES = {"zhuo-reference-edges": _zhuo_reference_edges}


@dataclass(frozen=True)
class Port:
    """One comparison: our ``method`` (with ``params``) against the authors' maps at ``reference``."""

    label: str
    method: str
    params: dict = field(default_factory=dict)
    reference: str = ""  # path under $DBDBENCH_DATA, ``{stem}`` = photo stem; .mat (``map``) or .png
    scale: str = "sharp"  # key of SCALES
    stage: str | None = None  # key of STAGES; None = the registered detector
    photos: tuple = CUHK_PHOTOS  # the photos its reference folder covers


PORTS = [
    Port("lbp-s11", "lbp", {"s": 11}, "reference/yi_lbp_s11/{stem}.mat"),
    Port("lbp-s15", "lbp", {"s": 15}, "reference/yi_lbp_s15/{stem}.mat"),
    Port("lbp-s21", "lbp", {"s": 21}, "reference/yi_lbp_s21/{stem}.mat"),
    Port("lbp-matting", "lbp-matting", {}, "reference/yi_final/{stem}.mat"),
    Port("zhuo", "zhuo", {}, "reference/zhuo_full/{stem}.mat", "blur-sigma-0-3"),
    Port(
        "zhuo-reference-edges",
        "zhuo",
        {},
        "reference/zhuo_full/{stem}.mat",
        "blur-sigma-0-3",
        stage="zhuo-reference-edges",
    ),  # fmt: skip
    Port(
        "zhuo-include-sharp",
        "zhuo",
        {"include_sharp": True},
        "reference/zhuo_full/{stem}.mat",
        "blur-sigma-0-3",
    ),  # fmt: skip
    Port("hifst", "hifst", {}, "cuhk/results/hifst/{stem}_HiFSTBlurMap.png"),
    Port(
        "dbdf",
        "dbdf",
        {"model": "{data}/authors/dbdf"},
        "reference/dbdf_final/{stem}.mat",
        "blurred",
        photos=SAMPLE_PHOTOS,
    ),  # fmt: skip
]


def read_reference(data: Path, port: Port, stem: str) -> np.ndarray | None:
    """The authors' map of ``stem`` on our scale, float64 in [0, 1]; None when the file is absent."""
    path = data / port.reference.format(stem=stem)
    if not path.is_file():
        return None
    if path.suffix == ".mat":
        from scipy.io import loadmat

        raw = loadmat(path)["map"]
    else:
        from dbdbench.imageio import read_unit

        raw = read_unit(path)
    return SCALES[port.scale](raw)


def our_map(data: Path, port: Port, stem: str, rgb: np.ndarray) -> np.ndarray:
    """Our map of ``stem``: float32 (H, W) in [0, 1], 1 = in-focus."""
    if port.stage is not None:
        return STAGES[port.stage](data, stem, rgb, dict(port.params))
    from dbdbench.baselines.predict import run_detector

    params = {k: v.format(data=data) if isinstance(v, str) else v for k, v in port.params.items()}
    return run_detector(port.method, rgb, params)


def ground_truth(data: Path, stem: str) -> np.ndarray | None:
    """Ground truth of a defocus photo as uint8, 255 = in-focus; None for the motion photos.

    CUHK masks (white = blurred on disk) for ``out_of_focus*``, the DeNets samples' masks (white =
    in-focus) for ``xu100_<n>`` and ``dut500_<n>``.
    """
    from dbdbench.imageio import read_grey

    if stem.startswith("out_of_focus"):
        path = data / "cuhk/gt" / f"{stem}.png"
        return 255 - read_grey(path) if path.is_file() else None
    folder, _, n = stem.partition("_")
    found = sorted((data / "denets-samples" / folder / "gt").glob(f"{n}.*")) if n else []
    return read_grey(found[0]) if found else None


def _fmeasure():
    import py_sod_metrics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Fmeasure's deprecation notice; its results are current
        return py_sod_metrics.Fmeasure()


def _max_f(fm) -> float:
    return float(fm.get_results()["fm"]["curve"].max())


def _u8(m: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(m, 0, 1) * 255).astype(np.uint8)


@dataclass
class Row:
    """One photo of one port (or the pooled ``all`` row, ``photo = "all"``)."""

    port: str
    photo: str
    r: float
    mad: float
    max_f_ours: float | None
    max_f_authors: float | None
    seconds: float


def compare(data: Path, port: Port, photos=None) -> list[Row]:
    """Rows of one port over ``photos`` (default: the port's; those without a reference map are
    skipped), then ``all``."""
    from dbdbench.imageio import read_rgb

    rows = []
    pooled_ours, pooled_auth, n_gt = _fmeasure(), _fmeasure(), 0
    for stem in port.photos if photos is None else photos:
        ref = read_reference(data, port, stem)
        if ref is None:
            continue
        rgb = read_rgb(data / "reference/inputs" / f"{stem}.png")
        t = time.process_time()  # one thread: its CPU time, which the machine's load does not inflate
        ours = our_map(data, port, stem, rgb)
        seconds = time.process_time() - t
        r = float(np.corrcoef(ours.ravel(), ref.ravel())[0, 1])
        mad = float(np.abs(ours - ref).mean())
        gt = ground_truth(data, stem)
        f_ours = f_auth = None
        if gt is not None:
            one_ours, one_auth = _fmeasure(), _fmeasure()
            for fm, m in ((one_ours, ours), (pooled_ours, ours), (one_auth, ref), (pooled_auth, ref)):
                fm.step(_u8(m), gt)
            f_ours, f_auth, n_gt = _max_f(one_ours), _max_f(one_auth), n_gt + 1
        rows.append(Row(port.label, stem, r, mad, f_ours, f_auth, seconds))
    if rows:
        rows.append(
            Row(
                port.label,
                "all",
                min(x.r for x in rows),
                float(np.mean([x.mad for x in rows])),
                _max_f(pooled_ours) if n_gt else None,
                _max_f(pooled_auth) if n_gt else None,
                float(np.mean([x.seconds for x in rows])),
            )
        )
    return rows


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def markdown(rows: list[Row]) -> str:
    """The validation table: one line per port and photo, a bold ``all`` line per port."""
    out = [
        "| port | photo | r | MAD | maxF ours / authors | CPU s / photo |",
        "|---|---|---|---|---|---|",
    ]
    for x in rows:
        cells = (x.port, x.photo, f"{x.r:.4f}", f"{x.mad:.4f}", f"{_f(x.max_f_ours)} / {_f(x.max_f_authors)}",
                 f"{x.seconds:.2f}")  # fmt: skip
        if x.photo == "all":
            cells = (
                tuple(f"**{c}**" for c in cells[:1])
                + ("**all** (lowest r, mean MAD, pooled maxF)",)
                + cells[2:]
            )
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def run(data: Path, labels=None, photos=None, params=None) -> list[Row]:
    """Compare the ports named by ``labels`` (all of :data:`PORTS` by default), one thread.

    ``photos`` replaces each port's own photos (``Port.photos``).
    ``params`` (a dict) overrides parameters of every port compared, e.g. ``{"max_side": 320}``.
    """
    import cv2

    from dbdbench.baselines.imageops import single_blas_thread

    cv2.setNumThreads(1)
    ports = [p for p in PORTS if labels is None or p.label in labels]
    if params:
        ports = [replace(p, params={**p.params, **params}) for p in ports]
    rows = []
    with single_blas_thread():
        for port in ports:
            rows += compare(data, port, photos)
    return rows


def edge_agreement(data: Path, photos=CUHK_PHOTOS) -> str:
    """Markdown table: our Canny (``zhuo``'s) against the reference run's Octave edge map, per photo.

    Jaccard index = shared edge pixels / pixels that either marks.
    """
    from scipy.io import loadmat

    from dbdbench.baselines.imageops import RGB2GRAY_WEIGHTS
    from dbdbench.baselines.zhuo import canny_matlab
    from dbdbench.imageio import read_rgb

    out = ["| photo | edge pixels ours | Octave's | shared | Jaccard |", "|---|---|---|---|---|"]
    for stem in photos:
        path = data / "reference/zhuo_sparse" / f"{stem}.mat"
        if not path.is_file():
            continue
        ref = loadmat(path)["edgeMap"] > 0
        rgb = read_rgb(data / "reference/inputs" / f"{stem}.png").astype(np.float64) / 255.0
        ours = canny_matlab(rgb @ RGB2GRAY_WEIGHTS)
        shared = int((ours & ref).sum())
        out.append(f"| {stem} | {ours.sum()} | {ref.sum()} | {shared} | {shared / (ours | ref).sum():.3f} |")
    return "\n".join(out)


def _param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--param wants KEY=VALUE, got {text!r}")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(value.lower(), value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("DBDBENCH_DATA"), help="shared real-data folder")
    ap.add_argument("--port", action="append", choices=[p.label for p in PORTS], help="one port (repeatable)")
    ap.add_argument(
        "--photo", action="append", choices=CUHK_PHOTOS + SAMPLE_PHOTOS, help="one photo (repeatable)"
    )
    ap.add_argument("--param", action="append", type=_param, default=[],
                    help="KEY=VALUE overriding a parameter of the ports compared (repeatable)")  # fmt: skip
    ap.add_argument("--edges", action="store_true",
                    help="instead: our Canny against Octave's edge maps (Jaccard index)")  # fmt: skip
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DBDBENCH_DATA or pass --data: the folder with reference/ and cuhk/")
    if args.edges:
        print(edge_agreement(Path(args.data)))
        return
    rows = run(Path(args.data), args.port, tuple(args.photo) if args.photo else None, dict(args.param))
    print(markdown(rows))
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\nPeak resident memory of this run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
