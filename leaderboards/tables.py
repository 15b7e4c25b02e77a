"""Leaderboard tables: ranking with ties, and Markdown, LaTeX (booktabs) and CSV output.

One table per (protocol, dataset, split) group. Rows are every method scored under that protocol on
any dataset, so a method without a result on this dataset is shown as such (``n/a``) rather than
silently missing; published references of the group follow the user's methods.

Ranking: per metric, values are compared as displayed (rounded to ``DECIMALS`` places), so two
numbers that print the same tie. Ranks are dense: every method with the best value is rank 1 (bold),
every method with the next distinct value is rank 2 (underlined). Missing values are not ranked, and a
metric that only one method has is not marked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from dbdbench import names
from dbdbench.leaderboards.results import PUBLISHED_SUFFIX, Group, Result
from dbdbench.metrics.protocol import Metric
from dbdbench.metrics.protocols import get_protocol

DECIMALS = 3
MISSING = "n/a"


def dense_ranks(
    values: list[float | None], higher_is_better: bool, decimals: int = DECIMALS
) -> list[int | None]:
    """Dense ranks of values compared at display precision; None stays None.

    Parameters
    ----------
    values : list of float or None
    higher_is_better : bool
    decimals : int
        Values equal after rounding to this many decimals tie.

    Returns
    -------
    list of int or None
        1 = best. ``[0.5, 0.7, 0.7, None, 0.2]`` (higher better) gives ``[2, 1, 1, None, 3]``.
    """
    rounded = [None if v is None else round(v, decimals) for v in values]
    distinct = sorted({v for v in rounded if v is not None}, reverse=higher_is_better)
    place = {v: i + 1 for i, v in enumerate(distinct)}
    return [None if v is None else place[v] for v in rounded]


@dataclass
class Row:
    """One method in one table.

    Attributes
    ----------
    label : str
        Method label (published references end in ``" (published)"``).
    result : Result or None
        None when the method has no result on this table's dataset.
    values, ranks : dict
        Metric key -> value / dense rank (None where missing or the row is not ranked).
    """

    label: str
    result: Result | None
    values: dict[str, float | None] = field(default_factory=dict)
    ranks: dict[str, int | None] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.result is not None

    @property
    def ranked(self) -> bool:
        """False for a missing result and for numbers printed in a paper (never re-ranked)."""
        return self.result is not None and self.result.ranked

    @property
    def partial(self) -> bool:
        """True when some ground-truth images had no prediction."""
        return self.result is not None and self.result.counts.get("missing", 0) > 0

    def interval(self, key: str) -> tuple[float, float] | None:
        return None if self.result is None else self.result.intervals.get(key)


@dataclass
class Table:
    """A ranked table for one group.

    Attributes
    ----------
    group : Group
    metrics : tuple of Metric
        The protocol's table columns (:attr:`~dbdbench.metrics.protocol.Protocol.table_metrics`).
    rows : list of Row
        Ranked rows sorted by the protocol's headline F (best first; in a tie user results before
        published references, then by label); then unranked published rows in their file order;
        methods without a result last.
    """

    group: Group
    metrics: tuple[Metric, ...]
    rows: list[Row]

    def mark(self, row: Row, key: str) -> int:
        """1 (bold) for the best value, 2 (underline) for the second, 0 otherwise; a metric with
        fewer than two ranked values in the table marks nothing (being best of one says nothing)."""
        if sum(r.ranks[key] is not None for r in self.rows) < 2:
            return 0
        rank = row.ranks[key]
        return rank if rank in (1, 2) else 0

    def printed_notes(self) -> list[str]:
        """One line per publication whose printed numbers the table shows (unranked rows):
        ``"(published): as printed in <citation>, <source>; not computed by dbdbench, not ranked"``."""
        notes = []
        for row in self.rows:
            res = row.result
            if res is not None and res.source == "published" and not res.ranked:
                where = f"{res.citation}, {res.origin}" if res.origin else res.citation
                note = f"(published): as printed in {where}; not computed by dbdbench, not ranked."
                if note not in notes:
                    notes.append(note)
        return notes

    @property
    def title(self) -> str:
        n = {
            r.result.counts.get("gt") for r in self.rows if r.result is not None and r.result.counts.get("gt")
        }
        images = f", {n.pop()} images" if len(n) == 1 else ""
        return f"protocol {self.group.protocol}, dataset {self.group.dataset_label}{images}"


def build_table(group: Group, all_labels: list[str]) -> Table:
    """Rank one group.

    Parameters
    ----------
    group : Group
    all_labels : list of str
        User method labels scored under this protocol on any dataset (rows for those missing here).
    """
    proto = get_protocol(group.protocol)
    metrics = proto.table_metrics
    labels = list(all_labels) + [r.label for r in group.results if r.label not in all_labels]
    rows = []
    for label in labels:
        res = group.get(label)
        rows.append(Row(label, res, {m.key: (res.value(m.key) if res else None) for m in metrics}))
    ranked = [r for r in rows if r.ranked]
    for m in metrics:
        ranks = dense_ranks([r.values[m.key] for r in ranked], m.higher_is_better)
        for row in rows:
            row.ranks[m.key] = None
        for row, rank in zip(ranked, ranks, strict=True):
            row.ranks[m.key] = rank
    head = proto.headline_f
    order = {id(r): i for i, r in enumerate(rows)}
    rows.sort(
        key=lambda r: (
            not r.present,
            not r.ranked,
            r.ranks[head] is None,
            r.ranks[head] or 0,
            r.result is not None and r.result.source == "published",
            r.label.casefold() if r.ranked else order[id(r)],
        )
    )
    return Table(group, metrics, rows)


def build_tables(groups: list[Group]) -> list[Table]:
    """One ranked table per group; rows of a protocol's tables cover all its user methods."""
    per_protocol: dict[str, list[str]] = {}
    for g in groups:
        labels = per_protocol.setdefault(g.protocol, [])
        for r in g.results:
            if r.source != "published" and r.label not in labels:
                labels.append(r.label)
    return [build_table(g, per_protocol[g.protocol]) for g in groups]


