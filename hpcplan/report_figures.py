"""The report's figures: matplotlib (no pyplot state), rendered to SVG text.

Colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies) and every series also differs by line style or marker, so a
grey-scale print still tells them apart. Every axis names its unit. SVG keeps
text as text (searchable, crisp in print) and the output is deterministic.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from hpcplan.report_measured import History, Roofline, Scaling
from models.units import PIB_IN_PB

#: Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "purple": "#CC79A7"}
CYCLE = ("blue", "vermillion", "green", "purple", "orange", "sky", "black")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")  # 10 and 7 colours: 70 pairs
PRECISION_COLOURS = {"fp64": "blue", "fp32": "vermillion", "fp16": "green", "bf16": "purple"}
RC = {"svg.fonttype": "none", "svg.hashsalt": "hpcplan", "font.size": 10,
      "axes.titlesize": 11, "axes.grid": True, "grid.color": "#d0d0d0", "grid.linewidth": 0.6,
      "axes.spines.top": False, "axes.spines.right": False, "legend.framealpha": 0.9}


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


def _target_lines(ax: Any, p: Any, metrics: set[str], scale: float, unit: str) -> None:
    for i, t in enumerate(x for x in p.targets if x.metric in metrics):
        ax.axhline(t.threshold / scale, color=OKABE_ITO["black"], linestyle=":", linewidth=1.6,
                   label=f"target: {t.name} (> {t.threshold / scale:,.0f} {unit})")
        deadline = np.datetime64(t.deadline, "M")
        ax.axvline(deadline, color="#555555", linestyle="-.", linewidth=1.0,
                   label=f"deadline {t.deadline}" if i == 0 else None)
        if t.p50_date:
            ax.plot([np.datetime64(t.p50_date, "M")], [t.threshold / scale], marker="D",
                    color=OKABE_ITO["black"], markersize=6, linestyle="none",
                    label=f"met at P50: {t.p50_date}")


def compute(p: Any) -> str:
    """Mixed-precision capability (P10-P90 band, P50) with FP64 alongside and the targets."""
    x = _months(p.months)
    with matplotlib.rc_context(RC):
        fig = _figure(9.0, 4.6)
        ax = fig.add_subplot()
        shown = [("mixed_peak_pf", "mixed precision", "blue", "sky", "-"),
                 ("fp64_peak_pf", "FP64 peak", "vermillion", "orange", "--")]
        extra = [t.metric for t in p.targets if t.metric in ("hpl_pf", "mxp_pf")]
        for m in dict.fromkeys(extra):
            shown.append((m, {"hpl_pf": "HPL-equivalent", "mxp_pf": "MxP-equivalent"}[m],
                          "green", "green", "-."))
        for metric, label, line, band, style in shown:
            b = p.bands[metric]
            ax.fill_between(x, b.p10, b.p90, color=OKABE_ITO[band], alpha=0.3, linewidth=0,
                            label=f"{label} P10-P90")
            ax.plot(x, b.p50, color=OKABE_ITO[line], linestyle=style, linewidth=2.2,
                    label=f"{label} P50")
        _target_lines(ax, p, {m for m, *_ in shown}, 1.0, "PF")
        ax.set_xlabel("month")
        ax.set_ylabel("capability (PF = 10^15 FLOP/s)")
        ax.set_ylim(bottom=0)
        ax.set_title("Compute capability over time (Monte Carlo P10-P50-P90)")
        fig.legend(loc="outside lower center", fontsize=8, ncols=3)
    return _svg(fig)


def storage(p: Any) -> str:
    """Raw, usable and effectively usable capacity against demand and the storage target."""
    x = _months(p.months)
    unit = p.storage_unit
    scale = PIB_IN_PB if unit == "PiB" else 1.0
    with matplotlib.rc_context(RC):
        fig = _figure(9.0, 4.6)
        ax = fig.add_subplot()
        for metric, label, colour, style, band in (
                ("storage_raw_pb", "raw", "green", (0, (5, 1.5)), False),
                ("storage_usable_pb", "usable", "blue", "-", True),
                ("storage_effective_pb", "effectively usable", "purple", "--", False),
                ("storage_demand_pb", "demand", "vermillion", "-", True)):
            if metric not in p.bands:
                continue
            b = p.bands[metric]
            if band:
                ax.fill_between(x, b.p10 / scale, b.p90 / scale, color=OKABE_ITO[colour],
                                alpha=0.18, linewidth=0, label=f"{label} P10-P90")
            ax.plot(x, b.p50 / scale, color=OKABE_ITO[colour], linestyle=style,
                    linewidth=2.4 if metric == "storage_demand_pb" else 2.0,
                    marker="o" if metric == "storage_demand_pb" else None, markevery=12,
                    markersize=4, label=f"{label} P50")
        _target_lines(ax, p, {t.metric for t in p.targets if t.metric.startswith("storage")},
                      scale, unit)
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
        ax.set_title("Storage capacity and demand over time")
        fig.legend(loc="outside lower center", fontsize=8, ncols=3)
    return _svg(fig)


def _wide_range(p: Any) -> float | None:
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


def roofline(r: Roofline, title: str) -> str:
    """Log-log roofline: compute ceilings per precision, the STREAM bandwidth, the kernels."""
    xs = [pt.intensity for pt in r.points] + [1 / 64, 64.0]
    lo, hi = min(xs) / 2, max(xs) * 2
    grid = np.geomspace(lo, hi, 200)
    with matplotlib.rc_context(RC):
        fig = _figure(9.0, 5.0 + 0.17 * (len(r.points) + len(r.ceilings)) / 2)
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
        for c in sorted(r.ceilings, key=lambda c: (not c.measured, -c.gflops)):
            colour = OKABE_ITO[PRECISION_COLOURS.get(c.precision, "black")]
            if c.measured:  # from the ridge point (where the bandwidth meets it) to the right
                ridge = c.gflops / r.bandwidth_gbs if r.bandwidth_gbs else lo
                ax.plot([max(ridge, lo), hi], [c.gflops, c.gflops], color=colour, linewidth=2.4,
                        label=f"{c.precision.upper()} measured peak {c.gflops:,.1f} GFLOP/s")
            else:
                ax.axhline(c.gflops, color=colour, linewidth=1.0, linestyle=":",
                           label=f"{c.precision.upper()} theoretical peak {c.gflops:,.1f} "
                                 "GFLOP/s")
        for i, pt in enumerate(r.points):
            ax.plot([pt.intensity], [pt.gflops], marker=MARKERS[i % len(MARKERS)],
                    color=OKABE_ITO[CYCLE[i % len(CYCLE)]], markersize=8, linestyle="none",
                    markeredgecolor="black", markeredgewidth=0.6,
                    label=f"{pt.label}: {pt.gflops:,.1f} GFLOP/s at {pt.intensity:.3g} "
                          "FLOP/B")
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom=min([pt.gflops for pt in r.points] + [top]) / 4, top=top * 3)
        ax.set_xlabel("arithmetic intensity (FLOP/byte of DRAM traffic)")
        ax.set_ylabel("performance (GFLOP/s per node)")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
        ax.set_title(title)
        fig.legend(loc="outside lower center", fontsize=8, ncols=2)
    return _svg(fig)


def _grid(n: int, cols: int, width: float, row_height: float) -> tuple[Figure, list[Any]]:
    rows = math.ceil(n / cols)
    with matplotlib.rc_context(RC):
        fig = _figure(width, max(row_height * rows, 2.6))
        axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _time_axis(ax: Any, stamps: Sequence[str]) -> None:
    t = np.array([ts[:19] for ts in stamps], dtype="datetime64[s]")
    span = max(int((t.max() - t.min()).astype(int)), 3600)
    pad = np.timedelta64(max(span // 10, 600), "s")
    ax.set_xlim(t.min() - pad, t.max() + pad)
    locator = mdates.AutoDateLocator(minticks=2, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def history(items: Sequence[History], title: str) -> str:
    """Small multiples: each benchmark's stored values over time (min-max of samples as bars)."""
    cols = 3 if len(items) > 4 else max(1, len(items))
    with matplotlib.rc_context(RC):
        fig, axes = _grid(len(items), cols, 10.0, 2.5)
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
            ax.tick_params(labelsize=7)
            if len(h.series) > 1:
                ax.legend(fontsize=6.5)
        fig.suptitle(title, fontsize=11)
        fig.supxlabel("time of the run (UTC)", fontsize=9)
    return _svg(fig)


def scaling(items: Sequence[Scaling], title: str) -> str:
    """Throughput against node count, with ideal (linear) scaling from the smallest run."""
    cols = min(3, len(items))
    with matplotlib.rc_context(RC):
        fig, axes = _grid(len(items), cols, 10.0 if cols > 1 else 6.0, 3.0)
        for ax, s in zip(axes, items, strict=True):
            nodes = np.array(s.nodes, dtype=float)
            ax.plot(nodes, s.values, marker="o", color=OKABE_ITO["blue"], linewidth=2,
                    label="measured")
            if s.ideal:
                ax.plot(nodes, s.values[0] * nodes / nodes[0], color=OKABE_ITO["black"],
                        linestyle=":", linewidth=1.4, label="ideal (linear)")
            ax.set_xscale("log", base=2)
            ax.set_xticks(nodes, [str(int(n)) for n in nodes])
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain_number))
            ax.set_title(s.name, fontsize=9)
            ax.set_xlabel("nodes", fontsize=8)
            ax.set_ylabel(s.unit, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=7)
        fig.suptitle(title, fontsize=11)
    return _svg(fig)
