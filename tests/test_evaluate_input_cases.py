"""`evaluate` on input that used to give silently wrong numbers: masks and maps at another scale,
maps of another shape, a one-class GT set, a split without a dataset, a bootstrap on few images and
E-measure values above 1. Each case: the exit code, the one line on stderr, what is on disk.

The reference of every scale case is the same set saved the usual way (8-bit, 0/255 masks): the
numbers must be identical under every protocol.
"""

from __future__ import annotations

import json

import numpy as np
import py_sod_metrics as psm
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.errors import DbdError, ParameterError
from dbdbench.evaluation import evaluate, evaluate_many, load_result
from dbdbench.imageio import write_image
from dbdbench.metrics.protocols import get_protocol

PROTOCOLS = "sod,hifst,zhao,binseg,ddffnet"


def invoke(*args):
    return CliRunner().invoke(main, ["evaluate", *map(str, args)])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dbdbench: error: "), result.stderr
    assert "Traceback" not in result.output
    return err[0]


def warnings_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("dbdbench: warning: ")]


def make_set(root, n=10, size=(18, 24), seed=0):
    """0/255 GT masks (white = in-focus) and 8-bit maps that follow them with noise."""
    rng = np.random.default_rng(seed)
    gts, maps = {}, {}
    for i in range(n):
        gt = np.zeros(size, np.uint8)
        gt[rng.integers(0, size[0] // 2) :, : rng.integers(4, size[1])] = 255
        gts[f"im{i}"] = gt
        maps[f"im{i}"] = np.clip(gt // 2 + rng.integers(0, 128, size), 0, 255).astype(np.uint8)
    return write(root / "gt", gts), write(root / "maps", maps), gts, maps


def write(folder, arrays):
    for name, a in arrays.items():
        write_image(folder / f"{name}.png", a)
    return folder


def summaries(out_dir):
    results = (p for p in sorted(out_dir.glob("*.json")) if not p.name.startswith("."))  # not the manifest
    return {p.stem: json.loads(p.read_text())["summary"] for p in results}


def run_all(maps, gt, out_dir):
    res = invoke("--pred", f"m={maps}", "--gt", gt, "--protocol", PROTOCOLS, "--out-dir", out_dir)
    assert res.exit_code == 0, res.output
    return res


# ---------------------------------------------------------------- GT masks at another scale
@pytest.mark.parametrize(
    ("scale", "dtype", "line"),
    [
        (
            128,
            np.uint8,
            "10 of 10 GT masks hold only the values 0 and 128 (e.g. 'im0'): read as binary, "
            "128 = full scale (255)",
        ),
        (
            255,
            np.uint16,
            "10 of 10 GT masks are 16-bit files holding only 0..255 (e.g. 'im0'): read as 8-bit",
        ),
        (
            65535,
            np.uint16,
            None,  # a full-scale 16-bit mask is binary as it is: nothing to say
        ),
    ],
)
def test_gt_masks_at_another_scale_give_the_binary_numbers(tmp_path, scale, dtype, line):
    gt, maps, gts, _ = make_set(tmp_path)
    other = write(tmp_path / "gt-other", {k: (g // 255).astype(dtype) * dtype(scale) for k, g in gts.items()})
    ref = run_all(maps, gt, tmp_path / "ref")
    res = run_all(maps, other, tmp_path / "other")
    ref_numbers = summaries(tmp_path / "ref")
    # binseg's float32 MAE sum can differ in the last bits between runs (numpy's summation)
    assert summaries(tmp_path / "other") == {k: pytest.approx(v, rel=1e-9) for k, v in ref_numbers.items()}
    assert warnings_of(ref) == []
    assert warnings_of(res) == ([f"dbdbench: warning: {line}"] if line else [])
    recorded = json.loads((tmp_path / "other" / "m-sod.json").read_text())["warnings"]
    assert recorded == ([line] if line else [])


def test_gt_masks_of_several_binary_levels_are_counted_in_one_line(tmp_path):
    gt, maps, gts, _ = make_set(tmp_path, n=4)
    levels = [1, 128, 128, 255]
    mixed = write(
        tmp_path / "mixed", {k: g // 255 * np.uint8(v) for (k, g), v in zip(gts.items(), levels, strict=True)}
    )
    result = evaluate(maps, mixed, progress=False)
    assert result.summary == evaluate(maps, gt, progress=False).summary
    assert result.warnings == [
        "3 of 4 GT masks hold only the values 0 and k (e.g. 'im0', k = 1, 128): read as binary, "
        "k = full scale (255)"
    ]


def test_a_gt_set_of_one_class_masks_is_said_once(tmp_path):
    _, maps, gts, _ = make_set(tmp_path, n=3)
    full = write(tmp_path / "full", {k: np.full_like(g, 255) for k, g in gts.items()})
    res = invoke("--pred", maps, "--gt", full, "--protocol", "hifst,zhao", "--out-dir", tmp_path / "o")
    assert res.exit_code == 0, res.output
    line = (
        "every one of the 3 GT masks has one class only (all in-focus or all blurred, read as "
        "focus-white): F-measures, IoU and the polarity check mean little; check the masks"
    )
    assert warnings_of(res) == [f"dbdbench: warning: {line}"]
    for p in ("hifst", "zhao"):
        assert json.loads((tmp_path / "o" / f"maps-{p}.json").read_text())["warnings"] == [line]


# ---------------------------------------------------------------- 16-bit maps
def test_16_bit_maps_of_8_bit_values_score_as_8_bit_in_every_protocol(tmp_path):
    gt, maps, gts, arrays = make_set(tmp_path)
    wide = write(tmp_path / "maps16", {k: a.astype(np.uint16) for k, a in arrays.items()})
    run_all(maps, gt, tmp_path / "ref")
    res = run_all(wide, gt, tmp_path / "wide")
    ref, got = summaries(tmp_path / "ref"), summaries(tmp_path / "wide")
    # ddffnet included: it reads a map as value / full scale
    assert got == {k: pytest.approx(v, rel=1e-9) for k, v in ref.items()}
    line = "10 of 10 maps of m are 16-bit files holding only 0..255 (e.g. 'im0'): read as 8-bit"
    assert warnings_of(res) == [f"dbdbench: warning: {line}"]
    # read as stored, ddffnet would divide the 8-bit values by 65535 (MAE near the in-focus share)
    proto = get_protocol("ddffnet")
    raw = [proto.score_image(a.astype(np.uint16), gts[k], "focus-white")["mae"] for k, a in arrays.items()]
    assert abs(float(np.mean(raw)) - ref["m-ddffnet"]["mae"]) > 0.1


def test_16_bit_maps_of_the_full_range_are_read_as_they_are(tmp_path):
    gt, maps, _, arrays = make_set(tmp_path, n=4)
    wide = write(tmp_path / "maps16", {k: a.astype(np.uint16) * 257 for k, a in arrays.items()})
    ref = evaluate(maps, gt, protocol="ddffnet", progress=False)
    got = evaluate(wide, gt, protocol="ddffnet", progress=False)
    assert got.warnings == []
    assert got.summary == pytest.approx(ref.summary, abs=1e-12)


# ---------------------------------------------------------------- maps of another shape
def test_half_size_maps_are_listed_in_the_csv_and_counted_in_one_warning(tmp_path):
    gt, maps, _, arrays = make_set(tmp_path, n=4, size=(18, 24))
    small = dict(arrays)
    small["im1"] = arrays["im1"][::2, ::2]
    small["im3"] = arrays["im3"][::2, ::2]
    folder = write(tmp_path / "small", small)
    out = tmp_path / "r.json"
    res = invoke("--pred", folder, "--gt", gt, "--out", out)
    assert res.exit_code == 0, res.output
    line = (
        "2 of 4 maps of small have another size than their GT (e.g. 'im1': 12x9 for a 24x18 GT): "
        "resized to the GT size as each protocol does; the per-image CSV lists them (resized_from)"
    )
    assert warnings_of(res) == [f"dbdbench: warning: {line}"]
    assert json.loads(out.read_text())["warnings"] == [line]
    rows = out.with_suffix(".csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "resized_from"
    assert [r.split(",")[-1] for r in rows[1:]] == ["", "12x9", "", "12x9"]


def test_a_transposed_map_is_an_error_unless_allowed(tmp_path):
    gt, maps, _, arrays = make_set(tmp_path, n=3, size=(18, 24))
    turned = dict(arrays, im2=arrays["im2"].T.copy())
    folder = write(tmp_path / "turned", turned)
    out = tmp_path / "r.json"
    line = one_line_error(invoke("--pred", folder, "--gt", gt, "--out", out))
    assert line == (
        f"dbdbench: error: prediction '{folder / 'im2.png'}' is 18x24 but its GT '{gt / 'im2.png'}' is "
        "24x18: the map looks transposed or rotated; fix the map, or pass --allow-resize to resize it "
        "anyway"
    )
    assert not out.exists() and not out.with_suffix(".csv").exists()
    with pytest.raises(ParameterError, match=r"or pass allow_resize=True to resize it anyway$"):
        evaluate(folder, gt, progress=False)
    ok = invoke("--pred", folder, "--gt", gt, "--out", out, "--allow-resize")
    assert ok.exit_code == 0, ok.output
    assert "1 of 3 maps of turned have another size" in ok.stderr and out.is_file()


def test_no_resize_names_the_flag_on_the_command_line(tmp_path):
    gt, _, _, arrays = make_set(tmp_path, n=2)
    folder = write(tmp_path / "small", {k: a[::2, ::2] for k, a in arrays.items()})
    line = one_line_error(invoke("--pred", folder, "--gt", gt, "--no-resize"))
    assert line.endswith("; resize the maps, or drop --no-resize")


# ---------------------------------------------------------------- options
def test_split_with_gt_is_refused(tmp_path):
    gt, maps, _, _ = make_set(tmp_path, n=2)
    out = tmp_path / "r.json"
    line = one_line_error(invoke("--pred", maps, "--gt", gt, "--split", "te1", "--out", out))
    assert line == (
        "dbdbench: error: --split 'te1' selects images of a registered dataset, but --gt scores every "
        "mask in its folder: drop --split, or give --dataset and --root instead of --gt"
    )
    assert not out.exists()
    with pytest.raises(ParameterError, match=r"^split 'te1' selects .* instead of gt_dir$"):
        evaluate(maps, gt, split="te1", progress=False)


def test_library_errors_name_parameters_and_the_cli_names_options(tmp_path):
    gt, maps, _, _ = make_set(tmp_path, n=2)
    with pytest.raises(DbdError, match=r"^bootstrap must be 0 or more, got -1$"):
        evaluate(maps, gt, bootstrap=-1, progress=False)
    with pytest.raises(DbdError, match=r"^bootstrap 200000 is above the cap of 100000"):
        evaluate(maps, gt, bootstrap=200_000, progress=False)
    with pytest.raises(DbdError, match=r"^gt_polarity must be one of focus-white, blurred-white, got 'x'$"):
        evaluate(maps, gt, gt_polarity="x", progress=False)
    with pytest.raises(DbdError, match=r"^unknown protocols 'nope'"):
        evaluate_many({"m": maps}, gt, protocols="sod,nope", progress=False)
    line = one_line_error(invoke("--pred", maps, "--gt", gt, "--bootstrap", "200000"))
    assert line.startswith("dbdbench: error: --bootstrap 200000 is above the cap of 100000")


def test_a_bootstrap_over_few_images_is_noted(tmp_path):
    gt, maps, _, _ = make_set(tmp_path, n=1)
    out = tmp_path / "r.json"
    res = invoke("--pred", maps, "--gt", gt, "--bootstrap", "200", "--out", out)
    assert res.exit_code == 0, res.output
    line = (
        "bootstrap over 1 image only: its intervals say little (zero width on one image); "
        "evaluate 10 or more images for intervals"
    )
    assert warnings_of(res) == [f"dbdbench: warning: {line}"]
    data = json.loads(out.read_text())
    assert data["warnings"] == [line] and data["intervals"]["max_f"][0] == data["intervals"]["max_f"][1]
    many = evaluate(tmp_path / "maps", gt, bootstrap=0, progress=False)
    assert many.warnings == []  # no bootstrap, nothing to say


# ---------------------------------------------------------------- E-measure above 1
def test_e_measure_above_1_is_pysodmetrics_arithmetic_and_documented(tmp_path):
    # docs/evaluation.md lists the cases: the sum over n pixels is divided by n - 1
    _, maps, gts, arrays = make_set(tmp_path, n=2)
    full = write(tmp_path / "full", {k: np.full_like(g, 255) for k, g in gts.items()})
    row = write(tmp_path / "row", {"a": (np.arange(5000) % 2 * 255).astype(np.uint8)[None]})
    for gt_dir, pred_dir, names in ((full, maps, sorted(arrays)), (row, row, ["a"])):
        ref = psm.Emeasure()
        for k in names:
            ref.step(_read(pred_dir / f"{k}.png"), _read(gt_dir / f"{k}.png"))
        expected = float(ref.get_results()["em"]["curve"].max())
        result = evaluate(pred_dir, gt_dir, progress=False)
        assert result.summary["max_e"] == pytest.approx(expected, abs=1e-12) and expected > 1
        result.save(tmp_path / f"{gt_dir.name}.json")  # within the documented range: it loads back
        assert load_result(tmp_path / f"{gt_dir.name}.json").summary == result.summary
    assert evaluate(row, row, progress=False).summary["max_e"] == pytest.approx(5000 / 4999, abs=1e-12)


def _read(path):
    from dbdbench.imageio import read_grey

    return read_grey(path)


def test_a_one_pixel_gt_is_an_error_naming_it(tmp_path):
    write_image(tmp_path / "gt" / "a.png", np.full((1, 1), 255, np.uint8))
    write_image(tmp_path / "maps" / "a.png", np.full((1, 1), 200, np.uint8))
    line = one_line_error(invoke("--pred", tmp_path / "maps", "--gt", tmp_path / "gt"))
    assert line == (
        f"dbdbench: error: GT mask '{tmp_path / 'gt' / 'a.png'}' is 1x1: the measures need 2 pixels or "
        "more (the E-measure divides by pixels - 1); give full-size masks"
    )


def test_parameter_errors_keep_braces_of_values_and_name_options_in_other_commands(tmp_path):
    exc = ParameterError("{out} '{got}' is taken", got="{weird}")
    assert str(exc) == "out '{weird}' is taken" and exc.spelled(str.upper) == "OUT '{weird}' is taken"
    masks = [tmp_path / "a1", tmp_path / "a2"]
    for d in masks:
        write_image(d / "x.png", np.full((4, 4), 255, np.uint8))
    merge = CliRunner().invoke(
        main, ["annotations", "merge", *map(str, masks), "--out", str(tmp_path / "m"), "--threshold", "2"]
    )
    assert one_line_error(merge) == "dbdbench: error: --threshold must be in (0, 1], got 2.0"
    assert not (tmp_path / "m").exists()
    gen = CliRunner().invoke(
        main, ["generate-sim", "--out", str(tmp_path / "g"), "--count", "2", "--depths", str(masks[0])]
    )
    assert one_line_error(gen) == (
        "dbdbench: error: --depths needs --recipe lens (the btbnet recipe has no depth)"
    )
    assert not (tmp_path / "g").exists()
