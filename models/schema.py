"""The typed scenario: what a validated scenario file becomes.

Units are canonical and named: node compute rates in TF, power in W (node) and
MW (facility), storage in PB (10^15 bytes), months as integers (see
``timeaxis``), durations in years. Every figure carries its provenance, so the
output can list which inputs are sourced, assumed or measured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.distributions import Distribution, Fixed, Triangular
from models.power import PLATFORM_FACTOR
from models.units import Quantity

#: peak figures a catalogue entry may give (dense unless the name says sparse), in TF
COMPUTE_FIGURES = ("fp64", "fp64_tensor", "fp32", "fp16", "bf16", "fp8",
                   "fp16_sparse", "bf16_sparse", "fp8_sparse")
#: measured attributes calibration can set (per node), with their units
MEASURED_UNITS = {
    "fp64_peak_fraction": "ratio", "fp32_peak_fraction": "ratio", "mxp_speedup": "ratio",
    "stream_triad": "GB/s", "storage_write": "MiB/s",
}

POWER_POLICIES = ("flag", "shed", "prorata")
#: projection metrics: name -> (dimension of a target threshold, unit)
METRICS: dict[str, tuple[str, str]] = {
    "fp64_peak_pf": ("compute", "PF"),
    "mixed_peak_pf": ("compute", "PF"),
    "hpl_pf": ("compute", "PF"),
    "mxp_pf": ("compute", "PF"),
    "storage_raw_pb": ("storage", "PB"),
    "storage_usable_pb": ("storage", "PB"),
    "storage_effective_pb": ("storage", "PB"),
}


@dataclass(frozen=True)
class Provenance:
    """Where a number comes from: a dated source, a labelled assumption, or a measurement."""

    source: str = ""
    source_date: str = ""
    assumption: str = ""
    measured: str = ""

    @property
    def kind(self) -> str:
        if self.measured:
            return "measured"
        if self.source and self.source_date:
            return "sourced"
        if self.assumption:
            return "assumption"
        return "unsourced"

    def text(self) -> str:
        if self.measured:
            return f"measured: {self.measured}"
        parts = []
        if self.source and self.source_date:
            parts.append(f"{self.source} ({self.source_date})")
        if self.assumption:
            parts.append(f"assumption: {self.assumption}")
        return "; ".join(parts) or "no source given"


BUILTIN = Provenance(assumption="hpcplan built-in default")


@dataclass(frozen=True)
class Figure:
    value: float  # canonical unit
    unit: str
    text: str  # as written in the file
    provenance: Provenance = BUILTIN


@dataclass(frozen=True)
class NodeType:
    """A catalogue entry: a device or a node (a node may list its devices as parts)."""

    name: str
    description: str = ""
    figures: Mapping[str, Figure] = field(default_factory=dict)  # COMPUTE_FIGURES, power, cost
    parts: Mapping[str, int] = field(default_factory=dict)
    measured: Mapping[str, Figure] = field(default_factory=dict)  # MEASURED_UNITS
    provenance: Provenance = BUILTIN
    file: str = ""


@dataclass(frozen=True)
class Definitions:
    include_fp8: bool = False
    include_sparsity: bool = False
    storage_unit: str = "PB"  # display unit: PB (10^15 B) or PiB (2^50 B)


@dataclass(frozen=True)
class Deployment:
    """Nodes of one type in service from commissioning to retirement.

    Installed partitions have fixed dates; planned phases slip by a sampled
    delivery delay (their lifetime moves with them) and may not go ahead.
    """

    key: str  # key path in the scenario, e.g. "phases.ai_1"
    name: str
    system: str  # the machine it belongs to (TOP500 entries are per machine)
    node_type: str
    count: float  # point value (an integer when fixed)
    commissioned: int  # month
    retired: int | None = None  # first month out of service (fixed date)
    lifetime_years: float | None = None  # or a lifetime from (slipped) commissioning
    planned: bool = False
    slip_years: Distribution | None = None  # planned only; None: the scenario default
    probability: float = 1.0
    budget: Quantity | None = None  # when the count was derived from a budget
    provenance: Provenance = BUILTIN
    count_dist: Distribution | None = None  # an uncertain size (nodes); None: fixed ``count``


@dataclass(frozen=True)
class StorageSystem:
    key: str
    name: str
    raw_pb: float
    data_units: int  # protection scheme k+m: k data, m parity
    parity_units: int
    fs_overhead: float  # fraction of protected capacity taken by the file system
    fill_ceiling: float  # fraction of usable capacity that can be filled in practice
    commissioned: int
    retired: int | None = None
    lifetime_years: float | None = None
    planned: bool = False
    slip_years: Distribution | None = None
    probability: float = 1.0
    power_w: float = 0.0
    provenance: Provenance = BUILTIN
    system: str = ""  # the machine it serves; "" counts only in a centre-wide scope

    @property
    def protection_fraction(self) -> float:
        return self.data_units / (self.data_units + self.parity_units)

    @property
    def usable_fraction(self) -> float:
        return self.protection_fraction * (1.0 - self.fs_overhead)

    @property
    def effective_fraction(self) -> float:
        return self.usable_fraction * self.fill_ceiling


@dataclass(frozen=True)
class Demand:
    initial_pb: float  # data held at month ``at``
    at: int
    growth_per_year: Distribution  # fractional growth a year (0.5 = +50 %/year)
    provenance: Provenance = BUILTIN


NO_SLIP = Fixed(0.0)
ONE = Fixed(1.0)


@dataclass(frozen=True)
class Facility:
    envelope_mw: tuple[tuple[int, float], ...] = ()  # (from month, MW); empty: no limit
    pue: Distribution = ONE
    #: "flag": report only; "shed": whole partitions switched off, least GFLOP/s per W first;
    #: "prorata": every system scaled by envelope / power (the old "cap")
    power_policy: str = "flag"
    #: a node's wall power over its RAPL (packages + DRAM) power, for measured watts
    rapl_wall_factor: float = PLATFORM_FACTOR
    provenance: Provenance = BUILTIN


@dataclass(frozen=True)
class Efficiency:
    hpl: Distribution  # HPL Rmax / FP64 peak
    mxp: Distribution  # HPL-MxP rate / mixed-precision peak
    hpl_provenance: Provenance = BUILTIN
    mxp_provenance: Provenance = BUILTIN

    def provenance_of(self, which: str) -> Provenance:
        return self.hpl_provenance if which == "hpl" else self.mxp_provenance


DEFAULT_EFFICIENCY = Efficiency(
    hpl=Triangular(0.6, 0.7, 0.85),
    mxp=Triangular(0.2, 0.45, 0.7),
    hpl_provenance=Provenance(assumption="hpcplan built-in default: HPL/Rpeak 0.6-0.85 as GPU "
                              "systems commonly reach"),
    mxp_provenance=Provenance(assumption="hpcplan built-in default: MxP 0.2-0.7 of the dense "
                              "low-precision peak, the range published MxP results imply "
                              "against vendor peaks"),
)


@dataclass(frozen=True)
class Uncertainty:
    delivery_slip_years: Distribution = NO_SLIP
    availability: Distribution = ONE
    provenance: Provenance = BUILTIN
    #: correlation of the normal scores of all planned deliveries' slips (one common cause)
    slip_correlation: float = 0.0


@dataclass(frozen=True)
class Target:
    key: str
    name: str
    metric: str  # one of METRICS
    threshold: float  # in the metric's unit (PF or PB); met when the metric exceeds it
    threshold_text: str
    deadline: int  # month
    provenance: Provenance = BUILTIN
    scope: tuple[str, ...] = ()  # the systems it counts; (): every system of the centre
    sustain_until: int | None = None  # month it must be held to; None: the horizon's end


#: lever actions a scenario may declare, with the keys each takes
LEVER_ACTIONS: dict[str, tuple[str, ...]] = {
    "raise_envelope": ("power", "from"),
    "retire_early": ("deployment", "date"),
    "fund": ("deployment",),
    "cancel": ("deployment",),
    "move": ("deployment", "months"),
}


@dataclass(frozen=True)
class Lever:
    """An action a centre can take, tried as a counterfactual run.

    ``deployment`` is a key path (``phases.ai_2``, ``systems.tianhe2a.partitions.compute``,
    ``storage.phases.expansion_2``); ``months`` moves a delivery (negative: earlier).
    """

    key: str
    label: str
    action: str  # one of LEVER_ACTIONS
    deployment: str = ""
    power_mw: float = 0.0
    month: int = 0  # "from" of raise_envelope, "date" of retire_early
    months: int = 0
    provenance: Provenance = BUILTIN


@dataclass(frozen=True)
class WorldLeading:
    system: str = ""  # the machine compared with the TOP500 trend; empty: the largest
    fit_from_year: int = 2010


@dataclass(frozen=True)
class Scenario:
    file: str
    name: str
    description: str
    start: int  # first month of the horizon
    end: int  # last month of the horizon (inclusive)
    definitions: Definitions = field(default_factory=Definitions)
    catalogue: Mapping[str, NodeType] = field(default_factory=dict)
    deployments: tuple[Deployment, ...] = ()
    storage: tuple[StorageSystem, ...] = ()
    demand: Demand | None = None
    facility: Facility = field(default_factory=Facility)
    uncertainty: Uncertainty = field(default_factory=Uncertainty)
    efficiency: Mapping[str, Efficiency] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()
    world_leading: WorldLeading = field(default_factory=WorldLeading)
    levers: tuple[Lever, ...] = ()  # declared; the projection adds built-in ones

    @property
    def months(self) -> int:
        return self.end - self.start + 1

    def nodes_by_system(self, node_type: str | None = None) -> dict[str, float]:
        """Nodes (point counts) per system over all its partitions and phases, of one node
        type or of all: the scale a measured scaling law must be carried to."""
        out: dict[str, float] = {}
        for d in self.deployments:
            if node_type is None or d.node_type == node_type:
                out[d.system] = out.get(d.system, 0.0) + float(d.count)
        return out

    def efficiency_for(self, node_type: str) -> Efficiency:
        return (self.efficiency.get(node_type) or self.efficiency.get("default")
                or DEFAULT_EFFICIENCY)

    def efficiency_key(self, node_type: str) -> str:
        if node_type in self.efficiency:
            return f"efficiency.{node_type}"
        return "efficiency.default"

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a scenario as ``key.path -> value``: the basis of 'what changed' checks."""
    out: dict[str, Any] = {}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            out.update(flatten(getattr(obj, f.name), f"{prefix}{f.name}."))
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, tuple) and obj and dataclasses.is_dataclass(obj[0]):
        for item in obj:
            out.update(flatten(item, f"{prefix}{getattr(item, 'key', getattr(item, 'name', ''))}."))
    else:
        out[prefix.rstrip(".")] = obj
    return out
