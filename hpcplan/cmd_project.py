"""``hpcplan project``: when the centre meets its capacity targets, with what probability.

Prints the headline table per scenario (each target, P50/P90 dates,
probability by the deadline, power at the P50 date, top three drivers), the
binding constraint per year, storage fill, the world-leading check with its
back-test, calibration changes, the definitions, and every source and
assumption. Two or more scenarios are compared side by side first.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from kernels.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project", help="project capacity targets (Monte Carlo) for one or more scenarios",
        description="Project when each capacity target is met, with what probability, at what "
        "power, and which assumption drives the answer. SCENARIO is a TOML file or the name of "
        "one in models/scenarios (default: the Guangzhou scenario); give two or more to compare.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario file(s)")
    p.add_argument("--samples", type=int, default=10_000, metavar="N",
                   help="Monte Carlo samples (default 10000; 0: deterministic only)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--calibrate-from", metavar="RESULTS",
                   help="results directory whose measured efficiencies replace assumed ones")
    p.add_argument("--json", action="store_true", help="print the projection(s) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models import loader
    from models.projection import project

    if args.samples < 0 or args.samples > 10_000_000:
        raise UserError(f"--samples must be between 0 and 10000000, got {args.samples}")
    names = args.scenarios or [None]
    projections = []
    for name in names:
        scenario = loader.load_scenario(loader.resolve_path(name))
        report = None
        if args.calibrate_from:
            from models.calibration import calibrate, load_results

            frame, problems = load_results(args.calibrate_from)
            scenario, report = calibrate(scenario, frame, source=args.calibrate_from,
                                         notes=problems)
        projections.append(project(scenario, args.samples, args.seed, calibration=report))
    if args.json:
        data: Any = (projections[0].to_dict() if len(projections) == 1 else
                     {"scenarios": [p.to_dict() for p in projections]})
        print(json.dumps(data, indent=1, allow_nan=False, default=_json_default))
        return 0
    parts = []
    if len(projections) > 1:
        parts.append(compare(projections))
    parts += [render(p) for p in projections]
    print(("\n\n" + "=" * 78 + "\n\n").join(parts))
    return 0


def _json_default(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _pct(p: float) -> str:
    return f"{p * 100:.0f}%"


def _num(v: float | None, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) < 5e-3:
        v = 0.0
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return f"{text} {unit}".rstrip()


def _date(d: str | None) -> str:
    return d or "not by end"


def headline(p: Any) -> str:
    from hpcplan.terminal import table

    rows = []
    for t in p.targets:
        drivers = "; ".join(f"{d.label} ({d.swing_months} mo)" if d.swing_months else
                            f"{d.label} ({_num(abs(d.value_high - d.value_low), t.unit)})"
                            for d in t.drivers) or "-"
        rows.append([f"{t.name} (> {t.threshold_text})", t.deadline,
                     _date(t.deterministic_date), _date(t.p50_date), _date(t.p90_date),
                     _pct(t.probability_by_deadline), _num(t.power_at_p50_mw, "MW"), drivers])
    return table(["target", "deadline", "point run", "P50 date", "P90 date", "P(by deadline)",
                  "power at P50", "top drivers (swing)"], rows)


def render(p: Any) -> str:
    from hpcplan.terminal import table

    out = [f"{p.scenario_name}  [{p.scenario_file}]"]
    if p.description:
        out.append(p.description)
    mc = (f"{p.samples:,} Monte Carlo samples, seed {p.seed}" if p.samples else
          "deterministic run only (--samples 0)")
    out.append(f"{mc}; horizon {p.months[0]}..{p.months[-1]}, monthly")
    out += ["", "Targets", headline(p)]

    for t in p.targets:
        if not t.drivers:
            continue
        out += ["", f"Drivers of '{t.name}' (tornado: one input at its P10 and P90, the rest at "
                    "point values)"]
        rows = [[i + 1, d.key, f"{d.low:g} -> {_date(d.date_low)}",
                 f"{d.high:g} -> {_date(d.date_high)}", d.swing_months,
                 _num(d.value_low, t.unit), _num(d.value_high, t.unit)]
                for i, d in enumerate(t.drivers)]
        out.append(table(["#", "input", "low -> date", "high -> date", "swing (months)",
                          "at deadline (low)", "at deadline (high)"], rows))

    years = list(p.constraints)
    out += ["", "Binding constraint per year (P50 at the year end; pressure = need / capacity, "
                "> 1 is short)"]
    rows = []
    for c in years:
        env = _num(c.envelope_mw, "MW") if c.envelope_mw is not None else "no limit"
        flag = "OVER ENVELOPE" if c.over_envelope else (
            f"over in {_pct(c.p_over_envelope)} of samples" if c.p_over_envelope > 0 else "")
        rows.append([c.year, c.binding, f"{c.pressures.get(c.binding, 0.0):.2f}",
                     _num(c.power_p50_mw, "MW"), env, flag])
    out.append(table(["year", "binding", "pressure", "power P50", "envelope", "power flag"],
                     rows))

    if p.storage_fill:
        f = p.storage_fill
        out += ["", f"Storage: projected demand first exceeds effectively usable capacity in "
                    f"{_date(f.deterministic_date)} (point run); P50 {_date(f.p50_date)}, early "
                    f"case (P10) {_date(f.p10_date)}; full at some point before the horizon end "
                    f"in {_pct(f.probability_full_by_end)} of samples."]
        i = len(p.months) - 1
        for t in p.targets:
            if t.metric.startswith("storage"):
                i = p.index(t.deadline)
        b = p.bands
        out.append(f"At {p.months[i]} (P50): raw {_num(b['storage_raw_pb'].p50[i], 'PB')}, "
                   f"usable {_num(b['storage_usable_pb'].p50[i], 'PB')}, effectively usable "
                   f"{_num(b['storage_effective_pb'].p50[i], 'PB')}, demand "
                   f"{_num(b['storage_demand_pb'].p50[i], 'PB')} (P10-P90 "
                   f"{_num(b['storage_demand_pb'].p10[i])}-"
                   f"{_num(b['storage_demand_pb'].p90[i], 'PB')}).")

    if p.world:
        w = p.world
        out += ["", f"World-leading check: {w.system} (HPL-equivalent Rmax) against the TOP500 "
                    f"trend (#1 grows {w.trend_top1['growth_per_year']:.2f}x a year, #10 "
                    f"{w.trend_top10['growth_per_year']:.2f}x; history {w.history})"]
        rows = [[y.year, _num(y.rmax_p50_pf, "PF"), f"{_num(y.rmax_p10_pf)}-{_num(y.rmax_p90_pf)}",
                 _num(y.top10_trend_pf, "PF"), _num(y.top1_trend_pf, "PF"), y.band,
                 _pct(y.p_top10), _pct(y.p_above_top1)] for y in w.years]
        out.append(table(["year", "Rmax P50", "P10-P90", "#10 trend", "#1 trend", "rank band",
                          "P(top 10)", "P(#1)"], rows))
        out.append(f"Back-test: {w.backtest.summary()}.")

    if p.calibration:
        cal = p.calibration
        out += ["", f"Calibration from {cal.source}: {len(cal.changes)} input(s) measured"]
        out += [f"  {c.key}: {c.old} -> {c.new}  [{c.evidence}]" for c in cal.changes]
        out += [f"  note: {n}" for n in cal.notes]

    out += ["", "Definitions"]
    out += [f"  {i + 1}. {d}" for i, d in enumerate(p.definitions)]
    out += ["", "Uncertain inputs (point value; P10..P90)"]
    out += [f"  {i.key}: {i.distribution} (point {i.point:g}; {i.p10:g}..{i.p90:g} {i.unit}) "
            f"- {i.provenance}" for i in p.inputs]
    sourced = [s for s in p.sources if s.kind in ("sourced", "measured")]
    assumed = [s for s in p.sources if s.kind not in ("sourced", "measured")]
    out += ["", "Sources"] + [f"  {s.item}: {s.text}" for s in sourced]
    out += ["", "Assumptions"] + [f"  {s.item}: {s.text}" for s in assumed]
    if p.warnings:
        out += ["", "Warnings"] + [f"  {w}" for w in p.warnings]
    return "\n".join(out)


def compare(projections: list[Any]) -> str:
    from hpcplan.terminal import table

    out = ["Scenario comparison"]
    keys = list(dict.fromkeys(t.key for p in projections for t in p.targets))
    rows = []
    for key in keys:
        for i, p in enumerate(projections):
            t = next((t for t in p.targets if t.key == key), None)
            label = t.name if t else key
            if t is None:
                rows.append([label, f"[{i + 1}] {p.scenario_name}", "-", "-", "-", "-", "-"])
                continue
            rows.append([label, f"[{i + 1}] {p.scenario_name}", t.deadline, _date(t.p50_date),
                         _date(t.p90_date), _pct(t.probability_by_deadline),
                         _num(t.power_at_p50_mw, "MW")])
    out.append(table(["target", "scenario", "deadline", "P50 date", "P90 date",
                      "P(by deadline)", "power at P50"], rows))
    return "\n".join(out)
