"""The evaluate API: pairing, result file, per-image CSV, bootstrap, workers, --dataset splits."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import dbdbench
from dbdbench.errors import DbdError
from dbdbench.evaluation import evaluate, load_result
from dbdbench.imageio import write_image


def make_set(root: Path, n: int = 4, size=(24, 32), seed: int = 0, pred_name="{}.png", gt_white="focus"):
    rng = np.random.default_rng(seed)
    pred_dir, gt_dir = root / "pred", root / "gt"
    gts, preds = {}, {}
    for i in range(n):
        name = f"img{i:02d}"
        gt = np.zeros(size, np.uint8)
        gt[rng.integers(0, size[0] // 2) :, : rng.integers(4, size[1])] = 255
        pred = np.clip(gt // 2 + rng.integers(0, 128, size), 0, 255).astype(np.uint8)
        gts[name], preds[name] = gt, pred
        write_image(gt_dir / f"{name}.png", gt if gt_white == "focus" else 255 - gt)
        write_image(pred_dir / pred_name.format(name), pred)
    return pred_dir, gt_dir, preds, gts


def test_result_of_the_files_matches_pysodmetrics_on_the_arrays(tmp_path):
    pred_dir, gt_dir, preds, gts = make_set(tmp_path)
    result = evaluate(pred_dir, gt_dir, name="m", progress=False)
    for key, expected in pysod_summary(preds, gts).items():
        assert result.summary[key] == pytest.approx(float(expected), abs=1e-9), key

    # MAE by hand: each map stretched to [0, 1] (min to max, as the SOD protocol does), the mask
    # binary, the mean absolute difference averaged over the images
    def stretched(p):
        return (p - p.min()) / (p.max() - p.min())

    hand = np.mean([np.abs(stretched(preds[k] / 255.0) - (gts[k] > 127)).mean() for k in sorted(preds)])
    assert result.summary["mae"] == pytest.approx(hand, abs=1e-12)
    assert result.method == "m" and result.dataset == "gt" and result.split is None
    assert result.counts == {"gt": 4, "evaluated": 4, "missing": 0}
    assert [r["name"] for r in result.per_image] == sorted(preds)
    assert set(result.summary) >= {
        "max_f", "mean_f", "adaptive_f", "mae", "s_measure", "max_e", "mean_e", "adaptive_e", "weighted_f"
    }  # fmt: skip


def test_save_writes_schema_and_csv_and_loads_back(tmp_path):
    pred_dir, gt_dir, _, _ = make_set(tmp_path)
    result = evaluate(pred_dir, gt_dir, bootstrap=50, seed=3, progress=False)
    path = result.save(tmp_path / "out" / "res.json")
    data = json.loads(path.read_text())
    assert list(data) == [
        "format", "format_version", "dbdbench_version", "protocol", "method", "dataset", "split",
        "counts", "missing", "warnings", "summary", "intervals", "bootstrap", "curves", "per_image",
        "sources",
    ]  # fmt: skip
    assert data["sources"]["pred_dir"] == str(pred_dir.resolve())
    # 4 images: the bootstrap says its intervals mean little
    assert data["warnings"] == [
        "bootstrap over 4 images only: its intervals say little (zero width on one image); "
        "evaluate 10 or more images for intervals"
    ]
    assert data["format"] == "dbdbench-result" and data["format_version"] == 1
    assert data["dbdbench_version"] == dbdbench.__version__
    assert data["bootstrap"] == {"n": 50, "level": 0.95, "seed": 3}
    assert set(data["intervals"]) == set(data["summary"])
    for lo, hi in data["intervals"].values():
        assert lo <= hi
    assert set(data["curves"]) == {"thresholds", "precision", "recall", "f"}
    assert len(data["curves"]["f"]) == 256
    csv = (tmp_path / "out" / "res.csv").read_text().splitlines()
    assert csv[0].split(",")[0] == "name" and len(csv) == 5
    loaded = load_result(path)
    assert loaded.to_dict() == json.loads(result.to_json())


def test_bootstrap_is_seeded(tmp_path):
    pred_dir, gt_dir, _, _ = make_set(tmp_path, n=6)
    a = evaluate(pred_dir, gt_dir, bootstrap=40, seed=1, progress=False).intervals
    b = evaluate(pred_dir, gt_dir, bootstrap=40, seed=1, progress=False).intervals
    c = evaluate(pred_dir, gt_dir, bootstrap=40, seed=2, progress=False).intervals
    assert a == b and a != c


def test_workers_give_identical_results(tmp_path):
    # 21 pairs on 2 workers: however they are split into tasks, gathered in pair order
    pred_dir, gt_dir, preds, _ = make_set(tmp_path, n=21)
    one = evaluate(pred_dir, gt_dir, progress=False).to_dict()
    two = evaluate(pred_dir, gt_dir, workers=2, progress=False).to_dict()
    assert one == two
    assert [r["name"] for r in two["per_image"]] == sorted(preds)


def test_suffix_polarity_and_resize(tmp_path):
    pred_dir, gt_dir, _, _ = make_set(tmp_path, pred_name="{}_Map.jpg", gt_white="blurred")
    result = evaluate(pred_dir, gt_dir, pred_suffix="_Map", gt_polarity="blurred-white", progress=False)
    assert result.counts["evaluated"] == 4
    # a half-size prediction is resized to the GT size (bilinear) unless resize=False
    small = tmp_path / "small"
    for p in pred_dir.iterdir():
        write_image(small / p.name.replace("_Map.jpg", ".png"), np.full((12, 16), 200, np.uint8))
    resized = evaluate(small, gt_dir, gt_polarity="blurred-white", progress=False)
    assert resized.counts["evaluated"] == 4
    assert [r["resized_from"] for r in resized.per_image] == ["16x12"] * 4
    # the Python error names the parameter, not the command-line flag
    with pytest.raises(DbdError, match=r"resize the maps, or pass resize=True$"):
        evaluate(small, gt_dir, resize=False, progress=False)


def test_allow_missing_records_names(tmp_path):
    pred_dir, gt_dir, _, _ = make_set(tmp_path)
    (pred_dir / "img01.png").unlink()
    with pytest.raises(DbdError, match="1 ground-truth masks have no matching predictions: img01"):
        evaluate(pred_dir, gt_dir, progress=False)
    result = evaluate(pred_dir, gt_dir, allow_missing=True, progress=False)
    assert result.missing == ["img01"]
    assert result.counts == {"gt": 4, "evaluated": 3, "missing": 1}


def test_every_protocol_runs(tmp_path):
    pred_dir, gt_dir, _, _ = make_set(tmp_path)
    keys = {
        "sod": {"max_f", "mean_f", "adaptive_f", "mae", "s_measure", "max_e", "mean_e", "adaptive_e"},
        "zhao": {"mean_best_f", "max_f", "mae"},
        "hifst": {"max_f", "mae"},
        "binseg": {"max_f", "mae"},
        "ddffnet": {"mae", "f", "iou"},
    }
    for name, expected in keys.items():
        result = evaluate(pred_dir, gt_dir, protocol=name, progress=False)
        assert expected <= set(result.summary), name
        assert result.protocol == name
        assert all(0 <= v <= 1 for v in result.summary.values())


@pytest.fixture
def cuhk_layout(tmp_path):
    """A CUHK folder as distributed (``gt/``, white = blurred) with the 100 CUHK-TE-1 masks and 3
    training masks, small random images; and a folder of maps for all 103."""
    from dbdbench.datasets import te1_names

    rng = np.random.default_rng(5)
    names = te1_names() + ["out_of_focus0002", "out_of_focus0003", "out_of_focus0004"]
    assert len(set(names)) == 103
    root, pred_dir = tmp_path / "cuhk", tmp_path / "maps"
    for name in names:
        focus = np.zeros((6, 8), np.uint8)
        focus[rng.integers(0, 4) :, : rng.integers(2, 8)] = 255
        write_image(root / "gt" / f"{name}.png", 255 - focus)
        pred = np.clip(focus // 2 + rng.integers(0, 128, focus.shape), 0, 255).astype(np.uint8)
        write_image(pred_dir / f"{name}.png", pred)
    return root, pred_dir, sorted(te1_names())


def test_dataset_split_ignores_maps_outside_it(cuhk_layout):
    root, pred_dir, te1 = cuhk_layout
    result = evaluate(pred_dir, dataset="cuhk", root=root, split="te1", progress=False)
    assert (result.dataset, result.split) == ("cuhk", "te1")
    assert [r["name"] for r in result.per_image] == te1
    # the same masks given as a folder, white = blurred: the te1 rows are identical
    direct = evaluate(pred_dir, root / "gt", gt_polarity="blurred-white", progress=False)
    assert direct.counts["evaluated"] == 103
    by_name = {r["name"]: r for r in direct.per_image}
    assert result.per_image == [by_name[n] for n in te1]
    # the dataset knows its polarity: read focus-white, the per-image scores would differ
    wrong = evaluate(pred_dir, root / "gt", progress=False)
    assert {r["name"]: r for r in wrong.per_image}[te1[0]] != by_name[te1[0]]
    full = evaluate(pred_dir, dataset="cuhk", root=root, split="all", progress=False)
    assert full.summary == direct.summary


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other"}', "not a dbdbench result"),
        ('{"format": "dbdbench-result", "format_version": 9}', "format_version 9"),
        ('{"format": "dbdbench-result", "format_version": 1}', "lacks"),
    ],
)
def test_load_result_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(DbdError, match=match):
        load_result(path)


def pysod_summary(preds: dict, gts: dict) -> dict:
    """The sod summary numbers of in-memory maps by PySODMetrics (the reference implementation)."""
    import warnings

    import py_sod_metrics as psm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, mae, sm, em, wfm = (
            psm.Fmeasure(),
            psm.MAE(),
            psm.Smeasure(),
            psm.Emeasure(),
            psm.WeightedFmeasure(),
        )
        for name in sorted(preds):
            for m in (fm, mae, sm, em, wfm):
                m.step(preds[name], gts[name])
        f, e = fm.get_results()["fm"], em.get_results()["em"]
    return {
        "max_f": f["curve"].max(),
        "mean_f": f["curve"].mean(),
        "adaptive_f": f["adp"],
        "mae": mae.get_results()["mae"],
        "s_measure": sm.get_results()["sm"],
        "max_e": e["curve"].max(),
        "mean_e": e["curve"].mean(),
        "adaptive_e": e["adp"],
        "weighted_f": wfm.get_results()["wfm"],
    }


def test_package_level_evaluate_matches_pysodmetrics(tmp_path):
    # dbdbench.evaluate reads the files, pairs them and scores them as PySODMetrics scores the arrays
    pred_dir, gt_dir, preds, gts = make_set(tmp_path, n=5, size=(30, 41), seed=7)
    summary = dbdbench.evaluate(pred_dir, gt_dir, progress=False).summary
    for key, expected in pysod_summary(preds, gts).items():
        assert summary[key] == pytest.approx(float(expected), abs=1e-9), key


def test_import_dbdbench_stays_light():
    import subprocess

    code = "import sys, dbdbench; print('numpy' in sys.modules, 'dbdbench.evaluation' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
