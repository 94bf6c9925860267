"""What moved since the last report, and why: a small data file beside each report.

Every report writes ``<name>-data.json``: per target the dates and
probabilities, every input with its distribution and provenance, and the newest
measurement per benchmark. The next report written to the same place reads it
before replacing it and lists what moved (P50 date, probability, P(kept),
the storage full date) next to what changed underneath (inputs, measurements,
samples), so a planner sees a date move together with its cause.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpcplan.report.core import Report

FORMAT = 1
#: a measurement that moved less than this (relative) is not listed
MEASUREMENT_STEP = 0.01
#: list at most this many changed inputs or measurements, then count the rest
MAX_ITEMS = 12
#: an earlier data file larger than this is ignored rather than read
MAX_BYTES = 16 * 2**20


def snapshot(r: Report) -> dict[str, Any]:
    """The comparable facts of a report, as plain JSON data."""
    from hpcplan.report import measured as rm

    p = r.projection
    fill = p.storage_fill
    calibrated = p.calibration.keys if p.calibration else set()
    return {
        "format": FORMAT, "generated": r.generated, "commit": r.commit or "",
        "version": r.version, "scenario": p.scenario_name, "scenario_file": p.scenario_file,
        "samples": p.samples, "seed": p.seed, "results": str(r.results_dir),
        "targets": {t.key: {"name": t.name, "deadline": t.deadline, "p10_date": t.p10_date,
                            "p50_date": t.p50_date, "p90_date": t.p90_date,
                            "probability_by_deadline": t.probability_by_deadline,
                            "probability_kept": t.probability_kept,
                            "falls_back_p50": t.falls_back_p50} for t in p.targets},
        "storage_full_p50": fill.p50_date if fill else None,
        "inputs": {i.key: {"distribution": i.distribution, "point": i.point,
                           "provenance": "measured" if i.key in calibrated else i.provenance}
                   for i in p.inputs},
        "measurements": {f"{g.label} | {row['benchmark']} | {row['nodes']} node(s), "
                         f"{row['ranks']} rank(s)": {"value": row["value"], "unit": row["unit"],
                                                     "status": row["status"]}
                         for g in r.groups for row in rm.latest_rows(g)},
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def load(path: Path) -> dict[str, Any] | None:
    """The earlier report's data, or None when there is none or it cannot be read (a report
    is never refused because of its predecessor)."""
    from kernels.errors import UserError
    from kernels.files import read_text

    if not path.exists():
        return None
    try:  # a regular file of bounded size only: never block on a pipe planted there
        data = json.loads(read_text(path, "earlier report data", MAX_BYTES))
    except (OSError, ValueError, UserError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def _month_diff(a: str | None, b: str | None) -> str:
    if a == b:
        return ""
    if a is None or b is None:
        return " (now reached in the horizon)" if a is None else " (no longer reached)"
    ya, ma = (int(x) for x in a.split("-"))
    yb, mb = (int(x) for x in b.split("-"))
    d = (yb - ya) * 12 + (mb - ma)
    return f" ({abs(d)} month{'s' if abs(d) != 1 else ''} {'later' if d > 0 else 'earlier'})"


def _pct(p: float) -> str:
    return f"{p * 100:.0f}%"


def _capped(items: list[str]) -> list[str]:
    if len(items) <= MAX_ITEMS:
        return items
    return [*items[:MAX_ITEMS], f"... and {len(items) - MAX_ITEMS} more"]


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Sentences: the run compared with, each target's movement, then the causes."""
    out = [f"Compared with the report generated {old.get('generated', '?')} (commit "
           f"{(old.get('commit') or 'unknown')[:12]}, {old.get('samples', '?')} samples, "
           f"seed {old.get('seed', '?')})."]
    if old.get("scenario_file") != new["scenario_file"]:
        out.append(f"The scenario file changed: {old.get('scenario_file')} -> "
                   f"{new['scenario_file']}.")
    if (old.get("samples"), old.get("seed")) != (new["samples"], new["seed"]):
        out.append(f"Samples or seed changed ({old.get('samples')}, seed {old.get('seed')} -> "
                   f"{new['samples']}, seed {new['seed']}): part of any movement is sampling "
                   "noise.")
    for key, t in new["targets"].items():
        before = old.get("targets", {}).get(key)
        if before is None:
            out.append(f"{t['name']}: new target (P50 {t['p50_date'] or 'not reached'}, "
                       f"{_pct(t['probability_by_deadline'])} by {t['deadline']}).")
            continue
        moved = []
        if before.get("p50_date") != t["p50_date"]:
            moved.append(f"P50 date {before.get('p50_date') or 'not reached'} -> "
                         f"{t['p50_date'] or 'not reached'}"
                         f"{_month_diff(before.get('p50_date'), t['p50_date'])}")
        for field, name in (("probability_by_deadline", "P(by deadline)"),
                            ("probability_kept", "P(reached and held)")):
            a, b = float(before.get(field) or 0.0), float(t[field])
            if round(a * 100) != round(b * 100):
                moved.append(f"{name} {_pct(a)} -> {_pct(b)} ({(b - a) * 100:+.0f} pts)")
        if before.get("falls_back_p50") != t["falls_back_p50"]:
            moved.append(f"P50 falls back {before.get('falls_back_p50') or 'never'} -> "
                         f"{t['falls_back_p50'] or 'never'}")
        out.append(f"{t['name']}: " + ("; ".join(moved) if moved else
                                       f"unchanged (P50 {t['p50_date'] or 'not reached'}, "
                                       f"{_pct(t['probability_by_deadline'])} by the deadline)")
                   + ".")
    for key, t in old.get("targets", {}).items():
        if key not in new["targets"]:
            out.append(f"{t.get('name', key)}: no longer a target.")
    if old.get("storage_full_p50") != new["storage_full_p50"]:
        out.append(f"Storage full date (P50) {old.get('storage_full_p50') or 'not full'} -> "
                   f"{new['storage_full_p50'] or 'not full'}"
                   f"{_month_diff(old.get('storage_full_p50'), new['storage_full_p50'])}.")
    inputs = []
    before_inputs = old.get("inputs", {})
    for key, i in new["inputs"].items():
        b = before_inputs.get(key)
        if b is None:
            inputs.append(f"{key}: new input {i['distribution']} ({i['provenance']})")
        elif (b.get("distribution"), b.get("provenance")) != (i["distribution"],
                                                              i["provenance"]):
            inputs.append(f"{key}: {b.get('distribution')} ({b.get('provenance')}) -> "
                          f"{i['distribution']} ({i['provenance']})")
    inputs += [f"{key}: removed" for key in before_inputs if key not in new["inputs"]]
    out.append("Inputs changed: " + "; ".join(_capped(inputs)) + "." if inputs else
               "No scenario input changed.")
    meas = []
    before_meas = old.get("measurements", {})
    for key, m in new["measurements"].items():
        b = before_meas.get(key)
        if b is None:
            meas.append(f"new: {key}" + (f" = {m['value']:.4g} {m['unit']}"
                                         if m["value"] is not None else f" ({m['status']})"))
        elif b.get("status") != m["status"]:
            meas.append(f"{key}: {b.get('status')} -> {m['status']}")
        elif m["value"] is not None and b.get("value"):
            rel = m["value"] / b["value"] - 1.0
            if abs(rel) >= MEASUREMENT_STEP:
                meas.append(f"{key}: {b['value']:.4g} -> {m['value']:.4g} {m['unit']} "
                            f"({rel * 100:+.1f}%)")
    meas += [f"gone: {key}" for key in before_meas if key not in new["measurements"]]
    out.append("Measurements changed: " + "; ".join(_capped(meas)) + "." if meas else
               "No measurement changed (newest per benchmark, 1% or more).")
    return out
