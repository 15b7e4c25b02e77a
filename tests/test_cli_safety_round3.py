"""Nothing lost, nothing silent, round 3 (issue 20 items 1, 2, 3, 5, 6, 8; issue 19's options defined
once): each case as a user would meet it on the command line, with the exit status, the one line and
what is on disk afterwards."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from board_helpers import write_result
from cli_helpers import one_line_error, run

from dbdbench.imageio import write_image
from dbdbench.outputs import MANIFEST_FILE, output_lock

H, W = 24, 32


def tree(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``folder`` (following no link)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def three(tmp_path):
    """Three photos in img/ and their masks in gt/."""
    for i, n in enumerate("abc"):
        m = np.zeros((H, W), np.uint8)
        m[6:18, 8 + i : 24] = 255
        write_image(tmp_path / "gt" / f"{n}.png", m)
        write_image(tmp_path / "img" / f"{n}.png", np.dstack([m, m // 2, 255 - m]))
    return tmp_path


@pytest.fixture
def user_photos(tmp_path):
    """A user's own folder that no command may touch."""
    folder = tmp_path / "mine"
    write_image(folder / "holiday.png", np.full((H, W), 7, np.uint8))
    return folder


# ---- 1. nothing written or removed through a symbolic link out of --out ------------------------


def test_export_refuses_a_symlinked_sub_folder(three, user_photos):
    src = three / "src"
    for n in "ab":
        write_image(src / "gt" / f"{n}.png", np.zeros((H, W), np.uint8))
        write_image(src / "image" / f"{n}.png", np.zeros((H, W, 3), np.uint8))
    out = three / "o"
    out.mkdir()
    (out / "image").symlink_to(user_photos)
    before = tree(user_photos)
    for extra in ([], ["--overwrite"]):
        res = run("datasets", "export", "folder", "--root", src, "--out", out, *extra)
        line = one_line_error(res)
        assert ("symbolic link" in line) if extra else ("not empty" in line)
    assert tree(user_photos) == before
    assert sorted(p.name for p in out.iterdir()) == ["image"]


def test_export_overwrite_removes_only_what_an_export_wrote(three):
    src = three / "src"
    for n in "ab":
        write_image(src / "gt" / f"{n}.png", np.zeros((H, W), np.uint8))
        write_image(src / "image" / f"{n}.png", np.zeros((H, W, 3), np.uint8))
    out = three / "o"
    assert run("datasets", "export", "folder", "--root", src, "--out", out).exit_code == 0
    listed = json.loads((out / MANIFEST_FILE).read_text())["files"]
    assert listed == ["gt/a.png", "gt/b.png", "image/a.png", "image/b.png"]
    write_image(out / "gt" / "myreal.png", np.zeros((H, W), np.uint8))  # a mask the user added
    before = tree(out)
    res = run("datasets", "export", "folder", "--root", src, "--out", out, "--overwrite")
    one_line_error(res, "myreal.png' was not written by dbdbench datasets export", "move it out")
    assert tree(out) == before
    (out / "gt" / "myreal.png").unlink()
    assert run("datasets", "export", "folder", "--root", src, "--out", out, "--overwrite").exit_code == 0


# ---- 2. generate-sim --overwrite keeps foreign files -------------------------------------------


@pytest.fixture
def gs(tmp_path):
    out = tmp_path / "gs"
    assert run("generate-sim", "--count", "2", "--size", "64", "--out", out).exit_code == 0
    return out


@pytest.mark.parametrize("foreign", ["gt/README.txt", "gt/myreal.png", "image/sub/x.png", ".rows/notes.txt"])
def test_generate_sim_overwrite_refuses_foreign_files(gs, foreign):
    (gs / foreign).parent.mkdir(parents=True, exist_ok=True)
    (gs / foreign).write_bytes(b"mine")
    before = tree(gs)
    res = run("generate-sim", "--count", "2", "--size", "64", "--out", gs, "--overwrite", "--seed", "3")
    shown = foreign if foreign != "image/sub/x.png" else "image/sub"
    one_line_error(res, f"{shown}' was not written by dbdbench generate-sim")
    assert tree(gs) == before


