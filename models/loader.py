"""Read a scenario file (TOML) into a validated ``Scenario``.

Every mistake raises ``ScenarioError`` naming the file and the key path in one
sentence: unknown keys (with a did-you-mean), missing fields, wrong types,
negative counts, dates out of order, units that do not parse, fractions
outside [0, 1]. Nothing else escapes: the loader checks each value's type
before using it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from models import timeaxis
from models.distributions import (
    KINDS,
    REQUIRED,
    Distribution,
    Fixed,
    Normal,
    Triangular,
    Uniform,
    bounds,
)
from models.errors import ScenarioError, did_you_mean
from models.power import PLATFORM_FACTOR
from models.schema import (
    COMPUTE_FIGURES,
    LEVER_ACTIONS,
    MEASURED_UNITS,
    METRICS,
    POWER_POLICIES,
    Definitions,
    Demand,
    Deployment,
    Efficiency,
    Facility,
    Figure,
    Lever,
    NodeType,
    Provenance,
    Scenario,
    StorageSystem,
    Target,
    Uncertainty,
    WorldLeading,
)
from models.units import UnitError, parse_quantity

PROVENANCE_KEYS = ("source", "source_date", "assumption")
_PROTECTION = re.compile(r"^\s*(\d+)\s*\+\s*(\d+)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _join(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


class Reader:
    """Typed access to a TOML table that fails with file + key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ScenarioError(self.file, key, problem)

    def table(self, value: Any, key: str, allowed: tuple[str, ...] | None,
              required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, got {_type_name(value)}")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    self.fail(_join(key, k), f"unknown key; {did_you_mean(k, allowed)}")
        for k in required:
            if k not in value:
                self.fail(_join(key, k), "is missing")
        return value

    def names(self, value: Any, key: str) -> dict[str, Any]:
        """A table of named entries (systems, phases, ...); each entry must be a table."""
        tbl = self.table(value, key, None)
        for name, entry in tbl.items():
            if not _NAME.match(name):
                self.fail(_join(key, name), "names may use letters, digits, '_', '-' and '.'")
            if not isinstance(entry, dict):
                self.fail(_join(key, name), f"must be a table, got {_type_name(entry)}")
        return tbl

    def string(self, tbl: Mapping[str, Any], key: str, k: str, default: str | None = None) -> str:
        if k not in tbl:
            if default is None:
                self.fail(_join(key, k), "is missing")
            return default
        v = tbl[k]
        if not isinstance(v, str):
            self.fail(_join(key, k), f"must be a string, got {_type_name(v)}")
        return v

    def boolean(self, tbl: Mapping[str, Any], key: str, k: str, default: bool) -> bool:
        v = tbl.get(k, default)
        if not isinstance(v, bool):
            self.fail(_join(key, k), f"must be true or false, got {_type_name(v)}")
        return v

    def number(self, tbl: Mapping[str, Any], key: str, k: str, *, default: float | None = None,
               low: float | None = None, high: float | None = None, what: str = "") -> float:
        if k not in tbl:
            if default is None:
                self.fail(_join(key, k), "is missing")
            return default
        v = tbl[k]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self.fail(_join(key, k), f"must be a finite number, got {v!r}")
        self._range(_join(key, k), float(v), low, high, what)
        return float(v)

    def _range(self, key: str, v: float, low: float | None, high: float | None, what: str) -> None:
        if (low is not None and v < low) or (high is not None and v > high):
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            label = f"{what} " if what else ""
            self.fail(key, f"{label}{v:g} is outside [{lo}, {hi}]")

    def count(self, tbl: Mapping[str, Any], key: str, k: str) -> int:
        v = tbl.get(k)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(_join(key, k), f"must be a whole number, got {v!r}")
        if v < 0:
            self.fail(_join(key, k), f"must not be negative, got {v}")
        if v > 10**9:
            self.fail(_join(key, k), f"{v} is more than 10^9")
        return v

    def size(self, tbl: Mapping[str, Any], key: str, k: str) -> tuple[float, Distribution | None]:
        """A node count: a whole number, or a distribution of counts (an uncertain size)."""
        if isinstance(tbl.get(k), dict):
            d = self.dist(tbl, key, k, default=None, low=0.0, high=1e9, what="node count")
            return d.point(), (d if d.spread > 0 else None)
        return float(self.count(tbl, key, k)), None

    def fraction(self, tbl: Mapping[str, Any], key: str, k: str, default: float | None = None,
                 what: str = "a fraction") -> float:
        return self.number(tbl, key, k, default=default, low=0.0, high=1.0, what=what)

    def month(self, tbl: Mapping[str, Any], key: str, k: str) -> int:
        if k not in tbl:
            self.fail(_join(key, k), "is missing")
        try:
            return timeaxis.parse_month(tbl[k])
        except timeaxis.MonthError as exc:
            self.fail(_join(key, k), str(exc))

    def quantity(self, tbl: Mapping[str, Any], key: str, k: str, dimension: str,
                 *, positive: bool = True) -> tuple[float, str, str]:
        if k not in tbl:
            self.fail(_join(key, k), "is missing")
        try:
            q = parse_quantity(tbl[k], dimension)
        except UnitError as exc:
            self.fail(_join(key, k), str(exc))
        if q.value < 0 or (positive and q.value == 0):
            self.fail(_join(key, k), f"must be {'positive' if positive else 'non-negative'}, "
                                     f"got {q.text!r}")
        return q.value, q.unit, q.text

    def dist(self, tbl: Mapping[str, Any], key: str, k: str, *, default: Distribution | None,
             low: float | None = None, high: float | None = None,
             what: str = "") -> Distribution:
        """A number (fixed) or ``{ dist = "uniform" | "triangular" | "normal" | "fixed", ... }``."""
        path = _join(key, k)
        if k not in tbl:
            if default is None:
                self.fail(path, "is missing")
            return default
        raw = tbl[k]
        if not isinstance(raw, dict):
            v = self.number(tbl, key, k, low=low, high=high, what=what)
            return Fixed(v)
        kind = raw.get("dist")
        if not isinstance(kind, str) or kind not in KINDS:
            self.fail(_join(path, "dist"), f"must be one of {', '.join(KINDS)}, got {kind!r}")
        self.table(raw, path, ("dist", *KINDS[kind]), REQUIRED[kind])
        p = {name: self.number(raw, path, name) for name in KINDS[kind] if name in raw}
        if kind == "fixed":
            d: Distribution = Fixed(p["value"])
        elif kind == "uniform":
            if p["low"] > p["high"]:
                self.fail(path, f"uniform low {p['low']:g} is above high {p['high']:g}")
            d = Uniform(p["low"], p["high"])
        elif kind == "triangular":
            if not p["low"] <= p["mode"] <= p["high"]:
                self.fail(path, "triangular needs low <= mode <= high, got "
                                f"{p['low']:g}/{p['mode']:g}/{p['high']:g}")
            d = Triangular(p["low"], p["mode"], p["high"])
        else:
            if p["sd"] < 0:
                self.fail(_join(path, "sd"), f"must not be negative, got {p['sd']:g}")
            lo, hi = p.get("low", -math.inf), p.get("high", math.inf)
            if lo > hi:
                self.fail(path, f"normal low {lo:g} is above high {hi:g}")
            d = Normal(p["mean"], p["sd"], lo, hi)
        b_lo, b_hi = bounds(d)
        if (low is not None and b_lo < low) or (high is not None and b_hi > high):
            lo_s = "-inf" if low is None else f"{low:g}"
            hi_s = "inf" if high is None else f"{high:g}"
            hint = " (give the normal a low and high to clip it)" if isinstance(d, Normal) else ""
            self.fail(path, f"{what or 'the value'} can take {b_lo:g}..{b_hi:g}, outside the "
                            f"allowed [{lo_s}, {hi_s}]{hint}")
        return d

    def provenance(self, tbl: Mapping[str, Any], key: str,
                   inherit: Provenance | None = None) -> Provenance:
        source = self.string(tbl, key, "source", "")
        assumption = self.string(tbl, key, "assumption", "")
        date = ""
        if "source_date" in tbl:
            raw = tbl["source_date"]
            date = raw.isoformat() if hasattr(raw, "isoformat") else raw
            if not isinstance(date, str) or not date.strip():
                self.fail(_join(key, "source_date"), f"must be a date, got {raw!r}")
        if source and not date:
            self.fail(_join(key, "source_date"), "is missing (a source needs the date it is from)")
        if date and not source:
            self.fail(_join(key, "source"), "is missing (source_date is given)")
        p = Provenance(source, date, assumption)
        if p.kind == "unsourced" and inherit is not None:
            return inherit
        return p


# --- sections ------------------------------------------------------------------

_FIGURE_DIMENSION = {**dict.fromkeys(COMPUTE_FIGURES, "compute"), "power": "power",
                     "cost": "money"}
_CATALOGUE_KEYS = ("description", "parts", *_FIGURE_DIMENSION, *MEASURED_UNITS, *PROVENANCE_KEYS)


def parse_catalogue(data: Any, file: str, key: str = "catalogue") -> dict[str, NodeType]:
    r = Reader(file)
    out: dict[str, NodeType] = {}
    for name, raw in r.names(data, key).items():
        path = _join(key, name)
        tbl = r.table(raw, path, _CATALOGUE_KEYS)
        entry_prov = r.provenance(tbl, path)
        figures: dict[str, Figure] = {}
        for fkey, dim in _FIGURE_DIMENSION.items():
            if fkey in tbl:
                figures[fkey] = _figure(r, tbl, path, fkey, dim, entry_prov)
        measured: dict[str, Figure] = {}
        for mkey, unit in MEASURED_UNITS.items():
            if mkey in tbl:
                v = r.number(tbl, path, mkey, low=0.0)
                measured[mkey] = Figure(v, unit, f"{v:g} {unit}", entry_prov)
        parts: dict[str, int] = {}
        if "parts" in tbl:
            ptbl = r.table(tbl["parts"], _join(path, "parts"), None)
            for part in ptbl:
                parts[part] = r.count(ptbl, _join(path, "parts"), part)
        out[name] = NodeType(name, r.string(tbl, path, "description", ""), figures, parts,
                             measured, entry_prov, file)
    return out


def _figure(r: Reader, tbl: Mapping[str, Any], path: str, fkey: str, dim: str,
            entry_prov: Provenance) -> Figure:
    raw = tbl[fkey]
    fpath = _join(path, fkey)
    if isinstance(raw, dict):
        sub = r.table(raw, fpath, ("value", *PROVENANCE_KEYS), ("value",))
        prov = r.provenance(sub, fpath, inherit=entry_prov)
        value, unit, text = r.quantity(sub, fpath, "value", dim, positive=False)
    else:
        prov = entry_prov
        value, unit, text = r.quantity(tbl, path, fkey, dim, positive=False)
    if prov.kind == "unsourced":
        r.fail(fpath, "needs a source with source_date, or an assumption (on the figure or on "
                      "its catalogue entry)")
    return Figure(value, unit, text, prov)


def _check_catalogue(r: Reader, catalogue: Mapping[str, NodeType]) -> None:
    from models.catalogue import check_node

    for name, entry in catalogue.items():
        for part in entry.parts:
            if part not in catalogue:
                r.fail(f"catalogue.{name}.parts.{part}",
                       f"is not in the catalogue; {did_you_mean(part, catalogue)}")
    _acyclic(r, catalogue)
    memo: dict[str, dict[str, float | None]] = {}
    for name in catalogue:
        problem = check_node(catalogue, name, memo)
        if problem:
            r.fail(f"catalogue.{name}.{problem[0]}", problem[1])


def _acyclic(r: Reader, catalogue: Mapping[str, NodeType]) -> None:
    """Iterative three-colour depth-first search: linear in entries + parts, no recursion."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in catalogue:
        if state.get(root):
            continue
        path: list[str] = []
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, leaving = stack.pop()
            if leaving:
                state[name] = 2
                path.pop()
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                cycle = [*path[path.index(name):], name]
                r.fail(f"catalogue.{cycle[0]}.parts", f"parts form a cycle: {' -> '.join(cycle)}")
            state[name] = 1
            path.append(name)
            stack.append((name, True))
            stack.extend((p, False) for p in catalogue[name].parts)


def _lifetime(r: Reader, tbl: Mapping[str, Any], path: str,
              commissioned: int) -> tuple[int | None, float | None]:
    if "retired" in tbl and "lifetime_years" in tbl:
        r.fail(path, "give either retired or lifetime_years, not both")
    if "retired" in tbl:
        retired = r.month(tbl, path, "retired")
        if retired <= commissioned:
            r.fail(_join(path, "retired"), f"retirement {timeaxis.fmt(retired)} is not after "
                                           f"commissioning {timeaxis.fmt(commissioned)}")
        return retired, None
    if "lifetime_years" in tbl:
        life = r.number(tbl, path, "lifetime_years", low=0.0, high=100.0,
                        what="lifetime (years)")
        if life <= 0:
            r.fail(_join(path, "lifetime_years"), "must be positive")
        return None, life
    return None, None


_PARTITION_KEYS = ("node_type", "count", "commissioned", "retired", "lifetime_years",
                   *PROVENANCE_KEYS)
_PHASE_KEYS = ("system", "date", "node_type", "count", "budget", "retired", "lifetime_years",
               "probability", "slip_years", *PROVENANCE_KEYS)


def _node_type(r: Reader, tbl: Mapping[str, Any], path: str,
               catalogue: Mapping[str, NodeType]) -> str:
    nt = r.string(tbl, path, "node_type")
    if nt not in catalogue:
        r.fail(_join(path, "node_type"), f"{nt!r} is not in the catalogue; "
                                         f"{did_you_mean(nt, catalogue)}")
    return nt


def _systems(r: Reader, data: Any, start: int,
             catalogue: Mapping[str, NodeType]) -> list[Deployment]:
    out = []
    for sname, raw in r.names(data, "systems").items():
        spath = f"systems.{sname}"
        stbl = r.table(raw, spath, ("label", "partitions", *PROVENANCE_KEYS), ("partitions",))
        sprov = r.provenance(stbl, spath)
        r.string(stbl, spath, "label", "")
        parts = r.names(stbl["partitions"], _join(spath, "partitions"))
        if not parts:
            r.fail(_join(spath, "partitions"), "lists no partition")
        for pname, praw in parts.items():
            path = f"{spath}.partitions.{pname}"
            tbl = r.table(praw, path, _PARTITION_KEYS, ("node_type", "count", "commissioned"))
            nt = _node_type(r, tbl, path, catalogue)
            count, count_dist = r.size(tbl, path, "count")
            comm = r.month(tbl, path, "commissioned")
            retired, life = _lifetime(r, tbl, path, comm)
            out.append(Deployment(path, pname, sname, nt, count, comm, retired, life,
                                  planned=False, provenance=r.provenance(tbl, path, sprov),
                                  count_dist=count_dist))
    return out


def _budget_count(r: Reader, tbl: Mapping[str, Any], path: str, node: NodeType,
                  catalogue: Mapping[str, NodeType]) -> tuple[float, Any, Distribution | None]:
    """Nodes a budget buys: a money amount, or a distribution of amounts in one currency."""
    from models.catalogue import resolve
    from models.units import Quantity

    figs = resolve(catalogue, node.name, Definitions())
    if figs.cost is None or figs.cost <= 0:
        r.fail(_join(path, "budget"), f"node type {node.name!r} has no cost in the catalogue, "
                                      "so a budget cannot be turned into a node count")
    raw = tbl["budget"]
    bpath = _join(path, "budget")
    if isinstance(raw, dict):
        amounts: dict[str, Any] = {}
        currencies = set()
        for k, v in raw.items():
            if k == "dist":
                amounts[k] = v
                continue
            value, cur, _ = r.quantity(raw, bpath, k, "money", positive=False)
            currencies.add(cur)
            amounts[k] = value / figs.cost
        if len(currencies) > 1:
            r.fail(bpath, f"mixes currencies {', '.join(sorted(currencies))}")
        cur = currencies.pop() if currencies else figs.currency
        d = r.dist({"budget": amounts}, path, "budget", default=None, low=0.0, high=1e9,
                   what="nodes the budget buys")
        value, text = d.point() * figs.cost, f"{d.describe()} nodes' worth"
        count, dist = float(int(d.point())), (d if d.spread > 0 else None)
    else:
        value, cur, text = r.quantity(tbl, path, "budget", "money")
        count, dist = float(int(value // figs.cost)), None
    if figs.currency != cur:
        r.fail(bpath, f"is in {cur} but the cost of {node.name!r} is in {figs.currency}")
    if count > 10**9:
        r.fail(bpath, f"buys {count:.0f} nodes, more than 10^9")
    return count, Quantity(value, cur, text), dist


def _phases(r: Reader, data: Any, start: int, end: int,
            catalogue: Mapping[str, NodeType]) -> list[Deployment]:
    out = []
    for name, raw in r.names(data, "phases").items():
        path = f"phases.{name}"
        tbl = r.table(raw, path, _PHASE_KEYS, ("date", "node_type"))
        nt = _node_type(r, tbl, path, catalogue)
        date = r.month(tbl, path, "date")
        if date < start:
            r.fail(_join(path, "date"), f"{timeaxis.fmt(date)} is before the scenario start "
                                        f"{timeaxis.fmt(start)}; list delivered hardware under "
                                        "systems")
        if ("count" in tbl) == ("budget" in tbl):
            r.fail(path, "give exactly one of count or budget")
        budget = None
        if "count" in tbl:
            count, count_dist = r.size(tbl, path, "count")
        else:
            count, budget, count_dist = _budget_count(r, tbl, path, catalogue[nt], catalogue)
        retired, life = _lifetime(r, tbl, path, date)
        slip = None
        if "slip_years" in tbl:
            slip = r.dist(tbl, path, "slip_years", default=None, low=0.0, high=50.0,
                          what="delivery slip (years)")
        prob = r.fraction(tbl, path, "probability", 1.0, what="probability")
        system = r.string(tbl, path, "system", name)
        out.append(Deployment(path, name, system, nt, count, date, retired, life, planned=True,
                              slip_years=slip, probability=prob, budget=budget,
                              provenance=r.provenance(tbl, path), count_dist=count_dist))
    return out


_STORAGE_KEYS = ("raw", "protection", "fs_overhead", "fill_ceiling", "retired",
                 "lifetime_years", "power", "system", *PROVENANCE_KEYS)


def _storage_entry(r: Reader, tbl: dict[str, Any], path: str, name: str, comm: int,
                   planned: bool) -> StorageSystem:
    raw_pb, _, _ = r.quantity(tbl, path, "raw", "storage")
    prot = r.string(tbl, path, "protection", "1+0")
    m = _PROTECTION.match(prot)
    if not m or int(m.group(1)) < 1:
        r.fail(_join(path, "protection"), f"{prot!r} is not a scheme written 'k+m' such as '8+2'")
    k, p = int(m.group(1)), int(m.group(2))
    overhead = r.number(tbl, path, "fs_overhead", default=0.0, low=0.0, high=0.99,
                        what="file-system overhead fraction")
    ceiling = r.fraction(tbl, path, "fill_ceiling", 1.0, what="fill ceiling fraction")
    if ceiling == 0:
        r.fail(_join(path, "fill_ceiling"), "must be above 0")
    retired, life = _lifetime(r, tbl, path, comm)
    power = r.quantity(tbl, path, "power", "power", positive=False)[0] if "power" in tbl else 0.0
    slip = None
    prob = 1.0
    if planned:
        if "slip_years" in tbl:
            slip = r.dist(tbl, path, "slip_years", default=None, low=0.0, high=50.0,
                          what="delivery slip (years)")
        prob = r.fraction(tbl, path, "probability", 1.0, what="probability")
    return StorageSystem(path, name, raw_pb, k, p, overhead, ceiling, comm, retired, life,
                         planned, slip, prob, power, r.provenance(tbl, path),
                         r.string(tbl, path, "system", ""))


def _storage(r: Reader, data: Any, start: int,
             end: int) -> tuple[list[StorageSystem], Demand | None]:
    tbl = r.table(data, "storage", ("systems", "phases", "demand"))
    out: list[StorageSystem] = []
    for name, raw in r.names(tbl.get("systems", {}), "storage.systems").items():
        path = f"storage.systems.{name}"
        st = r.table(raw, path, ("commissioned", *_STORAGE_KEYS), ("raw", "commissioned"))
        out.append(_storage_entry(r, st, path, name, r.month(st, path, "commissioned"), False))
    for name, raw in r.names(tbl.get("phases", {}), "storage.phases").items():
        path = f"storage.phases.{name}"
        st = r.table(raw, path, ("date", "probability", "slip_years", *_STORAGE_KEYS),
                     ("raw", "date"))
        date = r.month(st, path, "date")
        if date < start:
            r.fail(_join(path, "date"), f"{timeaxis.fmt(date)} is before the scenario start "
                                        f"{timeaxis.fmt(start)}; list delivered storage under "
                                        "storage.systems")
        out.append(_storage_entry(r, st, path, name, date, True))
    demand = None
    if "demand" in tbl:
        path = "storage.demand"
        d = r.table(tbl["demand"], path, ("initial", "at", "growth_per_year", *PROVENANCE_KEYS),
                    ("initial", "growth_per_year"))
        initial, _, _ = r.quantity(d, path, "initial", "storage", positive=False)
        at = r.month(d, path, "at") if "at" in d else start
        if not start <= at <= end:
            r.fail(_join(path, "at"), f"{timeaxis.fmt(at)} is outside the horizon "
                                      f"{timeaxis.fmt(start)}..{timeaxis.fmt(end)}")
        growth = r.dist(d, path, "growth_per_year", default=None, low=-0.99, high=10.0,
                        what="growth a year")
        demand = Demand(initial, at, growth, r.provenance(d, path))
    return out, demand


def _facility(r: Reader, data: Any, start: int, end: int) -> Facility:
    path = "facility"
    tbl = r.table(data, path, ("power_envelope", "pue", "power_policy", "rapl_wall_factor",
                               *PROVENANCE_KEYS))
    steps: list[tuple[int, float]] = []
    env = tbl.get("power_envelope")
    if isinstance(env, str):
        mw = r.quantity(tbl, path, "power_envelope", "power")[0] / 1e6
        steps.append((start, mw))
    elif isinstance(env, list):
        if not env:
            r.fail(_join(path, "power_envelope"), "lists no step")
        for i, step in enumerate(env):
            spath = f"{path}.power_envelope[{i}]"
            st = r.table(step, spath, ("from", "power"), ("from", "power"))
            frm = r.month(st, spath, "from")
            mw = r.quantity(st, spath, "power", "power")[0] / 1e6
            if steps and frm <= steps[-1][0]:
                r.fail(_join(spath, "from"), f"{timeaxis.fmt(frm)} is not after the previous "
                                             f"step {timeaxis.fmt(steps[-1][0])}")
            steps.append((frm, mw))
        if steps[0][0] > start:
            r.fail(f"{path}.power_envelope[0].from", f"must be at or before the scenario start "
                                                     f"{timeaxis.fmt(start)}")
    elif env is not None:
        r.fail(_join(path, "power_envelope"), "must be a power such as '40 MW' or an array of "
                                              "{ from = 'YYYY-MM', power = '... MW' } steps")
    pue = r.dist(tbl, path, "pue", default=Fixed(1.0), low=1.0, high=5.0, what="PUE")
    policy = r.string(tbl, path, "power_policy", "flag")
    policy = "prorata" if policy == "cap" else policy  # the first release's name
    if policy not in POWER_POLICIES:
        r.fail(_join(path, "power_policy"), f"must be one of {', '.join(POWER_POLICIES)}, got "
                                            f"{policy!r}")
    wall = r.number(tbl, path, "rapl_wall_factor", default=PLATFORM_FACTOR, low=1.0, high=3.0,
                    what="wall power over RAPL power")
    return Facility(tuple(steps), pue, policy, wall, r.provenance(tbl, path))


def _scope(r: Reader, tbl: Mapping[str, Any], path: str, systems: set[str]) -> tuple[str, ...]:
    """``systems = ["a", "b"]`` or ``"all"`` (the default): the machines a target counts."""
    raw = tbl.get("systems", "all")
    if raw == "all":
        return ()
    key = _join(path, "systems")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        r.fail(key, f"must be \"all\" or an array of system names, got {_type_name(raw)}")
    if not raw:
        r.fail(key, "names no system; give system names or \"all\"")
    for v in raw:
        if v not in systems:
            hint = did_you_mean(v, systems).replace("keys", "systems")
            r.fail(key, f"{v!r} is not a system of this scenario; {hint}")
    return tuple(dict.fromkeys(raw))


def _targets(r: Reader, data: Any, start: int, end: int, systems: set[str]) -> list[Target]:
    out = []
    for name, raw in r.names(data, "targets").items():
        path = f"targets.{name}"
        tbl = r.table(raw, path, ("label", "metric", "threshold", "deadline", "systems",
                                  "sustain_until", *PROVENANCE_KEYS),
                      ("metric", "threshold", "deadline"))
        metric = r.string(tbl, path, "metric")
        if metric not in METRICS:
            hint = did_you_mean(metric, METRICS).replace("keys", "metrics")
            r.fail(_join(path, "metric"), f"{metric!r} is not a metric; {hint}")
        dim, _ = METRICS[metric]
        value, _, text = r.quantity(tbl, path, "threshold", dim)
        threshold = value / 1e3 if dim == "compute" else value  # TF -> PF; storage is PB
        deadline = r.month(tbl, path, "deadline")
        if not start <= deadline <= end:
            r.fail(_join(path, "deadline"), f"{timeaxis.fmt(deadline)} is outside the horizon "
                                            f"{timeaxis.fmt(start)}..{timeaxis.fmt(end)}")
        label = r.string(tbl, path, "label", name)
        sustain = None
        if "sustain_until" in tbl:
            sustain = r.month(tbl, path, "sustain_until")
            if not deadline <= sustain <= end:
                r.fail(_join(path, "sustain_until"), f"{timeaxis.fmt(sustain)} must be between "
                       f"the deadline {timeaxis.fmt(deadline)} and the horizon end "
                       f"{timeaxis.fmt(end)}")
        out.append(Target(path, label, metric, threshold, text, deadline,
                          r.provenance(tbl, path), _scope(r, tbl, path, systems), sustain))
    return out


def _efficiency(r: Reader, data: Any, catalogue: Mapping[str, NodeType]) -> dict[str, Efficiency]:
    from models.schema import DEFAULT_EFFICIENCY

    out: dict[str, Efficiency] = {}
    tbl = r.names(data, "efficiency")
    default = DEFAULT_EFFICIENCY
    if "default" in tbl:
        default = _one_efficiency(r, tbl["default"], "efficiency.default", DEFAULT_EFFICIENCY)
        out["default"] = default
    for name, raw in tbl.items():
        if name == "default":
            continue
        if name not in catalogue:
            r.fail(f"efficiency.{name}", f"is not a catalogue entry; "
                                         f"{did_you_mean(name, [*catalogue, 'default'])}")
        out[name] = _one_efficiency(r, raw, f"efficiency.{name}", default)
    return out


def _one_efficiency(r: Reader, raw: Any, path: str, fallback: Efficiency) -> Efficiency:
    """Each figure keeps the provenance of where it was given: here, or the fallback."""
    tbl = r.table(raw, path, ("hpl", "mxp", *PROVENANCE_KEYS))
    prov = r.provenance(tbl, path)
    hpl = r.dist(tbl, path, "hpl", default=fallback.hpl, low=0.0, high=1.0,
                 what="HPL efficiency")
    mxp = r.dist(tbl, path, "mxp", default=fallback.mxp, low=0.0, high=1.0,
                 what="MxP efficiency")
    return Efficiency(hpl, mxp, prov if "hpl" in tbl else fallback.hpl_provenance,
                      prov if "mxp" in tbl else fallback.mxp_provenance)


_TOP = ("scenario", "definitions", "catalogue", "systems", "phases", "storage", "facility",
        "uncertainty", "efficiency", "targets", "world_leading", "levers")


def _levers(r: Reader, data: Any, deployments: dict[str, bool]) -> list[Lever]:
    """``[levers.NAME]``: actions to try; ``deployments`` maps key paths to 'is planned'."""
    out = []
    for name, raw in r.names(data, "levers").items():
        path = f"levers.{name}"
        action = raw.get("action") if isinstance(raw, dict) else None
        if not isinstance(action, str) or action not in LEVER_ACTIONS:
            r.fail(_join(path, "action"), f"must be one of {', '.join(LEVER_ACTIONS)}, got "
                                          f"{action!r}")
        keys = LEVER_ACTIONS[action]
        tbl = r.table(raw, path, ("action", "label", *keys, *PROVENANCE_KEYS), keys)
        lever = Lever(path, r.string(tbl, path, "label", name), action,
                      provenance=r.provenance(tbl, path))
        if "deployment" in keys:
            dep = r.string(tbl, path, "deployment")
            if dep not in deployments:
                r.fail(_join(path, "deployment"), f"{dep!r} is not a deployment of this "
                       f"scenario; {did_you_mean(dep, deployments).replace('keys', 'key paths')}")
            if action in ("fund", "cancel", "move") and not deployments[dep]:
                r.fail(_join(path, "deployment"), f"{dep!r} is installed; {action} applies to "
                                                  "planned phases")
            lever = dataclasses.replace(lever, deployment=dep)
        if action == "raise_envelope":
            mw = r.quantity(tbl, path, "power", "power")[0] / 1e6
            lever = dataclasses.replace(lever, power_mw=mw, month=r.month(tbl, path, "from"))
        if action == "retire_early":
            lever = dataclasses.replace(lever, month=r.month(tbl, path, "date"))
        if action == "move":
            months = r.number(tbl, path, "months", low=-600, high=600, what="months")
            if months != int(months):
                r.fail(_join(path, "months"), f"must be a whole number of months, got {months:g}")
            lever = dataclasses.replace(lever, months=int(months))
        out.append(lever)
    return out


def parse_scenario(data: Any, file: str) -> Scenario:
    """Validate a decoded TOML document into a ``Scenario``."""
    from models.catalogue import load_builtin

    r = Reader(file)
    top = r.table(data, "", _TOP, ("scenario",))
    head = r.table(top["scenario"], "scenario",
                   ("name", "description", "start", "end", "builtin_catalogue"),
                   ("name", "start", "end"))
    name = r.string(head, "scenario", "name")
    description = r.string(head, "scenario", "description", "")
    start = r.month(head, "scenario", "start")
    end = r.month(head, "scenario", "end")
    if end <= start:
        r.fail("scenario.end", f"{timeaxis.fmt(end)} is not after the start "
                               f"{timeaxis.fmt(start)}")
    if end - start >= 12 * 100:
        r.fail("scenario.end", "the horizon is longer than 100 years")

    d = r.table(top.get("definitions", {}), "definitions",
                ("include_fp8", "include_sparsity", "storage_unit"))
    unit = r.string(d, "definitions", "storage_unit", "PB")
    if unit not in ("PB", "PiB"):
        r.fail("definitions.storage_unit", f"must be 'PB' or 'PiB', got {unit!r}")
    defs = Definitions(r.boolean(d, "definitions", "include_fp8", False),
                       r.boolean(d, "definitions", "include_sparsity", False), unit)

    catalogue: dict[str, NodeType] = {}
    if r.boolean(head, "scenario", "builtin_catalogue", True):
        catalogue.update(load_builtin())
    catalogue.update(parse_catalogue(top.get("catalogue", {}), file))
    _check_catalogue(r, catalogue)

    deployments = _systems(r, top.get("systems", {}), start, catalogue)
    deployments += _phases(r, top.get("phases", {}), start, end, catalogue)
    seen: dict[str, str] = {}
    for dep in deployments:
        if dep.name in seen:
            r.fail(dep.key, f"the name {dep.name!r} is also used by {seen[dep.name]}")
        seen[dep.name] = dep.key
    storage, demand = _storage(r, top.get("storage", {}), start, end)
    facility = _facility(r, top.get("facility", {}), start, end)

    u = r.table(top.get("uncertainty", {}), "uncertainty",
                ("delivery_slip_years", "availability", "slip_correlation", *PROVENANCE_KEYS))
    uncertainty = Uncertainty(
        r.dist(u, "uncertainty", "delivery_slip_years", default=Fixed(0.0), low=0.0, high=20.0,
               what="delivery slip (years)"),
        r.dist(u, "uncertainty", "availability", default=Fixed(1.0), low=0.0, high=1.0,
               what="availability"),
        r.provenance(u, "uncertainty"),
        r.fraction(u, "uncertainty", "slip_correlation", 0.0, what="slip correlation"),
    )
    efficiency = _efficiency(r, top.get("efficiency", {}), catalogue)
    systems = {dep.system for dep in deployments} | {s.system for s in storage if s.system}
    targets = _targets(r, top.get("targets", {}), start, end, systems)

    w = r.table(top.get("world_leading", {}), "world_leading", ("system", "fit_from_year"))
    wsys = r.string(w, "world_leading", "system", "")
    if wsys and wsys not in systems:
        r.fail("world_leading.system", f"{wsys!r} is not a system of this scenario; "
                                       f"{did_you_mean(wsys, systems).replace('keys', 'systems')}")
    fit_from = int(r.number(w, "world_leading", "fit_from_year", default=2010.0, low=1993,
                            high=2100))
    keys = {d.key: d.planned for d in deployments} | {s.key: s.planned for s in storage}
    levers = _levers(r, top.get("levers", {}), keys)
    return Scenario(file, name, description, start, end, defs, catalogue, tuple(deployments),
                    tuple(storage), demand, facility, uncertainty, efficiency, tuple(targets),
                    WorldLeading(wsys, fit_from), tuple(levers))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; every failure is a ScenarioError naming the file."""
    p = Path(path)
    if not str(path).strip():
        raise ScenarioError(str(path), "", "is an empty path; name a scenario file")
    raw = _read_scenario(p)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(str(p), "", "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(p), "", f"is not valid TOML ({exc})") from None
    return parse_scenario(data, p.name if p.parent == default_dir() else str(p))


#: A scenario file larger than this is refused rather than read.
MAX_SCENARIO_BYTES = 4 * 2**20


def _read_scenario(p: Path) -> bytes:
    """The bytes of a regular scenario file: never a pipe (the open does not block), never
    more than ``MAX_SCENARIO_BYTES``."""
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ScenarioError(str(p), "", "no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(str(p), "", f"cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(str(p), "", "is not a regular file")
        if st.st_size > MAX_SCENARIO_BYTES:
            raise ScenarioError(str(p), "", f"is {st.st_size} bytes, more than the "
                                f"{MAX_SCENARIO_BYTES} a scenario may hold")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(str(p), "", f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(str(p), "", f"holds more than the {MAX_SCENARIO_BYTES} bytes a "
                            "scenario may hold")
    return raw


def default_dir() -> Path:
    return Path(__file__).with_name("scenarios")


DEFAULT_SCENARIO = "guangzhou.toml"


def resolve_path(name: str | None) -> Path:
    """A scenario argument: a path, or the name of a file in ``models/scenarios``."""
    if not name:
        return default_dir() / DEFAULT_SCENARIO
    p = Path(name)
    if p.exists() or (p.suffix == ".toml" and p.parent != Path(".")):
        return p
    for candidate in (default_dir() / name, default_dir() / f"{name}.toml"):
        if candidate.exists():
            return candidate
    return p
