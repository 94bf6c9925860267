"""The report: stored results + scenario -> calibration -> projection -> HTML, Markdown, CSV.

``build`` gathers everything (a scenario that fails validation raises before
anything is written; no results yet is a sentence in the report, which still
shows the projection) and draws the figures in one ordered list (``PLAN_FIGURES``)
that the page, its navigation and the Markdown all follow; ``write`` renders one
self-contained HTML file (inline CSS, figures as inline ``<svg>``, no network
access needed), a Markdown summary with the same tables, CSV tables and the
report's data (``-data.json``, read by the next report for "what moved and
why") beside it, each replaced atomically so a reader never sees half a report.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernels.errors import UserError

REPORT_NAME = "report.html"
REPORT_DIR = "report"


@dataclass(frozen=True)
class Figure:
    """One figure of the report: the page, its navigation and the Markdown follow the list."""

    id: str  # HTML id (also the prefix of the ids inside its SVG)
    title: str
    caption: str  # how to read it (what is drawn)
    description: str  # what it shows: the finding, in words (the SVG's <desc>)
    svg: str
    section: str = ""  # the section it belongs to
    csv: str = ""  # the CSV table holding its data
    nav: str = ""  # short label for the navigation


@dataclass
class Report:
    projection: Any  # models.projection.Projection
    results_dir: Path
    records: list  # bench.records.Record, every readable one
    groups: list  # report_measured.MachineGroup
    problems: list[str]  # the store's unreadable files and records
    generated: str
    version: str
    commit: str | None
    scenario: Any = None  # models.schema.Scenario, calibrated
    facts: Any = None  # report_plan.PlanFacts: the point run per system
    figures: list[Figure] = field(default_factory=list)
    group_figures: dict[str, list[Figure]] = field(default_factory=dict)
    #: "what moved and why" against the report written before at the same place, if any
    changes: list[str] | None = None

    @property
    def calibration(self) -> Any:
        return self.projection.calibration

    @property
    def calibrated(self) -> bool:
        """Whether any scenario input was replaced by a measurement."""
        return bool(self.calibration is not None and self.calibration.changes)

    def figure(self, ident: str) -> Figure | None:
        return next((f for f in self.figures if f.id == ident), None)


def default_out(results_dir: Path) -> Path:
    return results_dir / REPORT_DIR / REPORT_NAME


def out_path(results_dir: Path, out: str | Path | None) -> Path:
    """The HTML file to write (checked before any work, so a typo costs nothing)."""
    path = Path(out) if out else default_out(results_dir)
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {path} must name an .html file")
    if path.is_dir():
        raise UserError(f"--out {path} is a directory; give a file name ending in .html")
    return path


def build(results_dir: str | Path, scenario: str | None = None, *, samples: int = 10_000,
          seed: int = 0) -> Report:
    """Load, calibrate and project; draw the figures. Raises UserError on bad input."""
    from bench.store import Store
    from bench.sysinfo import git_commit
    from hpcplan import __version__, report_measured, report_plan
    from models import loader
    from models.calibration import calibrate
    from models.projection import project

    if samples < 0 or samples > 10_000_000:
        raise UserError(f"--samples must be between 0 and 10000000, got {samples}")
    root = Path(results_dir)
    if root.exists() and not root.is_dir():
        raise UserError(f"results directory {root} exists and is not a directory")
    sc = loader.load_scenario(loader.resolve_path(scenario))
    store = Store(root)
    records = store.load()
    problems = list(store.problems)
    report = None
    if records:
        sc, report = calibrate(sc, store.dataframe(records), source=str(root), notes=problems)
    projection = project(sc, samples, seed, calibration=report)
    out = Report(projection, root.absolute(), records, report_measured.group(records), problems,
                 datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), __version__, git_commit(),
                 sc, report_plan.facts(sc))
    draw(out)
    return out


#: the plan figures in page order: id, section, nav label, title, caption, data CSV
PLAN_FIGURES = (
    ("fig-probability", "targets", "probability", "Probability over time: reached and kept",
     "Per target, the share of Monte Carlo samples that have reached it by each date (each "
     "reading; the plan's reading solid), the share above the threshold month by month as far "
     "as the P10/P50/P90 bands bound it (dotted band), the share reached by the deadline and "
     "held to the end (X), the deadline (dash-dot) and the retirements in the target's scope "
     "(point run, dotted).", "probability"),
    ("fig-compute", "targets", "compute", "Compute capability against the target",
     "The plan's reading as a P10-P90 band with its P50 line, the sustained reading beside it "
     "(hatched band, dashed line), the target (dotted), the deadline (dash-dot), the month the "
     "P50 crosses the target (diamond) and falls back under it (triangle). The projection "
     "carries P10, P50 and P90 only, so there is no P25-P75 band.", "series"),
    ("fig-power", "power", "power", "Power by system under the envelope",
     "Installed facility load (IT x PUE) stacked by system in the point run, storage at the "
     "bottom and the system switched off first on top (cross-hatched where the envelope "
     "switches it off); the envelope as a step line; the Monte Carlo P50 of the installed load "
     "dashed. The legend gives each system's mixed-precision GFLOP/s per W.", "power"),
    ("fig-storage", "storage", "storage", "Storage capacity against demand",
     "Usable capacity of the plan's reading as a P10-P90 band with its P50, the centre's raw, "
     "usable and effectively usable P50, demand (data held) as a hatched P10-P90 band with its "
     "P50, the target, the deadline and the one 'full' date (P50). P10-P90 only, as above.",
     "series"),
    ("fig-world", "world", "world", "World rank against the real lists",
     "Actual TOP500 (#1 filled circles, #10 open squares) and HPL-MxP (#1 triangles) entries, "
     "each series' fitted trend (dashed) with its P10-P90 band ahead of the last list, and the "
     "flagship's projected HPL Rmax-equivalent by year end and HPL-MxP at the compared month "
     "(P10-P90 bars).", "world"),
    ("fig-tornado", "drivers", "tornado", "Tornado: what moves each target's date",
     "Every uncertain input alone at its P10 and P90 (a yes/no phase without and with it), the "
     "rest at point values: the bar runs from the point-run date (black line) to the date with "
     "the input low (plain) and high (hatched). A driver that moves no date gives the range of "
     "the target's value at the deadline instead.", "drivers"),
)


def draw(r: Report) -> None:
    """Draw the plan figures in PLAN_FIGURES order and each machine's figures."""
    from hpcplan import report_figures as rf
    from hpcplan import report_measured as rm

    p = r.projection
    facts = r.facts
    makers = {
        "fig-probability": lambda: rf.probability(p, facts.retirements if facts else ()),
        "fig-compute": lambda: rf.compute(p),
        "fig-power": lambda: rf.power(p, facts) if facts and facts.power else None,
        "fig-storage": lambda: rf.storage(p),
        "fig-world": lambda: rf.world(p) if p.world is not None else None,
        "fig-tornado": lambda: rf.tornado(p),
    }
    r.figures = []
    for ident, section, nav, title, caption, csv_key in PLAN_FIGURES:
        drawn = makers[ident]()
        if drawn is None or not drawn.svg:
            continue
        r.figures.append(Figure(ident, title, caption, drawn.finding, drawn.svg, section,
                                csv_key, nav))
    for g in r.groups:
        figs = []
        roof = rm.roofline(g)
        if not roof.empty:
            figs.append(Figure(f"fig-roofline-{g.key}", "Roofline", "Compute ceilings per "
                               "precision (measured: solid; theoretical: dotted; each labelled "
                               "on the chart), the STREAM triad bandwidth and the kernels placed "
                               "by arithmetic intensity (compulsory DRAM traffic): STREAM, GEMM "
                               "and the solves as points.", rf.roofline_finding(roof),
                               rf.roofline(roof, f"Roofline: {g.label}"), "measured",
                               "measurements"))
        hist = [h for h in rm.histories(g) if any(len(s.values) > 1 for s in h.series)]
        if hist:
            worst = [f"{h.name} {h.change() * 100:+.1f}%" for h in hist
                     if h.change() is not None and abs(h.change() or 0) > 0.1]
            figs.append(Figure(f"fig-history-{g.key}", "History", "Every stored validated "
                               "result per benchmark over time (bars: min-max of the timed "
                               "repetitions); each title gives the newest value against the "
                               "median of the earlier ones.",
                               f"{len(hist)} benchmark(s) stored from two or more runs; "
                               + (f"moved more than 10%: {', '.join(worst)}." if worst else
                                  "none moved more than 10%."),
                               rf.history(hist, f"History of stored results: {g.label}"),
                               "measured", "measurements"))
        scal = rm.scaling(g)
        if scal:
            eff = [f"{s.name} {s.values[-1] / (s.values[0] * s.nodes[-1] / s.nodes[0]):.0%} of "
                   f"linear at {s.nodes[-1]} nodes" for s in scal if s.ideal]
            figs.append(Figure(f"fig-scaling-{g.key}", "Scaling", "Throughput against node "
                               "count (newest validated record per count) with ideal linear "
                               "scaling from the smallest run.",
                               ("; ".join(eff) or "No throughput benchmark to compare with "
                                "linear scaling") + ".",
                               rf.scaling(scal, f"Scaling: {g.label}"), "measured",
                               "measurements"))
        r.group_figures[g.key] = figs


