"""The report's tables, in one place so the terminal, the page, the Markdown and the CSV agree.

Each text builder returns a ``Table`` of text cells (numbers already formatted
with their unit); ``hpcplan project`` prints them with ``terminal.table`` and
the report renders them as HTML and Markdown. ``csv_files`` gives the same data
as CSV text: plain values, each column name carrying its unit. Nothing here
imports numpy or matplotlib.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpcplan.report.core import Report
    from hpcplan.report.measured import MachineGroup
    from hpcplan.report.whatif import WhatIf, WhatIfRow
    from models.projection import Projection, ReadingResult, TargetResult

#: one cell of a text table: text, or a number the renderer formats
Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)
    note: str = ""


def pct(p: float) -> str:
    return f"{p * 100:.0f}%"


def num(v: float | None, unit: str = "") -> str:
    """A number with 3-ish significant digits and its unit; '-' when there is none."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) < 5e-3:
        v = 0.0
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return f"{text} {unit}".rstrip()


def date(d: str | None) -> str:
    return d or "not by end"


def met_at_p50(t: TargetResult) -> bool:
    """Whether half the samples meet the target by its deadline ('YYYY-MM' sorts as text)."""
    return t.p50_date is not None and t.p50_date <= t.deadline


def driver_text(t: TargetResult, top: int = 3) -> str:
    return "; ".join(f"{d.label} ({d.swing_months} mo)" if d.swing_months else
                     f"{d.label} ({num(abs(d.value_high - d.value_low), t.unit)})"
                     for d in t.drivers[:top]) or "-"


def reached(r: ReadingResult, deadline: str) -> bool:
    """Whether half the samples of a reading are above the threshold by the deadline."""
    return r.p50_date is not None and r.p50_date <= deadline


def targets(p: Projection) -> Table:
    """Per target, the declared reading (the plan's) and, under it, the other readings."""
    rows = []
    for t in p.targets:
        for r in t.readings:
            first = (f"{t.name} (> {t.threshold_text})" if r.declared else
                     f"  other reading: {OTHER_NAME.get(r.metric, r.metric)}")
            rows.append([first, "+".join(r.scope) or "whole centre", t.deadline,
                         "yes" if reached(r, t.deadline) else "no",
                         num(r.value_at_deadline_p50, t.unit), date(r.deterministic_date),
                         date(r.p50_date), date(r.p90_date), pct(r.probability_by_deadline),
                         num(t.power_at_p50_mw, "MW") if r.declared else "",
                         driver_text(t) if r.declared else ""])
    return Table("Targets", ("target / reading", "counts", "deadline", "met (P50)",
                             "P50 at deadline", "point run", "P50 date", "P90 date",
                             "P(by deadline)", "power at P50", "top drivers (swing)"), rows,
                 "The first row of each target is the reading it is declared with (the plan's "
                 "reading); the rows under it count it the other ways: sustained instead of "
                 "peak, or the whole centre instead of the named system. met (P50): half the "
                 "samples are above the threshold by the deadline; P(by deadline): the share "
                 "of Monte Carlo samples that are; power: facility MW at the P50 date.")


#: short names of the readings, for the terminal's "other reading" rows
OTHER_NAME = {"mixed_peak_pf": "summed peak, fastest precision per partition",
              "mxp_pf": "sustained HPL-MxP-equivalent", "fp64_peak_pf": "FP64 peak (Rpeak)",
              "hpl_pf": "sustained HPL-equivalent (Rmax)", "storage_raw_pb": "raw capacity",
              "storage_usable_pb": "usable capacity",
              "storage_effective_pb": "effectively usable capacity"}


def kept(p: Projection) -> Table:
    """Reached and kept: a target met once and lost again is not met."""
    rows = [[t.name, date(t.p10_date), date(t.p50_date), date(t.p90_date),
             pct(t.probability_by_deadline), t.sustain_until, pct(t.probability_kept),
             date(t.falls_back_p50) if t.falls_back_p50 else "held"] for t in p.targets]
    return Table("Reached and kept (declared reading)",
                 ("target", "reached P10", "P50", "P90", "P(by deadline)", "held to",
                  "P(reached by deadline and held)", "P50 falls back"), rows)


