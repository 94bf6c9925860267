"""The report as one self-contained HTML page: inline CSS, figures as inline SVG.

Nothing is fetched when the page is viewed (no fonts, scripts or images from
anywhere). Figures are inline ``<svg>`` with a ``<title>`` and a ``<desc>`` that
states the finding, so their text can be searched and read aloud. Every text
goes through ``html.escape``. Tables scroll inside their own box on a phone and
wrap to the page width in print. A few lines of inline script only record, on
load, the figure count and the page's scroll width on the body, so a headless
browser test can read them from the DOM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from hpcplan.report import sections as rs
from hpcplan.report import tables as pt

if TYPE_CHECKING:
    from hpcplan.report.core import Figure, Report

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --line: #d5d5d5; --band: #f4f6f8; --ok: #006d4f;
        --warn: #8a5a00; --bad: #b33c00; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; font-size: 15px; background: #fff;
       overflow-wrap: break-word; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px;
     border-bottom: 2px solid var(--accent); }
h3 { font-size: 17px; margin: 26px 0 8px; }
p.meta, .muted { color: var(--muted); font-size: 13px; }
code { font-size: 13px; overflow-wrap: anywhere; }
nav ul { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; padding: 0;
         margin: 10px 0 0; font-size: 14px; }
nav a { color: var(--accent); }
nav li.fig a { font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; margin: 14px 0; }
.card { flex: 1 1 340px; min-width: 0; border: 1px solid var(--line);
        border-left: 8px solid var(--ok); padding: 12px 16px; border-radius: 4px;
        background: var(--band); }
.card.not-held { border-left-color: var(--warn); border-left-style: double; }
.card.missed { border-left-color: var(--bad); border-left-style: dashed; }
.card h3 { margin: 0 0 6px; font-size: 16px; }
.card .verdict { font-size: 17px; font-weight: bold; }
.card.held .verdict { color: var(--ok); }
.card.not-held .verdict { color: var(--warn); }
.card.missed .verdict { color: var(--bad); }
.card dl { display: grid; grid-template-columns: minmax(7em, auto) 1fr; gap: 3px 12px;
           margin: 8px 0 0; font-size: 14px; }
.card dt { color: var(--muted); }
.card dd { margin: 0; min-width: 0; }
.caveat { border: 2px solid var(--warn); background: #fff4e0; padding: 8px 12px;
          border-radius: 4px; font-weight: bold; }
.notice { border: 1px solid #e0b000; background: #fff8e0; padding: 10px 14px;
          border-radius: 4px; margin: 12px 0; }
.notice ul { margin: 6px 0 0; padding-left: 20px; }
.action { border: 3px solid var(--accent); background: #eef6fc; padding: 12px 16px;
          border-radius: 6px; margin: 16px 0; }
.action h2 { margin-top: 0; border: 0; }
pre { background: #fff; border: 1px solid var(--line); padding: 8px 10px; overflow-x: auto;
      font-size: 13px; max-width: 100%; }
.wide { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; text-align: left;
         vertical-align: top; }
th { background: #e9eef3; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; }
td.long { min-width: 14em; }
td.status-ok { color: var(--ok); }
td.status-bad { color: var(--bad); font-weight: bold; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 4px 0; }
p.note { font-size: 12.5px; color: var(--muted); margin: 2px 0 10px; }
p.csv { font-size: 12.5px; margin: 0 0 14px; }
p.warning { border-left: 4px solid var(--bad); padding-left: 10px; font-weight: bold; }
figure { margin: 14px 0 22px; }
.chartbox { overflow-x: auto; border: 1px solid var(--line); background: #fff; }
svg.chart { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; margin-top: 4px; }
figcaption .finding { font-weight: bold; }
figcaption .how { color: var(--muted); }
@media (max-width: 700px) {
  body { font-size: 15px; }
  main { padding: 14px 12px 36px; }
  h1 { font-size: 22px; }
  .card { flex-basis: 100%; padding: 10px 12px; }
  .card dl { grid-template-columns: 1fr; }
  .card dt { margin-top: 4px; }
  svg.chart { min-width: 620px; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
}
@media print {
  @page { size: A4; margin: 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, .card, tr, .action, pre { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  .wide, .chartbox, pre { overflow: visible; }
  pre { white-space: pre-wrap; }
  svg.chart { min-width: 0; }
  table { font-size: 7.5pt; table-layout: auto; }
  th, td { padding: 2px 3px; overflow-wrap: break-word; hyphens: auto; }
  td.long, td:first-child { overflow-wrap: anywhere; }
  td.long { min-width: 0; }
}
"""

