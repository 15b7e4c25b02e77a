"""Build a complete leaderboard folder from result files (``dbdbench leaderboard``).

Output layout under ``out``::

    leaderboard.md    Markdown tables (one per protocol and dataset) and the sensitivity view
    leaderboard.tex   the same tables for a paper (booktabs)
    leaderboard.csv   long-format numbers (one row per table, method, metric)
    sensitivity.csv   headline F, MAE and rank per (dataset, method, protocol), when any
    plots/            PR curves, F against threshold, F and MAE bars, sensitivity: PNG, SVG, PDF
    index.html        one self-contained page with sortable tables and the figures
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dbdbench.atomic import write_text_atomic
from dbdbench.errors import DbdError
from dbdbench.executor import run_tasks
from dbdbench.leaderboards import page, plots, sensitivity, tables
from dbdbench.leaderboards.published import attach_published
from dbdbench.leaderboards.results import HEADLINE_F, METRICS, Result, group_results, load_results
from dbdbench.leaderboards.style import Styles

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
        Remarks shown on the page (mixed dbdbench releases, ...).
    """

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _FigureJob:
    """One figure to draw and save (picklable, so worker processes can render it)."""

    kind: str  # "pr", "f-threshold", "bars" or "sensitivity"
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
    labels = {k: lab for k, lab, _ in METRICS[group.protocol]}
    for metric in dict.fromkeys((HEADLINE_F[group.protocol], "mae")):
        if any(r.value(metric) is not None for r in group.results):
            name = f"bars-{metric.replace('_', '-')}_{group.slug}"
            title = f"{labels[metric]} per method — {where}"
            jobs.append(_FigureJob("bars", group, styles, plot_dir / name, title, metric))
    return jobs


def build_leaderboard(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    published: bool = False,
    protocols: Sequence[str] | None = None,
    published_dataset: str | None = None,
    workers: int = 1,
) -> Leaderboard:
    """Read result files and write tables, figures and the web page.

    Parameters
    ----------
    paths : sequence of path-like
        Result JSON files written by ``dbdbench evaluate``.
    out : path-like
        Output folder (created).
    published : bool
        Add the shipped published reference curves (see :mod:`dbdbench.leaderboards.published`),
        each beside the user's results of the same protocol and dataset, or in a table of its own.
    protocols : sequence of str, optional
        Restrict to these protocols; a given result file of another protocol is an error.
    published_dataset : str, optional
        A dataset name of the results that is the published references' image set (see
        :func:`~dbdbench.leaderboards.published.attach_published`).
    workers : int
        Worker processes drawing the figures (the output is the same for any number).

    Returns
    -------
    Leaderboard

    Raises
    ------
    DbdError
        No results, or any input problem (see :func:`~dbdbench.leaderboards.results.load_results`).
    """
    out = Path(out)
    protocols = list(protocols) if protocols else None
    results = load_results(paths, protocols)
    if published:
        results = attach_published(results, protocols, same_as=published_dataset)
    if not results:
        raise DbdError("no results to show; give result JSON files (from dbdbench evaluate) or --published")
    board = Leaderboard(out=out, results=results)
    versions = sorted({r.dbdbench_version for r in results if r.source == "user"})
    if len(versions) > 1:
        board.notes.append(
            "results were written by different dbdbench releases (" + ", ".join(versions) + "); "
            "numbers of one protocol are comparable across releases of the same result format"
        )
    for r in results:
        if r.source == "user":
            board.notes.append(
                f"{r.path}: {r.method} on {r.dataset_label}, protocol {r.protocol}, "
                f"dbdbench {r.dbdbench_version or '?'}"
            )

    groups = group_results(results)
    tabs = tables.build_tables(groups)
    views = sensitivity.sensitivity_views(results)
    styles = Styles([r.label for r in results])

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

    plot_dir = out / "plots"
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
            paths_ = next(written)
            board.plots.extend(paths_.values())
            figures.setdefault(key, []).append(
                page.PageFigure(
                    title=job.title,
                    png=paths_["png"].read_bytes(),
                    links={fmt: f"plots/{p.name}" for fmt, p in paths_.items() if fmt != "png"},
                )
            )
    sens_sections = [
        (
            f"Protocol sensitivity — dataset {v.dataset}",
            page.sensitivity_html(v),
            figures[f"sensitivity {v.dataset}"],
        )
        for v in views
    ]
    references = {r.label: r.citation for r in results if r.source == "published"}
    html = page.render_page(tabs, figures, sens_sections, board.notes, references)
    board.files["html"] = write_text_atomic(out / "index.html", html)
    return board
