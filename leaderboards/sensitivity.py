"""Protocol sensitivity: the same predictions scored under several protocols.

DBD papers print "F-measure" and "MAE" under incompatible protocols (``docs/evaluation.md``). When the
same (method, dataset) has results under two or more protocols, this view puts them side by side:
per method and protocol the headline F (the number that protocol's papers print), the MAE and the
method's rank by headline F among the methods scored on that dataset under that protocol, plus
Kendall's tau between the rankings of every pair of protocols. A figure shows how F and the rank
move from protocol to protocol.

:func:`run_sensitivity` produces such results directly from prediction folders through the
evaluator (``dbdbench.evaluation.evaluate``), one result file per (method, protocol).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from dbdbench import names
from dbdbench.errors import DbdError
from dbdbench.leaderboards.results import Result
from dbdbench.leaderboards.style import COLUMN_WIDTH_IN, RC, Styles
from dbdbench.leaderboards.tables import DECIMALS, MISSING, dense_ranks
from dbdbench.metrics.protocols import get_protocol, protocol_names


def headline_label(protocol: str) -> str:
    """Label of a protocol's headline F (``maxF``, ``meanBestF``, ...)."""
    proto = get_protocol(protocol)
    return proto.metric(proto.headline_f).label


def _headline_mae(result: Result) -> float | None:
    key = get_protocol(result.protocol).headline_mae
    return result.value(key) if key else None


@dataclass
class Sensitivity:
    """Headline F, MAE and rank of each method under each protocol, on one dataset.

    Attributes
    ----------
    dataset : str
        Dataset label (``name`` or ``name/split``).
    protocols : list of str
        Protocols with at least one result, in the canonical order.
    methods : list of str
        Methods with results under at least two protocols.
    f, mae : dict of (method, protocol) to float or None
    rank : dict of (method, protocol) to int or None
        Dense rank by headline F among ``methods`` (1 = best).
    tau : dict of (protocol, protocol) to float or None
        Kendall's tau-b between the two rankings over methods scored under both (None: fewer than
        two such methods or a constant ranking).
    """

    dataset: str
    protocols: list[str]
    methods: list[str]
    f: dict[tuple[str, str], float | None]
    mae: dict[tuple[str, str], float | None]
    rank: dict[tuple[str, str], int | None]
    tau: dict[tuple[str, str], float | None]


def sensitivity_views(results: list[Result]) -> list[Sensitivity]:
    """One view per dataset where some user method has results under two or more protocols."""
    from scipy.stats import kendalltau

    by_dataset: dict[str, dict[tuple[str, str], Result]] = {}
    for r in results:
        if r.source == "published":
            continue
        by_dataset.setdefault(r.dataset_label, {})[(r.method, r.protocol)] = r
    views = []
    for dataset, cells in sorted(by_dataset.items()):
        counts: dict[str, int] = {}
        for method, _ in cells:
            counts[method] = counts.get(method, 0) + 1
        methods = [m for m in dict.fromkeys(m for m, _ in cells) if counts[m] >= 2]
        if not methods:
            continue
        protocols = [p for p in protocol_names() if any((m, p) in cells for m in methods)]
        f, mae, rank = {}, {}, {}
        for p in protocols:
            head = get_protocol(p).headline_f
            fs = [cells[(m, p)].value(head) if (m, p) in cells else None for m in methods]
            for m, v, rk in zip(methods, fs, dense_ranks(fs, True), strict=True):
                f[(m, p)] = v
                rank[(m, p)] = rk
                mae[(m, p)] = _headline_mae(cells[(m, p)]) if (m, p) in cells else None
        tau = {}
        for i, p in enumerate(protocols):
            for q in protocols[i + 1 :]:
                both = [m for m in methods if f[(m, p)] is not None and f[(m, q)] is not None]
                a = [f[(m, p)] for m in both]
                b = [f[(m, q)] for m in both]
                t = None
                if len(both) >= 2 and len(set(a)) > 1 and len(set(b)) > 1:
                    t = float(kendalltau(a, b).statistic)
                tau[(p, q)] = t
        views.append(Sensitivity(dataset, protocols, methods, f, mae, rank, tau))
    return views


def _fmt(v) -> str:
    return MISSING if v is None else f"{v:.{DECIMALS}f}"