def binding(t: TargetResult) -> Table:
    """Per year, the relaxation that raises the year-end P50 most, and what it costs."""
    labels = {c.key: c.label for c in t.constraints}
    rows = [[y.year, "target met (P50)" if y.constraint == "met" else
             "nothing relaxable binds" if y.constraint == "none" else labels[y.constraint],
             num(y.gain, t.unit) if y.gain else "", y.months if y.constraint not in
             ("met", "none") else ""] for y in t.binding_by_year]
    return Table(f"What binds '{t.name}' (each constraint relaxed in turn on the same samples)",
                 ("year", "binding constraint", "year-end P50 gained if relaxed",
                  "months it costs the P50 date"), rows)


def counterfactuals(t: TargetResult, kind: str) -> Table:
    rows: list[list[Cell]] = [
        [c.label, date(c.p50_date), c.months_gained, f"{c.probability_change * 100:+.0f} pts"]
        for c in (t.levers if kind == "lever" else t.constraints)]
    title = (f"Levers for '{t.name}' (each action tried alone; base P50 {date(t.p50_date)}, "
             f"P(by deadline) {pct(t.probability_by_deadline)})" if kind == "lever" else
             f"Constraints of '{t.name}' relaxed one at a time")
    return Table(title, ("action" if kind == "lever" else "relaxation", "P50 date",
                         "months gained", "change in P(by deadline)"), rows)


def shedding(p: Projection) -> Table:
    rows = [[s.deployment, s.system, f"{s.gflops_per_w:,.1f}", s.point_months,
             pct(s.p_any_month)] for s in p.shedding]
    return Table("Power shedding in merit order (least mixed-precision GFLOP/s per W first)",
                 ("deployment", "system", "GFLOP/s per W", "off in the point run",
                  "off in samples (worst month)"), rows)


def drivers(t: TargetResult) -> Table:
    rows: list[list[Cell]] = [
        [i + 1, d.key, f"{d.low:g} -> {date(d.date_low)}", f"{d.high:g} -> {date(d.date_high)}",
         d.swing_months, num(d.value_low, t.unit), num(d.value_high, t.unit)]
        for i, d in enumerate(t.drivers)]
    return Table(f"Drivers of '{t.name}' (tornado: one input at its P10 and P90, the rest at "
                 "point values)",
                 ("#", "input", "low -> date", "high -> date", "swing (months)",
                  "at deadline (low)", "at deadline (high)"), rows)


def constraints(p: Projection) -> Table:
    rows: list[list[Cell]] = []
    full = p.storage_fill.probability_by_year if p.storage_fill else {}
    for c in p.constraints:
        env = num(c.envelope_mw, "MW") if c.envelope_mw is not None else "no limit"
        flag = "OVER ENVELOPE" if c.over_envelope else (
            f"over in {pct(c.p_over_envelope)} of samples" if c.p_over_envelope > 0 else "")
        rows.append([c.year, c.binding, num(c.power_p50_mw, "MW"), env, flag,
                     pct(full[c.year]) if c.year in full else "-"])
    return Table("Per year: what binds each target (counterfactual), installed load and storage "
                 "full",
                 ("year", "binding (per target)", "installed load P50 (year end)", "envelope",
                  "load over envelope (any month)", "storage full (share of samples)"), rows)


def storage_index(p: Projection) -> int:
    """The month storage is summarised at: the storage target's deadline, else the horizon end."""
    i = len(p.months) - 1
    for t in p.targets:
        if t.metric.startswith("storage"):
            i = p.index(t.deadline)
    return i


