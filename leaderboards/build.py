"""Build a complete leaderboard folder from result files (``dbdbench leaderboard``).

Output layout under ``out``::

    leaderboard.md    Markdown tables (one per protocol and dataset) and the sensitivity view
    leaderboard.tex   the same tables for a paper (booktabs)
    leaderboard.csv   long-format numbers (one row per table, method, metric)
    sensitivity.csv   headline F, MAE and rank per (dataset, method, protocol), when any
    plots/            PR curves, F against threshold, F and MAE bars, adaptive P/R/F bars, sensitivity:
                      PNG, SVG, PDF
    browser/          thumbnails and large views of the map browser, per dataset (when the maps are known)
    index.html        one page with sortable tables, the figures and the map browser
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench.atomic import write_text_atomic
from dbdbench.errors import DbdError
from dbdbench.executor import run_tasks
from dbdbench.leaderboards import browser as map_browser
from dbdbench.leaderboards import page, plots, sensitivity, tables
from dbdbench.leaderboards.published import attach_published
from dbdbench.leaderboards.results import Result, group_results, load_results
from dbdbench.leaderboards.style import Styles
from dbdbench.metrics.protocols import get_protocol
from dbdbench.outputs import claim_outputs, record_outputs, remove_outputs

#: The files written at the top of ``out`` (``plots/`` and, with sensitivity, ``results/`` besides).
OUTPUT_FILES = ("leaderboard.md", "leaderboard.tex", "leaderboard.csv", "sensitivity.csv", "index.html")


@dataclass
class Leaderboard:
    """What :func:`build_leaderboard` wrote.

    Attributes
    ----------
    out : Path
        The output folder.
    files : dict of str to Path
        ``markdown``, ``latex``, ``csv``, ``html`` (and ``sensitivity_csv`` when written).
    plots : list of Path
        Every figure file written.
    results : list of Result
        The results shown (user results, then published references).
    notes : list of str
        Remarks shown on the page (mixed dbdbench releases, moved map folders, ...).
    pictures : list of Path
        The map browser's thumbnails and large views.
    """

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)


@dataclass
class _FigureJob:
    """One figure to draw and save (picklable, so worker processes can render it)."""

    kind: str  # "pr", "f-threshold", "bars", "adaptive" or "sensitivity"
    data: object  # a Group, or a Sensitivity view
    styles: Styles
    base: Path
    title: str
    metric: str = ""


def _render(job: _FigureJob) -> dict[str, Path]:
    if job.kind == "pr":
        fig = plots.pr_figure(job.data, job.styles)[0]
    elif job.kind == "f-threshold":
        fig = plots.f_threshold_figure(job.data, job.styles)[0]
    elif job.kind == "bars":
        fig = plots.bars_figure(job.data, job.styles, job.metric)[0]
    elif job.kind == "adaptive":
        fig = plots.adaptive_prf_figure(job.data, job.styles)[0]
    else:
        fig = sensitivity.sensitivity_figure(job.data, job.styles)[0]
    return plots.save_figure(fig, job.base)


def _group_jobs(group, styles, plot_dir: Path) -> list[_FigureJob]:
    where = f"{group.dataset_label}, protocol {group.protocol}"
    jobs = []
    if any(r.curves.get("precision") for r in group.results):
        for kind, title in (
            ("pr", "Precision-recall curves"),
            ("f-threshold", "F-measure against threshold"),
        ):
            jobs.append(
                _FigureJob(kind, group, styles, plot_dir / f"{kind}_{group.slug}", f"{title} — {where}")
            )
    proto = get_protocol(group.protocol)
    for metric in dict.fromkeys(k for k in (proto.headline_f, proto.headline_mae) if k):
        if any(r.value(metric) is not None for r in group.results):
            name = f"bars-{metric.replace('_', '-')}_{group.slug}"
            title = f"{proto.metric(metric).label} per method — {where}"
            jobs.append(_FigureJob("bars", group, styles, plot_dir / name, title, metric))
    if any(plots.has_adaptive(r) for r in group.results):
        title = f"Precision, recall and F at the adaptive threshold — {where}"
        jobs.append(
            _FigureJob("adaptive", group, styles, plot_dir / f"bars-adaptive-prf_{group.slug}", title)
        )
    return jobs


def build_leaderboard(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    published: bool = False,
    protocols: Sequence[str] | None = None,
    published_dataset: str | None = None,
    workers: int = 1,
    images: str | os.PathLike | None = None,
    pred_dirs: dict[str, str | os.PathLike] | None = None,
    browser: bool = True,
) -> Leaderboard:
    """Read result files and write tables, figures and the web page.

    Parameters
    ----------
    paths : sequence of path-like
        Result JSON files written by ``dbdbench evaluate``.
    out : path-like
        Output folder (created). The board is built in a hidden folder inside it and moved into
        place when finished, so a failed run leaves ``out`` as it was. What it replaces there must
        be a board's (:func:`claim_board`).
    published : bool
        Add the shipped published references, curves and tables (see
        :mod:`dbdbench.leaderboards.published`), each beside the user's results of the same protocol
        and image set, or in a table of its own.
    protocols : sequence of str, optional
        Restrict to these protocols; a given result file of another protocol is an error.
    published_dataset : str, optional
        A dataset name of the results that is the published references' image set (see
        :func:`~dbdbench.leaderboards.published.attach_published`).
    workers : int
        Worker processes drawing the figures and the browser's thumbnails (the output is the same
        for any number).
    images : path-like, optional
        Folder of the photos, for the map browser (:mod:`dbdbench.leaderboards.browser`).
    pred_dirs : dict of str to path-like, optional
        Method -> folder of its maps, replacing the folder its result recorded (moved maps).
    browser : bool
        Build the map browser (False: no thumbnails, no browser section).

    Returns
    -------
    Leaderboard

    Raises
    ------
    DbdError
        No results, any input problem (see :func:`~dbdbench.leaderboards.results.load_results`), a
        file in ``out`` that no board wrote.
    """
    out = Path(out)
    stale = claim_board(out, overwrite=True)
    results = _gather_results(paths, protocols, published, published_dataset)
    made = not out.exists()
    stage = _stage(out)
    try:
        map_browser.check_methods(results, pred_dirs)
        board = Leaderboard(out=stage, results=results, notes=_input_notes(results))
        groups = group_results(board.results)
        tabs = tables.build_tables(groups)
        views = sensitivity.sensitivity_views(board.results)
        # the browser's folders are listed before anything is written: a bad --images is an error first
        browsers, moved = map_browser.collect_all(groups, images, pred_dirs) if browser else ({}, [])
        board.notes += moved
        _write_tables(board, tabs, views)
        figures = _draw_figures(board, groups, views, workers)
        board.pictures = map_browser.write_pictures(list(browsers.values()), board.out, workers)
        sections = {
            slug: page.browser_html(slug, map_browser.browser_json(b), len(b.names))
            for slug, b in browsers.items()
        }
        _write_page(board, tabs, views, figures, sections)
        return _move_into_place(board, out, stale)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def board_naming(rel: str) -> bool:
    """A file ``leaderboard`` writes, by its naming: the files of :data:`OUTPUT_FILES`, figures in
    ``plots/``, the map browser's pictures in ``browser/<group>/`` and, with ``--sensitivity``,
    ``results/<protocol>/<method>.json`` and ``.csv``."""
    parts = rel.split("/")
    if len(parts) == 1:
        return rel in OUTPUT_FILES
    if parts[0] == "plots" and len(parts) == 2:
        return parts[1].endswith((".png", ".svg", ".pdf"))
    if parts[0] == "browser" and len(parts) >= 3:
        return parts[-1].endswith((".png", ".jpg"))
    return parts[0] == "results" and len(parts) == 3 and parts[2].endswith((".json", ".csv"))


def claim_board(out: Path, *, overwrite: bool, extra=()) -> list[Path]:
    """Check what a board written into ``out`` replaces (see :func:`dbdbench.outputs.claim_outputs`):
    the files a board writes at the top, every file in ``plots/`` and below ``browser/``, and
    ``extra``.

    Returns
    -------
    list of Path
        The old figures in ``plots/`` and pictures in ``browser/`` (removed when the new board
        moves in).
    """
    return claim_outputs(
        out,
        [*OUTPUT_FILES, *extra],
        command="leaderboard",
        overwrite=overwrite,
        clear=("plots",),
        clear_trees=("browser",),
        naming=board_naming,
    )


def _stage(out: Path) -> Path:
    """A new hidden folder in ``out`` to build the board in (inside, not beside: the folder above
    ``out`` may not be writable, ``--out .``)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".leaderboard.", suffix=".building", dir=out))
    except OSError as exc:
        raise DbdError(f"cannot write in --out '{out}': {exc.strerror}; choose another --out") from None


