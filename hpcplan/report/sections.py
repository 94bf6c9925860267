"""The report's content as one ordered list of sections, rendered twice: HTML and Markdown.

The page, its navigation and ``report.md`` walk the same list, so the Markdown
carries every table and every figure's finding the HTML has, in the same order,
and a table's CSV is named in one place. Tables come from ``tables`` (the
terminal's own), so ``hpcplan project``, the page and the summary agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hpcplan.report import core
from hpcplan.report import measured as rm
from hpcplan.report import tables as pt
from hpcplan.report.core import HISTORY, ROOFLINE, Figure

if TYPE_CHECKING:
    from hpcplan.report.core import Report
    from hpcplan.report.plan import PlanFacts
    from models.projection import Counterfactual, Projection, ReadingResult, TargetResult


@dataclass(frozen=True)
class Para:
    text: str
    kind: str = ""  # "" | note | caveat | warning


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    title: str = ""
    kind: str = ""  # "" | warning | ordered


@dataclass(frozen=True)
class TableBlock:
    table: pt.Table
    ident: str
    csv: str = ""  # key of the CSV holding the table's data


@dataclass(frozen=True)
class FigureBlock:
    figure: Figure


@dataclass(frozen=True)
class Code:
    text: str
    title: str = ""


@dataclass(frozen=True)
class Heading:
    ident: str
    title: str


@dataclass(frozen=True)
class Box:
    """A framed block: the calibration call to action."""

    ident: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Card:
    """A target on the first page: words and a symbol carry the verdict, colour only repeats it."""

    key: str
    status: str  # held | not-held | missed
    title: str
    verdict: str
    rows: tuple[tuple[str, str], ...]


@dataclass
class Section:
    ident: str
    title: str
    nav: str
    blocks: list[Block] = field(default_factory=list)


#: what a section holds; the HTML and the Markdown each render every kind
Block = Para | Bullets | TableBlock | FigureBlock | Code | Heading | Box | Card


# --- sentences the page, the Markdown and ``hpcplan plan`` share ------------------------------


def measurement_line(r: Report) -> str:
    if not r.records:
        return (f"No results yet in {r.results_dir}: nothing was measured, so the projection "
                "uses the scenario's assumed figures only. Run 'hpcplan plan' (or 'hpcplan "
                "run') to measure this machine.")
    runs = len({x.run_id for x in r.records})
    total = max(r.runs_total, runs)
    older = (f"; the tables and figures show the newest {runs} of the store's {total} runs "
             f"(up to {core.RUNS_PER_MACHINE} per machine) and calibration reads all of them"
             if total > runs else "")
    return (f"{len(r.records)} stored record(s) from {runs} run(s) on {len(r.groups)} kind(s) "
            f"of machine, read from {r.results_dir}{older}.")


def calibration_line(r: Report) -> str:
    cal = r.calibration
    if cal is None:
        return "No calibration: there are no stored measurements."
    if not cal.changes:
        return ("No scenario input was calibrated from the measurements; the calibration notes "
                "say why.")
    return (f"{len(cal.changes)} scenario input(s) calibrated from the measurements: "
            + ", ".join(c.key for c in cal.changes) + ".")


# --- first page -----------------------------------------------------------------------------


SYMBOL = {"held": "\u2714", "not-held": "\u26a0", "missed": "\u2716"}


def _reading_text(r: ReadingResult, t: TargetResult) -> str:
    when = (f"P50 {r.p50_date} (P10 {pt.date(r.p10_date)}, P90 {pt.date(r.p90_date)})"
            if r.p50_date else "not reached by the horizon end at the P50")
    return (f"{r.label}: {when}; {pt.pct(r.probability_by_deadline)} by {t.deadline}; "
            f"{pt.num(r.value_at_deadline_p50, t.unit)} at the deadline (P50)")


def _best(cfs: Sequence[Counterfactual]) -> Counterfactual | None:
    """The counterfactual that helps most: months first, then probability."""
    useful = [c for c in cfs if c.months_gained > 0 or c.probability_change >= 0.005]
    return max(useful, key=lambda c: (c.months_gained, c.probability_change), default=None)


def _cf_text(c: Counterfactual, verb: str) -> str:
    moves = (f"the P50 date moves {c.months_gained} month(s) earlier" if c.months_gained > 0
             else "the P50 date does not move")
    return (f"{c.label}: {verb} it, {moves}; P(by deadline) "
            f"{c.probability_change * 100:+.0f} pts")


def card(t: TargetResult) -> Card:
    reached = pt.met_at_p50(t)
    held = t.probability_kept >= 0.5
    status = "held" if reached and held else "not-held" if reached else "missed"
    words = {"held": "Reached by the deadline and held (P50)",
             "not-held": "Reached by the deadline, NOT held to the end",
             "missed": "NOT reached by the deadline (P50)"}[status]
    verdict = (f"{SYMBOL[status]} {words}: {pt.pct(t.probability_by_deadline)} by {t.deadline}; "
               f"{pt.pct(t.probability_kept)} reached and held to {t.sustain_until}")
    rows: list[tuple[str, str]] = []
    declared = [r for r in t.readings if r.declared]
    if declared:
        rows.append(("plan's reading", _reading_text(declared[0], t)))
    rows += [("other reading", _reading_text(r, t)) for r in t.readings if not r.declared]
    rows.append(("P(by deadline)", f"{pt.pct(t.probability_by_deadline)} of samples reach "
                                   f"{t.threshold_text} by {t.deadline}"))
    kept = f"{pt.pct(t.probability_kept)} reach it by the deadline and hold it to {t.sustain_until}"
    if t.falls_back_p50:
        kept += f"; the P50 falls back under {t.threshold_text} in {t.falls_back_p50}"
    rows.append(("P(kept)", kept))
    c = _best(t.constraints)
    rows.append(("binding constraint", _cf_text(c, "relax") if c else
                 "none: relaxing delivery, approval, budget, power or retirement moves nothing"))
    lever = _best(t.levers)
    rows.append(("top lever", _cf_text(lever, "do") if lever else
                 "none of the levers tried moves the date or the probability"))
    if t.power_at_p50_mw is not None:
        rows.append(("power at the P50 date", pt.num(t.power_at_p50_mw, "MW")))
    return Card(t.key, status, f"{t.name} (> {t.threshold_text}) by {t.deadline}", verdict,
                tuple(rows))


def caveat(r: Report) -> str:
    """How much of the answer rests on assumptions: inputs and scenario figures by provenance."""
    p = r.projection
    calibrated = p.calibration.keys if p.calibration else set()
    kinds = Counter("measured" if i.key in calibrated else i.provenance for i in p.inputs)
    figs = Counter(s.kind for s in p.sources)
    assumed = kinds["assumption"] + kinds["unsourced"]
    fig_assumed = figs["assumption"] + figs["unsourced"]
    return (f"Caveat: {assumed} of the {len(p.inputs)} uncertain inputs are assumptions "
            f"({kinds['sourced']} sourced, {kinds['measured']} measured); of the "
            f"{len(p.sources)} scenario figures {fig_assumed} are assumptions "
            f"({figs['sourced']} sourced, {figs['measured']} measured). The dates above are "
            "only as good as those assumptions (see 'Scenario inputs').")


def calibration_box(r: Report) -> Box | None:
    """The call to action, exactly when no scenario input was calibrated."""
    if r.calibrated:
        return None
    facts = r.facts
    types = list(facts.node_types) if facts else []
    flagship = r.projection.world.system if r.projection.world else ""
    sc = r.scenario
    pick = next((n for n in types if not n.planned and sc is not None and any(
        d.system == flagship for d in sc.deployments if d.node_type == n.name)), None)
    pick = pick or next((n for n in types if not n.planned), None) or (types[0] if types
                                                                       else None)
    name = pick.name if pick else "NODE_TYPE"
    valid = ", ".join(n.name for n in types) or "(the scenario deploys no node type)"
    if not r.records:
        why = "Nothing is measured yet"
    else:
        why = ("The stored measurements are not used: "
               + "; ".join(n for n in (r.calibration.notes if r.calibration else ())
                           if "node-type" in n or "node type" in n or "catalogue" in n)
               or "The stored measurements matched no input")
    machines = "; ".join(f"{g.label} (hosts {', '.join(g.hosts) or 'unknown'})"
                         for g in r.groups) or "none yet"
    code = (f"# hpcplan.toml, in the directory you run hpcplan from\n"
            f"# (or the file named by --config or $HPCPLAN_CONFIG)\n"
            f"[site]\n"
            f"# one of: {valid}\n"
            f"node_type = \"{name}\"\n")
    return Box("calibrate", "Calibrate: no input is measured yet", (
        Para(f"{why.rstrip('.')}. Every efficiency and per-node figure in this report is the "
             "scenario's assumption. To let measurements replace them, tag the machine you "
             "measure with the catalogue's node type it is, then run 'hpcplan plan' again "
             "(records stored before the tag stay untagged)."),
        Code(code, "Add to hpcplan.toml"),
        Bullets(tuple(f"{n.name}: {', '.join(n.deployments)} "
                      f"({'planned, not delivered yet' if n.planned else 'installed'})"
                      for n in types), "Valid node_type values (the scenario's catalogue):"),
        Para("Do not tag a laptop, workstation or virtual machine as a planned node: its "
             "figures would replace the plan's efficiencies for hardware it is not. Tag only "
             "a node of that type. Measured so far: " + machines + ".", "warning"),
    ))


def whatif_section(r: Report) -> Section | None:
    """The measured machine as the building block: shown only when nothing is calibrated,
    labelled a what-if, and never an input of the projection."""
    w = r.whatif
    if w is None:
        return None
    return Section("whatif", "What-if: this machine as the building block (not calibration)",
                   "what-if", [
        Para(f"A what-if, not calibration: no measurement is tagged with a catalogue node "
             f"type, so the projection in this report does not use them. This only asks: built "
             f"from nodes like {w.machine} alone, how many would reach each compute target, "
             "under each reading, at the measured scaling, drawing how many MW and costing "
             "what? It says nothing about dates, deliveries, budgets or the power envelope.",
             "warning"),
        TableBlock(pt.whatif(w), "whatif-table", "whatif")])


# --- tables the projection tables do not have ------------------------------------------------


def _year_ends(months: tuple[str, ...]) -> list[tuple[int, int]]:
    out = [(int(m[:4]), i) for i, m in enumerate(months) if m.endswith("-12")]
    if not months[-1].endswith("-12"):
        out.append((int(months[-1][:4]), len(months) - 1))
    return out


def power_table(f: PlanFacts) -> pt.Table:
    """Per year end: each system's installed load in the point run, shed or not, the envelope."""
    env = f.envelope_mw
    rows: list[list[pt.Cell]] = []
    for year, i in _year_ends(f.months):
        cells: list[pt.Cell] = [year]
        for s in f.power:
            v = pt.num(float(s.installed_mw[i]), "MW") if s.installed_mw[i] > 0 else "-"
            cells.append(v + (" (switched off)" if s.shed_mw[i] > 0 else ""))
        total = float(f.total_mw[i])
        cells += [pt.num(total, "MW"), pt.num(float(env[i]), "MW") if np.isfinite(env[i])
                  else "no limit",
                  "OVER ENVELOPE" if np.isfinite(env[i]) and total > env[i] + 1e-9 else ""]
        rows.append(cells)
    from hpcplan.report.plan import ranges

    over = ranges(f.months, f.over_envelope())
    return pt.Table("Installed facility load by system at each year end (point run, IT x PUE "
                    f"{f.pue:.2f})", ("year", *[s.label for s in f.power], "total", "envelope",
                                      "flag"), rows,
                    f"Over the envelope in the point run: {over or 'never'}. Policy "
                    f"'{f.policy}'. The monthly figures are in the CSV.")


