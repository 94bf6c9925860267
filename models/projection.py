"""``project(scenario, samples, seed) -> Projection``: the whole answer for one scenario.

A projection holds the monthly date axis, the deterministic trajectories (all
inputs at their point values), the Monte Carlo P10/P25/P50/P75/P90 bands, per target
the P50/P90 dates, the probability by the deadline and by year, the power at
the P50 date and the top drivers (a tornado ranking), the binding constraint
per year, when storage fills, the world-leading check, every input with its
distribution and provenance, and the definitions the numbers follow.
``to_dict()`` gives plain JSON-ready data (lists, not arrays) for --json and
for reports.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from models import engine, timeaxis
from models import inputs as inputs_mod
from models.catalogue import resolve
from models.distributions import Bernoulli
from models.readings import metric_key, readings
from models.schema import METRICS, Provenance, Scenario
from models.units import PIB_IN_PB

DEFAULT_SAMPLES = 10_000
#: metric name -> unit, for everything a projection carries per month
UNITS = {
    "fp64_peak_pf": "PF", "mixed_peak_pf": "PF", "hpl_pf": "PF", "mxp_pf": "PF",
    "power_mw": "MW", "storage_raw_pb": "PB", "storage_usable_pb": "PB",
    "storage_effective_pb": "PB", "storage_demand_pb": "PB", "flagship_rmax_pf": "PF",
}


@dataclass(frozen=True)
class Band:
    """One metric's monthly Monte Carlo order statistics: a graded fan around the P50."""

    p10: np.ndarray
    p25: np.ndarray
    p50: np.ndarray
    p75: np.ndarray
    p90: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray | list[np.ndarray]) -> Band:
        """From rows in ``engine.QUANTILES`` order, each taken by its name."""
        return cls(p10=rows[engine.P10], p25=rows[engine.P25], p50=rows[engine.P50],
                   p75=rows[engine.P75], p90=rows[engine.P90])


@dataclass(frozen=True)
class Driver:
    """One row of the tornado: the input at its low and high value, all else at point values."""

    key: str
    label: str
    unit: str
    low: float
    high: float
    date_low: str | None  # target date with the input low (None: not met in the horizon)
    date_high: str | None
    swing_months: int  # |date_high - date_low|, not met counting as the horizon end + 1
    value_low: float  # target metric at the deadline
    value_high: float


@dataclass(frozen=True)
class ReadingResult:
    """One way of counting a target: its metric in its scope, with its own dates."""

    metric: str
    scope: tuple[str, ...]  # (): the whole centre
    label: str
    declared: bool  # the target as declared (the plan's reading)
    deterministic_date: str | None
    p10_date: str | None
    p50_date: str | None
    p90_date: str | None
    probability_by_deadline: float
    value_at_deadline_p50: float
    probability_by_year: dict[int, float]


@dataclass(frozen=True)
class Counterfactual:
    """One re-run with one thing changed, paired with the baseline on the same rows."""

    key: str
    label: str
    kind: str  # "constraint" (a relaxation) or "lever" (an action)
    p50_date: str | None
    probability_by_deadline: float
    months_gained: int  # > 0: the P50 reached date moves earlier by this much
    probability_change: float  # change in P(by deadline)


@dataclass(frozen=True)
class YearBinding:
    """What binds a target in one year: the relaxation that raises its year-end P50 most."""

    year: int
    constraint: str  # a Counterfactual key, "met" (above the threshold), or "none"
    gain: float  # year-end P50 gained by relaxing it, in the target's unit
    months: int  # what the constraint costs the reached date (its months_gained)


@dataclass(frozen=True)
class TargetResult:
    key: str
    name: str
    metric: str
    unit: str
    threshold: float
    threshold_text: str
    deadline: str
    deterministic_date: str | None
    p50_date: str | None  # met by this month in half of the samples (None: not in the horizon)
    p90_date: str | None  # met by this month in 90 % of the samples
    probability_by_deadline: float
    probability_by_year: dict[int, float]
    power_at_p50_mw: float | None  # facility power (P50) in the P50 month
    value_at_deadline_p50: float
    drivers: tuple[Driver, ...] = ()
    scope: tuple[str, ...] = ()  # the systems the declared reading counts; (): the centre
    readings: tuple[ReadingResult, ...] = ()  # the declared reading first, then the others
    p10_date: str | None = None  # reached by this month in 10 % of samples (the early case)
    sustain_until: str = ""  # the month it must be held to
    probability_kept: float = 0.0  # reached by the deadline and held to sustain_until
    falls_back_p50: str | None = None  # first month the P50 is back under, after reaching it
    constraints: tuple[Counterfactual, ...] = ()
    binding_by_year: tuple[YearBinding, ...] = ()
    levers: tuple[Counterfactual, ...] = ()
    #: per month, the share of samples that have reached the target (plan's reading) and
    #: have not fallen back under it since: "reached and still held that month"
    held_by_month: tuple[float, ...] = ()