def _move_into_place(board: Leaderboard, out: Path, stale: list[Path]) -> Leaderboard:
    """Move the finished board from its stage into ``out``: the old figures (``stale``) and an old
    board's files that this one does not write go, the new files replace the old ones."""
    stage = board.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        remove_outputs([*stale, *(out / f for f in OUTPUT_FILES if not (stage / f).exists())])
        if (out / "plots").is_dir():
            (out / "plots").rmdir()
        if (out / "browser").is_dir():  # emptied above: only its group folders are left
            for sub in sorted((out / "browser").rglob("*"), reverse=True):
                sub.rmdir()
            (out / "browser").rmdir()
        written = [p.relative_to(stage) for p in sorted(stage.rglob("*")) if p.is_file()]
        record_outputs(out, written, "leaderboard")
        for entry in sorted(stage.iterdir()):
            os.replace(entry, out / entry.name)
    except OSError as exc:
        raise DbdError(
            f"cannot move the leaderboard into '{out}': {exc.strerror}; check its permissions"
        ) from None
    board.out = out
    board.files = {k: out / p.relative_to(stage) for k, p in board.files.items()}
    board.plots = [out / p.relative_to(stage) for p in board.plots]
    board.pictures = [out / Path(p).relative_to(stage) for p in board.pictures]
    return board