def storage_table(p: Projection) -> pt.Table:
    """Per year end: capacity of the plan's reading, effective capacity, demand, P(full)."""
    from models.readings import metric_key

    targets = [t for t in p.targets if t.metric.startswith("storage")]
    key = metric_key(targets[0].metric, targets[0].scope) if targets else "storage_usable_pb"
    full = p.storage_fill.probability_by_year if p.storage_fill else {}
    b = p.bands
    demand = b.get("storage_demand_pb")
    rows: list[list[pt.Cell]] = []
    for year, i in _year_ends(p.months):
        rows.append([year, pt.num(float(b[key].p50[i]), "PB"),
                     pt.num(float(b["storage_effective_pb"].p50[i]), "PB"),
                     f"{pt.num(float(demand.p50[i]), 'PB')} ({pt.num(float(demand.p10[i]))}-"
                     f"{pt.num(float(demand.p90[i]))})" if demand is not None else "-",
                     pt.pct(full[year]) if year in full else "-"])
    label = key.replace("storage_", "").replace("_pb", "")
    return pt.Table("Storage at each year end (P50)",
                    ("year", f"{label} (plan's reading)", "effectively usable (centre)",
                     "demand P50 (P10-P90)", "full by then (share of samples)"), rows)


# --- the sections ---------------------------------------------------------------------------


