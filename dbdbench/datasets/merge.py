"""Merging several annotators' mask folders into one ground truth, with an agreement report.

This is how the DUT-DBD ground truth was built (Zhao et al., BTBNet CVPR 2018 / BTBCRL TPAMI 2020):
three volunteers marked the in-focus region of every photo and their binary masks were averaged.
Rules:

* ``mean``: per-pixel mean of the binarised masks (soft GT; 3 annotators give 0, 1/3, 2/3, 1);
* ``majority``: in-focus where more than half of the annotators say so (ties, possible with an even
  number, go to blurred);
* ``staple``: the STAPLE estimate (posterior > 0.5, :mod:`dbdbench.datasets.staple`), per image.

Every mask is read as grey, scaled to [0, 1], inverted when ``polarity`` says white = blurred, and
binarised at ``threshold``. A mask holding only the values 0 and 1 (a label image saved without
scaling to 255) is read as binary, 1 = white, and the run says so in one note; any other scaling would
binarise it to all black. The report has one row per image (annotators used, missing ones, size
mismatches, pairwise IoU, Fleiss' kappa, in-focus fraction, each annotator's sensitivity and
specificity) and one summary row per annotator. Sensitivity and specificity are STAPLE's estimates for
``staple`` and measured against the merged mask (binarised at 0.5) for the other rules.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from pathlib import Path

import numpy as np

from dbdbench.atomic import temporaries_removed_on_failure, write_text_atomic
from dbdbench.datasets.agreement import fleiss_kappa_masks, iou
from dbdbench.datasets.index import to_infocus
from dbdbench.datasets.staple import staple
from dbdbench.errors import DbdError, ParameterError
from dbdbench.executor import run_tasks
from dbdbench.imageio import read_grey, to_uint8, write_image
from dbdbench.notes import note
from dbdbench.outputs import check_apart, check_output_file, check_output_folder, claim_outputs, recording
from dbdbench.pairing import list_images
from dbdbench.polarity import FOCUS_WHITE, check_polarity

RULES = ("mean", "majority", "staple")


@dataclass
class MergeResult:
    """Outcome of :func:`merge_annotations`.

    Attributes
    ----------
    annotators : list of str
        Annotator names (folder names, made unique).
    rows : list of dict
        One per image, the columns of the report.
    summary : list of dict
        One per annotator.
    written : int
        Merged masks written.
    problems : list of str
        One line per image with a missing annotation, a size mismatch or no output.
    """

    annotators: list[str]
    rows: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)
    written: int = 0
    problems: list[str] = field(default_factory=list)


def _merge(masks: list[np.ndarray], rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged map float32 (H, W) and per-annotator sensitivity/specificity."""
    stack = np.stack(masks).astype(np.float32)
    n = len(masks)
    if rule == "staple" and n >= 2:
        res = staple(masks)
        return res.estimate.astype(np.float32), res.sensitivity, res.specificity
    if rule == "mean":
        merged = stack.mean(axis=0)
    else:  # majority, or staple with a single annotator (its mask is the estimate)
        merged = (stack.sum(axis=0) * 2 > n).astype(np.float32)
    ref = merged > 0.5
    pos, neg = np.count_nonzero(ref), np.count_nonzero(~ref)
    sens = np.array([np.count_nonzero(m & ref) / pos if pos else np.nan for m in masks])
    spec = np.array([np.count_nonzero(~m & ~ref) / neg if neg else np.nan for m in masks])
    return merged, sens, spec


