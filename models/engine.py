"""The vectorised projection engine: input rows in, monthly trajectories out.

One row of the input matrix is one scenario realisation (a Monte Carlo
sample, the point values, or a tornado variant). For each row, every
deployment is in service from its (slipped) commissioning month to its
retirement; capability is the sum over deployments in service.

The work goes month by month for all rows at once: each metric is a vector
of one running value per row, updated by that month's start and end events.
Percentiles, target dates and power checks are reduced every month, so memory
stays at a few row vectors whatever the horizon (100,000 rows x 8 bytes is
0.8 MB per metric) and every pass runs in cache.
Percentiles are order statistics (the inverted-CDF definition, no
interpolation), so a single row, or rows that are all equal, give back
exactly that row.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from models.catalogue import resolve
from models.inputs import InputSpace
from models.schema import Scenario

QUANTILES = (0.10, 0.50, 0.90)
#: metrics with P10/P50/P90 bands (demand's band is derived exactly from the growth order stats)
BAND_METRICS = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "power_mw",
                "storage_raw_pb", "storage_usable_pb", "storage_effective_pb")
COMPUTE = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "it_power_mw", "flagship_rmax_pf")
STORAGE = ("storage_raw_pb", "storage_usable_pb", "storage_effective_pb")
#: metrics that vary between rows only by timing: few distinct values per month
FEW_VALUES = ("fp64_peak_pf", "mixed_peak_pf", "storage_raw_pb", "storage_usable_pb",
              "storage_effective_pb")
PATH_METRICS = (*BAND_METRICS, "storage_demand_pb", "flagship_rmax_pf")
NEVER = np.iinfo(np.int32).max


@functools.lru_cache(maxsize=256)
def order_index(q: float, n: int) -> int:
    """Index of the q-quantile in n sorted values (inverted CDF: the ceil(q n)-th smallest)."""
    return min(max(math.ceil(q * n) - 1, 0), n - 1)


def order_stats_1d(a: np.ndarray, qs: tuple[float, ...] = QUANTILES, *,
                   few_values: bool = False) -> np.ndarray:
    """Order statistics of one vector (one value per row); ``a`` is reordered in place.

    ``few_values``: the vector holds few distinct values (peaks that vary only
    by timing), where NumPy's SIMD sort beats partitioning; otherwise three
    single-kth partitions (the fast path) beat a sort.
    """
    n = a.size
    ks = [order_index(q, n) for q in qs]
    if few_values or n < 512 or len(ks) != 3 or not ks[0] < ks[1] < ks[2]:
        a.sort()
        return a[ks]
    k10, k50, k90 = ks
    a.partition(k50)
    left, right = a[:k50], a[k50 + 1:]
    left.partition(k10)
    right.partition(k90 - k50 - 1)
    return np.array([left[k10], a[k50], right[k90 - k50 - 1]])


def order_stats(a: np.ndarray, qs: tuple[float, ...] = QUANTILES, *,
                few_values: bool = False) -> np.ndarray:
    """Order statistics along axis 1 of a 2-D array: (len(qs), a.shape[0]); ``a`` is reordered."""
    return np.stack([order_stats_1d(row, qs, few_values=few_values) for row in a], axis=1)


@dataclass
class Compiled:
    """Per-deployment arrays, relative to the scenario start (month 0)."""

    months: int
    # compute deployments
    c_fp64: np.ndarray
    c_mixed: np.ndarray
    c_power: np.ndarray
    c_flag: np.ndarray  # 1.0 for deployments of the flagship system
    c_hpl_col: np.ndarray
    c_mxp_col: np.ndarray
    c_win: Windows
    # storage deployments
    s_raw: np.ndarray
    s_usable: np.ndarray
    s_eff: np.ndarray
    s_power: np.ndarray
    s_win: Windows
    envelope_mw: np.ndarray  # per month; inf where no limit
    cap: bool
    avail_col: int
    pue_col: int
    growth_col: int
    demand_pb: float
    demand_at: int
    flagship: str
    start_moy: int  # month of year of the first month (0 = January)
    targets: list[tuple[str, float]] = field(default_factory=list)  # (metric, threshold)


@dataclass
class Windows:
    """Commissioning and retirement rules of a set of deployments."""

    c0: np.ndarray  # commissioning month
    r_fixed: np.ndarray  # fixed retirement month or -1
    life: np.ndarray  # lifetime in months or -1
    slip_col: np.ndarray  # input column of the slip (years) or -1
    prob_col: np.ndarray  # input column of go-ahead (0/1) or -1

    def resolve(self, x: np.ndarray, months: int) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) months per row and deployment; in service for start <= m < end."""
        rows, n = x.shape[0], self.c0.size
        c = np.broadcast_to(self.c0, (rows, n)).astype(np.int64)
        slipped = self.slip_col >= 0
        if slipped.any():
            c[:, slipped] += np.rint(12.0 * x[:, self.slip_col[slipped]]).astype(np.int64)
        life_end = c + self.life
        r = np.where(self.r_fixed >= 0, self.r_fixed,
                     np.where(self.life >= 0, life_end, months))
        gated = self.prob_col >= 0
        if gated.any():
            off = np.zeros((rows, n), dtype=bool)
            off[:, gated] = x[:, self.prob_col[gated]] < 0.5
            c = np.where(off, months, c)
            r = np.where(off, months, r)
        c = np.clip(c, 0, months)
        r = np.clip(r, 0, months)
        return c, np.maximum(r, c)


