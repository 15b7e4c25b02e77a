"""The leaderboard web page: one self-contained HTML file.

Everything the page shows is inside the file: the figures as base64 PNG ``data:`` images, the CSS and
the JavaScript that sorts the tables inline. The page loads nothing over the network (the only links
are relative links to the vector versions of the figures, followed only when clicked), so it opens
offline and can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from dbdbench._version import __version__
from dbdbench.leaderboards.tables import DECIMALS, MISSING, Table
from dbdbench.names import heading
from dbdbench.names import html as escape

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:60em;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{padding:.25em .7em;border-bottom:1px solid #e5e5e5;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #444;cursor:pointer;user-select:none;white-space:nowrap}
thead th[aria-sort=ascending]::after{content:" \\25B4"}
thead th[aria-sort=descending]::after{content:" \\25BE"}
td.best{font-weight:bold}td.second{text-decoration:underline}td.na,tr.absent td{color:#999}
.ci{display:block;white-space:nowrap;color:#666;font-size:.8em;font-weight:normal}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{width:3.5in;max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}
.note{font-size:.9em;color:#555}.wide{overflow-x:auto}
"""

_JS = """
(function(){
  function key(td){var v=td.getAttribute('data-v');return v===null||v===''?null:(isNaN(+v)?v:+v);}
  var tables=document.querySelectorAll('table.sortable');
  tables.forEach(function(table){
    var heads=table.querySelectorAll('thead th');
    heads.forEach(function(th,col){
      th.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        heads.forEach(function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=key(a.cells[col]),y=key(b.cells[col]);
          if(x===null&&y===null)return 0;if(x===null)return 1;if(y===null)return -1;
          var c=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));
          return asc?c:-c;});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  document.documentElement.setAttribute('data-sortable-tables',String(tables.length));
})();
"""


@dataclass
class PageFigure:
    """A figure for the page.

    Attributes
    ----------
    title : str
        Caption.
    png : bytes
        The PNG image, inlined as base64.
    links : dict of str to str
        Format -> path relative to the page (``plots/x.pdf``), offered as download links.
    """

    title: str
    png: bytes
    links: dict[str, str]


def _figure_html(fig: PageFigure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    links = " ".join(f'<a href="{escape(href)}">{escape(fmt.upper())}</a>' for fmt, href in fig.links.items())
    return (
        f'<figure><img alt="{escape(fig.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(fig.title)}{' — ' + links if links else ''}</figcaption></figure>"
    )


def table_html(table: Table) -> str:
    """A sortable HTML table: best bold, second underlined, missing values ``n/a`` (sorted last)."""
    head = ["<th>Method</th>"] + [
        f'<th title="{"higher" if m.higher_is_better else "lower"} is better">{escape(m.label)} '
        f"{'&uarr;' if m.higher_is_better else '&darr;'}</th>"
        for m in table.metrics
    ]
    rows = []
    for row in table.rows:
        name = escape(row.label)
        if row.result is not None and row.result.citation:
            name = f'<span title="{escape(row.result.citation)}">{name}</span>'
        if not row.present:
            name += ' <span class="note">(no result on this dataset)</span>'
        elif row.partial:
            c = row.result.counts
            name += f' <span class="note">({c.get("evaluated")} of {c.get("gt")} images)</span>'
        cells = [f'<td data-v="{escape(row.label)}">{name}</td>']
        for key in (m.key for m in table.metrics):
            v = row.values[key]
            if v is None:
                cells.append(f'<td class="na" data-v="">{MISSING}</td>')
                continue
            text = f"{v:.{DECIMALS}f}"
            ci = row.interval(key)
            if ci is not None:
                text += f' <span class="ci">[{ci[0]:.{DECIMALS}f}, {ci[1]:.{DECIMALS}f}]</span>'
            cls = {1: ' class="best"', 2: ' class="second"'}.get(table.mark(row, key), "")
            cells.append(f'<td{cls} data-v="{v!r}">{text}</td>')
        rows.append(f"<tr{'' if row.present else ' class=absent'}>" + "".join(cells) + "</tr>")
    return (
        '<div class="wide"><table class="sortable"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + "".join(f'<p class="note">{escape(n)}</p>' for n in table.printed_notes())
    )


def render_page(
    tables: list[Table],
    figures: dict[str, list[PageFigure]],
    sensitivity: list[tuple[str, str, list[PageFigure]]] = (),
    notes: list[str] = (),
    references: dict[str, str] | None = None,
) -> str:
    """The complete HTML page.

    Parameters
    ----------
    tables : list of Table
        One section per table.
    figures : dict of str to list of PageFigure
        Group slug -> figures shown under its table.
    sensitivity : list of (title, html, figures)
        Protocol-sensitivity sections (``html`` is a ready table).
    notes : list of str
        Plain-text notes shown at the top (input files, versions).
    references : dict of str to str, optional
        Published method label -> citation.

    Returns
    -------
    str
        A self-contained HTML5 document.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>dbdbench leaderboard</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>dbdbench leaderboard</h1>",
        f'<p class="note">Built by dbdbench {escape(__version__)}. One table per protocol and dataset: '
        "numbers from different protocols are never compared. Best value bold, second underlined "
        "(values equal at three decimals tie); click a column header to sort.</p>",
    ]
    if notes:
        parts.append(
            f'<details class="note"><summary>Inputs and remarks ({len(notes)})</summary><ul>'
            + "".join(f"<li>{escape(n)}</li>" for n in notes)
            + "</ul></details>"
        )
    for t in tables:
        parts.append(f'<h2 id="{escape(t.group.slug)}">{escape(heading(t.title))}</h2>')
        parts.append(table_html(t))
        parts.extend(_figure_html(f) for f in figures.get(t.group.slug, []))
    for title, html, figs in sensitivity:
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append(html)
        parts.extend(_figure_html(f) for f in figs)
    if references:
        parts.append("<h2>References of published results</h2><ul>")
        parts.extend(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in references.items())
        parts.append("</ul>")
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def sensitivity_html(view) -> str:
    """A sortable HTML table method x protocol (headline F, MAE, rank) for a
    :class:`~dbdbench.leaderboards.sensitivity.Sensitivity` view, with Kendall's tau below it."""
    from dbdbench.leaderboards.sensitivity import headline_label

    head = ["<th>Method</th>"]
    for p in view.protocols:
        head += [
            f"<th>{escape(p)} {escape(headline_label(p))} &uarr;</th>",
            f"<th>{escape(p)} MAE &darr;</th>",
            f"<th>{escape(p)} rank</th>",
        ]
    rows = []
    for m in view.methods:
        cells = [f'<td data-v="{escape(m)}">{escape(m)}</td>']
        for p in view.protocols:
            for v, fmt in ((view.f[(m, p)], "f"), (view.mae[(m, p)], "f"), (view.rank[(m, p)], "d")):
                if v is None:
                    cells.append(f'<td class="na" data-v="">{MISSING}</td>')
                else:
                    text = f"{v:.{DECIMALS}f}" if fmt == "f" else str(v)
                    cells.append(f'<td data-v="{v!r}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    tau = "; ".join(f"{p} vs {q}: {MISSING if t is None else f'{t:.2f}'}" for (p, q), t in view.tau.items())
    return (
        '<p class="note">The same predictions under every protocol: headline F (the number each '
        "protocol's papers print), MAE and the rank by headline F.</p>"
        '<div class="wide"><table class="sortable"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + (f'<p class="note">Kendall\'s tau between rankings: {escape(tau)}.</p>' if tau else "")
    )