def _figures(r: Report, section: str) -> list[FigureBlock]:
    return [FigureBlock(f) for f in r.figures if f.section == section]


def sections(r: Report) -> list[Section]:
    """The whole report, in page order."""
    p = r.projection
    out: list[Section] = []
    whatif = whatif_section(r)  # right after the calibration call to action, which it answers
    if whatif is not None:
        out.append(whatif)

    answer = Section("answer", "The answer", "answer")
    answer.blocks += [card(t) for t in p.targets]
    answer.blocks.append(Para(caveat(r), "caveat"))
    risks = list(p.warnings)
    if p.world is not None:
        from hpcplan.report.figures import world_finding

        risks.append("World rank: " + world_finding(p))
    if risks:
        answer.blocks.append(Bullets(tuple(risks), "What the verdicts alone do not show:",
                                     "warning"))
    answer.blocks.append(Para(f"{measurement_line(r)} {calibration_line(r)}"))
    out.append(answer)

    if r.changes is not None:
        out.append(Section("changes", "Changes since the last report", "changes",
                           [Bullets(tuple(r.changes))]))

    targets = Section("targets", "Targets, readings and probabilities", "targets")
    targets.blocks += [TableBlock(pt.targets(p), "targets-table", "targets"),
                       TableBlock(pt.kept(p), "kept-table", "targets"),
                       *_figures(r, "targets")]
    out.append(targets)

    power = Section("power", "Power", "power", [*_figures(r, "power")])
    if r.facts is not None and r.facts.power:
        power.blocks.append(TableBlock(power_table(r.facts), "power-table", "power"))
    if p.shedding:
        power.blocks.append(TableBlock(pt.shedding(p), "shedding-table", "shedding"))
    power.blocks.append(TableBlock(pt.constraints(p), "constraints-table", "constraints"))
    out.append(power)

    if any(k.startswith("storage") for k in p.bands):
        storage = Section("storage", "Storage", "storage", [*_figures(r, "storage")])
        storage.blocks += [Para(line) for line in pt.storage_lines(p)]
        storage.blocks.append(TableBlock(storage_table(p), "storage-table", "series"))
        out.append(storage)

    if p.world is not None:
        world = Section("world", "World-leading check", "world", [*_figures(r, "world")])
        world.blocks.append(TableBlock(pt.world(p), "world-table", "world"))
        lines = pt.world_lines(p)
        if lines:
            world.blocks.append(Bullets(tuple(x.strip() for x in lines[1:]), lines[0]))
        out.append(world)

    drivers = Section("drivers", "What drives the answer", "drivers", [*_figures(r, "drivers")])
    for t in p.targets:
        drivers.blocks.append(Heading(f"drivers-{t.key}", t.name))
        if t.drivers:
            drivers.blocks.append(TableBlock(pt.drivers(t), f"drivers-{t.key}-table", "drivers"))
        if t.binding_by_year:
            drivers.blocks.append(TableBlock(pt.binding(t), f"binding-{t.key}", "binding"))
        if t.constraints:
            drivers.blocks.append(TableBlock(pt.counterfactuals(t, "constraint"),
                                             f"relax-{t.key}", "counterfactuals"))
        if t.levers:
            drivers.blocks.append(TableBlock(pt.counterfactuals(t, "lever"), f"levers-{t.key}",
                                             "counterfactuals"))
    if not any(t.drivers for t in p.targets):
        drivers.blocks.append(Para("No uncertain input moves a target date (or the run was "
                                   "deterministic)."))
    out.append(drivers)

    out.append(_measured(r))

    cal = Section("calibration", "Calibration from measurements", "calibration",
                  [Para(calibration_line(r))])
    if r.calibration is not None:
        if r.calibration.changes:
            cal.blocks.append(TableBlock(pt.calibration(p), "calibration-table", "calibration"))
        if r.calibration.notes:
            cal.blocks.append(Bullets(tuple(r.calibration.notes),
                                      "Measured but not applied, and why:"))
    out.append(cal)

    out.append(Section("inputs", "Scenario inputs and their sources", "inputs", [
        Para("Every uncertain input with its distribution, and every figure of the scenario "
             "with its source or the assumption it rests on; 'measured' marks an input "
             "calibrated from the stored results."),
        TableBlock(pt.inputs(p), "inputs-table", "inputs"),
        TableBlock(pt.sources(p), "sources-table", "sources")]))

    runs = rm.runs(r.groups)
    run_rows = [[x["run_id"], x["started"][:16].replace("T", " "), x["machine"], x["host"],
                 x["node_list"], x["job_id"], x["job_state"], x["ranks"], x["nodes"], x["ok"],
                 x["not_ok"], x["commit"], x["software"]] for x in runs]
    out.append(Section("runs", "Runs behind the measurements", "runs", [
        TableBlock(pt.Table("Runs", ("run", "started (UTC)", "machine", "host", "node list",
                                     "job id", "job state", "ranks", "nodes", "ok", "not ok",
                                     "commit", "software"), run_rows), "runs-table", "runs")
        if runs else Para("No runs stored yet.")]))

    out.append(Section("definitions", "Definitions", "definitions",
                       [Bullets(tuple(p.definitions), kind="ordered")]))
    return out


