"""Whole-node power from RAPL: the one rule the projection and the what-if share.

RAPL counts the CPU packages and DRAM only; fans, NICs, voltage regulators and
PSU losses add roughly 10-30 % at the wall. So a node's power is the measured
RAPL W per node x a wall factor: the scenario's ``[facility] rapl_wall_factor``,
else ``PLATFORM_FACTOR`` (1.2, the middle of that range: a labelled assumption).
Power is judged under HPL load, as TOP500 does: the node's figure is the heaviest
measured compute kernel, the largest of the per-kernel medians of RAPL W per node
(the median, so one noisy run does not set it).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

#: whole node at the wall / RAPL (packages + DRAM); an assumption, see the module docstring
PLATFORM_FACTOR = 1.2
FACTOR_WHY = ("RAPL counts CPU packages and DRAM only; fans, NICs, voltage regulators and PSU "
              f"losses add roughly 10-30 % at the wall, {PLATFORM_FACTOR:g} the middle")
#: the records whose watts describe a node under load
LOAD_PREFIX = "compute."


@dataclass(frozen=True)
class NodePower:
    """A node's power under load: the RAPL figure it rests on and the whole-node W."""

    kernel: str  # the record name whose median set the figure
    samples: tuple[float, ...]  # that kernel's RAPL W per node, one per record
    rapl_w: float  # their median, W per node
    factor: float = PLATFORM_FACTOR  # whole node at the wall / RAPL

    @property
    def watts(self) -> float:
        """Whole-node W (RAPL x the wall factor)."""
        return self.rapl_w * self.factor

    def scaled(self) -> str:
        """How the whole-node W follows from the RAPL figure, naming the factor."""
        why = (f"an assumption: {FACTOR_WHY}" if self.factor == PLATFORM_FACTOR else
               "the scenario's [facility] rapl_wall_factor")
        return (f"x {self.factor:g} wall factor = {self.watts:,.0f} W per node (the "
                f"heaviest compute kernel measured; the factor is {why})")

    def statement(self) -> str:
        """One line: the RAPL figure, its kernel and records, the factor and the result."""
        return (f"RAPL {self.rapl_w:,.0f} W per node during {self.kernel} (median of "
                f"{len(self.samples)} record(s)) {self.scaled()}")


def node_power(samples: Iterable[tuple[str, float]], factor: float = PLATFORM_FACTOR
               ) -> NodePower | None:
    """The node's power from (record name, RAPL W per node) pairs; compute kernels only.

    None when no compute record carries watts.
    """
    by_kernel: dict[str, list[float]] = {}
    for name, watts in samples:
        if name.startswith(LOAD_PREFIX) and math.isfinite(watts) and watts > 0:
            by_kernel.setdefault(name, []).append(float(watts))
    if not by_kernel:
        return None
    medians = {name: statistics.median(ws) for name, ws in by_kernel.items()}
    kernel = max(sorted(medians), key=lambda n: medians[n])  # ties: the first by name
    return NodePower(kernel, tuple(by_kernel[kernel]), medians[kernel], factor)
