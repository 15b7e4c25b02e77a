"""Reading and validating result files: every kind of bad input gives one clear DbdError."""

from __future__ import annotations

import json

import numpy as np
import pytest
from board_helpers import result_dict, write_result
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.leaderboards.results import group_results, load_result, load_results


def test_load_valid_result(tmp_path):
    path = write_result(
        tmp_path,
        "a",
        method="lapvar",
        protocol="hifst",
        dataset="cuhk",
        summary={"max_f": 0.7, "mae": 0.3},
        intervals={"max_f": [0.68, 0.72]},
    )
    r = load_result(path)
    assert (r.method, r.protocol, r.dataset, r.split) == ("lapvar", "hifst", "cuhk", None)
    assert r.value("max_f") == 0.7 and r.intervals["max_f"] == (0.68, 0.72)
    assert r.label == "lapvar" and r.source == "user" and r.path == path


def test_corrupt_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "dbdbench-result", "format_version": 1,')
    with pytest.raises(DbdError, match=r"broken\.json.*corrupt JSON.*line 1"):
        load_result(path)


def test_missing_file(tmp_path):
    with pytest.raises(DbdError, match="does not exist"):
        load_result(tmp_path / "nope.json")


def test_other_format_version_is_refused(tmp_path):
    data = result_dict("x") | {"format_version": 2, "dbdbench_version": "9.0.0"}
    (tmp_path / "new.json").write_text(json.dumps(data))
    with pytest.raises(DbdError, match=r"format_version 2 \(written by dbdbench 9\.0\.0\).*re-evaluate"):
        load_result(tmp_path / "new.json")


def test_other_release_same_format_is_accepted(tmp_path):
    r = load_result(write_result(tmp_path, "old", method="x", version="0.0.9"))
    assert r.dbdbench_version == "0.0.9"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"format": "something-else"}, "not a dbdbench result"),
        ({"protocol": "voc"}, "unknown protocol 'voc'"),
        ({"method": ""}, "field 'method' is missing"),
        ({"method": "HiFST (published)"}, "ends like a published reference"),
        ({"summary": {"max_f": 0.5}}, "summary lacks mean_f"),
        (
            {"protocol": "hifst", "summary": {"max_f": "high", "mae": 0.1}},
            'summary.max_f is "high", not a number',
        ),
        (
            {"curves": {"thresholds": [0, 1], "precision": [1.0], "recall": [1.0], "f": [1.0]}},
            "unequal lengths",
        ),
        ({"intervals": {"max_f": [0.1]}}, "not a \\[low, high\\] pair"),
    ],
)
def test_malformed_results(tmp_path, patch, message):
    (tmp_path / "bad.json").write_text(json.dumps(result_dict("x") | patch))
    with pytest.raises(DbdError, match=message):
        load_result(tmp_path / "bad.json")


def test_same_method_twice_is_refused(tmp_path):
    a = write_result(tmp_path, "a", method="lapvar", dataset="sim")
    b = write_result(tmp_path, "b", method="lapvar", dataset="sim")
    with pytest.raises(DbdError, match=r"'.*a\.json' and '.*b\.json' both hold method 'lapvar'"):
        load_results([a, b])


def test_same_method_on_other_dataset_or_protocol_is_fine(tmp_path):
    paths = [
        write_result(tmp_path, "a", method="lapvar", dataset="sim"),
        write_result(tmp_path, "b", method="lapvar", dataset="cuhk"),
        write_result(tmp_path, "c", method="lapvar", dataset="sim", protocol="hifst"),
        write_result(tmp_path, "d", method="lapvar", dataset="sim", split="te1"),
    ]
    assert len(load_results(paths)) == 4


def test_protocol_outside_the_chosen_ones_is_refused(tmp_path):
    a = write_result(tmp_path, "a", method="x", protocol="sod")
    b = write_result(tmp_path, "b", method="y", protocol="hifst")
    with pytest.raises(
        DbdError, match=r"b\.json' was scored under protocol 'hifst', not under --protocol sod"
    ):
        load_results([a, b], protocols=["sod"])
    with pytest.raises(DbdError, match="unknown protocol 'f1'"):
        load_results([a], protocols=["f1"])