def _windows(items: list, start: int, cols: dict[str, int]) -> Windows:
    def key_col(key: str) -> int:
        return cols.get(key, -1)

    return Windows(
        c0=np.array([it.commissioned - start for it in items], dtype=np.int64),
        r_fixed=np.array([it.retired - start if it.retired is not None else -1 for it in items],
                         dtype=np.int64),
        life=np.array([round(12 * it.lifetime_years) if it.lifetime_years is not None else -1
                       for it in items], dtype=np.int64),
        slip_col=np.array([key_col(f"{it.key}.slip_years") if it.planned else -1
                           for it in items], dtype=np.int64),
        prob_col=np.array([key_col(f"{it.key}.probability") for it in items], dtype=np.int64),
    )


def flagship_system(scenario: Scenario) -> str:
    """The machine compared with the TOP500: the scenario's choice, else the largest FP64 peak."""
    if scenario.world_leading.system:
        return scenario.world_leading.system
    totals: dict[str, float] = {}
    for dep in scenario.deployments:
        figs = resolve(scenario.catalogue, dep.node_type, scenario.definitions)
        totals[dep.system] = totals.get(dep.system, 0.0) + dep.count * figs.fp64_tf
    return max(totals, key=lambda k: totals[k]) if totals else ""


def compile_scenario(scenario: Scenario, space: InputSpace) -> Compiled:
    sc = scenario
    cols = {inp.key: j for j, inp in enumerate(space.inputs)}
    deps = list(sc.deployments)
    figs = [resolve(sc.catalogue, d.node_type, sc.definitions) for d in deps]
    flagship = flagship_system(sc)
    months = sc.months
    env = np.full(months, np.inf)
    for frm, mw in sc.facility.envelope_mw:
        env[max(frm - sc.start, 0):] = mw
    stor = list(sc.storage)
    comp = Compiled(
        months=months,
        c_fp64=np.array([d.count * f.fp64_tf / 1e3 for d, f in zip(deps, figs, strict=True)]),
        c_mixed=np.array([d.count * f.mixed_tf / 1e3 for d, f in zip(deps, figs, strict=True)]),
        c_power=np.array([d.count * f.power_w / 1e6 for d, f in zip(deps, figs, strict=True)]),
        c_flag=np.array([1.0 if d.system == flagship else 0.0 for d in deps]),
        c_hpl_col=np.array([cols[f"efficiency.{d.node_type}.hpl"] for d in deps], dtype=np.int64),
        c_mxp_col=np.array([cols[f"efficiency.{d.node_type}.mxp"] for d in deps], dtype=np.int64),
        c_win=_windows(deps, sc.start, cols),
        s_raw=np.array([s.raw_pb for s in stor]),
        s_usable=np.array([s.raw_pb * s.usable_fraction for s in stor]),
        s_eff=np.array([s.raw_pb * s.effective_fraction for s in stor]),
        s_power=np.array([s.power_w / 1e6 for s in stor]),
        s_win=_windows(stor, sc.start, cols),
        envelope_mw=env,
        cap=sc.facility.power_policy == "cap",
        avail_col=cols["uncertainty.availability"],
        pue_col=cols["facility.pue"],
        growth_col=cols.get("storage.demand.growth_per_year", -1),
        demand_pb=sc.demand.initial_pb if sc.demand else 0.0,
        demand_at=(sc.demand.at - sc.start) if sc.demand else 0,
        flagship=flagship,
        start_moy=sc.start % 12,
        targets=[(t.metric, t.threshold) for t in sc.targets],
    )
    return comp