def test_generate_sim_overwrite_refuses_a_symlinked_sub_folder(gs, user_photos):
    before = tree(user_photos)
    os.rename(gs / "gt", gs.parent / "gt-moved")
    (gs / "gt").symlink_to(user_photos)
    for extra in (["--overwrite"], ["--resume"]):
        res = run("generate-sim", "--count", "2", "--size", "64", "--out", gs, *extra)
        one_line_error(res, "gs/gt' is a symbolic link", "remove the link")
    assert tree(user_photos) == before


def test_generate_sim_overwrite_replaces_its_own_set(gs):
    res = run("generate-sim", "--count", "1", "--size", "64", "--out", gs, "--overwrite", "--seed", "5")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (gs / "gt").iterdir()) == ["000000.png"]


# ---- 3. one writer at a time --------------------------------------------------------------------


def test_a_second_writer_is_refused_with_one_line(three):
    maps = three / "maps"
    with output_lock(maps):  # another dbdbench process writing maps/
        res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", maps)
        one_line_error(res, f"--out '{maps}' is being written by another dbdbench command", "wait for it")
        assert os.listdir(maps) == [".dbdbench.lock"]  # the other command's lock only
    assert run("predict", "--method", "lapvar", "--images", three / "img", "--out", maps).exit_code == 0
    assert sorted(os.listdir(three)) == ["gt", "img", "maps"]  # no lock file left


def test_evaluate_out_dir_and_out_file_are_locked(three):
    run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "m")
    res_dir = three / "res"
    with output_lock(res_dir, what="--out-dir"):
        res = run("evaluate", "--pred", three / "m", "--gt", three / "gt", "--out-dir", res_dir)
        one_line_error(res, "--out-dir", "is being written by another dbdbench command")
    out = three / "r.json"
    with output_lock(files=[out]):
        res = run("evaluate", "--pred", three / "m", "--gt", three / "gt", "--out", out)
        one_line_error(res, f"--out '{out}' is being written by another dbdbench command")
    assert not res_dir.exists() and not out.exists()


def test_a_killed_writer_leaves_no_lock(three):
    maps = three / "maps"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from dbdbench.outputs import output_lock\n"
            f"with output_lock({str(maps)!r}):\n    print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", maps)
        one_line_error(res, f"(process {holder.pid})")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (maps / ".dbdbench.lock").exists()  # left by the killed process, but no longer held
    assert run("predict", "--method", "lapvar", "--images", three / "img", "--out", maps).exit_code == 0


# ---- --overwrite replaces only what dbdbench wrote ----------------------------------------------


def test_predict_overwrite_keeps_a_file_it_did_not_write(three):
    maps = three / "maps"
    assert run("predict", "--method", "lapvar", "--images", three / "img", "--out", maps).exit_code == 0
    assert json.loads((maps / MANIFEST_FILE).read_text())["files"] == ["a.png", "b.png", "c.png"]
    (maps / "b.png").unlink()
    write_image(maps / "b.png", np.full((H, W), 9, np.uint8))  # the user's own b.png now
    listed = json.loads((maps / MANIFEST_FILE).read_text())
    listed["files"].remove("b.png")
    (maps / MANIFEST_FILE).write_text(json.dumps(listed))
    before = tree(maps)
    res = run("predict", "--method", "dct", "--images", three / "img", "--out", maps, "--overwrite")
    one_line_error(res, "b.png' was not written by dbdbench predict")
    assert tree(maps) == before


