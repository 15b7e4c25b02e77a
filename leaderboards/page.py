"""The leaderboard web page: one HTML file.

Everything the tables and figures need is inside the file: the figures as base64 PNG ``data:`` images,
the CSS and the JavaScript that sorts the tables inline. The map browser's pictures are the only
files it loads, lazily, from ``browser/`` beside it (relative links); the page loads nothing over the
network (the other links are relative links to the vector versions of the figures, followed only
when clicked), so it opens offline and, without a browser, can be mailed or archived as one file.
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
.mb-bar{margin:.5em 0;font-size:.92em}.mb-bar button,.mb-bar select{margin:0 .3em}
table.mb-table td{text-align:center;vertical-align:top;padding:.2em .3em}
table.mb-table td:first-child{text-align:left}
table.mb-table tbody tr{cursor:pointer}table.mb-table tbody tr:hover{background:#f3f6fa}
.mb-table img{height:80px;width:auto;display:block;margin:0 auto;border:1px solid #bbb}
.mb-s{font-size:.8em;color:#333}.mb-x{color:#999}
.mb-full{position:fixed;inset:0;background:rgba(20,20,20,.88);overflow:auto;z-index:9;padding:1em;color:#fff}
.mb-full figure{margin:.4em}.mb-full img{max-width:45vw;max-height:80vh;width:auto;border:1px solid #666}
.mb-full figcaption{color:#ddd}.mb-close{float:right;font-size:1.2em}
"""

