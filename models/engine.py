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

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
#: row of each quantile in a band array: ``bands[metric][P50]`` is the monthly median; read
#: rows by these names, never by a bare position, so adding a quantile moves no reader
P10, P25, P50, P75, P90 = (QUANTILES.index(q) for q in (0.10, 0.25, 0.50, 0.75, 0.90))
#: metrics with P10-P90 bands (demand's band is derived exactly from the growth order stats)
BAND_METRICS = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "power_mw",
                "storage_raw_pb", "storage_usable_pb", "storage_effective_pb")
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
    """Order statistics of one vector (one value per row); ``a`` may be reordered in place.

    ``few_values``: the vector holds few distinct values (peaks that vary only
    by timing), where NumPy's SIMD sort wins; up to ``_BRACKETED`` values one
    partition at every statistic at once is cheapest. Otherwise one strided
    sample, sorted once for every statistic, brackets each of them and only the
    elements inside a bracket are partitioned (Floyd-Rivest selection). The
    sample grows as n^(2/3) and a bracket is a few standard errors wide, so
    each statistic costs a few passes over ``a`` and a narrow partition, not a
    full one. A bracket that misses falls back to a full partition, so the
    result is always the exact order statistic.
    """
    n = a.size
    ks = [order_index(q, n) for q in qs]
    if few_values or n < 4096:
        a.sort()
        return a[ks]
    if n < _BRACKETED:
        a.partition(ks)
        return a[ks]
    s = np.sort(a[::max(n // round(_SAMPLE * n ** (2 / 3)), 1)])
    return np.array([_select(a, k, s) for k in ks])


#: fewest values worth bracketing (below, one multi-statistic partition is faster); sample
#: size factor (x n^(2/3)); bracket half-width in standard errors of a sample rank
_BRACKETED, _SAMPLE, _Z = 16_384, 3.0, 4.0


def _select(a: np.ndarray, k: int, s: np.ndarray) -> float:
    """The k-th smallest of ``a``, bracketed by the sorted sample ``s`` of it."""
    n, m = a.size, s.size
    j = k * m // n
    r = math.ceil(_Z * math.sqrt(j * (m - j) / m)) + 1
    lo = s[j - r] if j >= r else -np.inf
    hi = s[j + r] if j + r < m else np.inf
    # one value fills the bracket (e.g. nothing in service yet): count it, copy nothing
    if lo == hi and np.count_nonzero(a < lo) <= k < n - np.count_nonzero(a > hi):
        return float(lo)
    ge = a >= lo
    below = n - int(np.count_nonzero(ge))
    inside = np.compress(ge & (a <= hi), a)  # a boolean index is slower on a sparse mask
    if below <= k < below + inside.size:
        return float(np.partition(inside, k - below)[k - below])
    return float(np.partition(a, k)[k])


def order_stats(a: np.ndarray, qs: tuple[float, ...] = QUANTILES, *,
                few_values: bool = False) -> np.ndarray:
    """Order statistics along axis 1 of a 2-D array: (len(qs), a.shape[0]); ``a`` is reordered."""
    return np.stack([order_stats_1d(row, qs, few_values=few_values) for row in a], axis=1)


@dataclass
class Compiled:
    """Per-deployment arrays, relative to the scenario start (month 0)."""

    months: int
    # compute deployments: per-node figures, counts (point, or an input column)
    c_count: np.ndarray
    c_count_col: np.ndarray  # input column of an uncertain size, or -1
    c_fp64_node: np.ndarray  # PF per node
    c_mixed_node: np.ndarray
    c_power_node: np.ndarray  # MW per node (IT)
    c_flag: np.ndarray  # 1.0 for deployments of the flagship system
    c_hpl_col: np.ndarray
    c_mxp_col: np.ndarray
    c_win: Windows
    c_merit: np.ndarray  # shedding order: ascending mixed-precision GFLOP/s per W
    # storage deployments
    s_raw: np.ndarray
    s_usable: np.ndarray
    s_eff: np.ndarray
    s_power: np.ndarray
    s_win: Windows
    envelope_mw: np.ndarray  # per month; inf where no limit
    policy: str  # flag | shed | prorata
    avail_col: int
    pue_col: int
    growth_col: int
    demand_pb: float
    demand_at: int
    flagship: str
    start_moy: int  # month of year of the first month (0 = January)
    #: scope name -> (compute mask, storage mask); the targets' scopes other than the centre
    scopes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    targets: list[tuple[str, float]] = field(default_factory=list)  # (metric key, threshold)

    @property
    def c_fp64(self) -> np.ndarray:
        """PF per deployment at its point size."""
        return self.c_count * self.c_fp64_node

    @property
    def c_mixed(self) -> np.ndarray:
        return self.c_count * self.c_mixed_node

    @property
    def c_power(self) -> np.ndarray:
        return self.c_count * self.c_power_node

    def counts(self, x: np.ndarray) -> np.ndarray:
        """Nodes per row and deployment: (rows, deployments) when a size is uncertain."""
        sized = self.c_count_col >= 0
        if not sized.any():
            return self.c_count
        out = np.broadcast_to(self.c_count, (x.shape[0], self.c_count.size)).copy()
        out[:, sized] = x[:, self.c_count_col[sized]]
        return out


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
    from models.readings import readings

    sc = scenario
    cols = {inp.key: j for j, inp in enumerate(space.inputs)}
    deps = list(sc.deployments)
    memo: dict = {}
    figs = [resolve(sc.catalogue, d.node_type, sc.definitions, memo) for d in deps]
    flagship = flagship_system(sc)
    months = sc.months
    env = np.full(months, np.inf)
    for frm, mw in sc.facility.envelope_mw:
        env[max(frm - sc.start, 0):] = mw
    stor = list(sc.storage)
    merit = np.array([f.gflops_per_w for f in figs])
    all_readings = [r for t in sc.targets for r in readings(t)]
    scopes = {}
    for r in all_readings:
        if r.scope:
            name = "+".join(r.scope)
            scopes[name] = (np.array([1.0 if d.system in r.scope else 0.0 for d in deps]),
                            np.array([1.0 if s.system in r.scope else 0.0 for s in stor]))
    return Compiled(
        months=months,
        c_count=np.array([float(d.count) for d in deps]),
        c_count_col=np.array([cols.get(f"{d.key}.count", -1) for d in deps], dtype=np.int64),
        c_fp64_node=np.array([f.fp64_tf / 1e3 for f in figs]),
        c_mixed_node=np.array([f.mixed_tf / 1e3 for f in figs]),
        c_power_node=np.array([f.power_w / 1e6 for f in figs]),
        c_flag=np.array([1.0 if d.system == flagship else 0.0 for d in deps]),
        c_hpl_col=np.array([cols[f"efficiency.{d.node_type}.hpl"] for d in deps], dtype=np.int64),
        c_mxp_col=np.array([cols[f"efficiency.{d.node_type}.mxp"] for d in deps], dtype=np.int64),
        c_win=_windows(deps, sc.start, cols),
        c_merit=np.argsort(merit, kind="stable"),
        s_raw=np.array([s.raw_pb for s in stor]),
        s_usable=np.array([s.raw_pb * s.usable_fraction for s in stor]),
        s_eff=np.array([s.raw_pb * s.effective_fraction for s in stor]),
        s_power=np.array([s.power_w / 1e6 for s in stor]),
        s_win=_windows(stor, sc.start, cols),
        envelope_mw=env,
        policy=sc.facility.power_policy,
        avail_col=cols["uncertainty.availability"],
        pue_col=cols["facility.pue"],
        growth_col=cols.get("storage.demand.growth_per_year", -1),
        demand_pb=sc.demand.initial_pb if sc.demand else 0.0,
        demand_at=(sc.demand.at - sc.start) if sc.demand else 0,
        flagship=flagship,
        start_moy=sc.start % 12,
        scopes=scopes,
        targets=[(r.key, t.threshold) for t in sc.targets for r in readings(t)],
    )


@dataclass
class Result:
    """What one evaluation of input rows gives back."""

    rows: int
    #: metric -> (len(QUANTILES), months); read a row with P10, P25, P50, P75 or P90
    bands: dict[str, np.ndarray]
    met_month: np.ndarray  # (readings, rows): first month index the reading is exceeded, or NEVER
    fill_month: np.ndarray  # (rows,): first month demand exceeds effective storage, or NEVER
    p_over_envelope: np.ndarray  # (months,): share of rows whose installed load is over
    flagship_year_end: np.ndarray  # (year ends, rows): flagship Rmax-equivalent PF
    year_end_index: np.ndarray  # month indices of the year ends
    paths: dict[str, np.ndarray] | None = None  # metric -> (rows, months), when asked for
    p_shed: np.ndarray | None = None  # (deployments, months): share of rows with it switched off
    #: (readings, rows): first month index back at or under the threshold after first
    #: reaching it (it was held until the month before), or NEVER: held to the horizon end
    fell_month: np.ndarray | None = None
    flagship_mxp_year_end: np.ndarray | None = None  # (year ends, rows): flagship HPL-MxP PF


class _Events:
    """Start (+weight) and end (-weight) events of a set of deployments, grouped by month."""

    def __init__(self, start: np.ndarray, end: np.ndarray, months: int) -> None:
        self.rows, self.n = start.shape
        self.size = start.size
        key = np.concatenate([start.ravel(), end.ravel()]).astype(np.int16)  # months <= 1200
        self.order = np.argsort(key, kind="stable")  # a radix sort for 16-bit keys
        self.bounds = np.searchsorted(key[self.order], np.arange(months + 1))

    def apply(self, m: int, weights: list[np.ndarray], states: list[np.ndarray]) -> np.ndarray:
        """Add month m's events to the running per-row states; the rows touched."""
        lo, hi = self.bounds[m], self.bounds[m + 1]
        if lo == hi:
            return _NO_ROWS
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
        return row


_NO_ROWS = np.zeros(0, dtype=np.int64)
#: compute metrics (centre-wide names); a scope adds "name@scope" for the first four
C_METRICS = ("fp64_peak_pf", "mixed_peak_pf", "hpl_pf", "mxp_pf", "flagship_rmax_pf")
S_METRICS = ("storage_raw_pb", "storage_usable_pb", "storage_effective_pb")


def _weights(comp: Compiled, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-deployment contribution of each metric: (deployments,) or (rows, deployments)."""
    rows = x.shape[0]
    avail = x[:, comp.avail_col]
    counts = comp.counts(x)
    fp64, mixed = counts * comp.c_fp64_node, counts * comp.c_mixed_node
    hpl_eff = x[:, comp.c_hpl_col] if comp.c_hpl_col.size else np.zeros((rows, 0))
    mxp_eff = x[:, comp.c_mxp_col] if comp.c_mxp_col.size else np.zeros((rows, 0))
    w = {
        "fp64_peak_pf": fp64,
        "mixed_peak_pf": mixed,
        "hpl_pf": np.ascontiguousarray(fp64 * hpl_eff * avail[:, None]),
        "mxp_pf": np.ascontiguousarray(mixed * mxp_eff * avail[:, None]),
        "flagship_rmax_pf": np.ascontiguousarray(fp64 * comp.c_flag * hpl_eff),
        "flagship_mxp_pf": np.ascontiguousarray(mixed * comp.c_flag * mxp_eff),
        "it_power_mw": counts * comp.c_power_node,
    }
    wanted = {key for key, _ in comp.targets}
    for scope, (mask, _) in comp.scopes.items():
        for name in C_METRICS[:4]:
            if f"{name}@{scope}" in wanted:  # only the scoped metrics a reading counts
                w[f"{name}@{scope}"] = np.ascontiguousarray(w[name] * mask)
    return w


class _Shedder:
    """Merit-order power shedding: whole deployments off, least GFLOP/s per W first.

    A deployment is off in a month when it is in service and the facility load
    left after switching off every in-service deployment before it in the merit
    order is still above the envelope. Only rows whose load or envelope changed
    are recomputed; the losses per metric are kept per row.
    """

    def __init__(self, comp: Compiled, start: np.ndarray, end: np.ndarray,
                 weights: dict[str, np.ndarray], names: list[str], rows: int) -> None:
        self.comp, self.start, self.end, self.names = comp, start, end, names
        self.weights = weights
        self.loss = {n: np.zeros(rows) for n in names}
        self.off = np.zeros((rows, start.shape[1]), dtype=bool)
        self.any_off = np.zeros(rows, dtype=bool)
        self.count = np.zeros(start.shape[1], dtype=np.int64)

    def update(self, m: int, rows: np.ndarray | None, load: np.ndarray, pue: np.ndarray,
               env: float) -> None:
        """Recompute the rows whose load changed (``None``: every row, the envelope moved)."""
        pick = (load > env) | self.any_off
        if rows is not None:
            touched = np.zeros(load.size, dtype=bool)
            touched[rows] = True
            pick &= touched
        d = np.flatnonzero(pick)
        if d.size == 0:
            return
        order = self.comp.c_merit
        live = (self.start[d] <= m) & (m < self.end[d])
        wp = self.weights["it_power_mw"]
        dep_mw = (wp[d] if wp.ndim == 2 else wp) * pue[d, None]
        pw = np.where(live, dep_mw, 0.0)[:, order]
        before = np.cumsum(pw, axis=1) - pw
        off_o = (pw > 0) & (load[d, None] - before > env)
        off = np.empty_like(off_o)
        off[:, order] = off_o
        self.count += off.sum(axis=0) - self.off[d].sum(axis=0)
        self.off[d] = off
        self.any_off[d] = off.any(axis=1)
        offf = off.astype(float)
        for n in self.names:
            w = self.weights[n]
            self.loss[n][d] = (np.einsum("ij,ij->i", offf, w[d]) if w.ndim == 2 else offf @ w)


def evaluate(comp: Compiled, x: np.ndarray, *, keep_paths: bool = False,
             only_bands: tuple[str, ...] | None = None) -> Result:
    """Evaluate input rows ``x`` (rows, inputs), month by month over all rows at once.

    The per-row state of each metric is a vector updated by that month's start
    and end events (``np.add.at``); a month's reductions (percentiles, target
    crossings, power checks) run on vectors of one value per row, which stay in
    cache: the work is linear in rows x months and memory is a few row vectors.
    """
    rows, months = x.shape[0], comp.months
    pue = x[:, comp.pue_col]
    c_start, c_end = comp.c_win.resolve(x, months)
    weights = _weights(comp, x)
    c_names = [n for n in weights if n != "it_power_mw"]
    state = {name: np.zeros(rows) for name in (*weights, *S_METRICS)}
    c_events = _Events(c_start, c_end, months)
    s_events = None
    s_names = [*S_METRICS, "it_power_mw"]
    s_weights = [comp.s_raw, comp.s_usable, comp.s_eff, comp.s_power]
    wanted = {key for key, _ in comp.targets}
    for scope, (_, mask) in comp.scopes.items():
        for name, w in zip(S_METRICS, (comp.s_raw, comp.s_usable, comp.s_eff), strict=True):
            if f"{name}@{scope}" not in wanted:
                continue
            s_names.append(f"{name}@{scope}")
            s_weights.append(w * mask)
            state[f"{name}@{scope}"] = np.zeros(rows)
    if comp.s_raw.size:
        s_start, s_end = comp.s_win.resolve(x, months)
        s_events = _Events(s_start, s_end, months)
    shedder = (_Shedder(comp, c_start, c_end, weights, c_names, rows)
               if comp.policy == "shed" and c_names else None)
    p_shed = np.zeros((comp.c_count.size, months))

    demand = None
    if comp.growth_col >= 0:
        log_growth = np.log1p(x[:, comp.growth_col])
        demand = comp.demand_pb * np.exp((-comp.demand_at / 12.0) * log_growth)
        monthly = np.exp(log_growth / 12.0)

    band_names = [*BAND_METRICS, *(n for n in state if "@" in n)]
    if only_bands is not None:  # a counterfactual needs the targets' bands only
        band_names = [n for n in band_names if n in only_bands]
    bands = {m: np.empty((len(QUANTILES), months)) for m in band_names}
    met = np.full((len(comp.targets), rows), NEVER, dtype=np.int32)
    fell = np.full((len(comp.targets), rows), NEVER, dtype=np.int32)
    fill = np.full(rows, NEVER, dtype=np.int32)
    p_over = np.empty(months)
    year_end = np.array([m for m in range(months) if (comp.start_moy + m) % 12 == 11],
                        dtype=np.int64)
    flag_ye = np.empty((year_end.size, rows))
    flag_mxp_ye = np.empty((year_end.size, rows))
    path_names = [*PATH_METRICS, *(n for n in state if "@" in n)]
    paths = {m: np.empty((rows, months)) for m in path_names} if keep_paths else None
    zeros = np.zeros(rows)
    ye = 0
    sized = bool((comp.c_count_col >= 0).any())  # uncertain sizes: peaks take many values
    few = {n for n in FEW_VALUES if not (sized and n in C_METRICS)}

    for m in range(months):
        touched = c_events.apply(m, [weights[n] for n in c_names] + [weights["it_power_mw"]],
                                 [state[n] for n in c_names] + [state["it_power_mw"]])
        if s_events is not None:
            s_touched = s_events.apply(m, s_weights, [state[n] for n in s_names])
            touched = np.concatenate([touched, s_touched]) if s_touched.size else touched
        power = state["it_power_mw"] * pue
        env = comp.envelope_mw[m]
        over = power > env
        n_over = int(np.count_nonzero(over))
        p_over[m] = n_over / rows
        value = {n: state[n] for n in state if n != "it_power_mw"}
        value["power_mw"] = power
        fresh = {"power_mw"}
        if shedder is not None:
            changed = m == 0 or env != comp.envelope_mw[m - 1]
            shedder.update(m, None if changed else touched, power, pue, env)
            p_shed[:, m] = shedder.count / rows
            if shedder.any_off.any():
                for n in c_names:
                    value[n] = state[n] - shedder.loss[n]
                    fresh.add(n)
        elif comp.policy == "prorata" and n_over > 0:
            factor = env / np.maximum(power, env)  # envelope / power where over, else 1
            for n in c_names:
                value[n] = state[n] * factor
                fresh.add(n)
        if demand is not None:
            if m:
                demand *= monthly
            _first(demand > value["storage_effective_pb"], m, fill)
            value["storage_demand_pb"] = demand
        else:
            value["storage_demand_pb"] = zeros
        for i, (name, threshold) in enumerate(comp.targets):
            above = value[name] > threshold
            _first(above, m, met[i])
            _first((met[i] != NEVER) & ~above, m, fell[i])
        if ye < year_end.size and year_end[ye] == m:
            flag_ye[ye] = value["flagship_rmax_pf"]
            flag_mxp_ye[ye] = value["flagship_mxp_pf"]
            ye += 1
        if paths is not None:
            for name in path_names:
                paths[name][:, m] = value[name]
        for name in band_names:  # last: order statistics reorder the vector in place
            work = value[name] if name in fresh else value[name].copy()
            bands[name][:, m] = order_stats_1d(work, few_values=name.split("@")[0] in few)
    return Result(rows, bands, met, fill, p_over, flag_ye, year_end, paths,
                  p_shed if shedder is not None else None, fell, flag_mxp_ye)


def _first(hit: np.ndarray, m: int, first: np.ndarray) -> None:
    """Record month m for rows hit now and not hit before."""
    new = hit & (first == NEVER)
    first[new] = m
