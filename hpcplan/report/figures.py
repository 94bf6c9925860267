"""The report's figures: matplotlib (no pyplot state), rendered to SVG text, each with its finding.

Every plan figure returns ``Drawn(svg, finding)``: the finding is one or two
sentences stating what the chart shows (it becomes the SVG's ``<desc>`` and the
caption's first line), so a reader who cannot see the chart, or a search of the
page, gets the answer too. Colours are the Okabe-Ito palette (safe for the
common colour-vision deficiencies) and every series also differs by line style,
marker or hatch, so a grey-scale print still tells them apart. Every axis names
its unit. SVG keeps text as text and the output is deterministic.

The compute and storage fans are graded: P10-P90 light, P25-P75 darker, the
P50 a line, so the likelier half of the samples stands out from the tails.

``PLAN_FIGURES`` is the one ordered list of plan figures (id, section, title,
caption, how to draw it) and ``machine_figures`` gives each machine's; the page,
its navigation and the Markdown follow the ``Figure`` list they produce.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hpcplan.report import core, measured
from hpcplan.report.measured import History, MachineGroup, Roofline, Scaling
from models.readings import metric_key
from models.units import PIB_IN_PB

if TYPE_CHECKING:
    from matplotlib.typing import LineStyleType

    from hpcplan.report.plan import PlanFacts, Retirement
    from models.projection import Band, Projection, ReadingResult, TargetResult

#: Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "purple": "#CC79A7"}
CYCLE = ("blue", "vermillion", "green", "purple", "orange", "sky", "black")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")  # 10 and 7 colours: 70 pairs
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "++", "--")
PRECISION_COLOURS = {"fp64": "blue", "fp32": "vermillion", "fp16": "green", "bf16": "purple"}
RC = {"svg.fonttype": "none", "svg.hashsalt": "hpcplan", "font.size": 10,
      "axes.titlesize": 11, "axes.grid": True, "grid.color": "#d0d0d0", "grid.linewidth": 0.6,
      "axes.spines.top": False, "axes.spines.right": False, "legend.framealpha": 0.9,
      "hatch.linewidth": 0.8}
WIDTH = 8.0  # inches: 768 px at 96 dpi, so 10 pt text stays about 10 px in a phone's scroll box


@dataclass(frozen=True)
class Drawn:
    svg: str
    finding: str  # what the chart shows, in words


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "hpcplan"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buf.getvalue()


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height), layout="constrained")


def _months(months: Sequence[str]) -> np.ndarray:
    return np.array(months, dtype="datetime64[M]")


def _m(month: str) -> np.datetime64:
    return np.datetime64(month, "M")


def _fmt(v: float, unit: str = "") -> str:
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return f"{text} {unit}".rstrip()


def _span(low: float, high: float, unit: str) -> str:
    """'low-high unit', or one value where the two read the same."""
    a, b = _fmt(float(low)), _fmt(float(high), unit)
    return b if a == _fmt(float(high)) else f"{a}-{b}"


def _pct(p: float) -> str:
    return f"{p * 100:.0f}%"


def _date(d: str | None) -> str:
    return d or "not by the horizon end"


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _deadline(ax: Axes, deadline: str, label: bool = True) -> None:
    ax.axvline(_m(deadline), color="#444444", linestyle="-.", linewidth=1.1,
               label=f"deadline {deadline}" if label else None)


def _threshold(ax: Axes, t: TargetResult, scale: float = 1.0, unit: str = "") -> None:
    ax.axhline(t.threshold / scale, color=OKABE_ITO["black"], linestyle=":", linewidth=1.6,
               label=f"target > {_fmt(t.threshold / scale, unit or t.unit)}")


def _years_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


# --- probability over time ------------------------------------------------------------------


def _reached_curve(r: ReadingResult, months: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """P(reached by month) from the year-end probabilities and the P10/P50/P90 dates: exact
    points of the same distribution, joined in date order."""
    last = months[-1]
    pts: dict[str, float] = {}
    for year, prob in r.probability_by_year.items():
        month = min(f"{year}-12", last)
        if month >= months[0]:
            pts[month] = prob
    for q, d in ((0.1, r.p10_date), (0.5, r.p50_date), (0.9, r.p90_date)):
        if d is not None:
            pts.setdefault(d, q)
    keys = sorted(pts)
    y = np.maximum.accumulate(np.array([pts[k] for k in keys]))
    return _months(keys), y


def in_scope(t: TargetResult, ret: Retirement) -> bool:
    kind = "storage" if t.metric.startswith("storage") else "compute"
    return ret.kind == kind and (not t.scope or ret.system in t.scope)


def probability(p: Projection, retirements: Sequence[Retirement]) -> Drawn:
    """Per target: P(reached by date) per reading, the share above the threshold month by month,
    P(reached by the deadline and held), with the deadline and the retirement cliffs."""
    x = _months(p.months)
    n = max(len(p.targets), 1)
    findings = []
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, 4.6 * n)
        axes = fig.subplots(n, 1, squeeze=False).ravel()
        for ax, t in zip(axes, p.targets, strict=False):
            if t.held_by_month:
                ax.fill_between(x, 0, t.held_by_month, step="mid", facecolor=OKABE_ITO["sky"],
                                alpha=0.35, hatch="..", edgecolor="#2b6f99", linewidth=0,
                                label=_wrap(f"reached and still held that month (above "
                                            f"{t.threshold_text} since first reached)", 52))
            seen: set[tuple[str, tuple[float, ...]]] = set()
            for i, r in enumerate(t.readings):
                if (r.metric, tuple(r.probability_by_year.values())) in seen and not r.declared:
                    continue  # the same curve as a reading already drawn
                seen.add((r.metric, tuple(r.probability_by_year.values())))
                mx, my = _reached_curve(r, p.months)
                if mx.size == 0:
                    continue
                name = "plan's reading" if r.declared else "other reading"
                ax.plot(mx, my, color=OKABE_ITO[CYCLE[i % len(CYCLE)]],
                        linestyle="-" if r.declared else (0, (5, 2)),
                        linewidth=2.4 if r.declared else 1.5, marker=MARKERS[i % len(MARKERS)],
                        markersize=4, label=_wrap(f"reached by date, {name}: {r.label}", 52))
            _deadline(ax, t.deadline)
            kept_at = _m(t.sustain_until)
            ax.plot([kept_at], [t.probability_kept], marker="X", markersize=10,
                    color=OKABE_ITO["vermillion"], markeredgecolor="black", linestyle="none",
                    label=_wrap(f"reached by {t.deadline} and held to {t.sustain_until}: "
                                f"{_pct(t.probability_kept)}", 52))
            cliffs = [ret for ret in retirements if in_scope(t, ret)]
            for ret in cliffs:
                ax.axvline(_m(ret.month), color="#7a4a00", linestyle=(0, (1, 1.5)), linewidth=1.2)
                ax.text(_m(ret.month), 0.97, f"{ret.name} retires ", rotation=90, fontsize=7.5,
                        va="top", ha="right", color="#7a4a00",
                        transform=ax.get_xaxis_transform())
            if cliffs:
                ax.plot([], [], color="#7a4a00", linestyle=(0, (1, 1.5)),
                        label="retirement (point run)")
            ax.set_ylim(0, 1.0)
            ax.set_yticks([0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
            ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
            ax.set_ylabel("share of samples")
            ax.set_title(f"{t.name} (> {t.threshold_text}) by {t.deadline}", loc="left")
            ax.set_xlabel("month")
            _years_axis(ax)
            ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(0.0, -0.16), ncols=2,
                      borderaxespad=0)
            findings.append(_kept_finding(t, cliffs))
    return Drawn(_svg(fig), " ".join(findings) or "No targets.")


def _kept_finding(t: TargetResult, cliffs: Sequence[Retirement]) -> str:
    text = (f"{t.name}: P50 reached {_date(t.p50_date)}; {_pct(t.probability_by_deadline)} by "
            f"{t.deadline}; reached and held to {t.sustain_until} in "
            f"{_pct(t.probability_kept)}")
    if t.falls_back_p50:
        near = [r.name for r in cliffs if abs(_months_between(r.month, t.falls_back_p50)) <= 12]
        text += f"; the P50 falls back under {t.threshold_text} in {t.falls_back_p50}" + (
            f" as {', '.join(near)} retire{'s' if len(near) == 1 else ''}" if near else "")
    return text + "."


def _months_between(a: str, b: str) -> int:
    return int((_m(b) - _m(a)).astype(int))


# --- compute and storage fans ---------------------------------------------------------------


def _shade(ax: Axes, x: np.ndarray, b: Band, scale: float, band: str, label: str,
           hatch: str = "", hatch_colour: str = "black") -> None:
    """A graded fan: P10-P90 light, P25-P75 darker (the two overlap, so the shades differ in a
    grey-scale print too); a hatch over the outer band marks a second fan apart."""
    ax.fill_between(x, b.p10 / scale, b.p90 / scale, facecolor=OKABE_ITO[band], alpha=0.2,
                    linewidth=0, label=f"{label} P10-P90")
    ax.fill_between(x, b.p25 / scale, b.p75 / scale, facecolor=OKABE_ITO[band], alpha=0.45,
                    linewidth=0, label=f"{label} P25-P75")
    if hatch:  # drawn apart: the band's transparency would wash the hatch out
        ax.fill_between(x, b.p10 / scale, b.p90 / scale, facecolor="none", hatch=hatch,
                        edgecolor=OKABE_ITO[hatch_colour], alpha=0.45, linewidth=0)


def _fan(ax: Axes, x: np.ndarray, b: Band, scale: float, colour: str, band: str, label: str,
         style: LineStyleType = "-", hatch: str = "") -> None:
    _shade(ax, x, b, scale, band, label, hatch, colour)
    ax.plot(x, b.p50 / scale, color=OKABE_ITO[colour], linestyle=style, linewidth=2.3,
            label=f"{label} P50")


def _crossing(ax: Axes, t: TargetResult, scale: float = 1.0) -> None:
    if t.p50_date:
        ax.plot([_m(t.p50_date)], [t.threshold / scale], marker="D", color=OKABE_ITO["black"],
                markersize=7, linestyle="none", label=f"P50 crosses the target: {t.p50_date}")
    if t.falls_back_p50:
        ax.plot([_m(t.falls_back_p50)], [t.threshold / scale], marker="v", markersize=8,
                color=OKABE_ITO["vermillion"], markeredgecolor="black", linestyle="none",
                label=f"P50 falls back under it: {t.falls_back_p50}")


def compute(p: Projection) -> Drawn:
    """The compute target's plan reading as a fan, the other readings' P50, the target."""
    x = _months(p.months)
    targets = [t for t in p.targets if not t.metric.startswith("storage")]
    findings = []
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, 4.8)
        ax = fig.add_subplot()
        if not targets:
            _fan(ax, x, p.bands["mixed_peak_pf"], 1.0, "blue", "sky", "mixed precision")
        for t in targets:
            head = t.readings[0] if t.readings else None
            key = metric_key(t.metric, t.scope)
            _fan(ax, x, p.bands[key], 1.0, "blue", "sky",
                 f"plan's reading ({head.label if head else t.metric})")
            drawn = {key}
            for i, r in enumerate(t.readings[1:], start=1):
                rk = metric_key(r.metric, r.scope)
                if rk in drawn or rk not in p.bands:
                    continue
                same = any(np.allclose(p.bands[rk].p50, p.bands[k].p50) for k in drawn)
                drawn.add(rk)
                if same:
                    continue  # identical to a line drawn already (e.g. the centre is the system)
                if r.metric != t.metric:
                    _fan(ax, x, p.bands[rk], 1.0, "vermillion", "orange", r.label,
                         style=(0, (5, 2)), hatch="//")
                else:
                    ax.plot(x, p.bands[rk].p50, color=OKABE_ITO[CYCLE[i % len(CYCLE)]],
                            linestyle=(0, (2, 1.5)), linewidth=1.6, label=f"{r.label} P50")
            _threshold(ax, t)
            _deadline(ax, t.deadline)
            _crossing(ax, t)
            findings.append(_fan_finding(p, t))
        ax.set_xlabel("month")
        ax.set_ylabel("capability (PF = 10^15 FLOP/s)")
        ax.set_ylim(bottom=0)
        _years_axis(ax)
        ax.set_title("Compute capability over time (Monte Carlo P10-P90 and P25-P75 bands, "
                     "P50 line)", loc="left")
        fig.legend(loc="outside lower center", fontsize=7.5, ncols=2)
    return Drawn(_svg(fig), " ".join(findings) or "No compute target: the centre's "
                 "mixed-precision capability is shown.")


def _fan_finding(p: Projection, t: TargetResult) -> str:
    text = (f"{t.name}: P50 crosses {t.threshold_text} in {t.p50_date}; "
            if t.p50_date else f"{t.name}: the P50 does not reach {t.threshold_text}; ")
    text += f"{_pct(t.probability_by_deadline)} by {t.deadline}"
    b = p.bands.get(metric_key(t.metric, t.scope))
    if b is not None and t.deadline in p.months:
        i = p.index(t.deadline)
        text += (f"; at {t.deadline} {_fmt(float(b.p50[i]), t.unit)} (P50), P25-P75 "
                 f"{_span(b.p25[i], b.p75[i], t.unit)}, P10-P90 "
                 f"{_span(b.p10[i], b.p90[i], t.unit)}")
    if t.falls_back_p50:
        text += f"; the P50 falls back under it in {t.falls_back_p50}"
    others = [r for r in t.readings[1:] if r.metric != t.metric]
    for r in others[:1]:
        text += (f". Other reading ({r.label}): {_fmt(r.value_at_deadline_p50, t.unit)} at "
                 f"{t.deadline} (P50), {_pct(r.probability_by_deadline)} by the deadline")
    return text + "."


def storage(p: Projection) -> Drawn:
    """Usable capacity (the plan's reading) as a fan, effectively usable and raw, demand as a
    fan, the target and the one 'full' date."""
    x = _months(p.months)
    unit = p.storage_unit
    scale = PIB_IN_PB if unit == "PiB" else 1.0
    targets = [t for t in p.targets if t.metric.startswith("storage")]
    fill = p.storage_fill
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, 4.8)
        ax = fig.add_subplot()
        declared = {metric_key(t.metric, t.scope) for t in targets}
        for key in sorted(declared):
            name = "usable" if "usable" in key else key.split("_")[1]
            scope = key.split("@")[1] if "@" in key else "whole centre"
            _fan(ax, x, p.bands[key], scale, "blue", "sky", f"{name} capacity ({scope})")
        for metric, label, colour, style in (
                ("storage_raw_pb", "raw capacity (whole centre)", "green", (0, (5, 1.5))),
                ("storage_usable_pb", "usable capacity (whole centre)", "blue", (0, (2, 1.5))),
                ("storage_effective_pb", "effectively usable (whole centre)", "purple", "--")):
            if metric in p.bands and metric not in declared:
                ax.plot(x, p.bands[metric].p50 / scale, color=OKABE_ITO[colour],
                        linestyle=style, linewidth=1.8, label=f"{label} P50")
        if "storage_demand_pb" in p.bands:
            b = p.bands["storage_demand_pb"]
            _shade(ax, x, b, scale, "orange", "demand (data held)", "xx", "vermillion")
            ax.plot(x, b.p50 / scale, color=OKABE_ITO["vermillion"], linewidth=2.4, marker="o",
                    markevery=12, markersize=4, label="demand P50")
        for t in targets:
            _threshold(ax, t, scale, unit)
            _deadline(ax, t.deadline)
            _crossing(ax, t, scale)
        if fill is not None and fill.p50_date:
            ax.axvline(_m(fill.p50_date), color=OKABE_ITO["vermillion"], linewidth=1.4,
                       linestyle=(0, (4, 1, 1, 1)), label=f"full (P50): {fill.p50_date}")
        ax.set_xlabel("month")
        what = f"storage ({'PiB = 2^50' if unit == 'PiB' else 'PB = 10^15'} bytes)"
        bottom = _wide_range(p)
        if bottom is not None:
            ax.set_yscale("log")
            ax.set_ylim(bottom=bottom / scale)
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
            ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(2.0, 5.0)))
            ax.yaxis.set_minor_formatter(ticker.FuncFormatter(_plain_number))
            ax.tick_params(axis="y", which="minor", labelsize=8)
            what += ", log scale"
        else:
            ax.set_ylim(bottom=0)
        ax.set_ylabel(what)
        _years_axis(ax)
        ax.set_title("Storage capacity against demand (P10-P90 and P25-P75 bands, P50 lines)",
                     loc="left")
        fig.legend(loc="outside lower center", fontsize=7.5, ncols=2)
    return Drawn(_svg(fig), _storage_finding(p, targets))


def _storage_finding(p: Projection, targets: Sequence[TargetResult]) -> str:
    fill = p.storage_fill
    parts = []
    if fill is not None:
        parts.append(
            f"Demand passes the effectively usable capacity in {fill.p50_date} (the P50 full "
            f"date; full before the horizon end in {_pct(fill.probability_full_by_end)} of "
            "samples)" if fill.p50_date else
            f"Storage is not full at the P50 by {p.months[-1]} (full in "
            f"{_pct(fill.probability_full_by_end)} of samples)")
    for t in targets:
        parts.append(_fan_finding(p, t).rstrip("."))
    return ". ".join(parts) + "." if parts else "No storage target or demand in the scenario."


def _wide_range(p: Projection) -> float | None:
    """Where demand outgrows capacity eightfold (a linear axis would flatten the capacity lines),
    the bottom of a log axis: half the smallest positive P50; else None."""
    metrics = [m for m in p.bands if m.startswith("storage")]
    highs = [float(np.max(p.bands[m].p90)) for m in metrics]
    caps = [float(np.max(p.bands[m].p50)) for m in ("storage_usable_pb", "storage_raw_pb")
            if m in p.bands]
    if not highs or not caps or max(caps) <= 0 or max(highs) <= 8 * max(caps):
        return None
    p50 = np.concatenate([p.bands[m].p50 for m in metrics])
    positive = p50[p50 > 0]
    return float(positive.min()) / 2 if positive.size else None


def _plain_number(value: float, _pos: int = 0) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


# --- power ----------------------------------------------------------------------------------


def power(p: Projection, facts: PlanFacts) -> Drawn:
    """Facility load stacked by system (point run) under the envelope step line; the part the
    envelope switches off hatched; the Monte Carlo P50 of the installed load."""
    from hpcplan.report.plan import ranges

    x = _months(p.months)
    # storage at the bottom, then the most efficient system: what is shed first sits on top
    layers = sorted(facts.power, key=lambda s: (s.gflops_per_w is not None,
                                                -(s.gflops_per_w or 0.0)))
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, 4.6)
        ax = fig.add_subplot()
        base = np.zeros(len(x))
        colours = ("green", "blue", "orange", "purple", "sky", "yellow")
        for i, s in enumerate(layers):
            colour = "#bbbbbb" if s.gflops_per_w is None else OKABE_ITO[colours[i % len(colours)]]
            top = base + s.installed_mw
            ax.fill_between(x, base, top, step="post", facecolor=colour, alpha=0.75,
                            hatch=HATCHES[i % len(HATCHES)], edgecolor="#333333", linewidth=0.4,
                            label=s.label)
            if s.shed_mw.any():
                ax.fill_between(x, top - s.shed_mw, top, step="post", where=s.shed_mw > 0,
                                facecolor="white", alpha=0.55, hatch="xxx",
                                edgecolor=OKABE_ITO["vermillion"], linewidth=0.8,
                                label=f"{s.system}: switched off by the envelope")
            base = top
        env = facts.envelope_mw
        if np.isfinite(env).any():
            ax.step(x, np.where(np.isfinite(env), env, np.nan), where="post",
                    color=OKABE_ITO["black"], linewidth=2.2, label="power envelope")
        if "power_mw" in p.bands:
            ax.plot(x, p.bands["power_mw"].p50, color=OKABE_ITO["vermillion"], linewidth=1.3,
                    linestyle=(0, (4, 2)), label="installed load P50 (Monte Carlo)")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("month")
        ax.set_ylabel(f"facility load (MW, IT x PUE {facts.pue:.2f})")
        _years_axis(ax)
        ax.set_title("Installed facility load by system against the power envelope (point run)",
                     loc="left")
        fig.legend(loc="outside lower center", fontsize=7.5, ncols=2)
    over = facts.over_envelope()
    if over.any():
        i = int(np.argmax(facts.total_mw - np.where(np.isfinite(facts.envelope_mw),
                                                    facts.envelope_mw, np.inf)))
        text = (f"Installed load is over the envelope in {ranges(facts.months, over)} (point "
                f"run; {facts.total_mw[i]:.1f} MW against {facts.envelope_mw[i]:.0f} MW in "
                f"{facts.months[i]})")
        shed = [f"{s.system} ({s.gflops_per_w:,.1f} GFLOP/s per W) is switched off in "
                f"{ranges(facts.months, s.shed_mw > 0)}" for s in facts.power
                if s.shed_mw.any() and s.gflops_per_w is not None]
        text += "; " + "; ".join(shed) if shed else \
            f"; the policy is '{facts.policy}', so nothing is switched off"
    elif np.isfinite(facts.envelope_mw).any():
        text = (f"Installed load stays under the envelope throughout the point run (peak "
                f"{facts.total_mw.max():.1f} MW)")
    else:
        text = f"No power envelope; installed load peaks at {facts.total_mw.max():.1f} MW"
    eff = [s for s in facts.power if s.gflops_per_w is not None]
    if eff:
        text += ". Mixed-precision GFLOP/s per W: " + ", ".join(
            f"{s.system} {s.gflops_per_w:,.1f}" for s in eff)
    return Drawn(_svg(fig), text + ".")


# --- world rank -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSeries:
    """One layer of the world chart; new lists or ranks are new entries of ``world_series``."""

    label: str
    kind: str  # points | trend | projection
    x: np.ndarray  # decimal years
    y: np.ndarray  # PF
    low: np.ndarray | None = None  # P10 (trend band, projection range)
    high: np.ndarray | None = None
    colour: str = "black"
    marker: str = "o"
    filled: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _decimal(month: str) -> float:
    y, m = month.split("-")
    return int(y) + (int(m) - 0.5) / 12


def world_series(p: Projection) -> list[WorldSeries]:
    """Actual TOP500 and HPL-MxP entries, their fitted trends with bands, and the system's
    projection (HPL Rmax by year end, HPL-MxP at the compared month)."""
    from models import worldrank as wr

    out: list[WorldSeries] = []
    end = _decimal(p.months[-1])
    specs = (("top500", 1, "TOP500 #1 (HPL Rmax)", "blue", "o", True),
             ("top500", 10, "TOP500 #10 (HPL Rmax)", "green", "s", False),
             ("hplmxp", 1, "HPL-MxP #1", "purple", "^", True))
    for kind, rank, label, colour, marker, filled in specs:
        entries = sorted((e for e in wr.load_entries(kind) if e.rank == rank),
                         key=lambda e: e.month)
        if not entries:
            continue
        out.append(WorldSeries(f"{label}, actual lists", "points",
                               np.array([e.year for e in entries]),
                               np.array([e.value_pf for e in entries]), colour=colour,
                               marker=marker, filled=filled))
        trend = next((tr for tr in wr.trends(kind, (rank,))), None)
        if trend is None:
            continue
        xs = np.linspace(_decimal(trend.first_list), end, 120)
        pred = np.array([trend.predict(float(v)) for v in xs])
        future = xs >= trend.last_year
        line = np.where(future, pred[:, 1], 10.0 ** np.array([trend.mu(float(v)) for v in xs]))
        out.append(WorldSeries(f"{label} trend ({trend.growth_per_year:.2f}x a year) with its "
                               "P10-P90 band", "trend", xs, line,
                               np.where(future, pred[:, 0], np.nan),
                               np.where(future, pred[:, 2], np.nan), colour=colour,
                               filled=filled))
    w = p.world
    if w is not None and w.years:
        years = np.array([y.year + 1.0 - 1 / 24 for y in w.years])
        out.append(WorldSeries(f"{w.system}: projected HPL Rmax-equivalent (year end, P10-P90)",
                               "projection", years, np.array([y.rmax_p50_pf for y in w.years]),
                               np.array([y.rmax_p10_pf for y in w.years]),
                               np.array([y.rmax_p90_pf for y in w.years]), colour="vermillion",
                               marker="D"))
    mxp = (w.lists.get("hplmxp") or {}).get("latest", {}) if w is not None else {}
    if mxp.get("value_p50_pf") and w is not None:
        at = np.array([_decimal(w.lists["month"])])
        out.append(WorldSeries(f"{w.system}: projected HPL-MxP at {w.lists['month']} (P10-P90)",
                               "projection", at, np.array([mxp["value_p50_pf"]]),
                               np.array([mxp["value_p10_pf"]]), np.array([mxp["value_p90_pf"]]),
                               colour="green", marker="*"))
    return out


def world(p: Projection, series: Sequence[WorldSeries] | None = None) -> Drawn:
    """The world-rank chart: real list entries, trends with bands, the system's projection."""
    layers = list(series) if series is not None else world_series(p)
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, 5.0)
        ax = fig.add_subplot()
        ax.set_yscale("log")
        for s in layers:
            c = OKABE_ITO[s.colour]
            if s.kind == "points":
                ax.plot(s.x, s.y, linestyle="none", marker=s.marker, markersize=4.5,
                        color=c, markerfacecolor=c if s.filled else "white", label=s.label)
            elif s.kind == "trend":
                ax.plot(s.x, s.y, color=c, linewidth=1.4, label=s.label,
                        linestyle=(0, (5, 2)) if s.filled else (0, (1.5, 1.5)))
                if s.low is not None and s.high is not None:
                    ax.fill_between(s.x, s.low, s.high, color=c, alpha=0.10, linewidth=0)
            else:
                err = None
                if s.low is not None and s.high is not None:  # a zero P10 runs off a log axis
                    low = np.maximum(s.low, s.y / 1e3)
                    err = np.array([s.y - low, s.high - s.y]).clip(min=0)
                ax.errorbar(s.x, s.y, yerr=err, color=c, marker=s.marker, markersize=7,
                            markeredgecolor="black", linewidth=1.6 if s.x.size > 1 else 0,
                            elinewidth=1.4, capsize=3, label=s.label)
        xs = np.concatenate([s.x for s in layers]) if layers else np.array([2010.0, 2030.0])
        x0 = max(float(xs.min()), 2010.0) - 0.5
        ax.set_xlim(x0, float(xs.max()) + 0.5)
        seen = np.concatenate([s.y[(s.x >= x0) & (s.y > 0)] for s in layers if s.kind != "trend"]
                              or [np.array([1.0, 1000.0])])
        # the trends' medians up to the compared month bound the top: far-out bands would
        # otherwise squeeze the part of the chart where the system sits
        until = _decimal((p.world.lists or {}).get("month", p.months[-1])) + 1.0 \
            if p.world is not None else xs.max()
        lines = np.concatenate([s.y[s.x <= until] for s in layers if s.kind == "trend"]
                               or [seen])
        ax.set_ylim(max(float(seen.min()) / 3, 1e-3), max(float(lines.max()), seen.max()) * 6)
        ax.set_xlabel("year")
        ax.set_ylabel("PF (10^15 FLOP/s), log scale")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
        ax.set_title("World rank: real TOP500 and HPL-MxP lists, trends, the projection",
                     loc="left")
        fig.legend(loc="outside lower center", fontsize=7.5, ncols=2)
    return Drawn(_svg(fig), world_finding(p))


