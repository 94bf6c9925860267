"""The report as one self-contained HTML page: inline CSS, figures as SVG data URIs.

Nothing is fetched when the page is viewed (no fonts, scripts or images from
anywhere). Every text goes through ``html.escape``. A few lines of inline
script only mark, on load, how many figures rendered (``data-images-loaded``
on the body) so a headless browser test can check them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from hpcplan import projection_tables as pt
from hpcplan import report_measured as rm
from hpcplan import report_text as rt

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --line: #d5d5d5; --band: #f4f6f8; --ok: #006d4f;
        --bad: #b33c00; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; font-size: 15px; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px;
     border-bottom: 2px solid var(--accent); }
h3 { font-size: 17px; margin: 26px 0 8px; }
p.meta, .muted { color: var(--muted); font-size: 13px; }
nav { font-size: 13px; margin: 10px 0 0; }
nav a { margin-right: 12px; color: var(--accent); }
.cards { display: flex; flex-wrap: wrap; gap: 14px; margin: 14px 0; }
.card { flex: 1 1 320px; border: 1px solid var(--line); border-left: 6px solid var(--ok);
        padding: 12px 16px; border-radius: 4px; background: var(--band); }
.card.miss { border-left-color: var(--bad); }
.card h3 { margin: 0 0 6px; font-size: 16px; }
.card .verdict { font-size: 20px; font-weight: bold; }
.card.met .verdict { color: var(--ok); }
.card.miss .verdict { color: var(--bad); }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 8px 0 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; font-weight: bold; }
.notice { border: 1px solid #e0b000; background: #fff8e0; padding: 10px 14px;
          border-radius: 4px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 7px; text-align: left;
         vertical-align: top; }
th { background: #e9eef3; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; }
#inputs-table td:last-child, #sources-table td:last-child { min-width: 260px; }
#inputs-table td:first-child { overflow-wrap: anywhere; min-width: 210px; }
td.status-ok { color: var(--ok); }
td.status-bad { color: var(--bad); font-weight: bold; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 4px 0; }
p.note { font-size: 12.5px; color: var(--muted); margin: 2px 0 10px; }
figure { margin: 14px 0 22px; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
.wide { overflow-x: auto; }
code { font-size: 13px; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, .card, tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
"""

_NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?%?( [A-Za-z/%]+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}$")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    cls = ""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or _NUMERIC.match(text):
        cls = "num"
    elif _DATE.match(text) or text == "not by end":
        cls = "date"
    if text in ("FAILED", "ABORTED", "UNAVAILABLE", "OVER ENVELOPE", "no"):
        cls = "status-bad"
    elif text in ("ok", "yes"):
        cls = "status-ok"
    return f'<td class="{cls}">{escape(text)}</td>' if cls else f"<td>{escape(text)}</td>"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, ident: str = "",
          caption: str = "", note: str = "") -> str:
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
    return "\n".join(out)


def from_table(t: pt.Table, ident: str = "", caption: bool = True) -> str:
    return table(t.headers, t.rows, ident=ident, caption=t.title if caption else "", note=t.note)


