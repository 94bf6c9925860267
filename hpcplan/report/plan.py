"""What the report draws from the scenario itself: power per system, retirements, node types.

The projection answers per target and per metric; a planner reading the power
chart also needs to see *whose* load is over the envelope, and on the
probability chart *which* retirement makes a target fall back. Both come from
the model's own point run (``models.engine``, every input at its point value),
so the chart and the projection's warnings cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models import engine, timeaxis
from models import inputs as inputs_mod

if TYPE_CHECKING:
    from models.schema import Deployment, Scenario, StorageSystem

#: the name the power chart gives the storage systems' load
STORAGE = "storage (all file systems)"


@dataclass(frozen=True)
class SystemPower:
    """One machine's facility load in the point run (IT x PUE), month by month."""

    system: str
    installed_mw: np.ndarray  # in service, whether or not the envelope switches it off
    shed_mw: np.ndarray  # the part switched off by the power policy
    gflops_per_w: float | None  # mixed-precision peak per IT watt; None: storage

    @property
    def label(self) -> str:
        return self.system if self.gflops_per_w is None else \
            f"{self.system} ({self.gflops_per_w:,.1f} GFLOP/s per W)"


@dataclass(frozen=True)
class Retirement:
    """A deployment leaving service inside the horizon (point run)."""

    key: str
    name: str
    system: str
    month: str
    kind: str  # compute | storage


@dataclass(frozen=True)
class NodeType:
    """A catalogue entry the scenario deploys: a valid ``node_type`` tag for calibration."""

    name: str
    deployments: tuple[str, ...]  # key paths that use it
    planned: bool  # every deployment using it is a planned (future) phase


@dataclass(frozen=True)
class PlanFacts:
    months: tuple[str, ...]
    power: tuple[SystemPower, ...]  # compute systems in merit order (least GFLOP/s per W first)
    envelope_mw: np.ndarray  # inf where the scenario sets no limit
    policy: str  # flag | shed | prorata
    pue: float  # point value
    retirements: tuple[Retirement, ...]
    node_types: tuple[NodeType, ...]

    @property
    def total_mw(self) -> np.ndarray:
        return np.sum([s.installed_mw for s in self.power], axis=0) if self.power else \
            np.zeros(len(self.months))

    def over_envelope(self) -> np.ndarray:
        return self.total_mw > self.envelope_mw + 1e-9


def facts(sc: Scenario) -> PlanFacts:
    """The point run of ``sc``, per system and deployment."""
    space = inputs_mod.build(sc)
    comp = engine.compile_scenario(sc, space)
    point = space.point()
    det = engine.evaluate(comp, point, keep_paths=True)
    months = comp.months
    pue = float(point[0, comp.pue_col])
    m = np.arange(months)
    c_start, c_end = comp.c_win.resolve(point, months)
    live = (c_start[0][:, None] <= m) & (m < c_end[0][:, None])  # (deployments, months)
    dep_mw = comp.counts(point).reshape(-1)[:, None] * comp.c_power_node[:, None] * pue * live
    shed = det.p_shed > 0 if det.p_shed is not None else np.zeros_like(live)
    deps = list(sc.deployments)
    systems: dict[str, list[int]] = {}
    for j in comp.c_merit:  # least GFLOP/s per W first: the order the envelope sheds them
        systems.setdefault(deps[j].system, []).append(int(j))
    out = []
    for system, idx in systems.items():
        mixed = float(np.sum(comp.c_mixed[idx]))
        it_mw = float(np.sum(comp.c_power[idx]))
        out.append(SystemPower(system, dep_mw[idx].sum(axis=0),
                               (dep_mw[idx] * shed[idx]).sum(axis=0),
                               mixed / it_mw if it_mw > 0 else None))
    stor = list(sc.storage)
    if stor:
        s_start, s_end = comp.s_win.resolve(point, months)
        s_live = (s_start[0][:, None] <= m) & (m < s_end[0][:, None])
        s_mw = (comp.s_power[:, None] * pue * s_live).sum(axis=0)
        if s_mw.any():
            out.append(SystemPower(STORAGE, s_mw, np.zeros(months), None))
    retired = _retirements(sc, deps, c_start[0], c_end[0], "compute", months)
    if stor:
        retired += _retirements(sc, stor, s_start[0], s_end[0], "storage", months)
    retired.sort(key=lambda r: r.month)
    types: dict[str, list[Deployment]] = {}
    for d in deps:
        types.setdefault(d.node_type, []).append(d)
    node_types = tuple(NodeType(name, tuple(d.key for d in ds), all(d.planned for d in ds))
                       for name, ds in types.items())
    return PlanFacts(tuple(timeaxis.fmt(sc.start + i) for i in range(months)), tuple(out),
                     comp.envelope_mw.copy(), comp.policy, pue, tuple(retired), node_types)


def _retirements(sc: Scenario, items: Sequence[Deployment | StorageSystem], start: np.ndarray,
                 end: np.ndarray, kind: str, months: int) -> list[Retirement]:
    return [Retirement(it.key, it.name, it.system, timeaxis.fmt(sc.start + int(e)), kind)
            for it, s, e in zip(items, start, end, strict=True) if int(s) < int(e) < months]


def ranges(months: tuple[str, ...], mask: np.ndarray) -> str:
    """Month indices where ``mask`` holds as 'YYYY-MM..YYYY-MM' runs ('' when none)."""
    out: list[tuple[int, int]] = []
    for i in (int(x) for x in np.flatnonzero(mask)):
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return ", ".join(months[a] if a == b else f"{months[a]}..{months[b]}" for a, b in out)


def largest_system(sc: Scenario) -> tuple[str, float] | None:
    """The scenario's system with the most nodes (all its partitions and phases) and that
    count: the scale a measured scaling law is extrapolated to."""
    nodes = sc.nodes_by_system()
    if not nodes:
        return None
    name = max(nodes, key=lambda k: nodes[k])
    return name, nodes[name]
