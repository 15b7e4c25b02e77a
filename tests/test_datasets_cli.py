"""`dbdbench datasets list|verify|export` and `dbdbench annotations merge`: reports, files, exit codes."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner
from test_datasets_layouts import H, W, focus_mask, make_layout

from dbdbench.cli import main
from dbdbench.imageio import read_grey, write_image


def run(*args):
    return CliRunner().invoke(main, list(args))


def sim_folder(root, n=4):
    make_layout(root, "image", "gt", [f"{i:06d}" for i in range(n)], image_ext=".png")
    (root / "manifest.csv").write_text("name\n" + "".join(f"{i:06d}\n" for i in range(n)))
    (root / "recipe.toml").write_text("seed = 1\n")
    return root


def test_list_shows_every_dataset_with_counts_polarity_citation():
    res = run("datasets", "list")
    assert res.exit_code == 0
    lines = {line.split()[0]: line for line in res.output.splitlines()[1:]}
    assert "all 704, te1 100, tr1 604" in lines["cuhk"] and "white = blurred" in lines["cuhk"]
    assert "test 500, train 600" in lines["dut"] and "white = in-focus" in lines["dut"]
    assert "CVPR 2014" in lines["cuhk"] and "all 1605, partial 1305" in lines["ebd"]
    assert {"cuhk-motion", "xu100", "dut500", "ctcug", "defbd+", "sim", "folder"} <= set(lines)


def test_verify_clean_sim_folder_exits_0(tmp_path):
    res = run("datasets", "verify", "sim", "--root", str(sim_folder(tmp_path)))
    assert res.exit_code == 0, res.output
    assert "4 masks, as expected" in res.output and "all checks passed" in res.output


def test_verify_reports_every_problem_and_exits_1(tmp_path):
    sim_folder(tmp_path)
    (tmp_path / "image" / "000001.png").unlink()  # photo missing
    write_image(tmp_path / "image" / "000009.png", np.zeros((H, W, 3), np.uint8))  # photo without mask
    write_image(tmp_path / "gt" / "000002.png", np.zeros((H + 2, W), np.uint8))  # wrong size
    write_image(tmp_path / "gt" / "000003.png", np.full((H, W), 128, np.uint8))  # grey, constant
    (tmp_path / "gt" / "notes.txt").write_text("x")  # extra file
    write_image(tmp_path / "gt" / "readme.png", focus_mask())  # an image that is not a sample
    (tmp_path / "recipe.toml").unlink()
    res = run("datasets", "verify", "sim", "--root", str(tmp_path))
    assert res.exit_code == 1
    out = res.output
    assert "recipe.toml is missing" in out
    assert "1 masks have no photo" in out and "000001" in out
    assert "1 photos have no mask" in out and "000009" in out
    assert "000002 (photo 24x32, mask 26x32)" in out
    assert "notes.txt" in out and "readme" in out and "do not belong to sim" in out
    assert "1 of 4 masks have grey levels" in out
    assert "PROBLEM" in out and "problems found" in out


def test_verify_fixed_size_and_binary_checks(tmp_path):
    make_layout(tmp_path, "image", "gt", ["1", "2", "3"], image_ext=".bmp", gt_ext=".bmp")
    res = run("datasets", "verify", "xu100", "--root", str(tmp_path))
    assert res.exit_code == 1 and "3 masks in" in res.output and "expected 100" in res.output
    assert "3 masks are not 320x320" in res.output
    make_layout(tmp_path / "c", "CTCUG_images", "CTCUG_gt", ["a", "b", "c"], polarity="blurred-white")
    write_image(tmp_path / "c" / "CTCUG_gt" / "b.png", np.full((H, W), 100, np.uint8))
    res = run("datasets", "verify", "ctcug", "--root", str(tmp_path / "c"))
    assert "1 masks are not binary" in res.output and "polarity not checked: 3 masks" in res.output


def test_verify_detects_inverted_masks(tmp_path):
    # masks stored white = blurred but verified as a white = in-focus dataset (20: enough to judge)
    make_layout(tmp_path, "image", "gt", [f"m{i:02d}" for i in range(20)], polarity="blurred-white")
    res = run("datasets", "verify", "folder", "--root", str(tmp_path))
    assert res.exit_code == 1 and "look inverted" in res.output


def test_verify_does_not_judge_polarity_of_small_or_simulated_sets(tmp_path):
    make_layout(tmp_path / "f", "image", "gt", [f"m{i:02d}" for i in range(19)], polarity="blurred-white")
    res = run("datasets", "verify", "folder", "--root", str(tmp_path / "f"))
    assert res.exit_code == 0 and "polarity not checked: 19 masks" in res.output, res.output
    root = sim_folder(tmp_path / "s", n=3)
    for p in (root / "gt").iterdir():  # inverted simulated masks: still white = in-focus by construction
        write_image(p, 255 - read_grey(p))
    res = run("datasets", "verify", "sim", "--root", str(root))
    assert res.exit_code == 0 and "polarity not checked: generate-sim" in res.output, res.output


def test_verify_wrong_dataset_for_folder(tmp_path):
    make_layout(tmp_path, "image", "gt", ["out_of_focus0001", "out_of_focus0002"], polarity="blurred-white")
    res = run("datasets", "verify", "ebd", "--root", str(tmp_path))
    assert res.exit_code == 1 and "look like dataset 'cuhk'" in res.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["datasets", "verify", "cuhk", "--root", "{tmp}/none"], "does not exist"),
        (["datasets", "verify", "dut", "--root", "{tmp}"], "no dut 'test' layout"),
        (["datasets", "verify", "nosuch", "--root", "{tmp}"], "unknown dataset"),
        (["datasets", "verify", "cuhk", "--root", "{tmp}", "--split", "te9"], "no split 'te9'"),
        (["datasets", "export", "folder", "--root", "{tmp}/none", "--out", "{tmp}/o"], "does not exist"),
        (["annotations", "merge", "{tmp}/a", "--out", "{tmp}/o"], "at least two"),
        (["annotations", "merge", "{tmp}/a", "{tmp}/none", "--out", "{tmp}/o"], "does not exist"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, message):
    (tmp_path / "a").mkdir()
    res = run(*[a.format(tmp=tmp_path) for a in args])
    assert res.exit_code == 2, res.output
    assert message in res.stderr and "Traceback" not in res.output + res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_empty_split_exit_2(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "x.txt").write_text("not an image")
    res = run("datasets", "verify", "folder", "--root", str(tmp_path))
    assert res.exit_code == 2 and "split is empty" in res.stderr


def test_export_canonical_in_focus_white(tmp_path):
    src = make_layout(tmp_path / "src", "image", "gt", ["out_of_focus0001", "out_of_focus0026"],
                      polarity="blurred-white", image_ext=(".jpg", ".JPG"))  # fmt: skip
    res = run("datasets", "export", "cuhk", "--root", str(src), "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    assert "wrote 2 masks" in res.output and "2 photos" in res.output
    assert sorted(p.name for p in (tmp_path / "out" / "image").iterdir()) == [
        "out_of_focus0001.jpg",
        "out_of_focus0026.jpg",
    ]
    assert (tmp_path / "out/image/out_of_focus0026.jpg").read_bytes() == (
        src / "image/out_of_focus0026.JPG"
    ).read_bytes()
    np.testing.assert_array_equal(read_grey(tmp_path / "out/gt/out_of_focus0001.png"), focus_mask())
    # the export is a valid 'folder' dataset
    assert run("datasets", "verify", "folder", "--root", str(tmp_path / "out")).exit_code == 0


# ---- annotations merge ----


def annotators(root, n=3):
    """Three annotators: the truth with one annotator-specific extra in-focus patch each."""
    truth = focus_mask()
    dirs = []
    for j in range(n):
        m = truth.copy()
        m[0:3, 3 * j : 3 * j + 3] = 255
        for name in ("im1", "im2"):
            write_image(root / f"ann{j}" / f"{name}.png", m)
        dirs.append(root / f"ann{j}")
    return truth, dirs


def test_merge_mean_writes_soft_gt_and_report(tmp_path):
    truth, dirs = annotators(tmp_path)
    report = tmp_path / "rep.csv"
    res = run("annotations", "merge", *map(str, dirs), "--out", str(tmp_path / "gt"), "--report", str(report))
    assert res.exit_code == 0, res.output
    merged = read_grey(tmp_path / "gt" / "im1.png")
    expect = truth.astype(np.float64)
    expect[0:3, 0:9] = 85  # one of three annotators
    np.testing.assert_array_equal(merged, expect.astype(np.uint8))
    rows = list(csv.DictReader(report.open()))
    assert [r["name"] for r in rows] == ["im1", "im2"]
    box = 12 * 16
    assert float(rows[0]["iou_ann0_ann1"]) == pytest.approx(box / (box + 18), abs=1e-6)
    assert float(rows[0]["infocus_fraction"]) == pytest.approx((box + 27 * 85 / 255) / (H * W), abs=1e-3)
    assert -1 <= float(rows[0]["fleiss_kappa"]) <= 1
    summary = list(csv.DictReader((tmp_path / "rep-annotators.csv").open()))
    assert [s["annotator"] for s in summary] == ["ann0", "ann1", "ann2"]
    assert all(s["images"] == "2" and s["missing"] == "0" for s in summary)
    assert "ann0" in res.output and "Fleiss' kappa" in res.output


@pytest.mark.parametrize("rule", ["majority", "staple"])
def test_merge_majority_and_staple_recover_the_truth(tmp_path, rule):
    truth, dirs = annotators(tmp_path)
    res = run("annotations", "merge", *map(str, dirs), "--out", str(tmp_path / "gt"), "--rule", rule)
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(read_grey(tmp_path / "gt" / "im2.png"), truth)


def test_merge_blurred_white_annotations(tmp_path):
    truth, dirs = annotators(tmp_path)
    for d in dirs:
        for p in d.iterdir():
            write_image(p, 255 - read_grey(p))
    args = [
        *map(str, dirs),
        "--out",
        str(tmp_path / "gt"),
        "--rule",
        "majority",
        "--gt-polarity",
        "blurred-white",
    ]
    assert run("annotations", "merge", *args).exit_code == 0
    np.testing.assert_array_equal(read_grey(tmp_path / "gt" / "im1.png"), truth)


def test_merge_reports_missing_and_size_mismatch_per_image(tmp_path):
    truth, dirs = annotators(tmp_path)
    (dirs[2] / "im1.png").unlink()
    write_image(dirs[1] / "im2.png", np.zeros((H + 1, W), np.uint8))
    report = tmp_path / "rep.csv"
    res = run("annotations", "merge", *map(str, dirs), "--out", str(tmp_path / "gt"), "--report", str(report))
    assert res.exit_code == 1
    assert (
        "im1: missing: ann2" in res.stderr and "im2: size mismatch: ann1 25x32 (others 24x32)" in res.stderr
    )
    rows = {r["name"]: r for r in csv.DictReader(report.open())}
    assert rows["im1"]["missing"] == "ann2" and rows["im1"]["annotators"] == "2"
    assert rows["im2"]["size_mismatch"].startswith("ann1") and rows["im2"]["written"] == "True"
    assert (tmp_path / "gt" / "im1.png").exists() and (tmp_path / "gt" / "im2.png").exists()


def test_merge_refuses_output_into_an_input(tmp_path):
    _, dirs = annotators(tmp_path)
    res = run("annotations", "merge", *map(str, dirs), "--out", str(dirs[0]))
    assert res.exit_code == 2 and "one of the annotator folders" in res.stderr
