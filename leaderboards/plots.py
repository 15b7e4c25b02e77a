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
        ax.set_ylabel(f"F-measure (β² = {BETA2:g})")
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


#: Per-image keys of the precision, recall and F at the adaptive threshold min(2 x mean of the map, 1)
#: (Achanta et al., CVPR 2009; BTBNet, Zhao et al., CVPR 2018, Fig. 6): a protocol that records all
#: three per image gets the adaptive P / R / F bars.
ADAPTIVE_KEYS = ("adaptive_precision", "adaptive_recall", "adaptive_f")
ADAPTIVE_COLOURS = ("#0072B2", "#E69F00", "#009E73")  # Okabe-Ito blue, orange, green


def has_adaptive(result: Result) -> bool:
    """Whether a result's per-image scores hold the adaptive-threshold P, R and F."""
    return bool(result.per_image) and all(k in result.per_image[0] for k in ADAPTIVE_KEYS)


def adaptive_means(result: Result) -> dict[str, tuple[float, tuple[float, float] | None]] | None:
    """Per-image means of the adaptive-threshold precision, recall and F of one result, with their
    bootstrap interval when the result was bootstrapped.

    The interval resamples the images exactly as ``evaluate`` does (the result's ``bootstrap`` seed
    and count, the same draws), so the F interval equals the result's ``adaptive_f`` interval.

    Returns
    -------
    dict or None
        Key (:data:`ADAPTIVE_KEYS`) -> (mean, (low, high) or None); None when the result's per-image
        scores lack any of the keys (another protocol, or a result written before they existed).
    """
    if not has_adaptive(result):
        return None
    rows = result.per_image
    values = {k: np.array([float(r[k]) for r in rows]) for k in ADAPTIVE_KEYS}
    boot = result.bootstrap or {}
    draws = None
    if boot.get("n"):
        rng = np.random.default_rng(boot.get("seed", 0))
        n = len(rows)
        idx = np.array([rng.integers(0, n, n) for _ in range(int(boot["n"]))])
        tail = (1 - float(boot.get("level", 0.95))) / 2 * 100
        draws = {k: v[idx].mean(axis=1) for k, v in values.items()}
    out = {}
    for k, v in values.items():
        ci = None
        if draws is not None:
            ci = (float(np.percentile(draws[k], tail)), float(np.percentile(draws[k], 100 - tail)))
        out[k] = (float(v.mean()), ci)
    return out


def adaptive_prf_figure(group: Group, styles: Styles) -> tuple[Figure, dict[str, list]] | None:
    """Bars of precision, recall and F-measure at the adaptive threshold, three per method (the
    BTBNet / BTBCRL figure), per-image means with bootstrap whiskers where the result has them.

    Returns
    -------
    (fig, bars) or None
        ``bars`` maps label -> the three Rectangles (P, R, F; heights are the means); None when no
        result of the group has the adaptive per-image scores.
    """
    means = {r.label: adaptive_means(r) for r in group.results}
    means = {k: v for k, v in means.items() if v is not None}
    if not means:
        return None
    labels = list(means)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(COLUMN_WIDTH_IN, 2.2), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        w = 0.27
        bars = {lab: [] for lab in labels}
        whiskers = False
        for j, (key, name) in enumerate(
            zip(ADAPTIVE_KEYS, ("Precision", "Recall", "F-measure"), strict=True)
        ):
            vals = np.array([means[lab][key][0] for lab in labels])
            err = np.zeros((2, len(labels)))
            for i, lab in enumerate(labels):
                ci = means[lab][key][1]
                if ci is not None:
                    err[:, i] = (max(vals[i] - ci[0], 0.0), max(ci[1] - vals[i], 0.0))
            rects = ax.bar(x + (j - 1) * w, vals, w, label=name, color=ADAPTIVE_COLOURS[j],
                           edgecolor="black", linewidth=0.4)  # fmt: skip
            if err.any():
                whiskers = True
                ax.errorbar(x + (j - 1) * w, vals, yerr=err, fmt="none", ecolor="black", elinewidth=0.6,
                            capsize=1.2)  # fmt: skip
            for lab, rect in zip(labels, rects, strict=True):
                bars[lab].append(rect)
        ax.set_xticks(
            x, labels, rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center"
        )
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("Mean over images")
        if whiskers:
            ax.set_xlabel("whiskers: bootstrap interval")
        ax.grid(True, axis="y", linewidth=0.3, alpha=0.5)
        ax.set_title(f"Adaptive threshold — {group.dataset_label}, protocol {group.protocol}")
        fig.legend(loc="outside lower center", ncol=3, frameon=False)
    return fig, bars


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