def storage_lines(p: Projection) -> list[str]:
    if not p.storage_fill:
        return []
    f = p.storage_fill
    i = storage_index(p)
    b = p.bands
    return [
        f"Storage full (capacity exhausted by demand, apart from any capacity target): "
        f"{date(f.p50_date)}; full before the horizon end in "
        f"{pct(f.probability_full_by_end)} of samples. Definition: {f.definition}.",
        f"At {p.months[i]} (P50): raw {num(b['storage_raw_pb'].p50[i], 'PB')}, usable "
        f"{num(b['storage_usable_pb'].p50[i], 'PB')}, effectively usable "
        f"{num(b['storage_effective_pb'].p50[i], 'PB')}, demand "
        f"{num(b['storage_demand_pb'].p50[i], 'PB')} (P10-P90 "
        f"{num(b['storage_demand_pb'].p10[i])}-{num(b['storage_demand_pb'].p90[i], 'PB')}).",
    ]


def world_title(p: Projection) -> str:
    w = p.world
    return (f"World-leading check: {w.system} (HPL-equivalent Rmax) against the TOP500 trend "
            f"(#1 grows {w.trend_top1['growth_per_year']:.2f}x a year, #10 "
            f"{w.trend_top10['growth_per_year']:.2f}x; history {w.history})")


def world(p: Projection) -> Table:
    w = p.world
    rows = [[y.year, num(y.rmax_p50_pf, "PF"), f"{num(y.rmax_p10_pf)}-{num(y.rmax_p90_pf)}",
             num(y.top10_trend_pf, "PF"), num(y.top1_trend_pf, "PF"), y.band,
             pct(y.p_top10), pct(y.p_above_top1)] for y in w.years]
    return Table(world_title(p), ("year", "Rmax P50", "P10-P90", "#10 trend", "#1 trend",
                                  "rank band", "P(top 10)", "P(#1)"), rows,
                 f"Back-test: {w.backtest.summary()}.")


def world_lines(p: Projection) -> list[str]:
    """The flagship's rank on the real lists (latest and projected) and the trend back-tests."""
    lists = p.world.lists if p.world else {}
    if not lists:
        return []
    out = [f"Rank on the real lists of the projected {lists['month']} figures of {p.world.system} "
           "(HPL Rmax without availability; HPL-MxP = mixed-precision peak x MxP efficiency):"]
    for kind in ("top500", "hplmxp"):
        if kind in lists:
            out += [f"  {lists[kind]['latest_summary']}", f"  {lists[kind]['projected_summary']}"]
    out += ["Trend back-tests (fit windows ending 2015, 2017, 2019, 2021; worst shown):"]
    out += [f"  {s}" for s in lists.get("backtest_summaries", [])]
    return out


def calibration(p: Projection) -> Table:
    cal = p.calibration
    rows = [[c.key, c.old, c.new, c.evidence] for c in cal.changes] if cal else []
    return Table("Inputs calibrated from measurements",
                 ("input", "assumed", "measured", "evidence"), rows)


def inputs(p: Projection) -> Table:
    """Every uncertain input with its distribution and provenance; calibrated ones marked."""
    calibrated = p.calibration.keys if p.calibration else set()
    rows = [[i.key, i.label, i.distribution, f"{i.point:.4g}", f"{i.p10:.3g}..{i.p90:.3g}", i.unit,
             "measured" if i.key in calibrated else i.provenance, i.source] for i in p.inputs]
    return Table("Uncertain inputs", ("input", "what", "distribution", "point", "P10..P90",
                                      "unit", "provenance", "source or assumption"), rows)


def sources(p: Projection) -> Table:
    """Every scenario figure with its source, or 'assumption' and what was assumed."""
    order = {"measured": 0, "sourced": 1, "assumption": 2, "unsourced": 3}
    rows = [[s.item.strip(), s.kind, s.text]
            for s in sorted(p.sources, key=lambda s: order.get(s.kind, 9))]
    return Table("Scenario figures and their provenance", ("item", "kind", "source or assumption"),
                 rows)


