"""`dbdbench evaluate` on the command line: output, files, and one-line errors (exit 2) on bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.imageio import write_image


def make(root, names=("a", "b", "c"), size=(16, 20)):
    rng = np.random.default_rng(0)
    for n in names:
        gt = np.zeros(size, np.uint8)
        gt[: size[0] // 2] = 255
        write_image(root / "gt" / f"{n}.png", gt)
        write_image(root / "pred" / f"{n}.png", rng.integers(0, 256, size, dtype=np.uint8))
    return root / "pred", root / "gt"


def invoke(*args):
    return CliRunner().invoke(main, ["evaluate", *map(str, args)])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert err[0].startswith("dbdbench: error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in err[0], err[0]


def test_summary_table_and_files(tmp_path):
    pred, gt = make(tmp_path)
    out = tmp_path / "res" / "m.json"
    result = invoke("--pred", pred, "--gt", gt, "--name", "mine", "--bootstrap", "20", "--out", out)
    assert result.exit_code == 0, result.output
    assert "mine on gt (protocol sod): 3 of 3 images" in result.stdout
    assert "max_f" in result.stdout and "[" in result.stdout
    data = json.loads(out.read_text())
    assert data["method"] == "mine" and data["counts"]["evaluated"] == 3
    assert (tmp_path / "res" / "m.csv").read_text().startswith("name,")


def test_help_lists_options():
    result = CliRunner().invoke(main, ["evaluate", "--help"])
    assert result.exit_code == 0
    for option in ("--pred-suffix", "--allow-missing", "--no-resize", "--bootstrap", "--protocol"):
        assert option in result.output


def test_missing_folder(tmp_path):
    _, gt = make(tmp_path)
    assert_one_line_error(invoke("--pred", tmp_path / "nope", "--gt", gt), "does not exist")


def test_empty_folders(tmp_path):
    pred, gt = make(tmp_path)
    (tmp_path / "empty").mkdir()
    assert_one_line_error(invoke("--pred", tmp_path / "empty", "--gt", gt), "has no images")
    assert_one_line_error(invoke("--pred", pred, "--gt", tmp_path / "empty"), "has no images")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_corrupt_image(tmp_path, workers):
    pred, gt = make(tmp_path)
    (pred / "b.png").write_bytes(b"\x89PNG not really an image")
    result = invoke("--pred", pred, "--gt", gt, "--workers", workers)
    assert_one_line_error(result, "b.png", "corrupt")


def test_zero_byte_image(tmp_path):
    pred, gt = make(tmp_path)
    (gt / "c.png").write_bytes(b"")
    assert_one_line_error(invoke("--pred", pred, "--gt", gt), "c.png", "0 bytes")


def test_unmatched_names(tmp_path):
    pred, gt = make(tmp_path)
    write_image(pred / "zzz.png", np.zeros((16, 20), np.uint8))
    assert_one_line_error(invoke("--pred", pred, "--gt", gt), "1 predictions have no matching", "zzz")
    (pred / "zzz.png").unlink()
    (pred / "a.png").unlink()
    assert_one_line_error(invoke("--pred", pred, "--gt", gt), "have no matching predictions: a")
    result = invoke("--pred", pred, "--gt", gt, "--allow-missing", "--out", tmp_path / "r.json")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["missing"] == ["a"]


def test_duplicate_stems(tmp_path):
    pred, gt = make(tmp_path)
    write_image(pred / "a.jpg", np.zeros((16, 20), np.uint8))
    assert_one_line_error(invoke("--pred", pred, "--gt", gt), "duplicate stems", "a.jpg")


def test_size_mismatch(tmp_path):
    pred, gt = make(tmp_path)
    write_image(pred / "b.png", np.zeros((8, 10), np.uint8))
    assert invoke("--pred", pred, "--gt", gt).exit_code == 0  # resized by default
    assert_one_line_error(invoke("--pred", pred, "--gt", gt, "--no-resize"), "b.png", "10x8", "--no-resize")
    assert_one_line_error(invoke("--pred", pred, "--gt", gt, "--protocol", "binseg"), "equal sizes")


def test_nan_map_is_rejected(tmp_path):
    pred, gt = make(tmp_path)
    (pred / "a.png").unlink()
    nan_map = np.full((16, 20), np.nan, np.float32)
    ok, buf = cv2.imencode(".tiff", nan_map)
    assert ok
    (pred / "a.tiff").write_bytes(buf.tobytes())
    assert_one_line_error(invoke("--pred", pred, "--gt", gt), "a.tiff", "8-bit")


def test_nonbinary_gt_follows_the_protocol_rule(tmp_path):
    pred, gt = make(tmp_path)
    base = json.loads(_run_json(tmp_path, pred, gt, "base"))["summary"]
    for p in gt.iterdir():  # 255 -> 200 and 0 -> 100: still > 128 / <= 128 under sod
        g = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        write_image(p, np.where(g > 128, 200, 100).astype(np.uint8))
    assert json.loads(_run_json(tmp_path, pred, gt, "grey"))["summary"] == base


def _run_json(tmp_path, pred, gt, stem):
    out = tmp_path / f"{stem}.json"
    assert invoke("--pred", pred, "--gt", gt, "--out", out).exit_code == 0
    return out.read_text()


def test_bad_option_combinations(tmp_path):
    pred, gt = make(tmp_path)
    assert_one_line_error(invoke("--pred", pred), "--gt DIR")
    assert_one_line_error(invoke("--pred", pred, "--gt", gt, "--dataset", "cuhk"), "not both")
    assert_one_line_error(invoke("--pred", pred, "--dataset", "cuhk"), "--root")
    assert CliRunner().invoke(main, ["evaluate", "--pred", str(pred), "--protocol", "nope"]).exit_code == 2