def sensitivity_markdown(view: Sensitivity) -> str:
    """Markdown table method x protocol (headline F / MAE / rank) and the Kendall tau lines."""
    head = ["Method"]
    for p in view.protocols:
        head += [f"{p} {headline_label(p)} ↑", f"{p} MAE ↓", f"{p} rank"]
    lines = [
        f"### Protocol sensitivity — dataset {names.markdown(view.dataset)}",
        "",
        "The same predictions under every protocol: headline F (the number each protocol's papers "
        "print), MAE, and the rank by headline F.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (3 * len(view.protocols)),
    ]
    for m in view.methods:
        cells = [names.markdown(m)]
        for p in view.protocols:
            rk = view.rank[(m, p)]
            cells += [_fmt(view.f[(m, p)]), _fmt(view.mae[(m, p)]), MISSING if rk is None else str(rk)]
        lines.append("| " + " | ".join(cells) + " |")
    if view.tau:
        lines += [
            "",
            "Kendall's tau between rankings: "
            + "; ".join(
                f"{p} vs {q}: {MISSING if t is None else f'{t:.2f}'}" for (p, q), t in view.tau.items()
            )
            + ".",
        ]
    return "\n".join(lines) + "\n"


def sensitivity_csv(views: list[Sensitivity]) -> str:
    """Long CSV: dataset, method, protocol, headline metric, headline F, MAE, rank."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "method", "protocol", "headline_metric", "headline_f", "mae", "rank"])
    for v in views:
        for m in v.methods:
            for p in v.protocols:
                f, mae, rk = v.f[(m, p)], v.mae[(m, p)], v.rank[(m, p)]
                w.writerow(
                    [
                        names.csv_cell(v.dataset),
                        names.csv_cell(m),
                        p,
                        get_protocol(p).headline_f,
                        "" if f is None else repr(f),
                        "" if mae is None else repr(mae),
                        "" if rk is None else rk,
                    ]
                )
    return buf.getvalue()


def sensitivity_figure(view: Sensitivity, styles: Styles) -> tuple[Figure, dict[str, tuple]]:
    """Two panels over the protocols: headline F (top) and rank (bottom), one line per method.

    Returns
    -------
    fig : Figure
    lines : dict of str to (Line2D, Line2D)
        Method -> (F line, rank line); missing cells are NaN in the line data.
    """
    x = np.arange(len(view.protocols))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(COLUMN_WIDTH_IN, 3.6 + 0.14 * -(-len(view.methods) // 3)), layout="constrained")
        ax_f, ax_r = fig.subplots(2, 1, sharex=True)
        lines = {}
        for m in view.methods:
            kw = styles(m).line_kwargs()
            fv = [np.nan if view.f[(m, p)] is None else view.f[(m, p)] for p in view.protocols]
            rv = [np.nan if view.rank[(m, p)] is None else view.rank[(m, p)] for p in view.protocols]
            (lf,) = ax_f.plot(x, fv, label=m, **kw)
            (lr,) = ax_r.plot(x, rv, **kw)
            lines[m] = (lf, lr)
        ax_f.set_ylabel("Headline F")
        ax_f.grid(True, linewidth=0.3, alpha=0.5)
        ax_f.set_title(f"Protocol sensitivity — {view.dataset}")
        ax_r.set_ylabel("Rank (1 = best)")
        ax_r.invert_yaxis()
        ax_r.yaxis.get_major_locator().set_params(integer=True)
        ax_r.set_xticks(x, [f"{p}\n{headline_label(p)}" for p in view.protocols])
        ax_r.grid(True, linewidth=0.3, alpha=0.5)
        handles, labels = ax_f.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return fig, lines


def run_sensitivity(
    predictions: dict[str, str | os.PathLike],
    gt_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    protocols: list[str] | None = None,
    workers: int = 1,
    **options,
) -> list[Path]:
    """Score prediction folders under several protocols with the evaluator and save the results.

    Parameters
    ----------
    predictions : dict of str to path-like
        Method name -> folder of prediction maps (1 = in-focus).
    gt_dir : path-like
        Ground-truth folder shared by all methods.
    out_dir : path-like
        Result files are written to ``out_dir/<protocol>/<method>.json``.
    protocols : list of str, optional
        Protocols to run (all by default).
    workers : int
        Worker processes for the evaluator.
    **options
        Passed to the evaluator unchanged (``gt_polarity="blurred-white"``, ``pred_suffix=...``).

    Returns
    -------
    list of Path
        The result files written.
    """
    protocols = list(protocols or protocol_names())
    unknown = [p for p in protocols if p not in protocol_names()]
    if unknown:
        raise DbdError(
            f"--protocol: unknown protocol '{unknown[0]}'; choose from {', '.join(protocol_names())}"
        )
    from dbdbench.evaluation import evaluate_many

    # one pass: each GT mask is read and prepared once for every method and protocol
    results = evaluate_many(predictions, gt_dir, protocols=protocols, workers=workers, **options)
    written = []
    for method in predictions:
        for p in protocols:
            path = Path(out_dir) / p / f"{method}.json"
            results[method, p].save(path)
            written.append(path)
    return written