@dataclass
class Result:
    """What one evaluation of input rows gives back."""

    rows: int
    bands: dict[str, np.ndarray]  # metric -> (3, months): P10, P50, P90
    met_month: np.ndarray  # (targets, rows): first month index the target is exceeded, or NEVER
    fill_month: np.ndarray  # (rows,): first month demand exceeds effective storage, or NEVER
    p_over_envelope: np.ndarray  # (months,): share of rows whose facility power is over
    flagship_year_end: np.ndarray  # (year ends, rows): flagship Rmax-equivalent PF
    year_end_index: np.ndarray  # month indices of the year ends
    paths: dict[str, np.ndarray] | None = None  # metric -> (rows, months), when asked for


class _Events:
    """Start (+weight) and end (-weight) events of a set of deployments, grouped by month."""

    def __init__(self, start: np.ndarray, end: np.ndarray, months: int) -> None:
        self.rows, self.n = start.shape
        self.size = start.size
        key = np.concatenate([start.ravel(), end.ravel()]).astype(np.int16)  # months <= 1200
        self.order = np.argsort(key, kind="stable")  # a radix sort for 16-bit keys
        self.bounds = np.searchsorted(key[self.order], np.arange(months + 1))

    def apply(self, m: int, weights: list[np.ndarray], states: list[np.ndarray]) -> None:
        """Add month m's events to the running per-row states, one state per weight."""
        lo, hi = self.bounds[m], self.bounds[m + 1]
        if lo == hi:
            return
        e = self.order[lo:hi]
        is_end = e >= self.size
        flat = np.where(is_end, e - self.size, e)
        row, unit = np.divmod(flat, self.n)
        sign = np.where(is_end, -1.0, 1.0)
        ended = row[is_end]
        for w, state in zip(weights, states, strict=True):
            # a (deployments,) vector is the same for every row; a (rows, deployments) is not
            ev = w[unit] if w.ndim == 1 else w.reshape(-1)[flat]
            np.add.at(state, row, ev * sign)
            # a retirement cancels its addition only to rounding: snap such residues to zero
            if ended.size:
                state[ended[np.abs(state[ended]) < 1e-9]] = 0.0