def test_groups_never_mix_protocols(tmp_path):
    paths = [
        write_result(tmp_path, "a", method="x", protocol="hifst", dataset="cuhk"),
        write_result(tmp_path, "b", method="y", protocol="sod", dataset="cuhk"),
        write_result(tmp_path, "c", method="y", protocol="hifst", dataset="cuhk"),
        write_result(tmp_path, "d", method="x", protocol="sod", dataset="sim"),
    ]
    groups = group_results(load_results(paths))
    assert [(g.protocol, g.dataset) for g in groups] == [("sod", "cuhk"), ("sod", "sim"), ("hifst", "cuhk")]
    assert [r.method for r in groups[2].results] == ["x", "y"]
    for g in groups:
        assert {r.protocol for r in g.results} == {g.protocol}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # JSON null, NaN and Infinity (Python's json reads the last two), a value above and below [0, 1]
        ('"max_f": null', "summary.max_f is null, not a number"),
        ('"max_f": NaN', "summary.max_f is nan, outside [0, 1] (maxF of protocol hifst)"),
        ('"mae": Infinity', "summary.mae is inf, outside [0, 1] (MAE of protocol hifst)"),
        ('"max_f": 5.0', "summary.max_f is 5.0, outside [0, 1] (maxF of protocol hifst)"),
        ('"mae": -0.1', "summary.mae is -0.1, outside [0, 1] (MAE of protocol hifst)"),
    ],
)
def test_cli_refuses_bad_summary_numbers(tmp_path, text, message):
    """A summary outside its metric's range is not ranked: one line names the file and the number."""
    good = write_result(tmp_path, "good", method="good", protocol="hifst", summary={"max_f": 0.7, "mae": 0.2})
    key = text.split(":")[0].strip('"')
    raw = json.dumps(result_dict("bad", protocol="hifst", summary={"max_f": 0.6, "mae": 0.3}))
    raw = raw.replace(f'"{key}": {0.6 if key == "max_f" else 0.3}', text)
    (tmp_path / "bad.json").write_text(raw)
    out = tmp_path / "board"
    run = CliRunner().invoke(main, ["leaderboard", str(good), str(tmp_path / "bad.json"), "--out", str(out)])
    assert run.exit_code == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"dbdbench: error: result file '{tmp_path / 'bad.json'}': {message}; ")
    assert not out.exists()


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"gt": 10, "evaluated": 0, "missing": 10}, "no image was evaluated (counts.evaluated is 0)"),
        ({"gt": 10, "evaluated": 12, "missing": 0}, "counts.evaluated 12 exceeds counts.gt 10"),
        ({"gt": 10, "evaluated": 2.5, "missing": 0}, "counts.evaluated is 2.5, not a count of images"),
    ],
)
def test_cli_refuses_results_without_images(tmp_path, counts, message):
    """A result of no image (its summary 1.0 by convention) or of impossible counts is refused."""
    good = write_result(tmp_path, "good", method="good", summary={"max_f": 0.7})
    bad = write_result(tmp_path, "bad", method="empty", summary={"max_f": 1.0}, counts=counts)
    out = tmp_path / "board"
    run = CliRunner().invoke(main, ["leaderboard", str(good), str(bad), "--out", str(out)])
    assert run.exit_code == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"dbdbench: error: result file '{bad}': {message}; ")
    assert not out.exists()


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ([0.4, 1.2], "intervals.max_f is 1.2, outside [0, 1] (maxF of protocol hifst)"),
        ([0.6, 0.4], "intervals.max_f has its low end above its high end"),
        ([None, 0.4], "intervals.max_f is null, not a number"),
    ],
)
def test_cli_refuses_bad_intervals(tmp_path, pair, message):
    bad = write_result(tmp_path, "bad", method="m", protocol="hifst", intervals={"max_f": pair})
    run = CliRunner().invoke(main, ["leaderboard", str(bad), "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and message in run.stderr


def test_evaluator_output_passes_the_checks(tmp_path):
    """What evaluate writes for every protocol is accepted as is (the ranges fit real numbers)."""
    from dbdbench.evaluation import evaluate
    from dbdbench.imageio import write_image

    rng = np.random.default_rng(3)
    for i in range(3):
        gt = np.zeros((12, 16), np.uint8)
        gt[:, : 4 + 3 * i] = 255
        write_image(tmp_path / "gt" / f"{i}.png", gt)
        write_image(tmp_path / "pred" / f"{i}.png", rng.integers(0, 256, gt.shape, dtype=np.uint8))
    paths = [
        evaluate(tmp_path / "pred", tmp_path / "gt", protocol=p, bootstrap=20).save(tmp_path / f"{p}.json")
        for p in ("sod", "hifst", "zhao", "binseg", "ddffnet")
    ]
    assert [r.protocol for r in load_results(paths)] == ["sod", "hifst", "zhao", "binseg", "ddffnet"]