#: The map browser (see :mod:`dbdbench.leaderboards.browser`): renders each ``section.mb`` from its
#: JSON blob, one page of rows at a time (images lazy-loaded), sorts, opens a row's large views.
_BROWSER_JS = """
(function(){
  function el(tag,attrs,text){var e=document.createElement(tag);
    for(var k in attrs||{})e.setAttribute(k,attrs[k]);
    if(text!==undefined)e.textContent=text;return e;}
  function fmt(v){return v===null||v===undefined?'\u2013':v.toFixed(3);}
  function spread(r){var v=r[2].filter(function(x){return x!==null;});
    return v.length<2?null:Math.max.apply(null,v)-Math.min.apply(null,v);}
  document.querySelectorAll('section.mb').forEach(function(sec){
    var D=JSON.parse(sec.querySelector('script.mb-data').textContent);
    var rows=D.rows.slice(),page=0,asc=true,by='name';
    var sel=sec.querySelector('.mb-sort'),dir=sec.querySelector('.mb-dir'),lab=sec.querySelector('.mb-page');
    var tbody=sec.querySelector('tbody'),thead=sec.querySelector('thead'),full=sec.querySelector('.mb-full');
    sel.appendChild(el('option',{value:'name'},'name'));
    D.methods.forEach(function(m,i){sel.appendChild(el('option',{value:'m'+i},D.label+' of '+m.t));});
    if(D.methods.length>1)
      sel.appendChild(el('option',{value:'spread'},'disagreement ('+D.label+' max - min)'));
    function ext(kind){return kind==='photo'?'.jpg':'.png';}
    function src(d,kind,r,big){return D.base+d+'/'+r[1]+(big?'-full':'')+ext(kind);}
    function has(r,d){return d!==null&&!(r[3]&&r[3].indexOf(d)>=0);}
    var hr=el('tr');hr.appendChild(el('th',{},'name'));
    D.cols.forEach(function(c){hr.appendChild(el('th',{},c.t));});
    D.methods.forEach(function(m){hr.appendChild(el('th',{},m.t));});thead.appendChild(hr);
    function key(r){if(by==='name')return r[0];if(by==='spread')return spread(r);return r[2][+by.slice(1)];}
    function order(){rows.sort(function(a,b){var x=key(a),y=key(b);
      if(x===null&&y===null)return a[1]-b[1];if(x===null)return 1;if(y===null)return -1;
      var c=typeof x==='string'?x.localeCompare(y):x-y;if(c===0)c=a[1]-b[1];return asc?c:-c;});}
    function cell(d,kind,r,text){var td=el('td');
      if(has(r,d))td.appendChild(el('img',{loading:'lazy',src:src(d,kind,r,false),alt:r[0]}));
      else td.appendChild(el('span',{'class':'mb-x'},'no image'));
      if(text!==undefined)td.appendChild(el('div',{'class':'mb-s'},text));return td;}
    function open(r){full.innerHTML='';var b=el('button',{'class':'mb-close'},'close \u2715');
      b.addEventListener('click',function(e){e.stopPropagation();full.hidden=true;});full.appendChild(b);
      full.appendChild(el('h3',{},r[0]));
      function fig(d,kind,t){if(!has(r,d))return;var f=el('figure');
        f.appendChild(el('img',{src:src(d,kind,r,true),alt:t}));
        f.appendChild(el('figcaption',{},t));full.appendChild(f);}
      D.cols.forEach(function(c){fig(c.d,c.k,c.t);});
      D.methods.forEach(function(m,i){fig(m.d,'map',m.t+' \u2014 '+D.label+' '+fmt(r[2][i]));});
      full.hidden=false;}
    function show(){var n=Math.max(1,Math.ceil(rows.length/D.page));page=Math.min(Math.max(page,0),n-1);
      tbody.innerHTML='';rows.slice(page*D.page,(page+1)*D.page).forEach(function(r){
        var tr=el('tr',{'data-name':r[0]});tr.appendChild(el('td',{},r[0]));
        D.cols.forEach(function(c){tr.appendChild(cell(c.d,c.k,r));});
        D.methods.forEach(function(m,i){tr.appendChild(cell(m.d,'map',r,D.label+' '+fmt(r[2][i])));});
        tr.addEventListener('click',function(){open(r);});tbody.appendChild(tr);});
      lab.textContent='page '+(page+1)+' of '+n+' ('+rows.length+' images)';
      dir.textContent=asc?'ascending':'descending';}
    sel.addEventListener('change',function(){by=sel.value;asc=by!=='spread';page=0;order();show();});
    dir.addEventListener('click',function(){asc=!asc;page=0;order();show();});
    sec.querySelector('.mb-prev').addEventListener('click',function(){page--;show();});
    sec.querySelector('.mb-next').addEventListener('click',function(){page++;show();});
    full.addEventListener('click',function(e){if(e.target===full)full.hidden=true;});
    document.addEventListener('keydown',function(e){if(e.key==='Escape')full.hidden=true;});
    order();show();
  });
})();
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


def browser_html(slug: str, blob: str, n_images: int) -> str:
    """The map browser section of one group: controls, an empty table the script fills from
    ``blob`` (:func:`dbdbench.leaderboards.browser.browser_json`), and the large-view overlay."""
    return (
        f'<section class="mb" id="browser-{escape(slug)}"><h3>Map browser ({n_images} images)</h3>'
        '<p class="note">Photo, GT and each method\'s map per image, with its per-image score; sort by '
        "a method's score or by how much the methods disagree; click a row for the large view.</p>"
        '<div class="mb-bar">sort by <select class="mb-sort"></select>'
        '<button class="mb-dir">ascending</button>'
        '<button class="mb-prev">&larr; previous</button><span class="mb-page"></span>'
        '<button class="mb-next">next &rarr;</button></div>'
        '<div class="wide"><table class="mb-table"><thead></thead><tbody></tbody></table></div>'
        '<div class="mb-full" hidden></div>'
        f'<script type="application/json" class="mb-data">{blob}</script></section>'
    )


def render_page(
    tables: list[Table],
    figures: dict[str, list[PageFigure]],
    sensitivity: list[tuple[str, str, list[PageFigure]]] = (),
    notes: list[str] = (),
    references: dict[str, str] | None = None,
    browsers: dict[str, str] | None = None,
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
    browsers : dict of str to str, optional
        Group slug -> its map browser section (:func:`browser_html`), shown under its figures.

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
        if browsers and t.group.slug in browsers:
            parts.append(browsers[t.group.slug])
    for title, html, figs in sensitivity:
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append(html)
        parts.extend(_figure_html(f) for f in figs)
    if references:
        parts.append("<h2>References of published results</h2><ul>")
        parts.extend(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in references.items())
        parts.append("</ul>")
    scripts = _JS + (_BROWSER_JS if browsers else "")
    parts.append(f"<script>{scripts}</script></body></html>")
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