# ---- 5. names a reader trusts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, where",
    [
        (["--name", "a\nb"], "--name"),
        (["--pred-as", "x\ry"], "--pred NAME=DIR"),
    ],
)
def test_control_characters_in_names_are_refused(three, args, where):
    run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "m")
    if args[0] == "--pred-as":
        args = ["--pred", f"{args[1]}={three / 'm'}"]
    else:
        args = ["--pred", three / "m", *args]
    res = run("evaluate", *args, "--gt", three / "gt", "--out", three / "r.json")
    one_line_error(res, where, "control character", "printable characters")
    assert not (three / "r.json").exists()


HOSTILE = "[x](javascript:alert(1)) <img src=x onerror=alert(1)></script>"


def test_hostile_names_are_escaped_everywhere(tmp_path):
    a = write_result(tmp_path, "a", method=HOSTILE, dataset="CUHK")
    b = write_result(tmp_path, "b", method='=HYPERLINK("http://x")', dataset="CUHK", summary={"max_f": 0.7})
    c = write_result(tmp_path, "c", method="a$b_$^{x", dataset="CUHK")  # no formula in the figures
    board = tmp_path / "board"
    res = run("leaderboard", a, b, c, "--out", board)
    assert res.exit_code == 0, res.output
    md = (board / "leaderboard.md").read_text()
    assert "<img" not in md and "</script>" not in md and not re.search(r"(?<!\\)\]\(", md)  # no link
    assert r"\[x\](javascript:alert(1)) &lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;" in md
    html = (board / "index.html").read_text()
    assert "<img src=x" not in html and html.count("</script>") == 1  # only the page's own script
    assert "<h2" in html and "Protocol sod, dataset CUHK" in html  # the user's case kept
    tex = (board / "leaderboard.tex").read_text()
    assert r"\caption{Protocol sod, dataset CUHK" in tex
    rows = list(csv.DictReader(io.StringIO((board / "leaderboard.csv").read_text())))
    methods = {r["method"] for r in rows}
    assert methods == {HOSTILE, '\'=HYPERLINK("http://x")', "a$b_$^{x"}
    assert r"a\$b\_\$\textasciicircum{}\{x" in tex


# ---- 6. a failed leaderboard does not block its rerun -------------------------------------------


def test_failed_leaderboard_leaves_nothing_and_reruns(tmp_path, monkeypatch):
    from dbdbench.errors import DbdError
    from dbdbench.leaderboards import build

    a = write_result(tmp_path, "a", method="m1")
    board = tmp_path / "board"

    def full_disk(*_):
        raise DbdError("cannot write 'index.html': No space left on device; free disk space")

    monkeypatch.setattr(build, "_write_page", full_disk)
    one_line_error(run("leaderboard", a, "--out", board), "No space left on device")
    assert sorted(os.listdir(tmp_path)) == ["a.json"]  # no board, no stage, no lock
    monkeypatch.undo()
    res = run("leaderboard", a, "--out", board)
    assert res.exit_code == 0, res.output
    assert {"index.html", "leaderboard.md", MANIFEST_FILE} <= set(os.listdir(board))
    # a rerun with --overwrite that fails keeps the complete board in place
    before = tree(board)
    monkeypatch.setattr(build, "_write_page", full_disk)
    one_line_error(run("leaderboard", a, "--out", board, "--overwrite"), "No space left")
    assert tree(board) == before
    assert sorted(os.listdir(tmp_path)) == ["a.json", "board"]


def test_leaderboard_overwrite_refuses_a_foreign_plot(tmp_path):
    a = write_result(tmp_path, "a", method="m1")
    board = tmp_path / "board"
    assert run("leaderboard", a, "--out", board).exit_code == 0
    (board / "plots" / "my-notes.txt").write_text("mine")
    before = tree(board)
    res = run("leaderboard", a, "--out", board, "--overwrite")
    one_line_error(res, "my-notes.txt' was not written by dbdbench leaderboard")
    assert tree(board) == before


# ---- 8. messages --------------------------------------------------------------------------------