def held_share(met: np.ndarray, fell: np.ndarray | None, months: int) -> np.ndarray:
    """Per month m, the share of rows with met <= m < fell (reached, not yet fallen back)."""
    rows = max(met.size, 1)
    reached = np.cumsum(np.bincount(met[met < months], minlength=months)[:months])
    if fell is None:
        return reached / rows
    back = np.cumsum(np.bincount(fell[fell < months], minlength=months)[:months])
    return (reached - back) / rows


@dataclass(frozen=True)
class YearConstraint:
    year: int
    binding: str  # per target, the constraint whose relaxation raises its year-end P50 most
    pressures: dict[str, float]  # need / capacity at the year end (P50), for information
    power_p50_mw: float
    envelope_mw: float | None
    over_envelope: bool  # P50 facility power above the envelope at some month of the year
    p_over_envelope: float  # largest monthly share of samples above the envelope in the year


@dataclass(frozen=True)
class StorageFill:
    """When storage is full: capacity exhausted by demand, a question apart from a target."""

    deterministic_date: str | None  # point run
    p50_date: str | None  # THE full date (see FULL_DEFINITION)
    p10_date: str | None  # full by this month in 10 % of the samples (the early case)
    probability_full_by_end: float
    probability_by_year: dict[int, float] = field(default_factory=dict)
    definition: str = ""


FULL_DEFINITION = ("full: the first month the data held (demand) is above the effectively "
                   "usable capacity of the whole centre (usable x fill ceiling); the full date "
                   "is the month by which half the samples are full")


@dataclass(frozen=True)
class ShedRow:
    """A deployment the power envelope switches off (merit-order policy)."""

    deployment: str  # key path
    system: str
    gflops_per_w: float  # mixed-precision peak per IT watt: its place in the merit order
    point_months: str  # month ranges off in the point run, e.g. "2026-01..2028-11"
    p_any_month: float  # largest monthly share of samples with it off


@dataclass(frozen=True)
class InputRow:
    key: str
    label: str
    unit: str
    distribution: str
    point: float
    p10: float
    p90: float
    provenance: str  # sourced | assumption | measured | unsourced
    source: str


@dataclass(frozen=True)
class SourceRow:
    item: str  # key path
    kind: str  # sourced | assumption | measured | unsourced
    text: str


@dataclass(frozen=True)
class World:
    system: str
    trend_top1: dict[str, Any]
    trend_top10: dict[str, Any]
    years: tuple[Any, ...]  # models.top500.YearRank
    backtest: Any  # models.top500.Backtest
    history: str  # file and a note on how its values were checked
    #: rank on the real lists: per list kind ("top500": HPL Rmax, "hplmxp": HPL-MxP), the
    #: latest real list and the projected list at the deadline, and the trend back-tests
    lists: dict[str, Any] = field(default_factory=dict)


