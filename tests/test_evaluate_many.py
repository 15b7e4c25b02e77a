"""Many methods under many protocols in one run, and the input checks of evaluate: GT polarity,
0/1-valued masks, the bootstrap cap. Through the CLI, with small images made in tmp_path."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import dbdbench
from dbdbench.cli import main
from dbdbench.evaluation import evaluate, evaluate_many, inverted_images, looks_inverted
from dbdbench.imageio import write_image

PROTOCOLS = ("sod", "hifst", "zhao", "binseg", "ddffnet")


def invoke(*args):
    return CliRunner().invoke(main, ["evaluate", *map(str, args)])


def make_methods(root, n=6, size=(18, 24), methods=("alpha", "beta", "gamma"), seed=0):
    """GT masks (white = in-focus) and, per method, maps that follow them with its own noise."""
    rng = np.random.default_rng(seed)
    gt_dir = root / "gt"
    gts = {}
    for i in range(n):
        gt = np.zeros(size, np.uint8)
        gt[rng.integers(0, size[0] // 2) :, : rng.integers(4, size[1])] = 255
        gts[f"im{i}"] = gt
        write_image(gt_dir / f"im{i}.png", gt)
    dirs = {}
    for k, m in enumerate(methods):
        dirs[m] = root / m
        for name, gt in gts.items():
            noise = rng.integers(0, 96 + 40 * k, size)
            write_image(dirs[m] / f"{name}.png", np.clip(gt // 2 + noise, 0, 255).astype(np.uint8))
    return gt_dir, dirs, gts


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dbdbench: error: "), result.stderr
    for fragment in fragments:
        assert fragment in err[0], err[0]


# ---------------------------------------------------------------- many methods, many protocols
def test_cli_many_writes_what_single_runs_write(tmp_path):
    gt, dirs, _ = make_methods(tmp_path)
    preds = [a for m, d in dirs.items() for a in ("--pred", f"{m}={d}")]
    many = tmp_path / "many"
    result = invoke(
        *preds, "--gt", gt, "--protocol", ",".join(PROTOCOLS), "--out-dir", many, "--bootstrap", "25"
    )
    assert result.exit_code == 0, result.output
    assert "protocol zhao on gt:" in result.stdout and "gamma" in result.stdout
    for m, d in dirs.items():
        for p in PROTOCOLS:
            single = tmp_path / "single" / f"{m}-{p}.json"
            args = ("--pred", d, "--gt", gt, "--protocol", p, "--bootstrap", "25", "--out", single)
            assert invoke(*args).exit_code == 0
            assert (many / f"{m}-{p}.json").read_text() == single.read_text(), (m, p)
            assert (many / f"{m}-{p}.csv").read_text() == single.with_suffix(".csv").read_text()
    assert len(list(many.iterdir())) == 2 * len(dirs) * len(PROTOCOLS) + 1  # and the manifest


def test_many_with_workers_missing_maps_and_resizing(tmp_path):
    # one method lacks a map, another has half-size maps: each result is still its single run's
    gt, dirs, _ = make_methods(tmp_path, n=9)
    (dirs["alpha"] / "im3.png").unlink()
    for p in dirs["beta"].iterdir():
        write_image(p, np.full((9, 12), 50, np.uint8) + np.arange(12, dtype=np.uint8) * 10)
    protocols = ["sod", "zhao", "ddffnet", "hifst"]
    kw = dict(allow_missing=True, bootstrap=10, seed=4, progress=False)
    many = evaluate_many(dirs, gt, protocols=protocols, workers=2, **kw)
    assert list(many) == [(m, p) for m in dirs for p in protocols]
    assert dbdbench.evaluate_many is evaluate_many
    for (m, p), result in many.items():
        single = evaluate(dirs[m], gt, protocol=p, name=m, **kw)
        assert result.to_dict() == single.to_dict(), (m, p)
    assert many[("alpha", "sod")].missing == ["im3"] and many[("beta", "sod")].missing == []


def test_cli_multi_option_errors(tmp_path):
    gt, dirs, _ = make_methods(tmp_path, n=2)
    a, b = (f"--pred={m}={d}" for m, d in dirs.items() if m != "gamma")
    assert_one_line_error(invoke(a, b, "--gt", gt, "--out", tmp_path / "r.json"), "--out-dir")
    assert_one_line_error(
        invoke(a, "--gt", gt, "--protocol", "sod,hifst", "--out", tmp_path / "r.json"), "--out-dir"
    )
    assert_one_line_error(invoke(a, b, "--gt", gt, "--name", "x"), "NAME=DIR")
    assert_one_line_error(invoke(a, a, "--gt", gt), "'alpha' is given twice")
    assert_one_line_error(invoke(a, "--gt", gt, "--protocol", "sod,nope"), "'nope' is not one of 'sod'")
    assert_one_line_error(invoke(a, "--gt", gt, "--protocol", "sod,sod"), "twice")
    missing = f"--pred=delta={tmp_path / 'nowhere'}"
    assert_one_line_error(invoke(a, missing, "--gt", gt), "method 'delta'", "does not exist")


# ---------------------------------------------------------------- GT polarity
def polarity_set(root, n=10):
    """GT stored white = blurred (as CUHK), maps high = in-focus that follow the in-focus region."""
    rng = np.random.default_rng(2)
    for i in range(n):
        focus = np.zeros((16, 20), np.uint8)
        focus[:, : rng.integers(6, 15)] = 255
        write_image(root / "gt" / f"p{i}.png", 255 - focus)
        pred = np.clip(focus * 0.6 + rng.integers(0, 100, focus.shape), 0, 255).astype(np.uint8)
        write_image(root / "maps" / f"p{i}.png", pred)
    return root / "maps", root / "gt"


def test_inverted_gt_warns_records_and_strict_stops(tmp_path):
    maps, gt = polarity_set(tmp_path)
    out = tmp_path / "r.json"
    result = invoke("--pred", maps, "--gt", gt, "--out", out)
    assert result.exit_code == 0, result.output
    warn = [line for line in result.stderr.splitlines() if line.startswith("dbdbench: warning:")]
    assert len(warn) == 1 and "--gt-polarity blurred-white" in warn[0] and "10 of 10 images" in warn[0]
    recorded = json.loads(out.read_text())["warnings"]
    assert len(recorded) == 1 and "--gt-polarity blurred-white" in recorded[0]
    # the fix silences it, and the numbers are the good ones
    fixed = invoke("--pred", maps, "--gt", gt, "--gt-polarity", "blurred-white", "--out", out, "--overwrite")
    assert fixed.exit_code == 0 and "warning" not in fixed.stderr
    assert json.loads(out.read_text())["warnings"] == []
    assert json.loads(out.read_text())["summary"]["dice"] > 0.5
    strict = invoke("--pred", maps, "--gt", gt, "--strict-polarity", "--out", tmp_path / "s.json")
    assert_one_line_error(strict, "GT polarity looks inverted", "--gt-polarity blurred-white")
    assert not (tmp_path / "s.json").exists()


def test_many_methods_warnings_equal_single_runs(tmp_path):
    maps, gt = polarity_set(tmp_path)
    shutil.copytree(maps, tmp_path / "copy")
    (tmp_path / "copy" / "p3.png").unlink()
    for p in list(gt.iterdir())[:4]:  # some 0/1 masks too
        from dbdbench.imageio import read_grey

        write_image(p, (read_grey(p) // 255).astype(np.uint8))
    preds = {"maps": maps, "copy": tmp_path / "copy"}
    many = evaluate_many(preds, gt, protocols=["hifst", "ddffnet"], allow_missing=True, progress=False)
    for (m, p), result in many.items():
        single = evaluate(preds[m], gt, protocol=p, name=m, allow_missing=True, progress=False)
        assert result.to_dict() == single.to_dict()
        assert len(result.warnings) == 2 and f"({m})" in result.warnings[1]
    a, b = (f"--pred={m}={d}" for m, d in preds.items())
    res = invoke(a, b, "--gt", gt, "--allow-missing")
    assert res.exit_code == 0
    lines = res.stderr.strip().splitlines()
    assert len([w for w in lines if "GT polarity looks inverted" in w]) == 2
    assert len([w for w in lines if "hold only the values 0 and 1" in w]) == 2  # 4 of 10, 4 of 9


def test_polarity_rule_is_quiet_on_random_maps_and_small_sets():
    # a sign test: random maps are inverted in about half of the images, and 5 of 5 is chance (p = 1/32)
    assert inverted_images([0.2, -0.1, None, -0.3]) == (2, 3)
    assert not looks_inverted(5, 5)
    assert looks_inverted(7, 7)  # p = 1/128
    assert not looks_inverted(55, 100) and not looks_inverted(74, 100)
    assert looks_inverted(75, 100) and looks_inverted(967, 1000)
    assert not looks_inverted(0, 0)


def test_random_maps_do_not_warn(tmp_path):
    rng = np.random.default_rng(11)
    for i in range(40):
        gt = np.zeros((10, 12), np.uint8)
        gt[:, : rng.integers(3, 10)] = 255
        write_image(tmp_path / "gt" / f"r{i}.png", gt)
        write_image(tmp_path / "maps" / f"r{i}.png", rng.integers(0, 256, (10, 12), dtype=np.uint8))
    result = invoke("--pred", tmp_path / "maps", "--gt", tmp_path / "gt", "--strict-polarity")
    assert result.exit_code == 0 and "warning" not in result.stderr


@pytest.mark.slow
def test_polarity_check_on_real_cuhk_and_denets(real_data, tmp_path):
    from dbdbench.datasets import te1_names

    cuhk = real_data / "cuhk"
    for name in te1_names():
        (tmp_path / "gt").mkdir(exist_ok=True)
        (tmp_path / "maps").mkdir(exist_ok=True)
        shutil.copy(cuhk / "gt" / f"{name}.png", tmp_path / "gt")
        shutil.copy(cuhk / "results" / "hifst" / f"{name}_HiFSTBlurMap.png", tmp_path / "maps")
    args = ("--pred", tmp_path / "maps", "--pred-suffix", "_HiFSTBlurMap", "--protocol", "hifst")
    wrong = invoke(*args, "--gt", tmp_path / "gt")
    assert wrong.exit_code == 0 and "--gt-polarity blurred-white" in wrong.stderr
    right = invoke(*args, "--gt", tmp_path / "gt", "--gt-polarity", "blurred-white", "--strict-polarity")
    assert right.exit_code == 0 and "warning" not in right.stderr
    ok = invoke(*args, "--dataset", "cuhk", "--root", cuhk, "--split", "te1", "--strict-polarity")
    assert ok.exit_code == 0, ok.output
    for subset in ("xu100", "dut500"):
        root = real_data / "denets-samples" / subset
        preds = [f"--pred={m}={root / 'results' / m}" for m in ("aenet", "efenet")]
        res = invoke(*preds, "--gt", root / "gt", "--protocol", "sod,zhao", "--strict-polarity")
        assert res.exit_code == 0 and "warning" not in res.stderr, res.output


# ---------------------------------------------------------------- 0/1-valued masks
def test_zero_one_masks_read_as_binary_in_every_protocol(tmp_path):
    maps, gt = polarity_set(tmp_path)
    full = tmp_path / "gt255"
    shutil.copytree(gt, full)
    for p in gt.iterdir():  # the same masks saved as 0 and 1
        from dbdbench.imageio import read_grey

        write_image(p, (read_grey(p) // 255).astype(np.uint8))
    summaries = {}
    for protocol in PROTOCOLS:
        outs = []
        for folder in (gt, full):
            out = tmp_path / f"{folder.name}-{protocol}.json"
            res = invoke(
                "--pred",
                maps,
                "--gt",
                folder,
                "--gt-polarity",
                "blurred-white",
                "--protocol",
                protocol,
                "--out",
                out,
            )
            assert res.exit_code == 0, res.output
            outs.append((json.loads(out.read_text()), res.stderr))
        (zero_one, err01), (binary, err255) = outs
        assert zero_one["summary"] == binary["summary"], protocol
        summaries[protocol] = zero_one["summary"]
        assert "10 of 10 GT masks hold only the values 0 and 1" in err01 and "0 and 1" not in err255
        assert any("0 and 1" in w for w in zero_one["warnings"]) and binary["warnings"] == []
    # read as stored, 0/1 blurred-white masks are all in-focus (255 - 1 > 128): another number
    from dbdbench.imageio import read_grey
    from dbdbench.metrics.protocol import stack
    from dbdbench.metrics.protocols import get_protocol

    sod = get_protocol("sod")
    pairs = [(read_grey(maps / p.name), read_grey(p)) for p in sorted(gt.iterdir())]
    raw = sod.summarize(stack([sod.score_image(m, g, "blurred-white") for m, g in pairs]))
    assert summaries["sod"]["dice"] > 0.9 and raw["dice"] < 0.8


def test_zero_one_maps_under_ddffnet(tmp_path):
    # ddffnet reads maps as value / 255: a 0/1 binary map would be "all blurred" without the rule
    maps, gt = polarity_set(tmp_path, n=4)
    binary = tmp_path / "bin255"
    for p in maps.iterdir():
        from dbdbench.imageio import read_grey

        b = read_grey(p) > 128
        write_image(binary / p.name, b.astype(np.uint8) * 255)
        write_image(p, b.astype(np.uint8))
    kw = dict(gt_polarity="blurred-white", protocol="ddffnet", progress=False)
    zero_one, ref = evaluate(maps, gt, **kw), evaluate(binary, gt, **kw)
    assert zero_one.summary == ref.summary
    assert zero_one.warnings == [
        "4 of 4 maps of maps hold only the values 0 and 1 (e.g. 'p0'): read as binary, 1 = full scale (255)"
    ]


# ---------------------------------------------------------------- bootstrap cap
def test_bootstrap_cap(tmp_path):
    gt, dirs, _ = make_methods(tmp_path, n=2, methods=("alpha",))
    assert_one_line_error(invoke("--pred", dirs["alpha"], "--gt", gt, "--bootstrap", "100001"), "100000")
    with pytest.raises(Exception, match="cap of 100000"):
        evaluate(dirs["alpha"], gt, bootstrap=10**6, progress=False)