def evaluate(comp: Compiled, x: np.ndarray, *, keep_paths: bool = False) -> Result:
    """Evaluate input rows ``x`` (rows, inputs), month by month over all rows at once.

    The per-row state of each metric is a vector updated by that month's start
    and end events (``np.add.at``); a month's reductions (percentiles, target
    crossings, power checks) run on vectors of one value per row, which stay in
    cache: the work is linear in rows x months and memory is a few row vectors.
    """
    rows, months = x.shape[0], comp.months
    avail, pue = x[:, comp.avail_col], x[:, comp.pue_col]

    c_start, c_end = comp.c_win.resolve(x, months)
    hpl_eff = x[:, comp.c_hpl_col] if comp.c_hpl_col.size else np.zeros((rows, 0))
    mxp_eff = x[:, comp.c_mxp_col] if comp.c_mxp_col.size else np.zeros((rows, 0))
    state = {name: np.zeros(rows) for name in (*COMPUTE, *STORAGE)}
    c_names = ["fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "it_power_mw",
               "flagship_rmax_pf"]
    c_weights = [
        comp.c_fp64,
        comp.c_mixed,
        np.ascontiguousarray(comp.c_fp64 * hpl_eff * avail[:, None]),
        np.ascontiguousarray(comp.c_mixed * mxp_eff * avail[:, None]),
        comp.c_power,
        np.ascontiguousarray(comp.c_fp64 * comp.c_flag * hpl_eff),
    ]
    c_events = _Events(c_start, c_end, months)
    s_events = None
    if comp.s_raw.size:
        s_start, s_end = comp.s_win.resolve(x, months)
        s_events = _Events(s_start, s_end, months)
        s_weights = [comp.s_raw, comp.s_usable, comp.s_eff, comp.s_power]
        s_names = ["storage_raw_pb", "storage_usable_pb", "storage_effective_pb", "it_power_mw"]

    demand = None
    if comp.growth_col >= 0:
        log_growth = np.log1p(x[:, comp.growth_col])
        demand = comp.demand_pb * np.exp((-comp.demand_at / 12.0) * log_growth)
        monthly = np.exp(log_growth / 12.0)

    bands = {m: np.empty((len(QUANTILES), months)) for m in BAND_METRICS}
    met = np.full((len(comp.targets), rows), NEVER, dtype=np.int32)
    fill = np.full(rows, NEVER, dtype=np.int32)
    p_over = np.empty(months)
    year_end = np.array([m for m in range(months) if (comp.start_moy + m) % 12 == 11],
                        dtype=np.int64)
    flag_ye = np.empty((year_end.size, rows))
    paths = {m: np.empty((rows, months)) for m in PATH_METRICS} if keep_paths else None
    zeros = np.zeros(rows)
    ye = 0

    for m in range(months):
        c_events.apply(m, c_weights, [state[n] for n in c_names])
        if s_events is not None:
            s_events.apply(m, s_weights, [state[n] for n in s_names])
        power = state["it_power_mw"] * pue
        over = power > comp.envelope_mw[m]
        n_over = int(np.count_nonzero(over))
        p_over[m] = n_over / rows
        value = {"power_mw": power, "storage_raw_pb": state["storage_raw_pb"],
                 "storage_usable_pb": state["storage_usable_pb"],
                 "storage_effective_pb": state["storage_effective_pb"]}
        capped = comp.cap and n_over > 0
        if capped:  # envelope / power where over (the envelope is finite there), else 1
            factor = comp.envelope_mw[m] / np.maximum(power, comp.envelope_mw[m])
        for name in ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "flagship_rmax_pf"):
            value[name] = state[name] * factor if capped else state[name]
        if demand is not None:
            if m:
                demand *= monthly
            _first(demand > value["storage_effective_pb"], m, fill)
            value["storage_demand_pb"] = demand
        else:
            value["storage_demand_pb"] = zeros
        for i, (name, threshold) in enumerate(comp.targets):
            _first(value[name] > threshold, m, met[i])
        if ye < year_end.size and year_end[ye] == m:
            flag_ye[ye] = value["flagship_rmax_pf"]
            ye += 1
        if paths is not None:
            for name in PATH_METRICS:
                paths[name][:, m] = value[name]
        for name in BAND_METRICS:  # last: order statistics reorder the vector in place
            fresh = name == "power_mw" or (capped and name in CAPPED)
            work = value[name] if fresh else value[name].copy()
            bands[name][:, m] = order_stats_1d(work, few_values=name in FEW_VALUES)
    return Result(rows, bands, met, fill, p_over, flag_ye, year_end, paths)


#: metrics that ``evaluate`` rebuilds (not a view of the running state) when power is capped
CAPPED = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf")


def _first(hit: np.ndarray, m: int, first: np.ndarray) -> None:
    """Record month m for rows hit now and not hit before."""
    new = hit & (first == NEVER)
    first[new] = m
