"""What-if: the measured machine as the building block of the targets, never calibration.

When no measured record carries a catalogue node type nothing is calibrated, yet
the measurement still answers a planner's first question: built only from nodes
like this one, how many would reach each compute target, drawing how many MW and
costing what? The report shows the answer as a labelled what-if beside the
projection; nothing here feeds the projection.

Per compute target and reading: the peak reading counts N x the per-node peak (a
peak adds up without loss); the sustained reading follows the weak-scaling law
fitted to the measured solve (``models.scaling``; with one node count the
communication term is a prior, and the fit says so). N is the smallest whole
node count whose predicted aggregate rate reaches the threshold, found by
bisection (the rate grows with N): at the P50 rate, and at the P90 and P10 rates
for the range. Beyond NODE_CAP nodes the target is not reachable with this node.
MW = N x W per node x PUE / 10^6 and cost = N x cost per node, with the watts
from RAPL x the wall factor where a record carries them (models/power.py, the
rule calibration sets a node type's power by, so the two agree) and the cost
always an assumption.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hpcplan.report import measured
from models.power import LOAD_PREFIX, PLATFORM_FACTOR, node_power

if TYPE_CHECKING:
    from bench.records import Record
    from hpcplan.report.core import Report
    from hpcplan.report.measured import MachineGroup, Scaling
    from models.projection import TargetResult
    from models.scaling import ScalingFit

#: more nodes than this: "not reachable with this node" (no machine room holds 10^8 servers)
NODE_CAP = 10**8
#: a 1-2 socket server under load, at the wall; used when no record measured the watts
ASSUMED_WATTS_PER_NODE = 350.0
#: a 1-2 socket server with memory and interconnect share; always an assumption
ASSUMED_COST_PER_NODE_USD = 15_000.0
#: the compute metrics a building block answers, and whether each is a peak reading
COMPUTE_METRICS = {"mixed_peak_pf": True, "fp64_peak_pf": True, "mxp_pf": False,
                   "hpl_pf": False}
GFLOPS_PER_PF = 1e6
#: GFLOP/s records that make a machine a candidate building block
_FIGURES = ("compute.peak.", "compute.mxp.", "compute.hpl.fp64")


@dataclass(frozen=True)
class WhatIfRow:
    """Nodes, MW and cost for one target read one way, with what the numbers rest on."""

    target: str
    threshold_pf: float
    threshold_text: str
    deadline: str
    metric: str
    declared: bool  # the plan's reading of the target
    gflops_per_node: float | None  # the measured figure scaled up; None: not measured here
    #: whole nodes at the P90 rate (fewest), the P50 rate, the P10 rate; None: over NODE_CAP
    nodes: tuple[int | None, int | None, int | None]
    watts_per_node: float
    pue: float
    cost_per_node_usd: float
    machine: str  # the measured machine's label
    basis: str  # what this row's figure and scaling are
    assumptions: str  # W per node, PUE and cost per node, with where each comes from

    @property
    def provenance(self) -> str:
        return f"measured on {self.machine}; {self.basis}; {self.assumptions}"

    @property
    def reachable(self) -> bool:
        return self.nodes[1] is not None

    def mw(self, nodes: int | None) -> float | None:
        """Facility MW of ``nodes`` of this machine (IT x PUE)."""
        return None if nodes is None else nodes * self.watts_per_node * self.pue / 1e6

    def cost_usd(self, nodes: int | None) -> float | None:
        return None if nodes is None else nodes * self.cost_per_node_usd


@dataclass(frozen=True)
class WhatIf:
    machine: str  # the group's label
    group: str  # the group's key
    rows: tuple[WhatIfRow, ...]


def nodes_needed(rate: Callable[[int], float], target_gflops: float,
                 cap: int = NODE_CAP) -> int | None:
    """The smallest whole N with rate(N) >= target; rate must grow with N. None over cap."""
    if rate(cap) < target_gflops:
        return None
    lo, hi = 0, cap  # rate(lo) < target (rate(0) = 0), rate(hi) >= target
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rate(mid) >= target_gflops:
            hi = mid
        else:
            lo = mid
    return hi


def whatif(r: Report) -> WhatIf | None:
    """The building-block what-if, only when nothing was calibrated, a machine measured
    compute figures and a target is a compute one: the newest untagged such machine, else
    the newest such machine."""
    if r.calibrated or r.scenario is None:
        return None
    g = candidate(r.groups)
    if g is None:
        return None
    pue = float(r.scenario.facility.pue.point())
    found = tuple(rows(g, r.projection.targets, pue, r.scalings.get(g.key, []),
                       wall_factor=r.scenario.facility.rapl_wall_factor))
    return WhatIf(g.label, g.key, found) if found else None


def candidate(groups: Sequence[MachineGroup]) -> MachineGroup | None:
    usable = [g for g in groups if any(_figure(rec) for rec in g.records)]
    untagged = [g for g in usable if not g.node_type] or usable
    return max(untagged, key=lambda g: g.records[-1].timestamp, default=None)


def rows(g: MachineGroup, targets: Sequence[TargetResult], pue: float,
         scalings: Sequence[Scaling] | None = None, *,
         wall_factor: float = PLATFORM_FACTOR) -> list[WhatIfRow]:
    """Per compute target, each metric it is read by (the plan's first), once per metric;
    ``scalings``: the group's, when already fitted (``Report.scalings``); ``wall_factor``:
    the scenario's wall power over RAPL power."""
    watts, watts_text = watts_per_node(g, wall_factor)
    fits = {s.name: s.fit for s in (measured.scaling(g) if scalings is None else scalings)
            if s.fit is not None}
    assumptions = (f"W per node: {watts_text}; PUE {pue:.2f} (the scenario's point value); "
                   f"cost per node: USD {ASSUMED_COST_PER_NODE_USD:,.0f}, an assumption")
    out = []
    for t in targets:
        metrics = dict.fromkeys(rd.metric for rd in t.readings if rd.metric in COMPUTE_METRICS)
        for metric in metrics:
            declared = metric == t.metric
            per_node, nodes, basis = _solve(g, metric, t.threshold * GFLOPS_PER_PF, fits)
            out.append(WhatIfRow(t.name, t.threshold, t.threshold_text, t.deadline, metric,
                                 declared,
                                 per_node, nodes, watts, pue, ASSUMED_COST_PER_NODE_USD,
                                 g.label, basis, assumptions))
    return out


def _solve(g: MachineGroup, metric: str, target: float, fits: dict[str, ScalingFit]
           ) -> tuple[float | None, tuple[int | None, int | None, int | None], str]:
    """(per-node figure, nodes at P90/P50/P10 rate, what the figure is) for one metric."""
    none = (None, None, None)
    if COMPUTE_METRICS[metric]:
        found = _peak(g, measured.PRECISIONS if metric == "mixed_peak_pf" else ("fp64",))
        if found is None:
            return None, none, "no peak figure for this machine"
        per_node, text = found
        n = nodes_needed(lambda k: per_node * k, target)
        return per_node, (n, n, n), f"{text}; a peak adds up over nodes without loss"
    rec, text = _sustained(g, metric)
    if rec is None:
        return None, none, text
    fit = fits.get(rec.name) or _one_point_fit(rec)
    cache: dict[int, tuple[float, float, float]] = {}

    def rate(k: int) -> tuple[float, float, float]:
        if k not in cache:
            cache[k] = fit.predict(k)
        return cache[k]

    n10, n50, n90 = (nodes_needed(lambda k, i=i: rate(k)[i], target) for i in range(3))
    lo, hi = min(fit.n_measured), max(fit.n_measured)
    scaling = (f"scaling fitted on {lo}-{hi} nodes ({fit.runs} runs)" if fit.fitted else
               f"scaling: measured at {hi} node(s) only, {fit.prior}")
    return _per_node(rec), (n90, n50, n10), f"{text}; {scaling}"


def _per_node(rec: Record) -> float:
    return float(rec.value) / rec.nodes  # type: ignore[arg-type]


def _one_point_fit(rec: Record) -> ScalingFit:
    from models.scaling import fit_scaling

    return fit_scaling([(rec.nodes, _per_node(rec) * rec.nodes)])


def _figure(rec: Record) -> bool:
    return (rec.status == "ok" and rec.value is not None and rec.unit == "GFLOP/s"
            and rec.name.startswith(_FIGURES))


def _newest(g: MachineGroup) -> dict[str, Record]:
    return {rec.name: rec for rec in g.records if _figure(rec)}  # records are oldest first


def _peak(g: MachineGroup, precisions: Sequence[str]) -> tuple[float, str] | None:
    """The fastest measured peak per node among ``precisions``; the probe's theoretical
    peak only when none was measured (measured beats assumed)."""
    newest = _newest(g)
    found = [(_per_node(rec), f"peak per node: measured {rec.name}")
             for p in precisions if (rec := newest.get(f"compute.peak.{p}")) is not None]
    if not found:
        peaks = g.machine.get("peak_gflops") or {}
        found = [(float(peaks[p]), f"peak per node: theoretical {p.upper()} peak from the "
                                   "machine probe (not measured)")
                 for p in precisions if isinstance(peaks.get(p), int | float) and peaks[p] > 0]
    return max(found, default=None)


def _sustained(g: MachineGroup, metric: str) -> tuple[Record | None, str]:
    """The solve record a sustained reading scales: HPL-MxP-style for mxp_pf (the FP64 solve
    as its lower bound when no mixed-precision one ran), the FP64 solve for hpl_pf."""
    newest = _newest(g)
    hpl = newest.get("compute.hpl.fp64")
    if metric == "hpl_pf":
        return (hpl, "sustained: measured compute.hpl.fp64") if hpl else (
            None, "no validated compute.hpl.fp64 record on this machine")
    mxp = [rec for name, rec in newest.items() if name.startswith("compute.mxp.")]
    if mxp:
        best = max(mxp, key=_per_node)
        return best, f"sustained: measured {best.name}"
    if hpl:
        return hpl, ("sustained: measured compute.hpl.fp64, a lower bound (no mixed-precision "
                     "solve measured)")
    return None, "no validated compute.mxp.* or compute.hpl.fp64 record on this machine"


def watts_per_node(g: MachineGroup, factor: float = PLATFORM_FACTOR) -> tuple[float, str]:
    """W per node by the rule the calibrated projection uses (models/power.py: the heaviest
    compute kernel's median RAPL W per node x the wall factor), over the machine's ok
    records; else ASSUMED_WATTS_PER_NODE, labelled an assumption with the reason."""
    ok = [rec for rec in g.records if rec.status == "ok"]
    power = node_power(((rec.name, w) for rec in ok if (w := rec.node_watts) is not None),
                       factor)
    if power is not None:
        return power.watts, power.statement()
    reasons = [e["unavailable"] for rec in ok if rec.name.startswith(LOAD_PREFIX)
               and isinstance(e := rec.params.get("energy"), dict)
               and isinstance(e.get("unavailable"), str)]
    why = f"RAPL unavailable: {reasons[-1][:120]}" if reasons else "no energy measurement stored"
    return ASSUMED_WATTS_PER_NODE, (f"{ASSUMED_WATTS_PER_NODE:,.0f} W, an assumption for a "
                                    f"1-2 socket server under load ({why})")
