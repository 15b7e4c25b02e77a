"""Leaderboard tables: ranks with ties, best/second marks, missing methods, the three formats."""

from __future__ import annotations

import csv
import io

from board_helpers import write_result

from dbdbench.leaderboards.results import group_results, load_results
from dbdbench.leaderboards.tables import (
    build_tables,
    dense_ranks,
    latex_document,
    table_latex,
    table_markdown,
    tables_csv,
    tex_escape,
)


def test_dense_ranks_hand_worked():
    assert dense_ranks([0.5, 0.7, 0.7, None, 0.2], True) == [2, 1, 1, None, 3]
    assert dense_ranks([0.5, 0.7, 0.7, None, 0.2], False) == [2, 3, 3, None, 1]
    # equal at three decimals -> tie; different at three decimals -> no tie
    assert dense_ranks([0.81249, 0.8121, 0.8114], True) == [1, 1, 2]
    assert dense_ranks([None, None], True) == [None, None]


def _tables(tmp_path):
    # hifst on cuhk: a, b tie for best maxF; c second. MAE: c best, a second (lower is better).
    # d has a hifst result on "sim" only, so it must appear as missing in the cuhk table.
    paths = [
        write_result(
            tmp_path, "a", method="a", protocol="hifst", dataset="cuhk", summary={"max_f": 0.8, "mae": 0.2}
        ),
        write_result(
            tmp_path, "b", method="b", protocol="hifst", dataset="cuhk", summary={"max_f": 0.8, "mae": 0.3}
        ),
        write_result(
            tmp_path,
            "c",
            method="c_x",
            protocol="hifst",
            dataset="cuhk",
            summary={"max_f": 0.7, "mae": 0.1},
            counts={"gt": 10, "evaluated": 8, "missing": 2},
        ),
        write_result(
            tmp_path, "d", method="d", protocol="hifst", dataset="sim", summary={"max_f": 0.9, "mae": 0.4}
        ),
        write_result(tmp_path, "e", method="e", protocol="sod", dataset="cuhk"),
    ]
    return build_tables(group_results(load_results(paths)))


def test_ranks_ties_and_missing(tmp_path):
    tables = _tables(tmp_path)
    assert [(t.group.protocol, t.group.dataset) for t in tables] == [
        ("sod", "cuhk"),
        ("hifst", "cuhk"),
        ("hifst", "sim"),
    ]
    cuhk = tables[1]
    assert [r.label for r in cuhk.rows] == ["a", "b", "c_x", "d"]
    ranks = {r.label: (r.ranks["max_f"], r.ranks["mae"]) for r in cuhk.rows}
    assert ranks == {"a": (1, 2), "b": (1, 3), "c_x": (2, 1), "d": (None, None)}
    d = cuhk.rows[-1]
    assert not d.present and d.values == {"max_f": None, "mae": None}
    # the sod method never appears under hifst, and vice versa
    assert [r.label for r in tables[0].rows] == ["e"]
    assert [r.label for r in tables[2].rows] == ["d", "a", "b", "c_x"]


def test_markdown_marks(tmp_path):
    md = table_markdown(_tables(tmp_path)[1])
    lines = {
        line.split("|")[1].strip(): line
        for line in md.splitlines()
        if line.startswith("| ") and "Method" not in line
    }
    assert "| maxF ↑ | MAE ↓ |" in md
    assert lines["a"] == "| a | **0.800** | <u>0.200</u> |"
    assert lines["b"] == "| b | **0.800** | 0.300 |"
    assert lines["c\\_x †"] == "| c\\_x † | <u>0.700</u> | **0.100** |"
    assert lines["d *(no result on this dataset)*"] == "| d *(no result on this dataset)* | n/a | n/a |"
    assert "† c\\_x: 8 of 10 images evaluated." in md


def test_latex_booktabs(tmp_path):
    tex = table_latex(_tables(tmp_path)[1])
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"maxF $\uparrow$", r"MAE $\downarrow$"):
        assert token in tex
    assert r"a & \textbf{0.800} & \underline{0.200} \\" in tex
    assert r"b & \textbf{0.800} & 0.300 \\" in tex
    assert r"c\_x$^\dagger$ & \underline{0.700} & \textbf{0.100} \\" in tex
    assert r"d & n/a & n/a \\" in tex
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
    assert "booktabs" in latex_document(_tables(tmp_path))
    assert (
        tex_escape("a_b & 50% #1 {x} ~ ^ \\")
        == r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )


def test_csv_long_format(tmp_path):
    rows = list(csv.DictReader(io.StringIO(tables_csv(_tables(tmp_path)))))
    by = {(r["protocol"], r["dataset"], r["method"], r["metric"]): r for r in rows}
    a = by[("hifst", "cuhk", "a", "max_f")]
    assert (float(a["value"]), a["rank"], a["higher_is_better"], a["source"]) == (0.8, "1", "1", "user")
    d = by[("hifst", "cuhk", "d", "mae")]
    assert (d["value"], d["rank"], d["source"]) == ("", "", "")
    c = by[("hifst", "cuhk", "c_x", "mae")]
    assert (c["rank"], c["evaluated"], c["gt"], c["higher_is_better"]) == ("1", "8", "10", "0")
    assert len(rows) == 9 * 1 + 2 * 4 + 2 * 4


def test_single_value_is_not_marked(tmp_path):
    """The published curves give no MAE: the user's MAE, alone in its column, is ranked, not marked."""
    from dbdbench.leaderboards.published import attach_published

    n = {"gt": 1000, "evaluated": 1000, "missing": 0}
    path = write_result(tmp_path, "b", method="b", protocol="hifst", dataset="cuhk-full",
                        summary={"max_f": 0.99, "mae": 0.2}, counts=n)  # fmt: skip
    (table,) = build_tables(group_results(attach_published(load_results([path]), protocols=["hifst"])))
    md = table_markdown(table)
    assert "| b | **0.990** | 0.200 |" in md and "| HiFST (published) | <u>" in md
    assert [r.ranks["mae"] for r in table.rows] == [1] + [None] * 11  # still ranked in the CSV