@dataclass(frozen=True)
class Written:
    html: Path
    markdown: Path
    csvs: tuple[Path, ...]


def write(r: Report, out: str | Path | None = None) -> Written:
    """Write the HTML report, the Markdown summary, the CSV tables and the report's data
    (``-data.json``, read back by the next report written here for "what moved and why");
    returns their paths."""
    from hpcplan import report_changes, report_html, report_text

    html_path = out_path(r.results_dir, out)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {html_path.parent}: {exc.strerror or exc}") from None
    stem = html_path.with_suffix("")
    data_path = stem.parent / f"{stem.name}-data.json"
    snapshot = report_changes.snapshot(r)
    previous = report_changes.load(data_path)
    r.changes = report_changes.changes(previous, snapshot) if previous is not None else None
    tables = report_text.csv_tables(r)
    csvs = []
    names: dict[str, str] = {}
    for name, rows in tables.items():
        path = stem.parent / f"{stem.name}-{name}.csv"
        _atomic(path, _csv(rows, report_text.EMPTY_HEADERS.get(name, ())))
        csvs.append(path)
        names[name] = path.name
    md_path = html_path.with_suffix(".md")
    _atomic(md_path, report_text.markdown(r, html_path, names))
    _atomic(html_path, report_html.render(r, names))
    _atomic(data_path, report_changes.dumps(snapshot))
    return Written(html_path, md_path, tuple(csvs))


def _csv(rows: list[dict[str, Any]], empty_headers: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else list(empty_headers),
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _atomic(path: Path, text: str) -> None:
    """The report's files go through the project's one atomic writer (fsync, rename)."""
    from kernels.files import write_atomic

    write_atomic(path, text, what="report file")
