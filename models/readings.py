"""The readings of a target: the way it is declared, and the other ways a reviewer will count it.

A plan's words leave room: "mixed-precision capability" is summed peak at each
partition's fastest precision in compute-power plans, while engineers judge
what the system sustains (HPL-MxP); a target names one system, while the centre
as a whole is a second reading. The declared reading is the answer; the others
are shown beside it, never instead of it, each with its own dates.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.schema import Target

#: a compute metric's other reading: peak <-> sustained
OTHER_METRIC = {"mixed_peak_pf": "mxp_pf", "mxp_pf": "mixed_peak_pf",
                "fp64_peak_pf": "hpl_pf", "hpl_pf": "fp64_peak_pf"}
METRIC_LABEL = {
    "mixed_peak_pf": "aggregate peak, each partition at its fastest precision",
    "mxp_pf": "sustained HPL-MxP-equivalent (peak x MxP efficiency x availability)",
    "fp64_peak_pf": "FP64 peak (Rpeak)",
    "hpl_pf": "sustained HPL-equivalent (Rmax x availability)",
    "storage_raw_pb": "raw capacity",
    "storage_usable_pb": "usable capacity (after protection and file-system overhead)",
    "storage_effective_pb": "effectively usable capacity (usable x fill ceiling)",
}


@dataclass(frozen=True)
class Reading:
    metric: str
    scope: tuple[str, ...]  # (): the whole centre
    declared: bool  # the target as the scenario declares it (the plan's reading)

    @property
    def key(self) -> str:
        """The engine's name for the metric in this scope, e.g. ``mixed_peak_pf@tianhe_xingyi``."""
        return metric_key(self.metric, self.scope)

    @property
    def scope_text(self) -> str:
        return "+".join(self.scope) if self.scope else "whole centre"

    @property
    def label(self) -> str:
        return f"{METRIC_LABEL.get(self.metric, self.metric)}; {self.scope_text}"


def metric_key(metric: str, scope: tuple[str, ...]) -> str:
    return f"{metric}@{'+'.join(scope)}" if scope else metric


def readings(target: Target) -> tuple[Reading, ...]:
    """Declared reading first, then the other metric, then the centre-wide scope."""
    metrics = [target.metric] + ([OTHER_METRIC[target.metric]]
                                 if target.metric in OTHER_METRIC else [])
    scopes = [target.scope] + ([()] if target.scope else [])
    return tuple(Reading(m, s, i == 0 and j == 0)
                 for j, s in enumerate(scopes) for i, m in enumerate(metrics))