SCRIPT = """
window.addEventListener("load", function () {
  var b = document.body, d = document.documentElement;
  b.setAttribute("data-figures", document.querySelectorAll("figure svg.chart").length);
  b.setAttribute("data-scroll-width", d.scrollWidth);
  b.setAttribute("data-client-width", d.clientWidth);
});
"""

_NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?%?( [A-Za-z/%]+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}$")


def _cell(value: pt.Cell) -> str:
    text = "" if value is None else str(value)
    cls = ""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or _NUMERIC.match(text):
        cls = "num"
    elif _DATE.match(text) or text == "not by end":
        cls = "date"
    elif len(text) > 40:
        cls = "long"
    if text in ("FAILED", "ABORTED", "UNAVAILABLE", "OVER ENVELOPE", "no") or \
            text.startswith("CHECK"):
        cls = "status-bad" + (" long" if len(text) > 60 else "")
    elif text in ("ok", "yes"):
        cls = "status-ok"
    return f'<td class="{cls}">{escape(text)}</td>' if cls else f"<td>{escape(text)}</td>"


def table(headers: Sequence[str], rows: Sequence[Sequence[pt.Cell]], *, ident: str = "",
          caption: str = "", note: str = "", csv: str = "") -> str:
    attr = f' id="{escape(ident)}"' if ident else ""
    out = [f'<div class="wide"><table{attr}>']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) +
               "</tr></thead><tbody>")
    out += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows]
    out.append("</tbody></table></div>")
    if note:
        out.append(f'<p class="note">{escape(note)}</p>')
    if csv:
        out.append(f'<p class="csv">Data: <a href="{escape(csv)}" download>{escape(csv)}</a>'
                   "</p>")
    return "\n".join(out)


def from_table(t: pt.Table, ident: str = "", caption: bool = True, csv: str = "") -> str:
    return table(t.headers, t.rows, ident=ident, caption=t.title if caption else "", note=t.note,
                 csv=csv)


_ID = re.compile(r'\bid="([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_HREF = re.compile(r'(xlink:href|href)="#([^"]+)"')
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def inline_svg(f: Figure) -> str:
    """The figure's SVG for inline use: ids prefixed with the figure's (unique in the page),
    no fixed size (CSS scales it), a <title> and a <desc> stating the finding first."""
    svg = f.svg[f.svg.index("<svg"):]
    svg = _METADATA.sub("", svg)
    pre = f"{f.id}-"
    svg = _ID.sub(lambda m: f'id="{pre}{m.group(1)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{pre}{m.group(1)})", svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{pre}{m.group(2)}"', svg)
    end = svg.index(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:end])
    head += (f' class="chart" role="img" aria-labelledby="{pre}title {pre}desc" '
             'preserveAspectRatio="xMinYMin meet"')
    return (f'{head}><title id="{pre}title">{escape(f.title)}</title>'
            f'<desc id="{pre}desc">{escape(f.description)}</desc>{svg[end + 1:]}')


def figure(f: Figure, files: dict[str, str] | None = None) -> str:
    data = (files or {}).get(f.csv, "")
    link = f' <a href="{escape(data)}" download>Data: {escape(data)}</a>' if data else ""
    return (f'<figure id="{escape(f.id)}"><div class="chartbox">{inline_svg(f)}</div>'
            f'<figcaption><span class="finding">{escape(f.title)}: {escape(f.description)}'
            f'</span> <span class="how">{escape(f.caption)}</span>{link}</figcaption></figure>')