def world_finding(p: Projection) -> str:
    w = p.world
    if w is None:
        return "No world-leading check in this scenario."
    lists = w.lists or {}
    parts = []
    for kind, name in (("top500", "HPL Rmax"), ("hplmxp", "HPL-MxP")):
        d = lists.get(kind)
        if not d:
            continue
        latest, proj = d.get("latest", {}), d.get("projected", {})
        r50 = (latest.get("rank_p50") or {}).get("text", "?")
        pr50 = (proj.get("rank_p50") or {}).get("text", "?")
        parts.append(
            f"{w.system}'s projected {name} at {lists.get('month')} (P50 "
            f"{_fmt(latest.get('value_p50_pf', float('nan')), 'PF')}) ranks {r50} on the real "
            f"{latest.get('list', '')} list; on the list projected to {lists.get('month')}: "
            f"{pr50}, P(top 10) {_pct(proj.get('p_top10') or 0.0)}")
    if not parts and w.years:
        y = w.years[-1]
        parts.append(f"{w.system} in {y.year}: {y.band} (P(top 10) {_pct(y.p_top10)})")
    return ". ".join(parts) + "."


# --- tornado --------------------------------------------------------------------------------


def tornado(p: Projection) -> Drawn:
    """Every driver of each target: its date with the input low and high, the rest at point
    values; a driver that moves no date shows how far it moves the deadline value."""
    targets = [t for t in p.targets if t.drivers]
    if not targets:
        return Drawn("", "No uncertain input moves a target (or the run was deterministic).")
    start = _m(p.months[0])
    horizon = len(p.months)

    def idx(d: str | None) -> int:
        return horizon if d is None else int((_m(d) - start).astype(int))

    heights = [0.42 * len(t.drivers) + 1.1 for t in targets]
    findings = []
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, sum(heights) + 0.8)
        axes = fig.subplots(len(targets), 1, squeeze=False,
                            gridspec_kw={"height_ratios": heights}).ravel()
        for ax, t in zip(axes, targets, strict=True):
            base = idx(t.deterministic_date)
            n = len(t.drivers)
            for row, d in enumerate(t.drivers):
                y = n - 1 - row
                lo, hi = idx(d.date_low), idx(d.date_high)
                for end, colour, hatch, which in ((lo, "sky", "", "low (P10 / without)"),
                                                  (hi, "orange", "//", "high (P90 / with)")):
                    left, width = min(base, end), abs(end - base)
                    ax.barh(y, max(width, 0.0), left=left, height=0.62, color=OKABE_ITO[colour],
                            hatch=hatch, edgecolor="#333333", linewidth=0.5,
                            label=f"input {which}" if row == 0 else None)
                    when = d.date_low if which.startswith("low") else d.date_high
                    if end != base:
                        ax.text(end + (0.6 if end > base else -0.6), y, when or "not by end",
                                va="center", ha="left" if end > base else "right", fontsize=7)
                if lo == hi == base:
                    ax.text(base + 1, y - 0.05, f"no date change; at {t.deadline}: "
                            f"{_fmt(d.value_low, t.unit)} .. {_fmt(d.value_high, t.unit)}",
                            va="center", ha="left", fontsize=7, color="#444444")
            ax.axvline(base, color="black", linewidth=1.2)
            ax.set_yticks(range(n), [_wrap(f"{d.label} ({d.low:.3g} / {d.high:.3g} {d.unit})",
                                           46) for d in reversed(t.drivers)], fontsize=7.5)
            ax.set_ylim(-0.7, n - 0.3)
            ticks = [i for i in range(horizon + 1) if (start + i).astype(str).endswith("-01")]
            ax.set_xticks(ticks, [str(start + i)[:4] for i in ticks])
            ax.set_xlim(max(min(base, *[idx(d.date_high) for d in t.drivers],
                                *[idx(d.date_low) for d in t.drivers]) - 8, -1), horizon + 8)
            ax.axvline(horizon, color="#888888", linestyle=":", linewidth=1)
            ax.set_title(f"{t.name}: date reached (point run {_date(t.deterministic_date)}, "
                         "black line)", loc="left", fontsize=10)
            ax.grid(axis="y", visible=False)
            ax.legend(fontsize=7.5, loc="lower right")
            top = t.drivers[0]
            findings.append(f"{t.name}: {len(t.drivers)} driver(s); the date swings most with "
                            f"{top.label} ({top.swing_months} months: {_date(top.date_low)} low,"
                            f" {_date(top.date_high)} high)")
        axes[-1].set_xlabel("month the target is reached (dotted: the horizon end)")
    return Drawn(_svg(fig), ". ".join(findings) + ".")