def comparison(projections: Sequence[Projection]) -> Table:
    keys = list(dict.fromkeys(t.key for p in projections for t in p.targets))
    rows = []
    for key in keys:
        for i, p in enumerate(projections):
            t = next((t for t in p.targets if t.key == key), None)
            label = t.name if t else key
            if t is None:
                rows.append([label, f"[{i + 1}] {p.scenario_name}", "-", "-", "-", "-", "-"])
                continue
            rows.append([label, f"[{i + 1}] {p.scenario_name}", t.deadline, date(t.p50_date),
                         date(t.p90_date), pct(t.probability_by_deadline),
                         num(t.power_at_p50_mw, "MW")])
    return Table("Scenario comparison", ("target", "scenario", "deadline", "P50 date", "P90 date",
                                         "P(by deadline)", "power at P50"), rows)


# --- measured machines ----------------------------------------------------------------------


def fmt_value(v: float | None) -> str:
    """Measured figures keep four significant digits (engineers compare them)."""
    if v is None:
        return ""
    a = abs(v)
    return (f"{v:,.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 10
            else f"{v:.3f}" if a >= 0.01 else f"{v:.3g}")


def measured_rows(g: MachineGroup) -> list[list[Cell]]:
    """The newest result per benchmark of one kind of machine, as text cells."""
    from hpcplan.report import measured

    rows: list[list[Cell]] = []
    for row in measured.latest_rows(g):
        pct, ch = row["percent_of_peak"], row["change_vs_earlier_median"]
        rows.append([row["benchmark"], fmt_value(row["value"]), row["unit"],
                     "" if pct is None else f"{pct:.1f}%", row["clock"], row["nodes"],
                     row["ranks"], "ok" if row["status"] == "ok" else row["status"].upper(),
                     row["check"], row["ok_results"], "" if ch is None else f"{ch * 100:+.1f}%",
                     row["note"]])
    return rows


MEASURED_HEADERS = ("benchmark", "value", "unit", "% of theoretical peak", "clock assumed",
                    "nodes", "ranks", "status", "check", "ok results stored",
                    "newest vs earlier median", "notes")


# --- the measured machine as the building block (a what-if, never calibration) -------------


def usd(v: float | None) -> str:
    if v is None:
        return "-"
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(v) >= size:
            return f"USD {v / size:,.1f} {word}"
    return f"USD {v:,.0f}"


def _whatif_nodes(x: WhatIfRow) -> tuple[str, str, str, str]:
    """Nodes (P50), their range, MW and cost as text; why not, when there are none."""
    from hpcplan.report.whatif import NODE_CAP

    low, mid, high = x.nodes
    if x.gflops_per_node is None:
        return "not measured", "-", "-", "-"
    if mid is None:
        return f"not reachable with this node (over {NODE_CAP:,})", "-", "-", "-"
    if low == high:
        spread = "no spread (peak adds up)"
        mw = num(x.mw(mid), "MW")
    else:
        spread = f"{low:,}-{high:,}" if high is not None else f"{low:,}-over {NODE_CAP:,}"
        mw = f"{num(x.mw(mid), 'MW')} ({num(x.mw(low))}-{num(x.mw(high))})"
    return f"{mid:,}", spread, mw, usd(x.cost_usd(mid))


def whatif(w: WhatIf) -> Table:
    """Per compute target and reading: nodes of the measured machine, MW and cost."""
    rows: list[list[Cell]] = []
    for x in w.rows:
        reading = OTHER_NAME.get(x.metric, x.metric)
        first = (f"{x.target} (> {x.threshold_text}) by {x.deadline}, plan's reading: "
                 f"{reading}" if x.declared else f"  other reading: {reading}")
        per_node = "-" if x.gflops_per_node is None else num(x.gflops_per_node, "GFLOP/s")
        rows.append([first, per_node, *_whatif_nodes(x), x.basis])
    assumptions = w.rows[0].assumptions if w.rows else ""
    return Table(f"What-if: {w.machine} as the building block (not calibration)",
                 ("target / reading", "per node", "nodes needed (P50)",
                  "nodes (P90-P10 of the rate)", "facility MW (P50 nodes)",
                  "cost (P50 nodes)", "basis"), rows,
                 "Nodes: the fewest whole nodes whose predicted aggregate rate reaches the "
                 "threshold; peak readings add the per-node peak without loss, sustained "
                 "readings follow the weak-scaling law fitted to the measured solve "
                 f"(availability not counted). MW = nodes x W per node x PUE. {assumptions}.")