def merge_one(
    item: tuple, *, out: Path, rule: str, threshold: float, polarity: str, names: list[str]
) -> dict:
    """Merge the annotations of one image and write ``out/<name>.png``; returns its report row."""
    name, paths = item
    row: dict = {
        "name": name,
        "missing": [],
        "size_mismatch": [],
        "unreadable": [],
        "written": False,
        "mismatched": [],
        "pair_iou": [],
        "zero_one": [],
    }
    masks: dict[str, np.ndarray] = {}
    for ann, path in zip(names, paths, strict=True):
        if path is None:
            row["missing"].append(ann)
            continue
        try:
            grey = read_grey(path)
        except DbdError:
            row["unreadable"].append(ann)
            continue
        if int(grey.max()) == 1:  # a 0/1 label image: scaling by 255 would make it all black
            grey = (grey * np.iinfo(grey.dtype).max).astype(grey.dtype)
            row["zero_one"].append(ann)
        masks[ann] = to_infocus(grey, polarity) >= threshold
    if masks:
        shapes = Counter(m.shape for m in masks.values())
        (shape, votes), *rest = shapes.most_common()
        if rest and rest[0][1] == votes:  # no majority size: cannot tell which is right
            row["size_mismatch"] = [f"{a} {m.shape[0]}x{m.shape[1]}" for a, m in masks.items()]
            row["mismatched"] = list(masks)
            masks = {}
        else:
            for a in [a for a, m in masks.items() if m.shape != shape]:
                h, w = masks.pop(a).shape
                row["mismatched"].append(a)
                row["size_mismatch"].append(f"{a} {h}x{w} (others {shape[0]}x{shape[1]})")
    used = list(masks)
    row["annotators"] = len(used)
    if used:
        merged, sens, spec = _merge([masks[a] for a in used], rule)
        write_image(out / f"{name}.png", to_uint8(merged))
        row["written"] = True
        row["infocus_fraction"] = float(merged.mean())
        for a, s, q in zip(used, sens, spec, strict=True):
            row[f"sens_{a}"], row[f"spec_{a}"] = float(s), float(q)
            row[f"frac_{a}"] = float(masks[a].mean())
        for a, b in combinations(used, 2):
            v = iou(masks[a], masks[b])
            row[f"iou_{a}_{b}"] = v
            row["pair_iou"].append((a, b, v))
        row["mean_iou"] = float(np.mean([v for *_, v in row["pair_iou"]])) if row["pair_iou"] else np.nan
        row["fleiss_kappa"] = fleiss_kappa_masks([masks[a] for a in used]) if len(used) >= 2 else np.nan
    return row


def _annotator_names(dirs: list[Path]) -> list[str]:
    names = []
    for i, d in enumerate(dirs):
        base = d.resolve().name or f"annotator{i + 1}"
        names.append(base if base not in names else f"{base}_{i + 1}")
    return names


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if np.isnan(v) else f"{v:.6f}"
    if isinstance(v, list):
        return "; ".join(v)
    return str(v)


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_fmt(r.get(c, np.nan)) for c in columns])
    return buf.getvalue()


def _summarise(names: list[str], rows: list[dict]) -> list[dict]:
    out = []
    for a in names:
        mine = [r for r in rows if f"frac_{a}" in r]
        ious = [v for r in rows for x, y, v in r["pair_iou"] if a in (x, y)]

        def mean(key, rs=mine):
            vals = [r[key] for r in rs if key in r and not np.isnan(r[key])]
            return float(np.mean(vals)) if vals else np.nan

        out.append(
            {
                "annotator": a,
                "images": len(mine),
                "missing": sum(a in r["missing"] for r in rows),
                "size_mismatch": sum(a in r["mismatched"] for r in rows),
                "mean_iou_with_others": float(np.mean(ious)) if ious else np.nan,
                "mean_sensitivity": mean(f"sens_{a}"),
                "mean_specificity": mean(f"spec_{a}"),
                "mean_infocus_fraction": mean(f"frac_{a}"),
            }
        )
    return out


def _summary_path(report: Path) -> Path:
    """The per-annotator CSV written beside the per-image ``report``."""
    return report.with_name(f"{report.stem}-annotators.csv")