# --- per machine ----------------------------------------------------------------------------


def roofline(r: Roofline, title: str) -> str:
    """Log-log roofline: compute ceilings per precision (labelled on the chart), the STREAM
    bandwidth, and the kernels (STREAM, GEMM, the solves) as points."""
    xs = [pt.intensity for pt in r.points] + [1 / 64, 64.0]
    lo, hi = min(xs) / 2, max(xs) * 2
    grid = np.geomspace(lo, hi, 200)
    with matplotlib.rc_context(RC):
        fig = _figure(WIDTH, 4.8 + 0.17 * (len(r.points) + len(r.ceilings)) / 2)
        ax = fig.add_subplot()
        ax.set_xscale("log")
        ax.set_yscale("log")
        tops = [c.gflops for c in r.ceilings] + [pt.gflops for pt in r.points]
        top = max(tops) if tops else 1.0
        if r.bandwidth_gbs:
            under = grid[r.bandwidth_gbs * grid <= top * 1.2]
            ax.plot(under, r.bandwidth_gbs * under, color=OKABE_ITO["black"], linewidth=1.4,
                    linestyle=(0, (6, 2)),
                    label=f"STREAM triad bandwidth {r.bandwidth_gbs:,.1f} GB/s")
            if under.size:
                mid = float(np.sqrt(under[0] * under[-1]))
                ax.text(mid / 1.3, r.bandwidth_gbs * mid, f"STREAM triad {r.bandwidth_gbs:,.1f} "
                        "GB/s ", fontsize=7.5, ha="right", va="bottom")
        for c in sorted(r.ceilings, key=lambda c: (not c.measured, -c.gflops)):
            colour = OKABE_ITO[PRECISION_COLOURS.get(c.precision, "black")]
            what = "measured" if c.measured else "theoretical"
            if c.measured:  # from the ridge point (where the bandwidth meets it) to the right
                ridge = c.gflops / r.bandwidth_gbs if r.bandwidth_gbs else lo
                ax.plot([max(ridge, lo), hi], [c.gflops, c.gflops], color=colour, linewidth=2.4,
                        label=f"{c.precision.upper()} measured peak {c.gflops:,.1f} GFLOP/s")
            else:
                ax.axhline(c.gflops, color=colour, linewidth=1.0, linestyle=":",
                           label=f"{c.precision.upper()} theoretical peak {c.gflops:,.1f} "
                                 "GFLOP/s")
            # measured ceilings labelled at the right end, theoretical ones at the left, so
            # the two of one precision never print over each other
            ax.text(hi / 1.08 if c.measured else lo * 1.08,
                    c.gflops * (0.94 if c.measured else 1.05),
                    f"{c.precision.upper()} {what} {c.gflops:,.1f} GFLOP/s", fontsize=7.5,
                    color=colour, ha="right" if c.measured else "left",
                    va="top" if c.measured else "bottom")
        for i, pt in enumerate(r.points):
            ax.plot([pt.intensity], [pt.gflops], marker=MARKERS[i % len(MARKERS)],
                    color=OKABE_ITO[CYCLE[i % len(CYCLE)]], markersize=8, linestyle="none",
                    markeredgecolor="black", markeredgewidth=0.6,
                    label=f"{pt.label}: {pt.gflops:,.1f} GFLOP/s at {pt.intensity:.3g} "
                          "FLOP/B")
            if pt.family != "stream":
                ax.annotate(pt.label.split(" (")[0], (pt.intensity, pt.gflops), fontsize=7.5,
                            xytext=(6, -10), textcoords="offset points")
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom=min([pt.gflops for pt in r.points] + [top]) / 4, top=top * 3)
        ax.set_xlabel("arithmetic intensity (FLOP/byte of DRAM traffic)")
        ax.set_ylabel("performance (GFLOP/s per node)")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower center", fontsize=7.5, ncols=2)
    return _svg(fig)