def figure(f: Any) -> str:
    data = base64.b64encode(f.svg.encode("utf-8")).decode("ascii")
    return (f'<figure id="{escape(f.key)}"><img alt="{escape(f.title)}: {escape(f.caption)}" '
            f'src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{escape(f.caption)}</figcaption></figure>")


def _cards(p: Any) -> str:
    out = ['<div class="cards" id="answer">']
    for t in p.targets:
        met = pt.met_at_p50(t)
        out.append(
            f'<div class="card {"met" if met else "miss"}" data-target="{escape(t.key)}">'
            f"<h3>{escape(t.name)} (&gt; {escape(t.threshold_text)}) by {escape(t.deadline)}</h3>"
            f'<div class="verdict">{"Met" if met else "Not met"} at P50: '
            f"{escape(pt.pct(t.probability_by_deadline))} likely by the deadline</div><dl>"
            f"<dt>P50 date</dt><dd>{escape(pt.date(t.p50_date))}</dd>"
            f"<dt>P90 date</dt><dd>{escape(pt.date(t.p90_date))}</dd>"
            f"<dt>P50 at deadline</dt><dd>{escape(pt.num(t.value_at_deadline_p50, t.unit))}</dd>"
            f"<dt>power at P50 date</dt><dd>{escape(pt.num(t.power_at_p50_mw, 'MW'))}</dd>"
            f"<dt>top driver</dt><dd>{escape(t.drivers[0].label if t.drivers else '-')}</dd>"
            "</dl></div>")
    out.append("</div>")
    return "\n".join(out)


def _measured(r: Any) -> list[str]:
    out = ['<h2 id="measured">Measured machines</h2>']
    if not r.records:
        out.append(f'<div class="notice" id="no-results">{escape(rt.measurement_line(r))}</div>')
    else:
        out.append(f"<p>{escape(rt.measurement_line(r))} Each kind of machine has its own "
                   "figures; records from different machines are never mixed.</p>")
    if r.problems:
        out.append('<div class="notice"><b>Unreadable results (skipped):</b><ul>' +
                   "".join(f"<li>{escape(x)}</li>" for x in r.problems) + "</ul></div>")
    for g in r.groups:
        out.append(f'<h3 id="machine-{escape(g.key)}">{escape(g.label)}</h3>')
        out.append(f'<p class="muted">{escape(rm.describe_machine(g.machine))}. Hosts: '
                   f"{escape(', '.join(g.hosts) or 'unknown')}.</p>")
        out.append(table(rt.MEASURED_HEADERS, rt.measured_rows(g),
                         ident=f"measured-{g.key}", caption="Newest result per benchmark",
                         note="% of peak: against the theoretical peak of the nodes used "
                              "(GFLOP/s only). Newest vs earlier median: the newest validated "
                              "value against the median of the earlier ones at the same node and "
                              "rank count. Failed, aborted and unavailable results carry no "
                              "value; the note says why."))
        figs = r.group_figures.get(g.key, [])
        titles = {f.title for f in figs}
        if "Roofline" not in titles:
            out.append('<p class="note">No roofline: it needs a validated single-node '
                       "compute.peak.* or memory.stream.triad record.</p>")
        if "History" not in titles:
            out.append('<p class="note">No history figure yet: it needs a benchmark stored '
                       "from two or more runs.</p>")
        out += [figure(f) for f in figs]
    return out


def _when(timestamp: str) -> str:
    """'2026-03-01T10:00:00.000000Z' -> '2026-03-01 10:00'."""
    return timestamp[:16].replace("T", " ")


def render(r: Any) -> str:
    p = r.projection
    mc = (f"{p.samples:,} Monte Carlo samples, seed {p.seed}" if p.samples else
          "deterministic run only (no Monte Carlo samples)")
    commit = f", commit {r.commit[:12]}" if r.commit else ""
    body = [
        f"<h1>Capacity plan: {escape(p.scenario_name)}</h1>",
        f"<p>{escape(p.description)}</p>" if p.description else "",
        f'<p class="meta">Generated {escape(r.generated)} by hpcplan {escape(r.version)}'
        f"{escape(commit)}. Scenario <code>{escape(p.scenario_file)}</code>; {escape(mc)}; "
        f"horizon {escape(p.months[0])} to {escape(p.months[-1])}, monthly. Results "
        f"<code>{escape(str(r.results_dir))}</code>.</p>",
        '<nav><a href="#answer">answer</a><a href="#targets">targets</a>'
        '<a href="#fig-compute">compute</a><a href="#fig-storage">storage</a>'
        '<a href="#drivers">drivers</a><a href="#constraints">constraints</a>'
        '<a href="#measured">measured</a><a href="#calibration">calibration</a>'
        '<a href="#inputs">inputs</a><a href="#runs">runs</a>'
        '<a href="#definitions">definitions</a></nav>',
        '<h2 id="summary">The answer</h2>', _cards(p),
        f"<p>{escape(rt.measurement_line(r))} {escape(rt.calibration_line(r))}</p>",
    ]
    if p.warnings:
        body.append('<div class="notice"><b>Warnings:</b><ul>' +
                    "".join(f"<li>{escape(w)}</li>" for w in p.warnings) + "</ul></div>")
    body += ['<h2 id="targets-heading">Targets</h2>',
             from_table(pt.targets(p), "targets", caption=False),
             figure(r.figures["compute"]), figure(r.figures["storage"])]
    body += [f"<p>{escape(line)}</p>" for line in pt.storage_lines(p)]
    body.append('<h2 id="drivers">What drives the answer</h2>')
    driven = [t for t in p.targets if t.drivers]
    body += [from_table(pt.drivers(t), f"drivers-{t.key}") for t in driven]
    if not driven:
        body.append("<p>No uncertain input moves a target date (or the run was deterministic)."
                    "</p>")
    body += ['<h2 id="constraints">Binding constraint per year</h2>',
             from_table(pt.constraints(p), "constraints-table", caption=False)]
    if p.world:
        body += ['<h2 id="world">World-leading check</h2>',
                 from_table(pt.world(p), "world-table")]
    body += _measured(r)
    body += ['<h2 id="calibration">Calibration from measurements</h2>',
             f"<p>{escape(rt.calibration_line(r))}</p>"]
    cal = r.calibration
    if cal is not None:
        if cal.changes:
            body.append(from_table(pt.calibration(p), "calibration-table"))
        if cal.notes:
            body.append("<p><b>Measured but not applied, and why:</b></p><ul>" +
                        "".join(f"<li>{escape(n)}</li>" for n in cal.notes) + "</ul>")
    body += ['<h2 id="inputs">Scenario inputs and their sources</h2>',
             "<p>Every uncertain input with its distribution, and every figure of the scenario "
             "with its source or the assumption it rests on. <b>measured</b> marks an input "
             "calibrated from the stored results.</p>",
             from_table(pt.inputs(p), "inputs-table"),
             from_table(pt.sources(p), "sources-table")]
    runs = rm.runs(r.groups)
    body.append('<h2 id="runs">Runs behind the measurements</h2>')
    if runs:
        body.append(table(("run", "started (UTC)", "machine", "host", "node list", "job id",
                           "job state", "ranks", "nodes", "ok", "not ok", "commit", "software"),
                          [list({**x, "started": _when(x["started"])}.values()) for x in runs],
                          ident="runs-table"))
    else:
        body.append("<p>No runs stored yet.</p>")
    body += ['<h2 id="definitions">Definitions</h2>', "<ol>" +
             "".join(f"<li>{escape(d)}</li>" for d in p.definitions) + "</ol>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>hpcplan report: {escape(p.scenario_name)}</title>"
            f"<style>{CSS}</style></head>\n<body><main>\n" + "\n".join(x for x in body if x) +
            f"\n</main><script>{SCRIPT}</script></body></html>\n")