def _gather_results(paths, protocols, published: bool, published_dataset: str | None) -> list[Result]:
    """Step 1: the user's result files (validated), then the published references when asked."""
    protocols = list(protocols) if protocols else None
    results = load_results(paths, protocols)
    if published:
        results = attach_published(results, protocols, same_as=published_dataset)
    if not results:
        raise DbdError("no results to show; give result JSON files (from dbdbench evaluate) or --published")
    return results


def _input_notes(results: list[Result]) -> list[str]:
    """Step 2: remarks for the page: mixed dbdbench releases, and one line per input file."""
    notes = []
    versions = sorted({r.dbdbench_version for r in results if r.source == "user"})
    if len(versions) > 1:
        notes.append(
            "results were written by different dbdbench releases (" + ", ".join(versions) + "); "
            "numbers of one protocol are comparable across releases of the same result format"
        )
    for r in results:
        if r.source == "user":
            notes.append(
                f"{r.path}: {r.method} on {r.dataset_label}, protocol {r.protocol}, "
                f"dbdbench {r.dbdbench_version or '?'}"
            )
    return notes


def _write_tables(board: Leaderboard, tabs: list[tables.Table], views: list) -> None:
    """Step 3: Markdown, LaTeX and CSV tables (and the sensitivity CSV when there is a view)."""
    out = board.out
    md = ["# dbdbench leaderboard", "", "Best value **bold**, second <u>underlined</u>; n/a: no result.", ""]
    md += [tables.table_markdown(t) for t in tabs]
    md += [sensitivity.sensitivity_markdown(v) for v in views]
    board.files["markdown"] = write_text_atomic(out / "leaderboard.md", "\n".join(md))
    board.files["latex"] = write_text_atomic(out / "leaderboard.tex", tables.latex_document(tabs))
    board.files["csv"] = write_text_atomic(out / "leaderboard.csv", tables.tables_csv(tabs))
    if views:
        board.files["sensitivity_csv"] = write_text_atomic(
            out / "sensitivity.csv", sensitivity.sensitivity_csv(views)
        )


def _draw_figures(board: Leaderboard, groups, views, workers: int) -> dict[str, list[page.PageFigure]]:
    """Step 4: every figure (PNG, SVG, PDF) on ``workers`` processes; group slug -> page figures."""
    styles = Styles([r.label for r in board.results])
    plot_dir = board.out / "plots"
    jobs = {g.slug: _group_jobs(g, styles, plot_dir) for g in groups}
    for v in views:
        slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in v.dataset)
        title = f"Headline F and rank under each protocol — {v.dataset}"
        jobs[f"sensitivity {v.dataset}"] = [
            _FigureJob("sensitivity", v, styles, plot_dir / f"sensitivity_{slug}", title)
        ]
    flat = [job for js in jobs.values() for job in js]
    written = iter(run_tasks(_render, flat, workers=workers, desc="figures"))
    figures: dict[str, list[page.PageFigure]] = {}
    for key, js in jobs.items():
        for job in js:
            paths = next(written)
            board.plots.extend(paths.values())
            figures.setdefault(key, []).append(
                page.PageFigure(
                    title=job.title,
                    png=paths["png"].read_bytes(),
                    links={fmt: f"plots/{p.name}" for fmt, p in paths.items() if fmt != "png"},
                )
            )
    return figures


def _write_page(board: Leaderboard, tabs, views, figures: dict[str, list[page.PageFigure]], browsers) -> None:
    """Step 5: the self-contained web page."""
    sens_sections = [
        (
            f"Protocol sensitivity — dataset {v.dataset}",
            page.sensitivity_html(v),
            figures[f"sensitivity {v.dataset}"],
        )
        for v in views
    ]
    references: dict[str, list[str]] = {}
    for r in board.results:
        if r.source == "published":
            text = r.citation if r.ranked else f"numbers as printed in {r.citation}"
            if text not in references.setdefault(r.label, []):
                references[r.label].append(text)
    html = page.render_page(
        tabs,
        figures,
        sens_sections,
        board.notes,
        {k: "; ".join(v) for k, v in references.items()},
        browsers=browsers,
    )
    board.files["html"] = write_text_atomic(board.out / "index.html", html)
