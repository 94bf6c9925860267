"""Physical bounds: a figure beyond what the hardware can do is a bug until explained.

A job that shared its cores with another once stored an MxP speed-up of 5.56x where
FP32 over FP64 allows 2x (issue 18). Every ok record is checked here before it is
stored; one beyond its bound gets status ``suspect``: its value is kept and shown
with the reason, but it is not ``ok``, so calibration, gates and comparisons leave
it out. The bounds are generous on purpose (they must never flag an honest run):

- a GFLOP/s figure above the machine's generous peak for its precision (maximum
  clock, most FMA units of the family) times its nodes;
- an MxP speed-up above the ratio of the low- and high-precision peaks (the lanes)
  times ``SPEEDUP_ALLOWANCE`` (the FP64 anchor, LAPACK's solve with partial
  pivoting, may run below our FP64 LU, so a ratio somewhat above the lanes is honest);
- a parallel efficiency above ``MAX_EFFICIENCY`` (superlinear scaling).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.records import PRECISIONS, Record

#: An MxP speed-up may exceed the lane ratio by this factor before it is suspect.
SPEEDUP_ALLOWANCE = 1.25
#: A parallel efficiency above this is superlinear: suspect.
MAX_EFFICIENCY = 1.1


def _peak(machine: Mapping[str, Any], key: str, precision: str | None) -> float | None:
    peaks = machine.get(key)
    if not isinstance(peaks, Mapping) or precision is None:
        return None
    value = peaks.get(precision)
    return float(value) if isinstance(value, int | float) and value > 0 else None


def beyond(rec: Record) -> list[str]:
    """Why an ok record's figure is beyond its physical bound (empty when it is not)."""
    if rec.status != "ok" or rec.value is None:
        return []
    out = []
    if rec.unit == "GFLOP/s":
        generous = _peak(rec.machine, "generous_peak_gflops", rec.precision)
        if generous and rec.value > generous * rec.nodes:
            out.append(f"{rec.value:.4g} GFLOP/s is above the generous peak "
                       f"{generous * rec.nodes:.4g} GFLOP/s of {rec.nodes} node(s) (maximum "
                       "clock, most FMA units): the machine was not what the probe saw, or the "
                       "work was not all done")
    if rec.name == "compute.mxp.speedup":
        low = str(rec.params.get("numerator", "")).rsplit(".", 1)[-1]
        lanes_low = _peak(rec.machine, "peak_gflops", low if low in PRECISIONS else None)
        lanes_high = _peak(rec.machine, "peak_gflops", "fp64")
        if lanes_low and lanes_high:
            bound = lanes_low / lanes_high * SPEEDUP_ALLOWANCE
            if rec.value > bound:
                out.append(f"speed-up {rec.value:.2f}x is above {bound:.2f}x ({low.upper()} over "
                           f"FP64 peak {lanes_low / lanes_high:.2f}x, times "
                           f"{SPEEDUP_ALLOWANCE}): the FP64 anchor was slowed (shared cores?)")
    efficiency = rec.params.get("parallel_efficiency")
    if isinstance(efficiency, int | float) and efficiency > MAX_EFFICIENCY:
        out.append(f"parallel efficiency {efficiency:.2f} is above {MAX_EFFICIENCY} "
                   "(superlinear)")
    return out


def checked(rec: Record) -> Record:
    """The record, or the same figure marked ``suspect`` with the reasons."""
    reasons = beyond(rec)
    if not reasons:
        return rec
    validation = {**rec.validation, "suspect": reasons,
                  "details": "SUSPECT: " + "; ".join(reasons)}
    return rec.replace(status="suspect", validation=validation)