def test_windowed_detector_names_the_file(tmp_path):
    write_image(tmp_path / "img" / "strip.png", np.zeros((1, 5000, 3), np.uint8))
    res = run("predict", "--method", "lapvar", "--images", tmp_path / "img", "--out", tmp_path / "m")
    one_line_error(res, f"image '{tmp_path / 'img' / 'strip.png'}'", "5000x1 pixels is too small")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("100", "64x64 = 4096 pixels, over the limit of 100 pixels (DBDBENCH_MAX_PIXELS)"),
        ("abc", "DBDBENCH_MAX_PIXELS='abc' is not a positive integer"),
        ("-5", "DBDBENCH_MAX_PIXELS='-5' is not a positive integer"),
    ],
)
def test_pixel_limit_is_validated_and_said_in_pixels(tmp_path, value, fragment):
    write_image(tmp_path / "img" / "a.png", np.zeros((64, 64, 3), np.uint8))
    res = run(
        "predict", "--method", "lapvar", "--images", tmp_path / "img", "--out", tmp_path / "m",
        env={"DBDBENCH_MAX_PIXELS": value},
    )  # fmt: skip
    one_line_error(res, fragment)


def test_generate_sim_names_the_pixel_limit(tmp_path):
    # a fresh process: the built-in photos decoded by other tests are cached in this one
    res = subprocess.run(
        [sys.executable, "-m", "dbdbench", "generate-sim", "--count", "1", "--size", "64", "--out", "g"],
        cwd=tmp_path,
        env={**os.environ, "DBDBENCH_MAX_PIXELS": "100"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("dbdbench: error: built-in sources:")
    assert "11 of them over the pixel limit of 100 pixels (DBDBENCH_MAX_PIXELS)" in res.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", ["sod,,hifst", "sod,", ",", "sod,sod"])
def test_an_empty_or_repeated_protocol_name_is_a_usage_error(three, value):
    res = run("evaluate", "--pred", three / "gt", "--gt", three / "gt", "--protocol", value)
    line = one_line_error(res, "Invalid value for '--protocol'")
    assert ("empty protocol name" in line) or ("twice" in line)


# ---- options defined once -----------------------------------------------------------------------


def test_old_spellings_work_with_a_note(tmp_path, three):
    a = write_result(tmp_path, "a", method="m1")
    res = run("leaderboard", a, "--protocols", "sod", "--out", tmp_path / "board")
    assert res.exit_code == 0, res.output
    assert "dbdbench: note: --protocols is now spelled --protocol" in res.stderr
    res = run("leaderboard", a, "--protocols", "sod", "--protocol", "sod", "--out", tmp_path / "b2")
    one_line_error(res, "give --protocol once (--protocols is its old spelling)")
    helps = run("leaderboard", "--help").output + run("annotations", "merge", "--help").output
    assert "--protocols" not in helps and "--polarity " not in helps and "--gt-polarity" in helps
    (three / "gt2").mkdir()
    for p in (three / "gt").iterdir():
        (three / "gt2" / p.name).write_bytes(p.read_bytes())
    res = run(
        "annotations",
        "merge",
        three / "gt",
        three / "gt2",
        "--out",
        three / "mg",
        "--polarity",
        "blurred-white",
    )
    assert res.exit_code == 0, res.output
    assert "--polarity is now spelled --gt-polarity" in res.stderr


def test_one_pred_parser_for_evaluate_and_leaderboard(three, monkeypatch):
    run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "lapvar")
    monkeypatch.setenv("HOME", str(three))
    # a bare DIR and a ~ in NAME=DIR: the same rule in both commands
    res = run("leaderboard", "--sensitivity", "--pred", three / "lapvar", "--pred", "two=~/lapvar",
              "--gt", three / "gt", "--protocol", "sod", "--out", three / "board")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(three / "board" / "results" / "sod")) == [
        "lapvar.csv", "lapvar.json", "two.csv", "two.json"
    ]  # fmt: skip
