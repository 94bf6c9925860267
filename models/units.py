"""Quantities with units, as scenario files write them (``"12.4 PB"``, ``"2.4576 TF"``).

Every quantity is parsed into a canonical unit per dimension: compute rates in
TF (10^12 FLOP/s), power in W, storage in PB (10^15 bytes), money in the
currency's base unit. PB and PiB are never mixed silently: both parse, and
``PIB_IN_PB`` converts. A bare number or an unknown unit (``"100 P"``) is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: 1 PiB = 2^50 bytes = 1.125899906842624 PB (10^15 bytes).
PIB_IN_PB = 2.0**50 / 1e15

#: dimension -> unit -> factor to the canonical unit (first entry is canonical)
UNITS: dict[str, dict[str, float]] = {
    "compute": {
        "TF": 1.0, "GF": 1e-3, "PF": 1e3, "EF": 1e6,
        "TFLOP/s": 1.0, "GFLOP/s": 1e-3, "PFLOP/s": 1e3, "EFLOP/s": 1e6,
    },
    "power": {"W": 1.0, "kW": 1e3, "MW": 1e6},
    "storage": {
        "PB": 1.0, "GB": 1e-6, "TB": 1e-3, "EB": 1e3,
        "GiB": 2.0**30 / 1e15, "TiB": 2.0**40 / 1e15, "PiB": PIB_IN_PB, "EiB": 2.0**60 / 1e15,
    },
    "money": {
        "USD": 1.0, "kUSD": 1e3, "MUSD": 1e6,
        "CNY": 1.0, "kCNY": 1e3, "MCNY": 1e6,
        "EUR": 1.0, "kEUR": 1e3, "MEUR": 1e6,
    },
}
CANONICAL = {"compute": "TF", "power": "W", "storage": "PB", "money": ""}
EXAMPLES = {"compute": "'2.4576 TF'", "power": "'240 W'", "storage": "'12.4 PB'",
            "money": "'250000 USD'"}

_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z/]+)\s*$")


class UnitError(ValueError):
    """The text is not '<number> <unit>' with a unit of the expected dimension."""


@dataclass(frozen=True)
class Quantity:
    value: float  # in the canonical unit of the dimension (money: the base currency unit)
    unit: str  # the canonical unit; for money, the currency code (USD, CNY, EUR)
    text: str  # as written


def currency(unit: str) -> str:
    return unit.lstrip("kM")


def parse_quantity(raw: object, dimension: str) -> Quantity:
    """Parse ``'<number> <unit>'`` for a dimension; raise UnitError saying what is accepted."""
    units = UNITS[dimension]
    accepted = ", ".join(units)
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise UnitError(f"needs a number with a unit such as {EXAMPLES[dimension]}, "
                        f"got {raw!r} (accepted units: {accepted})")
    m = _QUANTITY.match(raw)
    if not m:
        raise UnitError(f"{raw!r} is not '<number> <unit>' (accepted units: {accepted})")
    number, unit = float(m.group(1)), m.group(2)
    if unit not in units:
        raise UnitError(f"unit {unit!r} in {raw!r} is not one of {accepted}")
    if not math.isfinite(number * units[unit]):
        raise UnitError(f"{raw!r} is not a finite number")
    if dimension == "money":
        return Quantity(number * units[unit], currency(unit), raw)
    return Quantity(number * units[unit], CANONICAL[dimension], raw)


def pb_to_pib(pb: float) -> float:
    return pb / PIB_IN_PB


def pib_to_pb(pib: float) -> float:
    return pib * PIB_IN_PB


def convert(value: float, dimension: str, to_unit: str) -> float:
    """Convert a canonical value of a dimension to ``to_unit``."""
    return value / UNITS[dimension][to_unit]
