"""Months as integers: the projection's time axis is monthly.

A month is ``year * 12 + (month - 1)``, so differences are month counts and a
horizon is a plain ``range``. Scenario dates are ``"YYYY-MM"`` strings or TOML
dates (the day is ignored: events take effect from the start of their month).
"""

from __future__ import annotations

import datetime as _dt
import re

_YM = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class MonthError(ValueError):
    """Not a 'YYYY-MM' month."""


def month(year: int, mon: int) -> int:
    if not 1 <= mon <= 12:
        raise MonthError(f"month {mon} is not in 1..12")
    return year * 12 + (mon - 1)


def parse_month(raw: object) -> int:
    if isinstance(raw, _dt.datetime | _dt.date):
        return month(raw.year, raw.month)
    if isinstance(raw, str):
        m = _YM.match(raw)
        if m:
            return month(int(m.group(1)), int(m.group(2)))
    raise MonthError(f"{raw!r} is not a month written 'YYYY-MM'")


def year_of(m: int) -> int:
    return m // 12


def fmt(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def decimal_year(m: int) -> float:
    """The middle of the month as a decimal year (2024-06 -> 2024.458)."""
    return m // 12 + (m % 12 + 0.5) / 12