def whatif_rows(w: WhatIf | None) -> list[dict[str, Any]]:
    """The what-if as plain values for its CSV (no rows when it is not shown)."""
    out = []
    for x in w.rows if w is not None else ():
        low, mid, high = x.nodes
        out.append({"machine": x.machine, "target": x.target, "threshold_pf": x.threshold_pf,
                    "deadline": x.deadline, "metric": x.metric,
                    "reading": "declared" if x.declared else "other",
                    "gflops_per_node": x.gflops_per_node, "nodes_p90_rate": low,
                    "nodes_p50": mid, "nodes_p10_rate": high,
                    "watts_per_node": x.watts_per_node, "pue": x.pue,
                    "mw_p50": x.mw(mid), "mw_p90_rate": x.mw(low), "mw_p10_rate": x.mw(high),
                    "cost_per_node_usd": x.cost_per_node_usd, "cost_p50_usd": x.cost_usd(mid),
                    "provenance": x.provenance})
    return out


# --- CSV: plain values, the unit in each column name ----------------------------------------


def csv_files(r: Report) -> dict[str, str]:
    """Each CSV table's key and its text; a table without rows still gets its header."""
    return {name: csv_text(rows, EMPTY_HEADERS.get(name, ()))
            for name, rows in csv_tables(r).items()}


