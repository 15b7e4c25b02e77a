"""The web page and the `dbdbench leaderboard` command, end to end on hand-made results."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from board_helpers import linear_curve, write_result
from click.testing import CliRunner

from dbdbench.cli import main

METHODS = ["lapvar", "tenengrad", "dct<x>&y"]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A leaderboard of three methods under two protocols on one dataset, plus the published curves
    (``--protocol`` leaves out the published ddffnet table: its own tests are below)."""
    src = tmp_path_factory.mktemp("results")
    paths = []
    for i, m in enumerate(METHODS):
        for proto in ("sod", "hifst"):
            f = 0.5 + 0.1 * i if proto == "sod" else 0.8 - 0.1 * i
            paths.append(
                write_result(
                    src,
                    f"{proto}-{i}",
                    method=m,
                    protocol=proto,
                    dataset="cuhk-full",
                    curve=linear_curve(0.3 + 0.1 * i),
                    summary={"max_f": f, "mae": 0.1 + 0.05 * i},
                    counts={"gt": 1000, "evaluated": 1000, "missing": 0},
                )
            )
    out = tmp_path_factory.mktemp("board")
    args = ["leaderboard", *map(str, paths), "--published", "--protocol", "sod,hifst", "--out", str(out)]
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0, run.output
    return out, run.output


def test_outputs_and_message(board):
    out, output = board
    for name in ("leaderboard.md", "leaderboard.tex", "leaderboard.csv", "sensitivity.csv", "index.html"):
        assert (out / name).is_file() and str(out / name) in output
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    # sod and hifst: PR, F-threshold, F bars, MAE bars; plus the sensitivity figure
    assert len(pngs) == 9 and "pr_hifst_cuhk-full.png" in pngs and "sensitivity_cuhk-full.png" in pngs
    for png in pngs:
        stem = png[:-4]
        assert (out / "plots" / f"{stem}.svg").is_file() and (out / "plots" / f"{stem}.pdf").is_file()
    assert "file://" in output


def test_published_only_with_matching_protocol(board):
    md = (board[0] / "leaderboard.md").read_text()
    sod, hifst = (
        md.split("### protocol hifst")[0],
        md.split("### protocol hifst")[1].split("### Protocol sensitivity")[0],
    )
    assert "HiFST (published)" in hifst and "(published)" not in sod


def test_sensitivity_view(board):
    md = (board[0] / "leaderboard.md").read_text()
    part = md.split("### Protocol sensitivity — dataset cuhk-full")[1]
    # sod ranks dct first (0.7), hifst ranks lapvar first (0.8): the ranking flips
    assert "| lapvar | 0.500 | 0.100 | 3 | 0.800 | 0.100 | 1 |" in part
    assert "| dct&lt;x&gt;&amp;y | 0.700 | 0.200 | 1 | 0.600 | 0.200 | 3 |" in part
    assert "sod vs hifst: -1.00" in part


def test_page_is_self_contained(board):
    html = (board[0] / "index.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count('src="data:image/png;base64,') == 9
    assert "dct&lt;x&gt;&amp;y" in html and "dct<x>" not in html  # names are escaped
    assert html.count('class="sortable"') == 3


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="headless chromium is not installed (apt-get install chromium)"
)
def test_page_renders_in_headless_chromium(board, tmp_path):
    page = board[0] / "index.html"
    run = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    for name in ["lapvar", "tenengrad", "dct&lt;x&gt;&amp;y", "HiFST (published)", "Chakrabarti (published)"]:
        assert name in dom
    # the inline script ran to its end and wired every table
    assert 'data-sortable-tables="3"' in dom


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    runner = CliRunner()
    run = runner.invoke(main, ["leaderboard", str(bad), "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and "corrupt JSON" in run.output and "Traceback" not in run.output
    assert not (tmp_path / "o").exists()  # nothing written
    a = write_result(tmp_path, "a", method="m")
    b = write_result(tmp_path, "b", method="m")
    run = runner.invoke(main, ["leaderboard", str(a), str(b), "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and "both hold method 'm'" in run.output
    run = runner.invoke(main, ["leaderboard", "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and "no result files given" in run.output
    run = runner.invoke(main, ["leaderboard", str(a), "--protocol", "hifst", "--out", str(tmp_path / "o")])
    assert run.exit_code == 2 and "protocol 'sod', not under --protocol hifst" in run.output
    run = runner.invoke(
        main, ["leaderboard", "--sensitivity", "--pred", "=x", "--gt", ".", "--out", str(tmp_path / "o")]
    )
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "dbdbench: error: --pred '=x' must be DIR or NAME=DIR with both parts given"
    )
    assert not (tmp_path / "o").exists()


def test_published_alone():
    """--published without results: one hifst table of the 11 references, ranked by their maxF."""
    from dbdbench.leaderboards.published import attach_published
    from dbdbench.leaderboards.results import group_results
    from dbdbench.leaderboards.tables import build_tables

    (table,) = build_tables(group_results(attach_published([], protocols=["hifst"])))
    assert table.title == "protocol hifst, dataset cuhk-full, 1000 images" and len(table.rows) == 11
    assert [r.label for r in table.rows[:2]] == ["HiFST (published)", "Yi (published)"]
    assert table.rows[0].ranks == {"max_f": 1, "mae": None}
    assert attach_published([], protocols=["sod"]) == []


def test_published_joins_only_the_same_image_set(tmp_path):
    from dbdbench.errors import DbdError
    from dbdbench.leaderboards.published import attach_published
    from dbdbench.leaderboards.results import group_results, load_results

    n1000 = {"gt": 1000, "evaluated": 1000, "missing": 0}
    full = write_result(tmp_path, "full", method="x", protocol="hifst", dataset="cuhk-full", counts=n1000)
    folder = write_result(tmp_path, "folder", method="y", protocol="hifst", dataset="gt", counts=n1000)
    defocus = write_result(tmp_path, "defocus", method="z", protocol="hifst", dataset="cuhk",
                           counts={"gt": 704, "evaluated": 704, "missing": 0})  # fmt: skip
    sod = write_result(tmp_path, "sod", method="x", protocol="sod", dataset="cuhk-full", counts=n1000)

    def groups(paths, **kw):
        return {(g.protocol, g.dataset): [r.label for r in g.results] for g in group_results(
            attach_published(load_results(paths), **kw))}  # fmt: skip

    g = groups([full, defocus, sod])
    assert len(g[("hifst", "cuhk-full")]) == 12 and g[("hifst", "cuhk")] == ["z"]
    assert g[("sod", "cuhk-full")] == ["x"]  # never beside another protocol
    g = groups([folder])
    assert g[("hifst", "gt")] == ["y"] and len(g[("hifst", "cuhk-full")]) == 11  # not declared: apart
    g = groups([folder], same_as="gt")
    assert len(g[("hifst", "gt")]) == 12 and "HiFST (published)" in g[("hifst", "gt")]
    with pytest.raises(DbdError, match="covers 704 images of 'cuhk'.*cover 1000"):
        groups([defocus], same_as="cuhk")
