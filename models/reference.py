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
SCOPED_C = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf")
SCOPED_S = ("storage_raw_pb", "storage_usable_pb", "storage_effective_pb")


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
    """Monthly trajectories of one input row, per metric (scoped metrics as ``name@scope``)."""
    months = comp.months
    scopes = list(comp.scopes)
    names = [*PER_ROW, *(f"{n}@{s}" for s in scopes for n in (*SCOPED_C, *SCOPED_S))]
    out = {name: [0.0] * months for name in names}
    avail, pue = row[comp.avail_col], row[comp.pue_col]
    n_c = comp.c_count.size
    cwin = [_window(comp.c_win, j, row, months) for j in range(n_c)]
    swin = [_window(comp.s_win, j, row, months) for j in range(comp.s_raw.size)]
    count = [row[comp.c_count_col[j]] if comp.c_count_col[j] >= 0 else comp.c_count[j]
             for j in range(n_c)]
    growth = row[comp.growth_col] if comp.growth_col >= 0 else None
    for m in range(months):
        live = [c <= m < r for c, r in cwin]
        it = sum(count[j] * comp.c_power_node[j] for j in range(n_c) if live[j])
        s_live = [c <= m < r for c, r in swin]
        it += sum(comp.s_power[j] for j in range(comp.s_raw.size) if s_live[j])
        power = it * pue
        env = comp.envelope_mw[m]
        on = list(live)
        if comp.policy == "shed" and power > env:
            left = power
            for j in comp.c_merit:  # least GFLOP/s per W first, until the load fits
                if left <= env:
                    break
                mw = count[j] * comp.c_power_node[j] * pue
                if on[j] and mw > 0:
                    on[j] = False
                    left -= mw
        factor = env / power if comp.policy == "prorata" and power > env else 1.0
        v: dict[str, float] = dict.fromkeys(names, 0.0)
        for j in range(n_c):
            if not on[j]:
                continue
            hpl_eff, mxp_eff = row[comp.c_hpl_col[j]], row[comp.c_mxp_col[j]]
            fp64 = count[j] * comp.c_fp64_node[j] * factor
            mixed = count[j] * comp.c_mixed_node[j] * factor
            add = {"fp64_peak_pf": fp64, "mixed_peak_pf": mixed,
                   "hpl_pf": fp64 * hpl_eff * avail, "mxp_pf": mixed * mxp_eff * avail}
            for name, val in add.items():
                v[name] += val
                for s in scopes:
                    v[f"{name}@{s}"] += val * comp.scopes[s][0][j]
            v["flagship_rmax_pf"] += fp64 * comp.c_flag[j] * hpl_eff
        for j in range(comp.s_raw.size):
            if s_live[j]:
                add = {"storage_raw_pb": comp.s_raw[j], "storage_usable_pb": comp.s_usable[j],
                       "storage_effective_pb": comp.s_eff[j]}
                for name, val in add.items():
                    v[name] += val
                    for s in scopes:
                        v[f"{name}@{s}"] += val * comp.scopes[s][1][j]
        v["power_mw"] = power
        if growth is not None:
            v["storage_demand_pb"] = comp.demand_pb * math.exp(
                (m - comp.demand_at) / 12.0 * math.log1p(growth))
        for name in names:
            out[name][m] = v[name]
    return out


def first_above(series: list[float], threshold: float) -> int | None:
    for m, v in enumerate(series):
        if v > threshold:
            return m
    return None


def run(comp: Compiled, rows: list[list[float]]) -> dict[str, list[list[float]]]:
    """Trajectories of many rows: metric -> per-row monthly lists."""
    out: dict[str, list[list[float]]] = {}
    for row in rows:
        for name, series in simulate(comp, row).items():
            out.setdefault(name, []).append(series)
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