@dataclass
class Projection:
    scenario_name: str
    scenario_file: str
    description: str
    samples: int
    seed: int
    months: tuple[str, ...]
    definitions: tuple[str, ...]
    deterministic: dict[str, np.ndarray]
    bands: dict[str, Band]
    targets: tuple[TargetResult, ...]
    constraints: tuple[YearConstraint, ...]
    storage_fill: StorageFill | None
    world: World | None
    inputs: tuple[InputRow, ...]
    sources: tuple[SourceRow, ...]
    warnings: tuple[str, ...] = ()
    calibration: Any = None  # models.calibration.CalibrationReport
    storage_unit: str = "PB"
    timings_s: dict[str, float] = field(default_factory=dict)
    shedding: tuple[ShedRow, ...] = ()  # merit-order power shedding, per deployment shed

    @property
    def assumptions(self) -> tuple[SourceRow, ...]:
        return tuple(s for s in self.sources if s.kind in ("assumption", "unsourced"))

    def index(self, month: str) -> int:
        return self.months.index(month)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; infinities (no capacity at all) become None."""
        def arr(a: np.ndarray) -> list[float]:
            return [float(v) for v in a]

        return _finite({
            "scenario": {"name": self.scenario_name, "file": self.scenario_file,
                         "description": self.description},
            "samples": self.samples,
            "seed": self.seed,
            "months": list(self.months),
            "units": dict(UNITS),
            "storage_unit": self.storage_unit,
            "definitions": list(self.definitions),
            "deterministic": {k: arr(v) for k, v in self.deterministic.items()},
            "bands": {k: {"p10": arr(b.p10), "p25": arr(b.p25), "p50": arr(b.p50),
                          "p75": arr(b.p75), "p90": arr(b.p90)}
                      for k, b in self.bands.items()},
            "targets": [_plain(asdict(t)) for t in self.targets],
            "constraints": [asdict(c) for c in self.constraints],
            "storage_fill": (_plain_years(asdict(self.storage_fill)) if self.storage_fill
                             else None),
            "world": None if self.world is None else {
                "system": self.world.system, "trend_top1": self.world.trend_top1,
                "trend_top10": self.world.trend_top10,
                "years": [asdict(y) for y in self.world.years],
                "backtest": self.world.backtest.to_dict(), "history": self.world.history,
                "lists": self.world.lists},
            "inputs": [asdict(i) for i in self.inputs],
            "sources": [asdict(s) for s in self.sources],
            "warnings": list(self.warnings),
            "shedding": [asdict(r) for r in self.shedding],
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "timings_s": dict(self.timings_s),
        })


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _plain_years(d: dict[str, Any]) -> dict[str, Any]:
    d["probability_by_year"] = {str(k): v for k, v in d["probability_by_year"].items()}
    return d


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    d["probability_by_year"] = {str(k): v for k, v in d["probability_by_year"].items()}
    for r in d.get("readings", []):
        r["probability_by_year"] = {str(k): v for k, v in r["probability_by_year"].items()}
    return d


def definitions(scenario: Scenario, flagship: str) -> tuple[str, ...]:
    d = scenario.definitions
    low = "FP16/BF16" + ("/FP8" if d.include_fp8 else "")
    sparse = "sparse figures included" if d.include_sparsity else "sparsity excluded"
    fp8 = "" if d.include_fp8 else "; FP8 excluded"
    policy = {
        "shed": "whole partitions are switched off, least mixed-precision GFLOP/s per W "
                "first, until the load fits (merit order)",
        "prorata": "every system's capability is scaled by envelope / load (pro rata)",
    }.get(scenario.facility.power_policy, "capability is not reduced, the excess is flagged")
    return (
        f"Mixed-precision PF: per device, the dense {low} peak where it has one, otherwise its "
        f"best FP32/FP64 rate ({sparse}{fp8}); summed over nodes in service.",
        "FP64 peak PF: per device the best FP64 rate (vector or tensor), as TOP500 Rpeak counts.",
        "HPL-equivalent PF: FP64 peak x HPL efficiency (Rmax/Rpeak) x availability. The world-"
        f"leading check uses {flagship or 'the largest system'}'s FP64 peak x HPL efficiency "
        "(a TOP500 run, no availability factor).",
        "MxP-equivalent PF: mixed-precision peak x MxP efficiency (HPL-MxP rate / mixed-precision "
        "peak) x availability.",
        f"Storage in PB = 10^15 bytes (1 PiB = 2^50 bytes = {PIB_IN_PB:.4f} PB). Raw: media "
        "capacity. Usable: raw x k/(k+m) of the protection scheme x (1 - file-system "
        "overhead). Effectively usable: usable x fill ceiling.",
        "Power: node power x nodes in service, plus storage, x PUE = the installed facility "
        f"load in MW; a load over the envelope is flagged, and {policy}.",
        "Node figures: a figure given on a node is the whole node's and replaces its parts' "
        "sum for that key; keys the node does not give are summed over its parts.",
        "Scope: a target counts the systems it names; the other readings (the other metric, "
        "the whole centre) are shown beside the declared one, never instead of it.",
        "A target is met in the first month its metric is above the threshold. P50/P90 date: "
        "the month by which it is met in 50 %/90 % of the Monte Carlo samples.",
        "In service: from the commissioning month (planned deliveries slip by the sampled "
        "delay) up to, not including, the retirement month.",
    )


def _date(index: int, scenario: Scenario) -> str | None:
    if index >= scenario.months:
        return None
    return timeaxis.fmt(scenario.start + index)


def _order(values: np.ndarray, q: float) -> int:
    s = np.sort(values)
    return int(s[engine.order_index(q, len(s))])


def _year_ends(scenario: Scenario) -> list[tuple[int, int]]:
    """(calendar year, index of its last month in the horizon) for each year touched."""
    out = []
    for m in range(scenario.months):
        mon = scenario.start + m
        if mon % 12 == 11 or m == scenario.months - 1:
            out.append((timeaxis.year_of(mon), m))
    return out


def _demand_band(sc: Scenario, x: np.ndarray, space: inputs_mod.InputSpace) -> Band:
    """Exact order statistics of demand: a monotone function of the single growth input."""
    t = (np.arange(sc.months) - (sc.demand.at - sc.start)) / 12.0
    g = np.sort(x[:, space.col("storage.demand.growth_per_year")])
    n = len(g)
    out = []
    for q in engine.QUANTILES:
        k = engine.order_index(q, n)
        up, down = g[k], g[n - 1 - k]
        base = np.where(t >= 0, up, down)
        out.append(sc.demand.initial_pb * np.exp(t * np.log1p(base)))
    return Band.of(out)


def _variants(sc: Scenario, space: inputs_mod.InputSpace) -> list[tuple[Any, ...]]:
    """(key, label, unit, columns, low, high) per driver: each uncertain input alone at its
    P10 and P90 (a yes/no phase at without/with), and correlated slips moved together."""
    out = []
    for j in space.uncertain():
        inp = space.inputs[j]
        dist = inp.dist
        lo, hi = (0.0, 1.0) if isinstance(dist, Bernoulli) else (dist.quantile(0.1),
                                                                  dist.quantile(0.9))
        out.append((inp.key, inp.label, inp.unit, [j], [lo], [hi]))
    group = [j for j in space.correlated if space.inputs[j].dist.spread > 0]
    if space.correlation > 0 and len(group) > 1:
        d = [space.inputs[j].dist for j in group]
        out.append(("uncertainty.slip_correlation", "common-cause programme slip (all planned "
                    f"deliveries together, correlation {space.correlation:g})", "years", group,
                    [x.quantile(0.1) for x in d], [x.quantile(0.9) for x in d]))
    return out


def _tornado(sc: Scenario, comp: engine.Compiled, space: inputs_mod.InputSpace,
             point: np.ndarray, declared: list[int]) -> list[list[Driver]]:
    variants = _variants(sc, space)
    if not variants or not sc.targets:
        return [[] for _ in sc.targets]
    rows = np.repeat(point, 2 * len(variants), axis=0)
    for i, (_, _, _, cols, lo, hi) in enumerate(variants):
        rows[2 * i, cols], rows[2 * i + 1, cols] = lo, hi
    res = engine.evaluate(comp, rows, keep_paths=True)
    out = []
    for ti, target in enumerate(sc.targets):
        dl = target.deadline - sc.start
        ri = declared[ti]
        v = res.paths[comp.targets[ri][0]][:, dl]
        drivers = []
        for i, (key, label, unit, _, lo, hi) in enumerate(variants):
            m_lo = int(min(res.met_month[ri, 2 * i], sc.months))
            m_hi = int(min(res.met_month[ri, 2 * i + 1], sc.months))
            drivers.append(Driver(key, label, unit, lo[0], hi[0], _date(m_lo, sc),
                                  _date(m_hi, sc), abs(m_hi - m_lo), float(v[2 * i]),
                                  float(v[2 * i + 1])))
        drivers.sort(key=lambda d: (d.swing_months, abs(d.value_high - d.value_low)),
                     reverse=True)
        out.append([d for d in drivers if d.swing_months or d.value_high != d.value_low])
    return out


def _sources(sc: Scenario) -> list[SourceRow]:
    rows: dict[str, SourceRow] = {}

    def add(item: str, prov: Provenance) -> None:
        """A figure with a source and an assumption (e.g. a date assumed) is listed in both."""
        if prov.kind == "sourced" and prov.assumption:
            rows.setdefault(item, SourceRow(item, "sourced",
                                            f"{prov.source} ({prov.source_date})"))
            rows.setdefault(f"{item} ", SourceRow(item, "assumption",
                                                  f"assumption: {prov.assumption}"))
            return
        rows.setdefault(item, SourceRow(item, prov.kind, prov.text()))

    used: dict[str, None] = {}  # insertion-ordered set of the entries in use

    def walk(name: str) -> None:
        stack = [name]  # iterative: a deep parts chain cannot exhaust the stack
        while stack:
            n = stack.pop()
            if n not in used:
                used[n] = None
                stack.extend(reversed(list(sc.catalogue[n].parts)))

    for dep in sc.deployments:
        walk(dep.node_type)
        add(dep.key, dep.provenance)
    for name in used:
        entry = sc.catalogue[name]
        for fkey, fig in entry.figures.items():
            add(f"catalogue.{name}.{fkey} = {fig.text}", fig.provenance)
        for mkey, fig in entry.measured.items():
            add(f"catalogue.{name}.{mkey} = {fig.value:g} {fig.unit}", fig.provenance)
    for st in sc.storage:
        add(st.key, st.provenance)
    if sc.demand:
        add("storage.demand", sc.demand.provenance)
    add("facility", sc.facility.provenance)
    add("uncertainty", sc.uncertainty.provenance)
    for nt in dict.fromkeys(d.node_type for d in sc.deployments):
        eff = sc.efficiency_for(nt)
        for which in ("hpl", "mxp"):
            add(f"{sc.efficiency_key(nt)}.{which}", eff.provenance_of(which))
    for t in sc.targets:
        add(t.key, t.provenance)
    return list(rows.values())


def _warnings(sc: Scenario) -> list[str]:
    out = []
    for nt in dict.fromkeys(d.node_type for d in sc.deployments):
        figs = resolve(sc.catalogue, nt, sc.definitions)
        if figs.power_w == 0:
            out.append(f"node type {nt!r} has no power figure: its power draw counts as 0 W")
        if figs.mixed_tf == 0:
            out.append(f"node type {nt!r} has no compute figure")
    for dep in sc.deployments:
        if dep.count == 0:
            out.append(f"{dep.key} has 0 nodes")
    return out


def _falls_back(sc: Scenario, p50: np.ndarray, threshold: float) -> str | None:
    above = p50 > threshold
    if not above.any():
        return None
    first = int(np.argmax(above))
    back = np.flatnonzero(~above[first:])
    return _date(first + int(back[0]), sc) if back.size else None


def _counterfactuals(sc: Scenario, comp: engine.Compiled, x: np.ndarray,
                     declared: list[int]) -> list[tuple[list[Counterfactual],
                                                        tuple[YearBinding, ...]]]:
    """Per target: every relaxation and lever re-run on the same rows, and what binds by year."""
    from models import counterfactual as cf

    rows = x[:cf.rows(sc.months)]
    keys = tuple(dict.fromkeys(key for key, _ in comp.targets))
    base = engine.evaluate(comp, rows, only_bands=keys)
    changes = [*cf.relaxations(sc, comp), *cf.levers(sc, comp)]
    runs = [engine.evaluate(*ch.apply(comp, rows), only_bands=keys) for ch in changes]
    year_ends = _year_ends(sc)
    out = []
    for i, t in enumerate(sc.targets):
        ri, dl = declared[i], t.deadline - sc.start
        key = comp.targets[ri][0]
        b_met = base.met_month[ri]
        b_p50, b_prob = min(_order(b_met, 0.5), sc.months), float(np.mean(b_met <= dl))
        results = []
        for ch, r in zip(changes, runs, strict=True):
            met = r.met_month[ri]
            p50 = min(_order(met, 0.5), sc.months)
            results.append(Counterfactual(ch.key, ch.label, ch.kind, _date(p50, sc),
                                          float(np.mean(met <= dl)), b_p50 - p50,
                                          float(np.mean(met <= dl)) - b_prob))
        results.sort(key=lambda c: (c.kind, -c.months_gained, -c.probability_change))
        by_key = {c.key: c for c in results}
        years = []
        for year, m in year_ends:
            have = float(base.bands[key][engine.P50, m])
            if have > t.threshold:
                years.append(YearBinding(year, "met", 0.0, 0))
                continue
            gains = {ch.key: float(r.bands[key][engine.P50, m]) - have
                     for ch, r in zip(changes, runs, strict=True) if ch.kind == "constraint"}
            best = max(gains, key=lambda k: gains[k]) if gains else ""
            if not best or gains[best] <= 1e-9 * max(t.threshold, 1.0):
                years.append(YearBinding(year, "none", 0.0, 0))
            else:
                years.append(YearBinding(year, best, gains[best], by_key[best].months_gained))
        out.append((results, tuple(years)))
    return out


def _kept_warnings(sc: Scenario, comp: engine.Compiled, point: np.ndarray,
                   targets: list[TargetResult], fill: StorageFill | None) -> list[str]:
    """Falling back after reaching, with the retirements that nothing replaces; full storage."""
    out = []
    c_start, c_end = comp.c_win.resolve(point, comp.months)
    s_start, s_end = comp.s_win.resolve(point, comp.months)
    for t in targets:
        if t.falls_back_p50 is None and t.probability_kept >= t.probability_by_deadline - 0.05:
            continue
        items = sc.deployments if METRICS[t.metric][0] == "compute" else sc.storage
        start, end = (c_start, c_end) if items is sc.deployments else (s_start, s_end)
        scoped = [j for j, d in enumerate(items) if not t.scope or d.system in t.scope]
        gone = []
        for j in scoped:
            e = int(end[0, j])
            if e >= comp.months or e <= int(start[0, j]):
                continue
            replaced = any(e - 12 <= int(start[0, k]) <= e + 12 and k != j for k in scoped)
            if not replaced:
                gone.append(f"{items[j].key} ({timeaxis.fmt(sc.start + e)})")
        when = (f"falls back under {t.threshold_text} in {t.falls_back_p50} (P50)"
                if t.falls_back_p50 else "is not always held once reached")
        out.append(f"{t.name}: {when}; held from reaching it to {t.sustain_until} in "
                   f"{t.probability_kept:.0%} of samples against {t.probability_by_deadline:.0%}"
                   f" reaching it by the deadline" + (
                       f"; retirements with nothing planned to replace them: {', '.join(gone)}"
                       if gone else ""))
    storage = [t for t in targets if t.metric.startswith("storage") and t.p50_date]
    if fill is not None and fill.p50_date is not None and storage:
        t = storage[0]
        out.append(f"{t.name}: reaching the capacity target is not room for the data: demand "
                   f"exceeds effectively usable capacity from {fill.p50_date} (P50; full before "
                   f"the horizon end in {fill.probability_full_by_end:.0%} of samples)")
    return out


def _ranges(sc: Scenario, months: np.ndarray) -> str:
    """Month indices as 'YYYY-MM..YYYY-MM' runs."""
    idx = [int(m) for m in np.flatnonzero(months)]
    runs: list[tuple[int, int]] = []
    for m in idx:
        if runs and m == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    return ", ".join(timeaxis.fmt(sc.start + a) + ("" if a == b else
                                                   f"..{timeaxis.fmt(sc.start + b)}")
                     for a, b in runs)


def _power_warnings(sc: Scenario, comp: engine.Compiled, det: engine.Result,
                    res: engine.Result) -> list[str]:
    """The envelope warning: when the installed load is over it, and what that does."""
    if not np.isfinite(comp.envelope_mw).any() or res.p_over_envelope.max() == 0:
        return []
    over = det.paths["power_mw"][0] > comp.envelope_mw
    if over.any():
        m = int(np.argmax(over))
        text = (f"installed load exceeds the power envelope in {_ranges(sc, over)} (point run; "
                f"{timeaxis.fmt(sc.start + m)}: {det.paths['power_mw'][0, m]:.1f} MW against "
                f"{comp.envelope_mw[m]:.0f} MW)")
    else:
        text = "installed load stays within the envelope in the point run"
    text += (f"; over in {res.p_over_envelope.max():.0%} of samples at worst "
             f"({timeaxis.fmt(sc.start + int(np.argmax(res.p_over_envelope)))})")
    action = {"shed": "partitions are switched off in merit order (see shedding)",
              "prorata": "every system is scaled down pro rata",
              }.get(comp.policy, "capability is not reduced (power_policy = \"flag\")")
    return [f"{text}: {action}"]


def _shedding(sc: Scenario, comp: engine.Compiled, det: engine.Result,
              res: engine.Result) -> tuple[ShedRow, ...]:
    if res.p_shed is None or det.p_shed is None:
        return ()
    memo: dict = {}
    out = []
    for j in comp.c_merit:
        dep = sc.deployments[j]
        share = float(res.p_shed[j].max())
        if share == 0 and not det.p_shed[j].any():
            continue
        figs = resolve(sc.catalogue, dep.node_type, sc.definitions, memo)
        out.append(ShedRow(dep.key, dep.system, figs.gflops_per_w,
                           _ranges(sc, det.p_shed[j] > 0) or "none", share))
    return tuple(out)


def _binding_text(t: TargetResult, year: int) -> str:
    y = next((y for y in t.binding_by_year if y.year == year), None)
    if y is None or y.constraint in ("met", "none"):
        return {"met": "met", "none": "nothing relaxable binds"}.get(y.constraint if y else "",
                                                                    "not computed")
    return next(c.label for c in t.constraints if c.key == y.constraint)


def _constraints(sc: Scenario, bands: dict[str, Band], demand: Band | None,
                 p_over: np.ndarray, env: np.ndarray,
                 targets: list[TargetResult]) -> list[YearConstraint]:
    """Per year: what binds each target (by counterfactual), power against the envelope, and
    need / capacity ratios for information (they are not what binds)."""
    out = []
    year_start = 0
    for year, m in _year_ends(sc):
        pressures: dict[str, float] = {}
        for t in sc.targets:
            have = float(bands[metric_key(t.metric, t.scope)].p50[m])
            kind = "compute" if METRICS[t.metric][0] == "compute" else "storage"
            pressures[f"{kind} capacity for {t.name}"] = (t.threshold / have if have > 0
                                                          else math.inf)
        if demand is not None:
            eff = float(bands["storage_effective_pb"].p50[m])
            need = float(demand.p50[m])
            pressures["storage demand vs effective capacity"] = (need / eff if eff > 0 else
                                                                 math.inf if need > 0 else 0.0)
        months = slice(year_start, m + 1)
        power = bands["power_mw"].p50[months]
        envelope = env[months]
        finite = bool(np.isfinite(envelope).all())
        if finite:
            pressures["power envelope"] = float(np.max(power / envelope))
        binding = "; ".join(f"{t.name}: {_binding_text(t, year)}" for t in targets) or "none"
        out.append(YearConstraint(
            year, binding, pressures, float(bands["power_mw"].p50[m]),
            float(env[m]) if finite else None,
            bool(finite and (power > envelope).any()), float(p_over[months].max())))
        year_start = m + 1
    return out


def project(scenario: Scenario, samples: int = DEFAULT_SAMPLES, seed: int = 0, *,
            drivers: bool = True, world: bool = True, calibration: Any = None) -> Projection:
    """Deterministic run, then ``samples`` Monte Carlo samples (0: deterministic only)."""
    import time

    if samples < 0:
        raise ValueError("samples must be >= 0")
    sc = scenario
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    space = inputs_mod.build(sc)
    comp = engine.compile_scenario(sc, space)
    point = space.point()
    det = engine.evaluate(comp, point, keep_paths=True)
    deterministic = {k: v[0].copy() for k, v in det.paths.items()}
    if sc.demand is not None:  # the closed form, as the demand band uses
        deterministic["storage_demand_pb"] = _demand_band(sc, point, space).p50
    timings["deterministic"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if samples:
        x = space.sample(np.random.default_rng(seed), samples)
        res = engine.evaluate(comp, x)
    else:
        x, res = point, det
    bands = {k: Band.of(v) for k, v in res.bands.items()}
    demand_band = None
    if sc.demand is not None:
        demand_band = _demand_band(sc, x, space)
        bands["storage_demand_pb"] = demand_band
    timings["monte_carlo"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    declared, first = [], 0
    for t in sc.targets:
        declared.append(first)
        first += len(readings(t))
    tornado = (_tornado(sc, comp, space, point, declared) if drivers else
               [[] for _ in sc.targets])
    cfs = _counterfactuals(sc, comp, x, declared) if drivers else []
    timings["drivers"] = time.perf_counter() - t0

    year_ends = _year_ends(sc)
    targets = []
    for i, t in enumerate(sc.targets):
        dl = t.deadline - sc.start
        results = []
        for k, r in enumerate(readings(t)):
            met = res.met_month[declared[i] + k]
            results.append(ReadingResult(
                r.metric, r.scope, r.label, r.declared,
                _date(int(det.met_month[declared[i] + k, 0]), sc), _date(_order(met, 0.1), sc),
                _date(_order(met, 0.5), sc), _date(_order(met, 0.9), sc),
                float(np.mean(met <= dl)), float(bands[r.key].p50[dl]),
                {year: float(np.mean(met <= m)) for year, m in year_ends}))
        head = results[0]
        ri = declared[i]
        p50 = _order(res.met_month[ri], 0.5)
        sustain = (t.sustain_until if t.sustain_until is not None else sc.end) - sc.start
        kept = float(np.mean((res.met_month[ri] <= dl) & (res.fell_month[ri] > sustain)))
        cf, years = cfs[i] if cfs else ((), ())
        targets.append(TargetResult(
            t.key, t.name, t.metric, METRICS[t.metric][1], t.threshold, t.threshold_text,
            timeaxis.fmt(t.deadline), head.deterministic_date, head.p50_date, head.p90_date,
            head.probability_by_deadline, head.probability_by_year,
            float(bands["power_mw"].p50[p50]) if p50 < sc.months else None,
            head.value_at_deadline_p50, tuple(tornado[i]), t.scope, tuple(results),
            head.p10_date, timeaxis.fmt(sc.start + sustain), kept,
            _falls_back(sc, bands[comp.targets[ri][0]].p50, t.threshold),
            tuple(c for c in cf if c.kind == "constraint"), years,
            tuple(c for c in cf if c.kind == "lever"),
            tuple(float(x) for x in held_share(res.met_month[ri], res.fell_month[ri]
                                               if res.fell_month is not None else None,
                                               sc.months))))

    fill = None
    if sc.demand is not None:
        fill = StorageFill(_date(int(det.fill_month[0]), sc),
                           _date(_order(res.fill_month, 0.5), sc),
                           _date(_order(res.fill_month, 0.1), sc),
                           float(np.mean(res.fill_month < sc.months)),
                           {year: float(np.mean(res.fill_month <= m)) for year, m in year_ends},
                           FULL_DEFINITION)
    constraints = _constraints(sc, bands, demand_band, res.p_over_envelope, comp.envelope_mw,
                               targets)

    t0 = time.perf_counter()
    world_result = _world(sc, comp, res) if world else None
    timings["world"] = time.perf_counter() - t0

    input_rows = []
    for inp in space.inputs:
        d = inp.dist
        input_rows.append(InputRow(inp.key, inp.label, inp.unit, d.describe(), d.point(),
                                   d.quantile(0.1), d.quantile(0.9), inp.provenance.kind,
                                   inp.provenance.text()))
    return Projection(
        sc.name, sc.file, sc.description, samples, seed,
        tuple(timeaxis.fmt(sc.start + m) for m in range(sc.months)),
        definitions(sc, comp.flagship), deterministic, bands, tuple(targets),
        tuple(constraints), fill, world_result, tuple(input_rows), tuple(_sources(sc)),
        (*_warnings(sc), *_power_warnings(sc, comp, det, res),
         *_kept_warnings(sc, comp, point, targets, fill)), calibration,
        sc.definitions.storage_unit, timings, _shedding(sc, comp, det, res))


def _world(sc: Scenario, comp: engine.Compiled, res: engine.Result) -> World | None:
    from models import top500

    if not comp.flagship or res.year_end_index.size == 0:
        return None
    from models import worldrank as wr

    history = top500.load_history()
    # one trend method everywhere: the back-tested one of models/worldrank (see its docstring)
    t1, t10 = wr.fit_trend("top500", 1), wr.fit_trend("top500", 10)
    years = [timeaxis.year_of(sc.start + int(m)) for m in res.year_end_index]
    ranks = top500.rank_by_year(t1, t10, years, res.flagship_year_end)
    bt = wr.backtest_windows("top500", 1)
    counts: dict[str, int] = {}
    for p in history:
        counts[p.verified] = counts.get(p.verified, 0) + 1
    note = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    return World(comp.flagship, t1.to_dict(), t10.to_dict(), tuple(ranks), bt,
                 f"{top500.HISTORY.name} ({len(history)} list entries: {note})",
                 _lists(sc, res))


def _lists(sc: Scenario, res: engine.Result) -> dict[str, Any]:
    """Where the flagship's projected HPL and MxP at the deadline would rank: on the latest real
    TOP500 and HPL-MxP lists, and on the lists projected to the deadline (trend band
    included); with the trends' back-tests over several fit windows, worst shown."""
    from models import worldrank as wr

    compute = [t for t in sc.targets if METRICS[t.metric][0] == "compute"]
    deadline = compute[0].deadline if compute else sc.end
    ends = res.year_end_index
    i = int(np.searchsorted(ends, deadline - sc.start))
    i = min(i, ends.size - 1)
    month = sc.start + int(ends[i])
    out: dict[str, Any] = {"month": timeaxis.fmt(month)}
    for kind, samples in (("top500", res.flagship_year_end[i]),
                          ("hplmxp", res.flagship_mxp_year_end[i])):
        latest = wr.latest_rank(kind, samples)
        projected = wr.projected_rank(kind, month, samples)
        out[kind] = {"latest": latest.to_dict(), "latest_summary": latest.summary(),
                     "projected": projected.to_dict(), "projected_summary": projected.summary()}
    tests = {rank: wr.backtest_windows("top500", rank) for rank in (1, 10)}
    out["backtests"] = {f"#{rank}": bt.to_dict() for rank, bt in tests.items()}
    out["backtest_summaries"] = [bt.summary() for bt in tests.values()]
    return out