def csv_text(rows: list[dict[str, Any]], empty_headers: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else list(empty_headers),
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def csv_tables(r: Report) -> dict[str, list[dict[str, Any]]]:
    """Tables as rows of plain values; each column name carries its unit."""
    from hpcplan.report import measured

    p = r.projection
    targets = []
    for t in p.targets:
        for rd in t.readings:  # the declared reading first, then the others
            targets.append({
                "key": t.key, "target": t.name, "reading": "declared" if rd.declared else "other",
                "metric": rd.metric, "scope": "+".join(rd.scope) or "all", "unit": t.unit,
                "threshold": t.threshold, "deadline": t.deadline,
                "met_at_p50": rd.p50_date is not None and rd.p50_date <= t.deadline,
                "value_at_deadline_p50": rd.value_at_deadline_p50,
                "point_run_date": rd.deterministic_date or "", "p10_date": rd.p10_date or "",
                "p50_date": rd.p50_date or "", "p90_date": rd.p90_date or "",
                "probability_by_deadline": rd.probability_by_deadline,
                "probability_kept": t.probability_kept if rd.declared else None,
                "sustain_until": t.sustain_until if rd.declared else "",
                "falls_back_p50": (t.falls_back_p50 or "") if rd.declared else "",
                "power_at_p50_mw": t.power_at_p50_mw if rd.declared else None})
    series = []
    metrics = list(p.bands)
    for i, month in enumerate(p.months):
        row: dict[str, Any] = {"month": month}
        for m in metrics:
            b = p.bands[m]
            for q, values in (("p10", b.p10), ("p25", b.p25), ("p50", b.p50), ("p75", b.p75),
                              ("p90", b.p90)):
                row[f"{m}_{q}"] = float(values[i])
        series.append(row)
    drivers = [{"target": t.name, "rank": i + 1, **asdict(d)}
               for t in p.targets for i, d in enumerate(t.drivers)]
    calibrated = r.calibration.keys if r.calibration else set()
    inputs = [{**asdict(i), "calibrated": i.key in calibrated} for i in p.inputs]
    sources = [{"item": s.item.strip(), "kind": s.kind, "text": s.text} for s in p.sources]
    constraints = [{"year": c.year, "binding": c.binding, "power_p50_mw": c.power_p50_mw,
                    "envelope_mw": c.envelope_mw, "over_envelope": c.over_envelope,
                    "p_over_envelope": c.p_over_envelope} for c in p.constraints]
    calibration = ([asdict(c) for c in r.calibration.changes] if r.calibration else [])
    measurements = [{"machine": g.label, **row} for g in r.groups
                    for row in measured.latest_rows(g)]
    return {"targets": targets, "series": series, "drivers": drivers, "inputs": inputs,
            "sources": sources, "constraints": constraints, "calibration": calibration,
            "measurements": measurements, "runs": measured.runs(r.groups),
            "whatif": whatif_rows(r.whatif), **_decision_tables(p),
            **_plan_tables(r)}


def _plan_tables(r: Report) -> dict[str, list[dict[str, Any]]]:
    """Power by system per month (point run), shedding in merit order, the world check."""
    p, f = r.projection, r.facts
    power = []
    if f is not None:
        for i, month in enumerate(f.months):
            row: dict[str, Any] = {"month": month}
            for s in f.power:
                row[f"{s.system}_installed_mw"] = float(s.installed_mw[i])
                row[f"{s.system}_switched_off_mw"] = float(s.shed_mw[i])
            row["total_installed_mw"] = float(f.total_mw[i])
            env = float(f.envelope_mw[i])
            row["envelope_mw"] = env if env != float("inf") else None
            power.append(row)
    shedding = [{"deployment": s.deployment, "system": s.system,
                 "gflops_per_w": s.gflops_per_w, "off_in_point_run": s.point_months,
                 "share_of_samples_off_worst_month": s.p_any_month} for s in p.shedding]
    world = [asdict(y) for y in p.world.years] if p.world is not None else []
    return {"power": power, "shedding": shedding, "world": world}


def _decision_tables(p: Projection) -> dict[str, list[dict[str, Any]]]:
    """Probability by year per reading, every counterfactual, and what binds by year."""
    return {
        "probability": [{"target": t.name, "metric": rd.metric,
                         "scope": "+".join(rd.scope) or "all", "declared": rd.declared,
                         "year": year, "probability_reached": prob}
                        for t in p.targets for rd in t.readings
                        for year, prob in rd.probability_by_year.items()],
        "counterfactuals": [{"target": t.name, **asdict(c)} for t in p.targets
                            for c in (*t.constraints, *t.levers)],
        "binding": [{"target": t.name, **asdict(y)} for t in p.targets
                    for y in t.binding_by_year],
    }


#: column names of the tables that may have no rows (the CSV still gets its header)
EMPTY_HEADERS = {
    "drivers": ("target", "rank", "key", "label", "unit", "low", "high", "date_low", "date_high",
                "swing_months", "value_low", "value_high"),
    "calibration": ("key", "old", "new", "evidence"),
    "measurements": ("machine", "benchmark", "value", "unit", "per_node", "percent_of_peak",
                     "peak_gflops", "clock", "nodes", "ranks", "status", "check", "note",
                     "ok_results", "change_vs_earlier_median", "timestamp", "run_id", "job_id"),
    "power": ("month", "total_installed_mw", "envelope_mw"),
    "shedding": ("deployment", "system", "gflops_per_w", "off_in_point_run",
                 "share_of_samples_off_worst_month"),
    "world": ("year", "rmax_p10_pf", "rmax_p50_pf", "rmax_p90_pf", "top1_trend_pf",
              "top10_trend_pf", "band", "p_above_top1", "p_top10"),
    "runs": ("run_id", "started", "machine", "host", "node_list", "job_id", "job_state", "ranks",
             "nodes", "ok", "not_ok", "commit", "software"),
    "counterfactuals": ("target", "key", "label", "kind", "p50_date", "probability_by_deadline",
                        "months_gained", "probability_change"),
    "binding": ("target", "year", "constraint", "gain", "months"),
    "probability": ("target", "metric", "scope", "declared", "year", "probability_reached"),
    "whatif": ("machine", "target", "threshold_pf", "deadline", "metric", "reading",
               "gflops_per_node", "nodes_p90_rate", "nodes_p50", "nodes_p10_rate",
               "watts_per_node", "pue", "mw_p50", "mw_p90_rate", "mw_p10_rate",
               "cost_per_node_usd", "cost_p50_usd", "provenance"),
}