def _arrowed(label: str, higher_is_better: bool, up: str, down: str) -> str:
    """A column header: the metric's label and the arrow of its direction."""
    return f"{label} {up if higher_is_better else down}"


def _fmt(v: float | None) -> str:
    return MISSING if v is None else f"{v:.{DECIMALS}f}"


def _metric_cells(table: Table, row: Row, best: str, second: str, intervals: bool = False) -> list[str]:
    """The row's metric cells as text: the value (``_fmt``), its bootstrap interval ``[lo, hi]``
    when ``intervals``, wrapped by the format string ``best`` or ``second`` where the table marks
    it."""
    cells = []
    for key in (m.key for m in table.metrics):
        text = _fmt(row.values[key])
        ci = row.interval(key)
        if intervals and ci is not None and row.values[key] is not None:
            text += f" [{ci[0]:.{DECIMALS}f}, {ci[1]:.{DECIMALS}f}]"
        wrap = {1: best, 2: second}.get(table.mark(row, key))
        cells.append(wrap.format(text) if wrap else text)
    return cells


# ---------------------------------------------------------------- Markdown
def _md_escape(text: str) -> str:
    return names.markdown(text)


def table_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table: best **bold**, second <u>underlined</u>, arrows in headers."""
    head = ["Method"] + [_arrowed(m.label, m.higher_is_better, "↑", "↓") for m in table.metrics]
    lines = [
        f"### {_md_escape(table.title)}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" + "---:|" * len(table.metrics),
    ]
    notes = []
    for row in table.rows:
        name = _md_escape(row.label)
        if not row.present:
            name += " *(no result on this dataset)*"
        elif row.partial:
            c = row.result.counts
            name += " †"
            notes.append(
                f"† {_md_escape(row.label)}: {c.get('evaluated')} of {c.get('gt')} images evaluated."
            )
        cells = [name, *_metric_cells(table, row, "**{}**", "<u>{}</u>", intervals=True)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if any(row.interval(k) for row in table.rows for k in (m.key for m in table.metrics)):
        lines.append("Brackets: bootstrap confidence intervals.")
    lines += notes
    lines += [_md_escape(n) for n in table.printed_notes()]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- LaTeX
def tex_escape(text: str) -> str:
    """Escape LaTeX special characters (:func:`dbdbench.names.latex`)."""
    return names.latex(text)


def table_latex(table: Table) -> str:
    """A booktabs ``table`` environment; best ``\\textbf``, second ``\\underline``."""
    cols = "l" + "r" * len(table.metrics)
    head = ["Method"] + [
        _arrowed(tex_escape(m.label), m.higher_is_better, r"$\uparrow$", r"$\downarrow$")
        for m in table.metrics
    ]
    label = "tab:" + table.group.slug.replace("_", "-")
    out = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{tex_escape(names.heading(table.title))}. Best in bold, second underlined; "
        r"n/a: no result.}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for row in table.rows:
        name = tex_escape(row.label) + (r"$^\dagger$" if row.partial else "")
        cells = [name, *_metric_cells(table, row, r"\textbf{{{}}}", r"\underline{{{}}}")]
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    if any(r.partial for r in table.rows):
        out.append(r"\par\footnotesize $^\dagger$ not every image of the dataset was evaluated.")
    out += [r"\par\footnotesize " + tex_escape(n) for n in table.printed_notes()]
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def latex_document(tables: list[Table]) -> str:
    """All tables, preceded by a comment naming the packages they need."""
    return "% Needs \\usepackage{booktabs}.\n\n" + "\n".join(table_latex(t) for t in tables)


# ---------------------------------------------------------------- CSV
CSV_COLUMNS = (
    "protocol",
    "dataset",
    "split",
    "method",
    "source",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "higher_is_better",
    "rank",
    "evaluated",
    "gt",
)


def tables_csv(tables: list[Table]) -> str:
    """Long-format CSV: one row per (table, method, metric); empty cells where a value is missing."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for t in tables:
        for row in t.rows:
            res = row.result
            for key, up in ((m.key, m.higher_is_better) for m in t.metrics):
                ci = row.interval(key)
                v = row.values[key]
                w.writerow(
                    [
                        t.group.protocol,
                        names.csv_cell(t.group.dataset),
                        names.csv_cell(t.group.split or ""),
                        names.csv_cell(row.label.removesuffix(PUBLISHED_SUFFIX)),
                        res.source if res else "",
                        key,
                        "" if v is None else repr(v),
                        "" if ci is None else repr(ci[0]),
                        "" if ci is None else repr(ci[1]),
                        int(up),
                        "" if row.ranks[key] is None else row.ranks[key],
                        "" if res is None else res.counts.get("evaluated", ""),
                        "" if res is None else res.counts.get("gt", ""),
                    ]
                )
    return buf.getvalue()
