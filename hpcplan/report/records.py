"""How records read on a terminal: one row per record with value, unit and % of peak."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.records import Record
    from hpcplan.report.tables import Cell

HEADERS = ("benchmark", "value", "unit", "% of peak", "status", "note")


def percent_of_peak(rec: Record) -> float | None:
    peak = rec.params.get("theoretical_peak_gflops")
    if rec.value is None or not peak or rec.unit != "GFLOP/s":
        return None
    return 100.0 * rec.value / float(peak)


def row(rec: Record) -> list[Cell]:
    note = ""
    if rec.status != "ok":
        note = str(rec.validation.get("details", ""))[:90]
    elif rec.params.get("likely_cached"):
        note = "likely cached"
    elif rec.validation.get("notes"):  # e.g. a noisy machine, a rate above a peak
        note = "; ".join(str(n) for n in rec.validation["notes"])[:90]
    pct = percent_of_peak(rec)
    return [rec.name, rec.value, rec.unit, None if pct is None else round(pct, 1),
            rec.status.upper() if rec.status != "ok" else "ok", note]


def rows(records: Sequence[Record]) -> list[list[Cell]]:
    return [row(r) for r in records]