def _measured(r: Report) -> Section:
    s = Section("measured", "Measured machines", "measured")
    if not r.records:
        s.blocks.append(Para(measurement_line(r), "warning"))
    else:
        s.blocks.append(Para(f"{measurement_line(r)} Each kind of machine has its own "
                             "figures; records from different machines are never mixed."))
    if r.problems:
        s.blocks.append(Bullets(tuple(r.problems), "Unreadable results (skipped):", "warning"))
    for g in r.groups:
        s.blocks.append(Heading(f"machine-{g.key}", g.label))
        s.blocks.append(Para(f"{rm.describe_machine(g.machine)}. Hosts: "
                             f"{', '.join(g.hosts) or 'unknown'}.", "note"))
        rows = pt.measured_rows(g)
        s.blocks.append(TableBlock(pt.Table(
            "Newest result per benchmark", pt.MEASURED_HEADERS, rows,
            "% of theoretical peak: against the theoretical peak of the nodes used (GFLOP/s "
            "only), at the clock named beside it. check: below 50% or above 110% of that peak, "
            "or two precisions whose measured ratio disagrees with their lane ratio. notes: "
            "what the record itself says (variant, file sizes, cache state, noise). Newest vs "
            "earlier median: at the same node and rank count. Failed, aborted and unavailable "
            "results carry no value; the note says why."), f"measured-{g.key}",
            "measurements"))
        flagged = [str(row[0]) for row in rows if row[8]]
        if flagged:
            s.blocks.append(Para(f"Check before trusting: {', '.join(flagged)} (see the check "
                                 "column).", "warning"))
        if r.group_figure(g.key, ROOFLINE) is None:
            s.blocks.append(Para("No roofline: it needs a validated single-node compute.peak.* "
                                 "or memory.stream.triad record.", "note"))
        if r.group_figure(g.key, HISTORY) is None:
            s.blocks.append(Para("No history figure yet: it needs a benchmark stored from two "
                                 "or more runs.", "note"))
        s.blocks += [FigureBlock(f) for f in r.group_figures.get(g.key, [])]
    return s


def provenance_lines(r: Report, files: dict[str, str]) -> list[str]:
    """Where the report came from: commit, absolute paths, scenario, sampling, files."""
    p = r.projection
    return [f"hpcplan {r.version}, commit {r.commit or 'unknown (not a git checkout)'}",
            f"results directory (absolute): {r.results_dir}",
            f"scenario: {p.scenario_name} ({p.scenario_file})",
            (f"{p.samples:,} Monte Carlo samples, seed {p.seed}" if p.samples else
             "deterministic run only (no Monte Carlo samples)") +
            f"; horizon {p.months[0]} to {p.months[-1]}, monthly",
            f"generated {r.generated}",
            "tables as CSV: " + ", ".join(files.values())]
