"""The plain per-sample loop: the projection's definition, written for clarity, not speed.

For one input row it walks month by month over every deployment in pure
Python. The vectorised engine must give the same numbers; tests check that on
random small scenarios, and the speed benchmark times this loop as the anchor.
"""

from __future__ import annotations

import math

from models.engine import Compiled, Windows

PER_ROW = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "power_mw",
           "storage_raw_pb", "storage_usable_pb", "storage_effective_pb", "storage_demand_pb",
           "flagship_rmax_pf")


def _window(win: Windows, j: int, row: list[float], months: int) -> tuple[int, int]:
    c = int(win.c0[j])
    if win.slip_col[j] >= 0:
        c += round(12.0 * row[win.slip_col[j]])
    if win.r_fixed[j] >= 0:
        r = int(win.r_fixed[j])
    elif win.life[j] >= 0:
        r = c + int(win.life[j])
    else:
        r = months
    if win.prob_col[j] >= 0 and row[win.prob_col[j]] < 0.5:
        c = r = months
    c = min(max(c, 0), months)
    r = min(max(r, 0), months)
    return c, max(r, c)


def simulate(comp: Compiled, row: list[float]) -> dict[str, list[float]]:
    """Monthly trajectories of one input row, per metric."""
    months = comp.months
    out = {name: [0.0] * months for name in PER_ROW}
    avail, pue = row[comp.avail_col], row[comp.pue_col]
    cwin = [_window(comp.c_win, j, row, months) for j in range(comp.c_fp64.size)]
    swin = [_window(comp.s_win, j, row, months) for j in range(comp.s_raw.size)]
    growth = row[comp.growth_col] if comp.growth_col >= 0 else None
    for m in range(months):
        fp64 = mixed = hpl = mxp = it = flag = 0.0
        for j, (c, r) in enumerate(cwin):
            if c <= m < r:
                hpl_eff, mxp_eff = row[comp.c_hpl_col[j]], row[comp.c_mxp_col[j]]
                fp64 += comp.c_fp64[j]
                mixed += comp.c_mixed[j]
                hpl += comp.c_fp64[j] * hpl_eff * avail
                mxp += comp.c_mixed[j] * mxp_eff * avail
                it += comp.c_power[j]
                flag += comp.c_fp64[j] * comp.c_flag[j] * hpl_eff
        raw = usable = eff = 0.0
        for j, (c, r) in enumerate(swin):
            if c <= m < r:
                raw += comp.s_raw[j]
                usable += comp.s_usable[j]
                eff += comp.s_eff[j]
                it += comp.s_power[j]
        power = it * pue
        env = comp.envelope_mw[m]
        if comp.cap and power > env:
            factor = env / power
            fp64, mixed, hpl, mxp, flag = (v * factor for v in (fp64, mixed, hpl, mxp, flag))
        demand = 0.0
        if growth is not None:
            demand = comp.demand_pb * math.exp((m - comp.demand_at) / 12.0 * math.log1p(growth))
        for name, v in zip(PER_ROW, (fp64, mixed, hpl, mxp, power, raw, usable, eff, demand,
                                     flag), strict=True):
            out[name][m] = v
    return out


def first_above(series: list[float], threshold: float) -> int | None:
    for m, v in enumerate(series):
        if v > threshold:
            return m
    return None


def run(comp: Compiled, rows: list[list[float]]) -> dict[str, list[list[float]]]:
    """Trajectories of many rows: metric -> per-row monthly lists."""
    out: dict[str, list[list[float]]] = {name: [] for name in PER_ROW}
    for row in rows:
        traj = simulate(comp, row)
        for name in PER_ROW:
            out[name].append(traj[name])
    return out


def percentile_bands(paths: list[list[float]], qs: tuple[float, ...]) -> list[list[float]]:
    """Order-statistic percentiles per month: sorted(values)[ceil(q n) - 1]."""
    n = len(paths)
    months = len(paths[0])
    bands = []
    for q in qs:
        k = min(max(math.ceil(q * n) - 1, 0), n - 1)
        bands.append([sorted(p[m] for p in paths)[k] for m in range(months)])
    return bands
