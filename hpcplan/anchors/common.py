"""Helpers shared by the speed scripts: alternation, medians, a ratio line."""

from __future__ import annotations

import statistics
from collections.abc import Callable


def alternate(rounds: int, ours: Callable[[], float], anchor: Callable[[], float]
              ) -> tuple[list[float], list[float]]:
    """Run ours then the anchor ``rounds`` times; returns both lists of figures."""
    a, b = [], []
    for _ in range(rounds):
        a.append(ours())
        b.append(anchor())
    return a, b


def ratio_line(label: str, ours: list[float], anchor: list[float], unit: str,
               target: float | None = None) -> str:
    mo, ma = statistics.median(ours), statistics.median(anchor)
    ratio = mo / ma
    spread = f"ours {min(ours):.1f}-{max(ours):.1f}, anchor {min(anchor):.1f}-{max(anchor):.1f}"
    verdict = ""
    if target is not None:
        verdict = f"  target >= {target:.2f}x: {'MET' if ratio >= target else 'NOT MET'}"
    return (f"{label:<34} ours {mo:9.2f} {unit:<8} anchor {ma:9.2f} {unit:<8} "
            f"ratio {ratio:5.3f}x  ({spread}){verdict}")
