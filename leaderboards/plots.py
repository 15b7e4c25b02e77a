"""Leaderboard figures: PR curves, F-measure against threshold, and bars with bootstrap intervals.

Every function builds a :class:`matplotlib.figure.Figure` without pyplot (no global state, Agg
canvas) for one group of results (one protocol, one dataset: protocols are never mixed), and returns
it with the plotted :class:`~matplotlib.lines.Line2D` objects keyed by method label, so callers and
tests can inspect exactly what was drawn. :func:`save_figure` writes PNG, SVG and PDF atomically.

Figures are 3.5 in wide (one paper column) with 7 pt text; colours and markers come from
:class:`~dbdbench.leaderboards.style.Styles`, fixed per method across all figures.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from dbdbench.atomic import write_bytes_atomic
from dbdbench.leaderboards.results import Group, Result
from dbdbench.leaderboards.style import COLUMN_WIDTH_IN, RC, Styles
from dbdbench.metrics.curves import BETA2
from dbdbench.metrics.protocols import get_protocol

FORMATS = ("png", "svg", "pdf")
DPI = 200


def _legend_height(n: int, ncol: int = 3) -> float:
    return 0.14 * -(-n // ncol) + 0.1


def _curve_results(group: Group) -> list[Result]:
    return [r for r in group.results if r.curves.get("precision")]


def _new_figure(n_legend: int, height: float = 2.3) -> tuple[Figure, object]:
    fig = Figure(figsize=(COLUMN_WIDTH_IN, height + _legend_height(n_legend)), layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _legend(fig: Figure, ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, handlelength=2.5)


def _curve_figure(group: Group, styles: Styles, x: str, y: str):
    """A figure with one line per method of the group that has curves: ``curves[x]`` against
    ``curves[y]``, y from 0 to 1, light grid. Returns (fig, ax, label -> Line2D); call inside
    ``matplotlib.rc_context(RC)``."""
    results = _curve_results(group)
    fig, ax = _new_figure(len(results))
    lines = {}
    for r in results:
        xs, ys = r.curves[x], r.curves[y]
        (line,) = ax.plot(
            xs, ys, label=r.label, markevery=max(1, len(xs) // 8), **styles(r.label).line_kwargs()
        )
        lines[r.label] = line
    ax.set_ylim(0, 1.01)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    return fig, ax, lines


def pr_figure(group: Group, styles: Styles) -> tuple[Figure, dict[str, matplotlib.lines.Line2D]]:
    """Precision against recall for every method of the group that has a curve.

    Parameters
    ----------
    group : Group
        One protocol and dataset.
    styles : Styles
        Must know every label of the group.

    Returns
    -------
    fig : Figure
    lines : dict of str to Line2D
        Label -> the plotted line; its data are exactly the result's (recall, precision) curve.
    """
    with matplotlib.rc_context(RC):
        fig, ax, lines = _curve_figure(group, styles, "recall", "precision")
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_xlim(0, 1)
        ax.set_title(f"PR curves — {group.dataset_label}, protocol {group.protocol}")
        _legend(fig, ax)
    return fig, lines


def f_threshold_figure(group: Group, styles: Styles) -> tuple[Figure, dict[str, matplotlib.lines.Line2D]]:
    """F-measure against the protocol's threshold for every method with a curve.

    Returns
    -------
    fig : Figure
    lines : dict of str to Line2D
        Label -> line with data (thresholds, f) as stored in the result.
    """
    with matplotlib.rc_context(RC):
        fig, ax, lines = _curve_figure(group, styles, "thresholds", "f")
        ax.set_xlabel(f"Threshold (protocol {group.protocol}: {get_protocol(group.protocol).curve_order})")
        ax.set_ylabel(rf"F-measure ($\beta^2 = {BETA2:g}$)")
        ax.set_title(f"F against threshold — {group.dataset_label}")
        _legend(fig, ax)
    return fig, lines


def bars_figure(group: Group, styles: Styles, metric: str) -> tuple[Figure, dict[str, object]] | None:
    """Horizontal bars of one summary number per method, with bootstrap intervals where known.

    Parameters
    ----------
    group : Group
    styles : Styles
    metric : str
        A summary key of the group's protocol (e.g. ``"max_f"``, ``"mae"``).

    Returns
    -------
    (fig, bars) or None
        ``bars`` maps label -> the Rectangle drawn (its width is the value); None when no method of
        the group has this number.
    """
    info = get_protocol(group.protocol).metric(metric)
    label, up = info.label, info.higher_is_better
    results = [r for r in group.results if r.value(metric) is not None]
    if not results:
        return None
    results.sort(key=lambda r: r.value(metric), reverse=not up)  # best last = top row
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(COLUMN_WIDTH_IN, 0.9 + 0.17 * len(results)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(results))
        values = np.array([r.value(metric) for r in results])
        err = np.zeros((2, len(results)))
        for i, r in enumerate(results):
            ci = r.intervals.get(metric)
            if ci is not None:
                err[:, i] = (max(values[i] - ci[0], 0.0), max(ci[1] - values[i], 0.0))
        colors = [styles(r.label).color for r in results]
        hatches = ["//" if r.source == "published" else "" for r in results]
        rects = ax.barh(y, values, color=colors, edgecolor="black", linewidth=0.4, height=0.7)
        for rect, h in zip(rects, hatches, strict=True):
            rect.set_hatch(h)
        if err.any():
            ax.errorbar(values, y, xerr=err, fmt="none", ecolor="black", elinewidth=0.7, capsize=1.5)
        for yi, v, e in zip(y, values, err[1], strict=True):
            ax.text(v + e, yi, f" {v:.3f}", va="center", ha="left", fontsize=5.5)
        ax.set_yticks(y, [r.label for r in results])
        whiskers = "; whiskers: bootstrap interval" if err.any() else ""
        ax.set_xlabel(f"{label} ({'higher' if up else 'lower'} is better{whiskers})")
        hi = max(values.max(), (values + err[1]).max())
        ax.set_xlim(0, hi * 1.18 if hi > 0 else 1)
        ax.grid(True, axis="x", linewidth=0.3, alpha=0.5)
        ax.set_title(f"{label} — {group.dataset_label}, protocol {group.protocol}")
    return fig, {r.label: rect for r, rect in zip(results, rects, strict=True)}


def figure_bytes(fig: Figure, fmt: str, dpi: int = DPI, **savefig_kwargs) -> bytes:
    """Render a figure to PNG, SVG or PDF bytes (reproducible: no dates in the metadata); ``dpi``
    sets the resolution of the PNG and of rasters inside the SVG and PDF, ``savefig_kwargs`` go to
    :meth:`~matplotlib.figure.Figure.savefig`."""
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else {}
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata, **savefig_kwargs)
    return buf.getvalue()


def save_figure(fig: Figure, base: str | os.PathLike) -> dict[str, Path]:
    """Write ``base.png``, ``base.svg`` and ``base.pdf`` atomically.

    Returns
    -------
    dict of str to Path
        Format -> written path.
    """
    base = Path(base)
    return {
        fmt: write_bytes_atomic(base.with_name(f"{base.name}.{fmt}"), figure_bytes(fig, fmt))
        for fmt in FORMATS
    }
