"""The report: stored results + scenario -> calibration -> projection -> HTML, Markdown, CSV.

``build`` gathers everything (a scenario that fails validation raises before
anything is written; no results yet is a sentence in the report, which still
shows the projection); ``write`` renders one self-contained HTML file (inline
CSS, figures as inline SVG data, no network access needed), a Markdown summary
and CSV tables beside it, each replaced atomically so a reader never sees half
a report.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernels.errors import UserError

REPORT_NAME = "report.html"
REPORT_DIR = "report"


@dataclass
class Figure:
    key: str  # HTML id and file-safe name
    title: str
    caption: str
    svg: str


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
    figures: dict[str, Figure] = field(default_factory=dict)
    group_figures: dict[str, list[Figure]] = field(default_factory=dict)

    @property
    def calibration(self) -> Any:
        return self.projection.calibration


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
    from hpcplan import __version__, report_measured
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
    out = Report(projection, root, records, report_measured.group(records), problems,
                 datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), __version__, git_commit())
    draw(out)
    return out


def draw(r: Report) -> None:
    from hpcplan import report_figures as rf
    from hpcplan import report_measured as rm

    p = r.projection
    r.figures["compute"] = Figure(
        "fig-compute", "Compute capability over time", "Mixed-precision capability (P10-P90 band, "
        "P50 line) with the FP64 peak alongside, the compute target as a dotted line, its "
        "deadline dash-dotted and the month the P50 crosses it as a diamond.", rf.compute(p))
    r.figures["storage"] = Figure(
        "fig-storage", "Storage over time", f"Raw, usable and effectively usable capacity "
        f"({p.storage_unit}) against projected demand, with the storage target.", rf.storage(p))
    for g in r.groups:
        figs = []
        roof = rm.roofline(g)
        if not roof.empty:
            figs.append(Figure(f"fig-roofline-{g.key}", "Roofline", "Compute ceilings per "
                               "precision (measured: solid; theoretical: dotted), the STREAM "
                               "triad bandwidth ceiling and the kernels placed by arithmetic "
                               "intensity (compulsory DRAM traffic).",
                               rf.roofline(roof, f"Roofline: {g.label}")))
        hist = [h for h in rm.histories(g) if any(len(s.values) > 1 for s in h.series)]
        if hist:
            figs.append(Figure(f"fig-history-{g.key}", "History", "Every stored validated "
                               "result per benchmark over time (bars: min-max of the timed "
                               "repetitions); the title gives the newest value against the "
                               "median of the earlier ones.",
                               rf.history(hist, f"History of stored results: {g.label}")))
        scal = rm.scaling(g)
        if scal:
            figs.append(Figure(f"fig-scaling-{g.key}", "Scaling", "Throughput against node "
                               "count (newest validated record per count) with ideal linear "
                               "scaling from the smallest run.",
                               rf.scaling(scal, f"Scaling: {g.label}")))
        r.group_figures[g.key] = figs


@dataclass(frozen=True)
class Written:
    html: Path
    markdown: Path
    csvs: tuple[Path, ...]


def write(r: Report, out: str | Path | None = None) -> Written:
    """Write the HTML report, the Markdown summary and the CSV tables; returns their paths."""
    from hpcplan import report_html, report_text

    html_path = out_path(r.results_dir, out)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {html_path.parent}: {exc.strerror or exc}") from None
    tables = report_text.csv_tables(r)
    stem = html_path.with_suffix("")
    csvs = []
    for name, rows in tables.items():
        path = stem.parent / f"{stem.name}-{name}.csv"
        _atomic(path, _csv(rows, report_text.EMPTY_HEADERS.get(name, ())))
        csvs.append(path)
    md_path = html_path.with_suffix(".md")
    _atomic(md_path, report_text.markdown(r, html_path, csvs))
    _atomic(html_path, report_html.render(r))
    return Written(html_path, md_path, tuple(csvs))


def _csv(rows: list[dict[str, Any]], empty_headers: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else list(empty_headers),
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _atomic(path: Path, text: str) -> None:
    """Write beside the target and rename over it (mode 0666 less the umask, like any file)."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
