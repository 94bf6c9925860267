"""The report's plain-text companions: CSV tables (numbers, units in the column names) and a
Markdown summary a planner can paste into a ticket or e-mail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hpcplan import report_measured as rm


def measurement_line(r: Any) -> str:
    if not r.records:
        return (f"No results yet in {r.results_dir}: nothing was measured, so the projection "
                "uses the scenario's assumed figures only. Run 'hpcplan plan' (or 'hpcplan "
                "run') to measure this machine.")
    runs = len({x.run_id for x in r.records})
    return (f"{len(r.records)} stored record(s) from {runs} run(s) on {len(r.groups)} kind(s) "
            f"of machine, read from {r.results_dir}.")


def calibration_line(r: Any) -> str:
    cal = r.calibration
    if cal is None:
        return "No calibration: there are no stored measurements."
    if not cal.changes:
        return ("No scenario input was calibrated from the measurements; the calibration notes "
                "say why.")
    return (f"{len(cal.changes)} scenario input(s) calibrated from the measurements: "
            + ", ".join(c.key for c in cal.changes) + ".")


def _md_cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def fmt_value(v: float | None) -> str:
    """Measured figures keep four significant digits (engineers compare them)."""
    if v is None:
        return ""
    a = abs(v)
    return (f"{v:,.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 10
            else f"{v:.3f}" if a >= 0.01 else f"{v:.3g}")


def measured_rows(g: Any) -> list[list[Any]]:
    rows = []
    for row in rm.latest_rows(g):
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


def _md_blocks(blocks: Sequence[Any], html: str, files: dict[str, str]) -> list[str]:
    from hpcplan import report_sections as rs

    out: list[str] = []
    for b in blocks:
        if isinstance(b, rs.Card):
            out += [f"### {b.title}", "", f"**{b.verdict}**", ""]
            out += [f"- {label}: {value}" for label, value in b.rows]
        elif isinstance(b, rs.Para):
            prefix = {"caveat": "**Caveat.** ", "warning": "**Warning.** "}.get(b.kind, "")
            text = b.text.removeprefix("Caveat: ") if b.kind == "caveat" else b.text
            out.append(prefix + text)
        elif isinstance(b, rs.Bullets):
            if b.title:
                out += [f"**{b.title}**", ""]
            out += [f"{i + 1}. {x}" if b.kind == "ordered" else f"- {x}"
                    for i, x in enumerate(b.items)]
        elif isinstance(b, rs.Heading):
            out.append(f"### {b.title}")
        elif isinstance(b, rs.TableBlock):
            t = b.table
            out += [f"**{t.title}**", "", md_table(t.headers, t.rows)]
            extra = [t.note] if t.note else []
            if b.csv in files:
                extra.append(f"CSV: {files[b.csv]}")
            if extra:
                out += ["", " ".join(extra)]
        elif isinstance(b, rs.FigureBlock):
            f = b.figure
            out.append(f"**Figure: {f.title}.** {f.description} ({f.caption} In {html}#{f.id}"
                       + (f"; data: {files[f.csv]}" if f.csv in files else "") + ".)")
        elif isinstance(b, rs.Code):
            out += [f"{b.title}:" if b.title else "", "", "```toml", b.text.rstrip("\n"), "```"]
        elif isinstance(b, rs.Box):
            out += [f"### {b.title}", "", *_md_blocks(b.blocks, html, files)]
            continue
        out.append("")
    return out


def markdown(r: Any, html: Path, files: dict[str, str]) -> str:
    """The same sections as the page, in the same order, as Markdown (figures by finding)."""
    from hpcplan import report_sections as rs

    p = r.projection
    out = [f"# hpcplan report: {p.scenario_name}", "",
           f"Generated {r.generated} by hpcplan {r.version}"
           + (f" (commit {r.commit})" if r.commit else " (commit unknown)")
           + f"; scenario {p.scenario_file}; "
           + (f"{p.samples:,} Monte Carlo samples, seed {p.seed}." if p.samples else
              "deterministic run only.")
           + f" Results: {r.results_dir}", "",
           f"Full report with figures: {html.name}", ""]
    box = rs.calibration_box(r)
    if box is not None:
        out += _md_blocks([box], html.name, files)
    for s in rs.sections(r):
        out += [f"## {s.title}", ""]
        out += _md_blocks(s.blocks, html.name, files)
    out += ["## Files and provenance", ""]
    out += [f"- {line}" for line in rs.provenance_lines(r, files)]
    out += [f"- {html.name}: the full report (open in a browser)"]
    return "\n".join(out).rstrip("\n") + "\n"


def csv_tables(r: Any) -> dict[str, list[dict[str, Any]]]:
    """Tables as rows of plain values; each column name carries its unit."""
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
            row[f"{m}_p10"], row[f"{m}_p50"], row[f"{m}_p90"] = (float(b.p10[i]), float(b.p50[i]),
                                                                 float(b.p90[i]))
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
    measurements = [{"machine": g.label, **row} for g in r.groups for row in rm.latest_rows(g)]
    return {"targets": targets, "series": series, "drivers": drivers, "inputs": inputs,
            "sources": sources, "constraints": constraints, "calibration": calibration,
            "measurements": measurements, "runs": rm.runs(r.groups), **_decision_tables(p),
            **_plan_tables(r)}


def _plan_tables(r: Any) -> dict[str, list[dict[str, Any]]]:
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


def _decision_tables(p: Any) -> dict[str, list[dict[str, Any]]]:
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
}
