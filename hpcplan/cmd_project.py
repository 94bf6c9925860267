"""``hpcplan project``: when the centre meets its capacity targets, with what probability.

Prints the headline table per scenario (each target in its declared reading
and the other readings under it, P50/P90 dates, probability by the deadline,
power at the P50 date, top three drivers), the envelope warning and the
merit-order shedding, the
binding constraint per year, storage fill, the world-leading check with its
back-test, calibration changes, the definitions, and every source and
assumption. Two or more scenarios are compared side by side first.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from hpcplan import options

if TYPE_CHECKING:
    from hpcplan.report.tables import Table
    from models.projection import Projection


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project", help="project capacity targets (Monte Carlo) for one or more scenarios",
        description="Project when each capacity target is met, with what probability, at what "
        "power, and which assumption drives the answer. SCENARIO is a TOML file or the name of "
        "one in models/scenarios (default: the Guangzhou scenario); give two or more to compare.")
    options.add_scenarios(p)
    options.add_samples(p)
    options.add_seed(p)
    p.add_argument("--calibrate-from", metavar="RESULTS",
                   help="results directory whose measured efficiencies replace assumed ones")
    p.add_argument("--json", action="store_true", help="print the projection(s) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models import loader
    from models.projection import project

    names = args.scenarios or [None]
    projections = []
    for name in names:
        scenario = loader.load_scenario(loader.resolve_path(name))
        report = None
        if args.calibrate_from:
            from models.calibration import calibrate, load_results

            notices: list[str] = []
            frame, problems = load_results(args.calibrate_from, notices=notices)
            for notice in notices:
                print(f"hpcplan: note: {notice}", file=sys.stderr)
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


def _text(t: Table) -> str:
    from hpcplan.terminal import table

    return table(t.headers, t.rows)


def headline(p: Projection) -> str:
    from hpcplan.report import tables as pt

    return _text(pt.targets(p))


def render(p: Projection) -> str:
    from hpcplan.report import tables as pt

    out = [f"{p.scenario_name}  [{p.scenario_file}]"]
    if p.description:
        out.append(p.description)
    mc = (f"{p.samples:,} Monte Carlo samples, seed {p.seed}" if p.samples else
          "deterministic run only (--samples 0)")
    out.append(f"{mc}; horizon {p.months[0]}..{p.months[-1]}, monthly")
    out += ["", "Targets", headline(p)]
    tbl = pt.kept(p)
    out += ["", tbl.title, _text(tbl)]
    for t in p.targets:
        if t.drivers:
            tbl = pt.drivers(t)
            out += ["", tbl.title, _text(tbl)]
        for tbl in (pt.binding(t), pt.counterfactuals(t, "constraint"),
                    pt.counterfactuals(t, "lever")):
            if tbl.rows:
                out += ["", tbl.title, _text(tbl)]
    if p.warnings:
        out += ["", "Warnings"] + [f"  {w}" for w in p.warnings]
    if p.shedding:
        tbl = pt.shedding(p)
        out += ["", tbl.title, _text(tbl)]
    tbl = pt.constraints(p)
    out += ["", tbl.title, _text(tbl)]
    if p.storage_fill:
        out += ["", *pt.storage_lines(p)]
    if p.world:
        tbl = pt.world(p)
        out += ["", tbl.title, _text(tbl), tbl.note, *pt.world_lines(p)]
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
    return "\n".join(out)


def compare(projections: list[Projection]) -> str:
    from hpcplan.report import tables as pt

    return "Scenario comparison\n" + _text(pt.comparison(projections))