def merge_annotations(
    dirs,
    out: str | os.PathLike,
    *,
    rule: str = "mean",
    report: str | os.PathLike | None = None,
    threshold: float = 0.5,
    polarity: str = FOCUS_WHITE,
    workers: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> MergeResult:
    """Merge annotators' mask folders (matched by file stem) into ``out/<name>.png``.

    Parameters
    ----------
    dirs : sequence of path-like
        One folder of masks per annotator, at least two.
    out : path-like
        Output folder of merged masks (8-bit PNG, white = in-focus).
    rule : {"mean", "majority", "staple"}
        How to merge.
    report : path-like, optional
        CSV with one row per image; a second CSV ``<stem>-annotators.csv`` beside it summarises each
        annotator.
    threshold : float
        Binarisation threshold of the annotations, in [0, 1] after scaling.
    polarity : {"focus-white", "blurred-white"}
        What white means in the annotations.
    workers, scheduler
        Parallel merging (:func:`dbdbench.executor.run_tasks`).
    overwrite : bool
        Replace merged masks and report files that already exist (checked before anything is
        written; see :mod:`dbdbench.outputs`).

    Returns
    -------
    MergeResult

    Raises
    ------
    DbdError
        Fewer than two folders, a folder given twice, a missing folder, ``out`` or ``report`` equal
        to, inside or containing an input, a report name not ending in .csv, existing output files
        without ``overwrite``, no masks at all; a bad ``rule``, ``polarity`` or ``threshold``
        (:class:`~dbdbench.errors.ParameterError`, naming the parameter).
    """
    if rule not in RULES:
        raise ParameterError(
            "unknown {rule} '{got}'; choose one of: {known}", got=rule, known=", ".join(RULES)
        )
    check_polarity(polarity)
    if not 0.0 < threshold <= 1.0:
        raise ParameterError("{threshold} must be in (0, 1], got {got}", got=threshold)
    dirs = [Path(d) for d in dirs]
    if len(dirs) < 2:
        raise DbdError("annotation merging needs at least two annotator folders")
    seen: dict[str, Path] = {}
    for d in dirs:
        key = os.path.realpath(d)
        if key in seen:
            also = "" if str(seen[key]) == str(d) else f" (also as '{seen[key]}')"
            raise DbdError(f"annotator folder '{d}' is given twice{also}; give each annotator once")
        seen[key] = d
    out = Path(out)
    for d in dirs:
        if d.exists() and out.exists() and d.resolve() == out.resolve():
            raise ParameterError(
                "{out} '{got}' is one of the annotator folders; choose another folder", got=out
            )
    inputs = [("annotator", d) for d in dirs]
    check_apart(out, inputs)
    listings = [list_images(d, what="annotator folder") for d in dirs]
    names = _annotator_names(dirs)
    stems = sorted(set().union(*listings))
    if not stems:
        raise DbdError(f"no masks in the annotator folders {', '.join(map(str, dirs))}; check the paths")
    files = [f"{s}.png" for s in stems]
    check_output_folder(out, files=files, inputs=inputs, overwrite=overwrite, images=True)
    claim_outputs(out, files, command="annotations merge", overwrite=overwrite)
    if report is not None:
        report = Path(report)
        check_output_file(
            report,
            suffix=".csv",
            side_files=[_summary_path(report)],
            inputs=inputs,
            overwrite=overwrite,
            what="--report",
        )
    items = [(s, [lst.get(s) for lst in listings]) for s in stems]
    func = partial(merge_one, out=out, rule=rule, threshold=threshold, polarity=polarity, names=names)
    with recording(out, files, "annotations merge"), temporaries_removed_on_failure(out / f for f in files):
        rows = run_tasks(func, items, workers=workers, scheduler=scheduler, desc="merge")
    result = MergeResult(annotators=names, rows=rows)
    result.written = sum(r["written"] for r in rows)
    zero_one = [(r["name"], a) for r in rows for a in r["zero_one"]]
    if zero_one:
        name, ann = zero_one[0]
        note(
            f"{len(zero_one)} masks hold only the values 0 and 1 (e.g. {ann}'s '{name}'); "
            "read as binary with 1 = white"
        )
    for r in rows:
        bits = []
        if r["missing"]:
            bits.append("missing: " + ", ".join(r["missing"]))
        if r["unreadable"]:
            bits.append("unreadable: " + ", ".join(r["unreadable"]))
        if r["size_mismatch"]:
            bits.append("size mismatch: " + ", ".join(r["size_mismatch"]))
        if not r["written"]:
            bits.append("not written")
        if bits:
            result.problems.append(f"{r['name']}: " + "; ".join(bits))
    result.summary = _summarise(names, rows)
    if report is not None:
        pairs = [f"iou_{a}_{b}" for a, b in combinations(names, 2)]
        per_ann = [f"{k}_{a}" for a in names for k in ("frac", "sens", "spec")]
        cols = [
            "name",
            "annotators",
            "missing",
            "unreadable",
            "size_mismatch",
            "written",
            "infocus_fraction",
            "mean_iou",
            "fleiss_kappa",
            *pairs,
            *per_ann,
        ]
        write_text_atomic(report, _csv(rows, cols))
        summary_cols = list(result.summary[0])
        write_text_atomic(_summary_path(report), _csv(result.summary, summary_cols))
    return result