def _blocks(blocks: Sequence[rs.Block], files: dict[str, str]) -> list[str]:
    out: list[str] = []
    cards = [b for b in blocks if isinstance(b, rs.Card)]
    if cards:
        out.append('<div class="cards" id="cards">')
        for c in cards:
            out.append(f'<div class="card {c.status}" data-target="{escape(c.key)}" '
                       f'data-status="{c.status}"><h3>{escape(c.title)}</h3>'
                       f'<div class="verdict">{escape(c.verdict)}</div><dl>' +
                       "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in c.rows) +
                       "</dl></div>")
        out.append("</div>")
    for b in blocks:
        if isinstance(b, rs.Card):
            continue
        if isinstance(b, rs.Para):
            cls = {"note": "note", "caveat": "caveat", "warning": "warning"}.get(b.kind, "")
            ident = ' id="caveat"' if b.kind == "caveat" else ""
            out.append(f'<p class="{cls}"{ident}>{escape(b.text)}</p>' if cls else
                       f"<p>{escape(b.text)}</p>")
        elif isinstance(b, rs.Bullets):
            tag = "ol" if b.kind == "ordered" else "ul"
            items = f"<{tag}>" + "".join(f"<li>{escape(x)}</li>" for x in b.items) + f"</{tag}>"
            title = f"<p><b>{escape(b.title)}</b></p>" if b.title else ""
            out.append(f'<div class="notice">{title}{items}</div>' if b.kind == "warning" else
                       title + items)
        elif isinstance(b, rs.Heading):
            out.append(f'<h3 id="{escape(b.ident)}">{escape(b.title)}</h3>')
        elif isinstance(b, rs.TableBlock):
            out.append(from_table(b.table, b.ident, csv=files.get(b.csv, "")))
        elif isinstance(b, rs.FigureBlock):
            out.append(figure(b.figure, files))
        elif isinstance(b, rs.Code):
            out.append((f"<p><b>{escape(b.title)}:</b></p>" if b.title else "") +
                       f"<pre><code>{escape(b.text)}</code></pre>")
        elif isinstance(b, rs.Box):
            out.append(f'<section class="action" id="{escape(b.ident)}">'
                       f"<h2>{escape(b.title)}</h2>" + "\n".join(_blocks(b.blocks, files)) +
                       "</section>")
    return out


def _nav(sections: Sequence[rs.Section], r: Report, box: rs.Box | None) -> str:
    """Every section, each followed by its figures: the plan's, and under the measured
    section each machine's (numbered in page order when there are several machines)."""
    items = []
    if box is not None:
        items.append(f'<li><a href="#{box.ident}">calibrate</a></li>')
    machines = [(f, f"{f.title.lower()}" + (f" {i}" if len(r.groups) > 1 else ""))
                for i, g in enumerate(r.groups, 1) for f in r.group_figures.get(g.key, ())]
    for s in sections:
        items.append(f'<li><a href="#{escape(s.ident)}">{escape(s.nav)}</a></li>')
        figs = [(f, f.nav) for f in r.figures if f.section == s.ident]
        figs += [(f, label) for f, label in machines if f.section == s.ident]
        items += [f'<li class="fig"><a href="#{escape(f.id)}">{escape(label)} figure</a></li>'
                  for f, label in figs]
    items.append('<li><a href="#files">files</a></li>')
    return '<nav aria-label="sections"><ul>' + "".join(items) + "</ul></nav>"


def render(r: Report, files: dict[str, str] | None = None) -> str:
    """The page; ``files`` maps each CSV table's key to its file name beside the page."""
    files = files or {}
    p = r.projection
    mc = (f"{p.samples:,} Monte Carlo samples, seed {p.seed}" if p.samples else
          "deterministic run only (no Monte Carlo samples)")
    sections = rs.sections(r)
    box = rs.calibration_box(r)
    body = [
        f"<h1>Capacity plan: {escape(p.scenario_name)}</h1>",
        f"<p>{escape(p.description)}</p>" if p.description else "",
        f'<p class="meta">Generated {escape(r.generated)} by hpcplan {escape(r.version)}, '
        f"commit <code>{escape(r.commit or 'unknown')}</code>. Scenario "
        f"<code>{escape(p.scenario_file)}</code>; {escape(mc)}; horizon {escape(p.months[0])} "
        f"to {escape(p.months[-1])}, monthly. Results <code>{escape(str(r.results_dir))}</code>."
        "</p>",
        _nav(sections, r, box),
    ]
    if box is not None:
        body += _blocks([box], files)
    for s in sections:
        body.append(f'<section id="{escape(s.ident)}"><h2>{escape(s.title)}</h2>')
        body += _blocks(s.blocks, files)
        body.append("</section>")
    body.append('<section id="files"><h2>Files and provenance</h2><ul>' + "".join(
        f"<li>{escape(line)}</li>" for line in rs.provenance_lines(r, files)[:-1]) +
        "<li>tables as CSV: " + ", ".join(f'<a href="{escape(n)}" download>{escape(n)}</a>'
                                          for n in files.values()) + "</li></ul></section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>hpcplan report: {escape(p.scenario_name)}</title>"
            f"<style>{CSS}</style></head>\n<body><main>\n" + "\n".join(x for x in body if x) +
            f"\n</main><script>{SCRIPT}</script></body></html>\n")