def roofline_finding(r: Roofline) -> str:
    parts = []
    if r.bandwidth_gbs:
        parts.append(f"STREAM triad {r.bandwidth_gbs:,.1f} GB/s")
    theory = {c.precision: c.gflops for c in r.ceilings if not c.measured}
    for c in r.ceilings:
        if c.measured:
            share = (f" ({100 * c.gflops / theory[c.precision]:.0f}% of the theoretical "
                     f"{theory[c.precision]:,.1f})" if c.precision in theory else "")
            ridge = (f", ridge at {c.gflops / r.bandwidth_gbs:.3g} FLOP/B" if r.bandwidth_gbs
                     else "")
            parts.append(f"{c.precision.upper()} measured {c.gflops:,.1f} GFLOP/s{share}{ridge}")
    for pt in r.points:
        if pt.family != "stream":
            parts.append(f"{pt.label} {pt.gflops:,.1f} GFLOP/s at {pt.intensity:.3g} FLOP/B")
    return "; ".join(parts) + "." if parts else "No ceiling measured."


def _grid(n: int, cols: int, width: float, row_height: float) -> tuple[Figure, list[Axes]]:
    rows = math.ceil(n / cols)
    with matplotlib.rc_context(RC):
        fig = _figure(width, max(row_height * rows, 2.6))
        axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _time_axis(ax: Axes, stamps: Sequence[str]) -> None:
    t = np.array([ts[:19] for ts in stamps], dtype="datetime64[s]")
    span = max(int((t.max() - t.min()).astype(int)), 3600)
    pad = np.timedelta64(max(span // 10, 600), "s")
    ax.set_xlim(t.min() - pad, t.max() + pad)
    locator = mdates.AutoDateLocator(minticks=2, maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


#: at most this many benchmarks get a history panel (those that moved most)
HISTORY_PANELS = 8


def history(items: Sequence[History], title: str) -> str:
    """Small multiples: each benchmark's stored values over time (min-max of samples as bars)."""
    cols = 2 if len(items) > 1 else 1
    with matplotlib.rc_context(RC):
        fig, axes = _grid(len(items), cols, WIDTH, 2.5)
        for ax, h in zip(axes, items, strict=True):
            for i, s in enumerate(h.series):
                t = np.array([ts[:19] for ts in s.timestamps], dtype="datetime64[s]")
                v = np.array(s.values)
                err = np.array([v - np.array(s.lows), np.array(s.highs) - v]).clip(min=0)
                ax.errorbar(t, v, yerr=err, color=OKABE_ITO[CYCLE[i % len(CYCLE)]],
                            marker=MARKERS[i % len(MARKERS)], markersize=4, linewidth=1.2,
                            capsize=2, label=s.label)
            change = h.change()
            mark = ""
            if change is not None:
                worse = change < 0 if h.direction == "higher" else change > 0
                mark = f"  {change * 100:+.1f}%{' (worse)' if worse and abs(change) > 0.1 else ''}"
            ax.set_title(f"{h.name}{mark}", fontsize=9)
            ax.set_ylabel(h.unit, fontsize=8)
            _time_axis(ax, [ts for s in h.series for ts in s.timestamps])
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
            ax.tick_params(labelsize=7.5)
            if len(h.series) > 1:
                ax.legend(fontsize=7)
        fig.suptitle(title, fontsize=11)
        fig.supxlabel("time of the run (UTC)", fontsize=9)
    return _svg(fig)


#: how far beyond the largest measured count the scaling chart extends the fitted band
SCALING_REACH = 64


def _fit_band(ax: Any, s: Scaling) -> np.ndarray:
    """The fitted law's P10-P90 band and P50 from the smallest count to SCALING_REACH times
    the largest: the band widens with the distance from what was measured."""
    assert s.fit is not None
    lo, hi = min(s.nodes), max(s.nodes) * SCALING_REACH
    xs = np.unique(np.geomspace(lo, hi, 25).round())
    bands = np.array([s.fit.predict(x) for x in xs])
    ax.fill_between(xs, bands[:, 0], bands[:, 2], color=OKABE_ITO["orange"], alpha=0.25,
                    linewidth=0, label="fitted law, P10-P90")
    ax.plot(xs, bands[:, 1], color=OKABE_ITO["orange"], linestyle="--", linewidth=1.4,
            label=f"fitted P50: E = 1/(1 + {s.fit.a:.3f} log2 N)")
    ax.axvline(max(s.nodes), color=OKABE_ITO["black"], linestyle="-.", linewidth=0.8)
    ax.set_yscale("log")
    return np.unique(np.array([*s.nodes, *np.geomspace(max(s.nodes) * 4, hi, 3).round()]))


def scaling(items: Sequence[Scaling], title: str) -> str:
    """Throughput against node count, with ideal (linear) scaling from the smallest run."""
    cols = min(2, len(items))
    with matplotlib.rc_context(RC):
        fig, axes = _grid(len(items), cols, WIDTH if cols > 1 else 5.5, 3.0)
        for ax, s in zip(axes, items, strict=True):
            nodes = np.array(s.nodes, dtype=float)
            ax.plot(nodes, s.values, marker="o", color=OKABE_ITO["blue"], linewidth=2,
                    label="measured")
            if s.ideal:
                ax.plot(nodes, s.values[0] * nodes / nodes[0], color=OKABE_ITO["black"],
                        linestyle=":", linewidth=1.4, label="ideal (linear)")
            ticks = nodes
            if s.fit is not None:
                ticks = _fit_band(ax, s)
            ax.set_xscale("log", base=2)
            ax.set_xticks(ticks, [str(int(n)) for n in ticks])
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
            ax.set_title(s.name, fontsize=9)
            ax.set_xlabel("nodes", fontsize=8)
            ax.set_ylabel(s.unit, fontsize=8)
            ax.tick_params(labelsize=7.5)
            ax.legend(fontsize=7.5)
        fig.suptitle(title, fontsize=11)
    return _svg(fig)



# --- the report's figures, in page order ----------------------------------------------------


@dataclass(frozen=True)
class PlanFigure:
    """A plan figure's place and words; ``draw`` gives None (the figure is left out) when the
    scenario has nothing to show, e.g. no power envelope data or no world check."""

    id: str
    section: str
    nav: str
    title: str
    caption: str
    csv: str  # the CSV table holding its data
    draw: Callable[[core.Report], Drawn | None]


#: the plan figures in page order: the page, its navigation and the Markdown follow this list
PLAN_FIGURES = (
    PlanFigure(
        "fig-probability", "targets", "probability", "Probability over time: reached and kept",
        "Per target, the share of Monte Carlo samples that have reached it by each date (each "
        "reading; the plan's reading solid), the share that have reached it and not fallen back "
        "under it since, month by month (dotted area), the share reached by the deadline and "
        "held to the end (X), the deadline (dash-dot) and the retirements in the target's scope "
        "(point run, dotted).", "probability",
        lambda r: probability(r.projection, r.facts.retirements if r.facts else ())),
    PlanFigure(
        "fig-compute", "targets", "compute", "Compute capability against the target",
        "The plan's reading as a graded fan, the P10-P90 band light and the P25-P75 band darker, "
        "with its P50 line; the sustained reading beside it (hatched fan, dashed line), the "
        "target (dotted), the deadline (dash-dot), the month the P50 crosses the target "
        "(diamond) and falls back under it (triangle).", "series",
        lambda r: compute(r.projection)),
    PlanFigure(
        "fig-power", "power", "power", "Power by system under the envelope",
        "Installed facility load (IT x PUE) stacked by system in the point run, storage at the "
        "bottom and the system switched off first on top (cross-hatched where the envelope "
        "switches it off); the envelope as a step line; the Monte Carlo P50 of the installed load "
        "dashed. The legend gives each system's mixed-precision GFLOP/s per W.", "power",
        lambda r: power(r.projection, r.facts) if r.facts and r.facts.power else None),
    PlanFigure(
        "fig-storage", "storage", "storage", "Storage capacity against demand",
        "Usable capacity of the plan's reading as a graded fan (P10-P90 light, P25-P75 darker) "
        "with its P50, the centre's raw, usable and effectively usable P50, demand (data held) "
        "as a hatched graded fan with its P50, the target, the deadline and the one 'full' date "
        "(P50).",
        "series", lambda r: storage(r.projection)),
    PlanFigure(
        "fig-world", "world", "world", "World rank against the real lists",
        "Actual TOP500 (#1 filled circles, #10 open squares) and HPL-MxP (#1 triangles) entries, "
        "each series' fitted trend (dashed) with its P10-P90 band ahead of the last list, and the "
        "flagship's projected HPL Rmax-equivalent by year end and HPL-MxP at the compared month "
        "(P10-P90 bars).", "world",
        lambda r: world(r.projection) if r.projection.world is not None else None),
    PlanFigure(
        "fig-tornado", "drivers", "tornado", "Tornado: what moves each target's date",
        "Every uncertain input alone at its P10 and P90 (a yes/no phase without and with it), the "
        "rest at point values: the bar runs from the point-run date (black line) to the date with "
        "the input low (plain) and high (hatched). A driver that moves no date gives the range of "
        "the target's value at the deadline instead.", "drivers",
        lambda r: tornado(r.projection)),
)


def plan_figures(r: core.Report) -> list[core.Figure]:
    """The plan figures in ``PLAN_FIGURES`` order, those with something to show."""
    out = []
    for spec in PLAN_FIGURES:
        drawn = spec.draw(r)
        if drawn is None or not drawn.svg:
            continue
        out.append(core.Figure(spec.id, spec.title, spec.caption, drawn.finding, drawn.svg,
                               spec.section, spec.csv, spec.nav))
    return out


def machine_figures(g: MachineGroup, scal: Sequence[Scaling]) -> list[core.Figure]:
    """One kind of machine's roofline, history and scaling, each when its records allow."""
    figs = []
    roof = measured.roofline(g)
    if not roof.empty:
        figs.append(core.Figure(core.figure_id(core.ROOFLINE, g.key), "Roofline",
                                "Compute ceilings per precision (measured: solid; theoretical: "
                                "dotted; each labelled on the chart), the STREAM triad bandwidth "
                                "and the kernels placed by arithmetic intensity (compulsory DRAM "
                                "traffic): STREAM, GEMM and the solves as points.",
                                roofline_finding(roof), roofline(roof, f"Roofline: {g.label}"),
                                "measured", "measurements"))
    hist = [h for h in measured.histories(g) if any(len(s.values) > 1 for s in h.series)]
    if hist:
        worst = [f"{h.name} {h.change() * 100:+.1f}%" for h in hist
                 if h.change() is not None and abs(h.change() or 0) > 0.1]
        # a panel per benchmark is unreadable (and slow) past a few: the most moved ones
        moved = sorted(hist, key=lambda h: -abs(h.change() or 0.0))[:HISTORY_PANELS]
        shown = [h for h in hist if h in moved]
        rest = (f" The chart shows the {len(shown)} that moved most; the other "
                f"{len(hist) - len(shown)} are in the measurements table." if len(shown) <
                len(hist) else "")
        figs.append(core.Figure(core.figure_id(core.HISTORY, g.key), "History",
                                "Stored validated results per benchmark over time (bars: "
                                "min-max of the timed repetitions); each title gives the newest "
                                "value against the median of the earlier ones.",
                                f"{len(hist)} benchmark(s) stored from two or more runs; "
                                + (f"moved more than 10%: {', '.join(worst)}." if worst else
                                   "none moved more than 10%.") + rest,
                                history(shown, f"History of stored results: {g.label}"),
                                "measured", "measurements"))
    if scal:
        eff = [f"{s.name} {s.values[-1] / (s.values[0] * s.nodes[-1] / s.nodes[0]):.0%} of "
               f"linear at {s.nodes[-1]} nodes" for s in scal if s.ideal]
        fits = [f"{s.name}: {s.fit.statement(max(s.nodes) * SCALING_REACH)}" for s in scal
                if s.fit is not None]
        study = next((s.study for s in scal if s.study), "")
        figs.append(core.Figure(core.figure_id(core.SCALING, g.key), "Scaling",
                                "Throughput against node count (newest validated record per "
                                "count" + (f", scaling study {study}" if study else "") + ") "
                                "with ideal linear scaling from the smallest run; for a weak-"
                                "scaled solve the fitted law E(N) = 1/(1 + a log2 N) with its "
                                "P10-P90 band, which widens beyond the largest measured count "
                                "(dash-dot line).",
                                "; ".join([*eff, *fits]) or "No throughput benchmark to compare "
                                "with linear scaling.",
                                scaling(scal, f"Scaling: {g.label}"), "measured",
                                "measurements"))
    return figs
