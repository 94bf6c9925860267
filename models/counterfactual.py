"""Counterfactual runs: what binds a target, and what an action would buy.

A constraint binds when relaxing it moves the answer; a ratio of need to
capacity does not say that. Each ``Change`` re-runs the same Monte Carlo rows
(common random numbers, so the difference is the change's, not the sampling's)
with one thing altered:

* relaxations, to find the binding constraint: no power envelope, no delivery
  slips, every planned phase goes ahead, budgets +50 %, no retirement in the
  horizon;
* levers, actions a centre can take (declared in the scenario's ``[levers]``,
  or built in: raise the envelope by 10 MW, fund each uncertain phase, deliver
  each planned phase 6 months earlier).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models import timeaxis
from models.engine import Compiled, Windows
from models.schema import Lever, Scenario

Apply = Callable[[Compiled, np.ndarray], tuple[Compiled, np.ndarray]]
#: rows x months a counterfactual re-runs (paired with the baseline on the same rows)
ROW_MONTHS = 240_000
#: built-in "deliver earlier" levers: the planned phases due soonest
BUILTIN_MOVES = 4


def rows(months: int) -> int:
    """Rows per counterfactual: 2,000 over 10 years, never under 500."""
    return max(500, ROW_MONTHS // max(months, 1))


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    kind: str  # "constraint" (a relaxation) or "lever" (an action)
    apply: Apply


def _index(sc: Scenario, key: str) -> tuple[str, int]:
    """('c', j) for a compute deployment key, ('s', j) for storage."""
    for j, d in enumerate(sc.deployments):
        if d.key == key:
            return "c", j
    for j, s in enumerate(sc.storage):
        if s.key == key:
            return "s", j
    raise KeyError(key)


def _with_window(comp: Compiled, side: str, win: Windows) -> Compiled:
    return dataclasses.replace(comp, **{f"{side}_win": win})


def _columns(comp: Compiled, attr: str) -> list[int]:
    cols = [*getattr(comp.c_win, attr), *getattr(comp.s_win, attr)]
    return [int(c) for c in cols if c >= 0]


def _set(cols: list[int], value: float) -> Apply:
    def apply(comp: Compiled, x: np.ndarray) -> tuple[Compiled, np.ndarray]:
        x = x.copy()
        x[:, cols] = value
        return comp, x
    return apply


def relaxations(sc: Scenario, comp: Compiled) -> list[Change]:
    """The constraints a target can be bound by, each as its relaxation."""
    out = []
    if np.isfinite(comp.envelope_mw).any() and comp.policy != "flag":
        def no_envelope(c: Compiled, x: np.ndarray) -> tuple[Compiled, np.ndarray]:
            return dataclasses.replace(c, envelope_mw=np.full(c.months, np.inf)), x
        out.append(Change("power envelope", "no power envelope", "constraint", no_envelope))
    slips = _columns(comp, "slip_col")
    if slips:
        out.append(Change("delivery", "every planned delivery on its date (no slip)",
                          "constraint", _set(slips, 0.0)))
    probs = _columns(comp, "prob_col")
    if probs:
        out.append(Change("approval", "every uncertain phase goes ahead", "constraint",
                          _set(probs, 1.0)))
    budgets = [j for j, d in enumerate(sc.deployments) if d.budget is not None]
    if budgets:
        def more_budget(c: Compiled, x: np.ndarray) -> tuple[Compiled, np.ndarray]:
            count = c.c_count.copy()
            count[budgets] *= 1.5
            x = x.copy()
            for j in budgets:
                if c.c_count_col[j] >= 0:
                    x[:, c.c_count_col[j]] *= 1.5
            return dataclasses.replace(c, c_count=count), x
        out.append(Change("budget", "budgets +50 %", "constraint", more_budget))

    def keep_all(c: Compiled, x: np.ndarray) -> tuple[Compiled, np.ndarray]:
        for side in ("c", "s"):
            w: Windows = getattr(c, f"{side}_win")
            none = np.full_like(w.r_fixed, -1)
            c = _with_window(c, side, dataclasses.replace(w, r_fixed=none, life=none.copy()))
        return c, x
    out.append(Change("retirement", "nothing retires in the horizon", "constraint", keep_all))
    return out


def levers(sc: Scenario, comp: Compiled) -> list[Change]:
    """The scenario's declared levers, else a built-in short list."""
    declared = list(sc.levers) or _builtin(sc, comp)
    return [Change(lv.key, lv.label, "lever", _lever(sc, lv)) for lv in declared]


def _builtin(sc: Scenario, comp: Compiled) -> list[Lever]:
    out = []
    if np.isfinite(comp.envelope_mw).any() and comp.policy != "flag":
        out.append(Lever("builtin.raise_envelope",
                         f"raise the power envelope by 10 MW from {timeaxis.fmt(sc.start)}",
                         "raise_envelope", power_mw=10.0, month=sc.start))
    planned = [*(d for d in sc.deployments if d.planned), *(s for s in sc.storage if s.planned)]
    for d in sorted(planned, key=lambda d: d.probability)[:BUILTIN_MOVES]:
        if d.probability < 1.0:
            out.append(Lever(f"builtin.fund.{d.name}", f"secure {d.name} (it goes ahead)",
                             "fund", deployment=d.key))
    for d in sorted(planned, key=lambda d: d.commissioned)[:BUILTIN_MOVES]:
        out.append(Lever(f"builtin.move.{d.name}", f"deliver {d.name} 6 months earlier",
                         "move", deployment=d.key, months=-6))
    return out


def _lever(sc: Scenario, lv: Lever) -> Apply:
    def apply(comp: Compiled, x: np.ndarray) -> tuple[Compiled, np.ndarray]:
        if lv.action == "raise_envelope":
            env = comp.envelope_mw.copy()
            env[max(lv.month - sc.start, 0):] += lv.power_mw
            return dataclasses.replace(comp, envelope_mw=env), x
        side, j = _index(sc, lv.deployment)
        win: Windows = getattr(comp, f"{side}_win")
        if lv.action in ("fund", "cancel"):
            x = x.copy()
            if win.prob_col[j] >= 0:
                x[:, win.prob_col[j]] = 1.0 if lv.action == "fund" else 0.0
            elif lv.action == "cancel":  # a certain phase: cancelling it removes it
                none = win.c0.copy()
                none[j] = comp.months + 10**6
                return _with_window(comp, side, dataclasses.replace(win, c0=none)), x
            return comp, x
        if lv.action == "move":
            c0 = win.c0.copy()
            c0[j] += lv.months
            fixed = win.r_fixed.copy()
            if fixed[j] >= 0:
                fixed[j] = max(fixed[j] + lv.months, c0[j] + 1)
            return _with_window(comp, side, dataclasses.replace(win, c0=c0, r_fixed=fixed)), x
        # retire_early: out of service from the lever's date (never later than planned)
        fixed, life = win.r_fixed.copy(), win.life.copy()
        month = lv.month - sc.start
        fixed[j] = min(fixed[j], month) if fixed[j] >= 0 else month
        life[j] = -1
        if win.life[j] >= 0 and win.slip_col[j] < 0:  # a fixed lifetime: keep the earlier end
            fixed[j] = min(fixed[j], int(win.c0[j] + win.life[j]))
        return _with_window(comp, side, dataclasses.replace(win, r_fixed=fixed, life=life)), x
    return apply
