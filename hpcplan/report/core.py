"""The report's data and its orchestration: stored results + scenario -> calibration ->
projection -> figures -> HTML, Markdown, CSV.

``build`` gathers everything once into a ``Report`` (a scenario that fails
validation raises before anything is written; no results yet is a sentence in
the report, which still shows the projection) and draws the figures as one
ordered list of ``Figure`` objects (``figures.PLAN_FIGURES``) that the page, its
navigation and the Markdown all follow; ``write`` renders one self-contained
HTML file (inline CSS, figures as inline ``<svg>``, no network access needed), a
Markdown summary with the same tables, CSV tables and the report's data
(``-data.json``, read by the next report for "what moved and why") beside it,
each replaced atomically so a reader never sees half a report.

Only the standard library and ``kernels.errors`` are imported here at load
time: ``hpcplan --help`` and ``hpcplan run`` reach this package without numpy
or matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kernels.errors import UserError

if TYPE_CHECKING:
    from bench.records import Record
    from hpcplan.report.measured import MachineGroup, Scaling
    from hpcplan.report.plan import PlanFacts
    from hpcplan.report.whatif import WhatIf
    from models.calibration import CalibrationReport
    from models.projection import Projection
    from models.schema import Scenario

REPORT_NAME = "report.html"
REPORT_DIR = "report"

#: the kinds of per-machine figure; a machine's figure id is ``figure_id(kind, group key)``
ROOFLINE, HISTORY, SCALING = "fig-roofline", "fig-history", "fig-scaling"


def figure_id(kind: str, group: str) -> str:
    return f"{kind}-{group}"


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
    """Everything one report shows, gathered once, so the HTML, Markdown and CSV agree."""

    projection: Projection
    results_dir: Path
    records: list[Record]  # those of the newest runs of each machine (RUNS_PER_MACHINE)
    groups: list[MachineGroup]  # the records per kind of machine, never mixed
    problems: list[str]  # the store's unreadable files and records
    generated: str
    version: str
    commit: str | None
    scenario: Scenario | None = None  # calibrated
    facts: PlanFacts | None = None  # the point run per system
    figures: list[Figure] = field(default_factory=list)
    group_figures: dict[str, list[Figure]] = field(default_factory=dict)
    #: "what moved and why" against the report written before at the same place, if any
    changes: list[str] | None = None
    runs_total: int = 0  # runs in the store; the records shown come from the newest ones
    notices: list[str] = field(default_factory=list)  # what the store's index rebuilt
    #: the measured machine as the building block, when nothing is calibrated (never an input)
    whatif: WhatIf | None = None
    #: per machine (group key), its benchmarks measured at several node counts, each
    #: scaling law fitted once for the figure, the what-if and the terminal
    scalings: dict[str, list[Scaling]] = field(default_factory=dict)

    @property
    def calibration(self) -> CalibrationReport | None:
        return self.projection.calibration

    @property
    def calibrated(self) -> bool:
        """Whether any scenario input was replaced by a measurement."""
        return bool(self.calibration is not None and self.calibration.changes)

    def figure(self, ident: str) -> Figure | None:
        return next((f for f in self.figures if f.id == ident), None)

    def group_figure(self, group: str, kind: str) -> Figure | None:
        """A machine's figure of one kind (ROOFLINE, HISTORY, SCALING), if it was drawn."""
        ident = figure_id(kind, group)
        return next((f for f in self.group_figures.get(group, ()) if f.id == ident), None)


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
    from bench.sysinfo import git_commit
    from hpcplan import __version__
    from hpcplan.report import measured, plan, whatif
    from models import loader
    from models.calibration import calibrate, load_results
    from models.projection import project

    if samples < 0 or samples > 10_000_000:
        raise UserError(f"--samples must be between 0 and 10000000, got {samples}")
    root = Path(results_dir)
    if root.exists() and not root.is_dir():
        raise UserError(f"results directory {root} exists and is not a directory")
    sc = loader.load_scenario(loader.resolve_path(scenario))
    records, problems, notices, runs_total = _stored(root)
    report = None
    if records:
        # calibration reads every run's figures from the index, without parsing the files
        frame, _ = load_results(root, notices=notices)
        sc, report = calibrate(sc, frame, source=str(root), notes=problems)
    projection = project(sc, samples, seed, calibration=report)
    out = Report(projection, root.absolute(), records, measured.group(records), problems,
                 datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), __version__, git_commit(),
                 sc, plan.facts(sc), runs_total=runs_total, notices=notices)
    out.scalings = {g.key: measured.scaling(g) for g in out.groups}
    out.whatif = whatif.whatif(out)  # reads the projection, never feeds it
    draw(out)
    return out


#: Runs of each machine whose full records the report reads (tables, history, roofline):
#: at centre scale the store holds thousands; the index answers the rest.
RUNS_PER_MACHINE = 50


def _stored(root: Path) -> tuple[list[Record], list[str], list[str], int]:
    """The newest runs' records, the store's problems, the index's notices, the run count."""
    from bench.index import Filter
    from bench.store import Store

    if not root.is_dir():
        return [], [], [], 0
    store = Store(root)
    try:
        runs, total = store.recent_runs(RUNS_PER_MACHINE)
        records = store.select(Filter(runs=tuple(runs))) if runs else []
        return records, list(store.problems), list(store.notices), total
    finally:
        store.close()


def draw(r: Report) -> None:
    """Draw the plan figures in ``figures.PLAN_FIGURES`` order and each machine's figures."""
    from hpcplan.report import figures

    r.figures = figures.plan_figures(r)
    r.group_figures = {g.key: figures.machine_figures(g, r.scalings.get(g.key, []))
                       for g in r.groups}


@dataclass(frozen=True)
class Written:
    html: Path
    markdown: Path
    csvs: tuple[Path, ...]


def write(r: Report, out: str | Path | None = None) -> Written:
    """Write the HTML report, the Markdown summary, the CSV tables and the report's data
    (``-data.json``, read back by the next report written here for "what moved and why");
    returns their paths."""
    from hpcplan.report import changes, html, markdown, tables

    html_path = out_path(r.results_dir, out)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {html_path.parent}: {exc.strerror or exc}") from None
    stem = html_path.with_suffix("")
    data_path = stem.parent / f"{stem.name}-data.json"
    snapshot = changes.snapshot(r)
    previous = changes.load(data_path)
    r.changes = changes.changes(previous, snapshot) if previous is not None else None
    csvs = []
    names: dict[str, str] = {}
    for name, text in tables.csv_files(r).items():
        path = stem.parent / f"{stem.name}-{name}.csv"
        _atomic(path, text)
        csvs.append(path)
        names[name] = path.name
    md_path = html_path.with_suffix(".md")
    _atomic(md_path, markdown.markdown(r, html_path, names))
    _atomic(html_path, html.render(r, names))
    _atomic(data_path, changes.dumps(snapshot))
    return Written(html_path, md_path, tuple(csvs))


def _atomic(path: Path, text: str) -> None:
    """The report's files go through the project's one atomic writer (fsync, rename)."""
    from kernels.files import write_atomic

    write_atomic(path, text, what="report file")
