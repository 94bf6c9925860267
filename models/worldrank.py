"""World rank against real lists: where a system's HPL or HPL-MxP figure would place.

Two questions, kept apart because they have different kinds of doubt:

* **Latest real list.** ``latest_rank`` places samples of a system's figure on the latest
  recorded TOP500 (HPL Rmax) or HPL-MxP list. Only the recorded entries are used, so a
  value that falls between two recorded ranks gets a rank range, and one below the deepest
  recorded rank is "beyond the recorded ranks" rather than a guess (``Placement``).
* **Projected list.** ``projected_rank`` compares the samples with per-rank trends (#1, #5,
  #10) extrapolated to a month, with the trend's own uncertainty in the probabilities.

The trend method (``CHOSEN``) was picked by back-testing (``backtest_windows``) because a
plain least-squares line through 2010.. broke down out of sample: fitted to 2019 it put the
November 2025 #1 at 2.5-2.9 EF (with the first list at 2010-11 or 2010-06) against an actual
1.809 EF, and its #10 band missed more than half of the later lists. The chosen method keeps
at least 90% of the actual lists inside its P10-P90 band in every window tried, at the price
of a wide band (about 9-25x from P10 to P90 a few years out); per rank and list kind it is:

1. an ordinary least-squares line of log10(value) against the list date over the last
   ``window_years`` (6) before the fit's end, so an old growth regime does not drive the
   extrapolation (the #1 grew about 1.8x a year to 2013 and about 1.4x since);
2. a predictive spread that adds to the line's own prediction error a random walk in the
   growth rate: ``(drift_sd * years past the last list)**2``, where ``drift_sd`` is the
   spread of the slopes of rolling 4-year fits over the previous 20 years (growth rates
   wander; the line alone assumes they do not);
3. a calibration factor ``band_factor`` >= 1 on that spread, found by re-running steps 1-2
   from earlier fit ends (the 12 years before the fit's end, every half year) and widening
   until 80% of those earlier out-of-sample errors fall inside the P10-P90 band. Only data
   before the fit's end is used, so the back-test stays honest;
4. a floor at the last recorded value: on every TOP500 list 1993-2025 (ranks 1, 5, 10) and
   every HPL-MxP list, a rank's value never fell below an earlier list's, so the predictive
   distribution is censored there (P10 is at least today's value).

The predictive distribution is normal in log10 space; P10/P90 are mu -/+ 1.2816 sd. Steps
2-3 need history: an HPL-MxP series too short to estimate them borrows ``drift_sd`` and
``band_factor`` from the TOP500 series of the same rank (``Trend.calibrated_from`` says so).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from models import timeaxis, top500
from models.errors import ScenarioError

MXP_HISTORY = Path(__file__).with_name("data") / "hplmxp.csv"
KINDS = ("top500", "hplmxp")
#: entries per list, where the list has a fixed length (a value below the last is off the list)
LIST_SIZE = {"top500": 500, "hplmxp": None}
#: the ranks a projected list is built from (each where the data holds a trend)
TREND_RANKS = (1, 5, 10)
Z90 = 1.2815515655446004  # standard normal quantile at 0.90
#: probabilities over samples use at most this many evenly spaced sample quantiles
PROB_POINTS = 1000


@dataclass(frozen=True)
class Entry:
    """One system on one real list: its rank and its figure (HPL Rmax or HPL-MxP) in PF."""

    month: int  # list edition
    rank: int
    value_pf: float
    system: str = ""
    source: str = ""
    source_date: str = ""
    verified: str = ""

    @property
    def list(self) -> str:
        return timeaxis.fmt(self.month)

    @property
    def year(self) -> float:
        return timeaxis.decimal_year(self.month)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"list kind {kind!r}; expected one of {', '.join(KINDS)}")


def load_mxp(path: str | Path = MXP_HISTORY) -> list[Entry]:
    """The HPL-MxP rows; a malformed row raises ScenarioError naming the file and the row."""
    p = Path(path)
    out = []
    seen: dict[tuple[int, int], str] = {}
    for where, row in top500.read_rows(p):
        try:
            month, rank = top500.list_rank(row, where, seen)
            hpl = (row.get("hpl_pf") or "").strip()
            if hpl:
                top500.positive(hpl, "hpl_pf")
            out.append(Entry(month, rank,
                             top500.positive(row["mxp_pf"], "mxp_pf"), row["system"],
                             row["source"], (row.get("source_date") or "").strip(),
                             row["verified"]))
        except (KeyError, ValueError, TypeError, timeaxis.MonthError) as exc:
            raise ScenarioError(str(p), where, f"is malformed ({exc})") from None
        top500.check_provenance(p, where, row)
    return out


def load_entries(kind: str, path: str | Path | None = None) -> list[Entry]:
    """Every recorded entry of one list kind ('top500' or 'hplmxp'), in file order."""
    _check_kind(kind)
    if kind == "hplmxp":
        return load_mxp(MXP_HISTORY if path is None else path)
    return [Entry(p.month, p.rank, p.rmax_pf, p.system, p.source, p.source_date, p.verified)
            for p in top500.load_history(top500.HISTORY if path is None else path)]


@lru_cache(maxsize=4)
def _shipped(kind: str) -> tuple[Entry, ...]:
    return tuple(load_entries(kind))


def lists_of(entries: Iterable[Entry]) -> dict[int, tuple[Entry, ...]]:
    """Entries grouped by list edition, each list sorted by rank; a repeated rank is an error."""
    by: dict[int, dict[int, Entry]] = {}
    for e in entries:
        ranks = by.setdefault(e.month, {})
        if e.rank in ranks:
            raise ValueError(f"list {e.list} rank {e.rank} appears twice")
        ranks[e.rank] = e
    return {m: tuple(r[k] for k in sorted(r)) for m, r in sorted(by.items())}


# --------------------------------------------------------------------------- placement


@dataclass(frozen=True)
class Placement:
    """The rank a value takes on one real list, as far as the recorded entries tell.

    ``best`` is 1 + the deepest recorded rank whose value is strictly above (ties go to the
    newcomer); ``worst`` is the shallowest recorded rank whose value is at or below, or None
    when the value is below every recorded entry. The rank is exact when the two meet.
    """

    best: int
    worst: int | None
    deepest_recorded: int  # the last recorded rank of the list
    list_size: int | None = None  # entries the list holds (500 for the TOP500), None: open
    basis: str = "recorded"  # "recorded" (a real list) or "projected" (trend medians)

    @property
    def exact(self) -> bool:
        return self.worst == self.best

    @property
    def off_list(self) -> bool:
        """Below the last entry of a full list: the system would not be listed at all."""
        return self.list_size is not None and self.best > self.list_size

    @property
    def rank(self) -> int | None:
        """The rank when the recorded entries determine it, else None."""
        return self.best if self.exact else None

    def text(self) -> str:
        if self.exact:
            return f"#{self.best}"
        if self.off_list:
            return f"below #{self.list_size}: not on the list"
        if self.worst is None:
            return (f"#{self.best} or lower (beyond the {self.basis} ranks, "
                    f"#{self.deepest_recorded})")
        return f"#{self.best}-#{self.worst} (ranks between are not {self.basis})"

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "best": self.best, "worst": self.worst,
                "exact": self.exact, "off_list": self.off_list, "basis": self.basis,
                "text": self.text()}


def _ranked(entries: Sequence[Entry] | Sequence[float]) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    for i, e in enumerate(entries, start=1):
        out.append((e.rank, e.value_pf) if isinstance(e, Entry) else (i, float(e)))
    return sorted(out)


def placement(entries: Sequence[Entry] | Sequence[float], value_pf: float,
              list_size: int | None = None, basis: str = "recorded") -> Placement:
    """Where ``value_pf`` would take its place on one list (``entries``: one edition's entries,
    or plain values taken as ranks 1, 2, 3, ...)."""
    ranked = _ranked(entries)
    if not ranked:
        raise ValueError("placement on an empty list")
    above = [r for r, v in ranked if v > value_pf]
    at_or_below = [r for r, v in ranked if v <= value_pf]
    best = (max(above) if above else 0) + 1
    worst = min(at_or_below) if at_or_below else None
    if worst is not None and worst < best:  # recorded values out of rank order
        worst = best
    return Placement(best, worst, ranked[-1][0], list_size, basis)


def place(entries: Sequence[Entry] | Sequence[float], value_pf: float,
          list_size: int | None = None) -> int | None:
    """The rank a system with ``value_pf`` would take on one real list: 1 + the number of
    entries strictly above it.

    None when the recorded entries do not determine it: the value falls between two recorded
    ranks with a gap between them, below the deepest recorded rank ("beyond the recorded
    ranks"), or off the end of a full list. ``placement`` gives the range in those cases.
    """
    return placement(entries, value_pf, list_size).rank


# --------------------------------------------------------------------------- samples


def _samples(samples_pf: np.ndarray) -> np.ndarray:
    s = np.asarray(samples_pf, dtype=float).ravel()
    if s.size == 0:
        raise ValueError("no samples to place")
    if not np.all(np.isfinite(s)):
        raise ValueError("samples must be finite")
    return np.sort(s)


def _q(s: np.ndarray, p: float) -> float:
    """The sample quantile as the projection reports it (the ceil(p*n)-th smallest)."""
    n = len(s)
    return float(s[min(max(math.ceil(p * n) - 1, 0), n - 1)])


def _thin(s: np.ndarray) -> np.ndarray:
    n = len(s)
    if n <= PROB_POINTS:
        return s
    return s[((np.arange(PROB_POINTS) + 0.5) * n / PROB_POINTS).astype(np.int64)]


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


@dataclass(frozen=True)
class LatestRank:
    """A system's rank on the latest recorded real list, over its samples.

    ``rank_p10`` is the rank at the P10 (low) value, ``rank_p90`` at the P90 (high) value:
    rank falls as the value rises, so these are the pessimistic and optimistic ranks. The
    shares are over samples; ``p_top5``/``p_top10`` are None when the list is not recorded
    that deep, and count only samples whose rank is known to be within the cut.
    """

    list_kind: str
    list: str  # YYYY-MM
    n_samples: int
    value_p10_pf: float
    value_p50_pf: float
    value_p90_pf: float
    rank_p10: Placement
    rank_p50: Placement
    rank_p90: Placement
    p_first: float
    p_top5: float | None
    p_top10: float | None
    share_exact: float  # samples whose rank the recorded entries determine
    leader: str
    leader_pf: float
    deepest_recorded: int
    entries: int
    verified: dict[str, int]  # how the list's entries were checked
    source: str

    def summary(self) -> str:
        name = "TOP500" if self.list_kind == "top500" else "HPL-MxP"
        return (f"on the {self.list} {name} list the P50 value ({self.value_p50_pf:,.0f} PF) "
                f"ranks {self.rank_p50.text()} (P10 value: {self.rank_p10.text()}, P90 value: "
                f"{self.rank_p90.text()}); P(#1) {self.p_first:.0%}")

    def to_dict(self) -> dict[str, Any]:
        return {"list_kind": self.list_kind, "list": self.list, "n_samples": self.n_samples,
                "value_p10_pf": self.value_p10_pf, "value_p50_pf": self.value_p50_pf,
                "value_p90_pf": self.value_p90_pf, "rank_p10": self.rank_p10.to_dict(),
                "rank_p50": self.rank_p50.to_dict(), "rank_p90": self.rank_p90.to_dict(),
                "p_first": self.p_first, "p_top5": _finite(self.p_top5),
                "p_top10": _finite(self.p_top10), "share_exact": self.share_exact,
                "leader": self.leader, "leader_pf": self.leader_pf,
                "deepest_recorded": self.deepest_recorded, "entries": self.entries,
                "verified": dict(self.verified), "source": self.source,
                "summary": self.summary()}


def _contiguous_depth(ranked: Sequence[tuple[int, float]]) -> int:
    depth = 0
    for r, _ in ranked:
        if r != depth + 1:
            break
        depth = r
    return depth


def _share_within(entries: Sequence[Entry], s: np.ndarray, cut: int) -> float | None:
    """Share of samples known to rank within ``cut``: at or above the recorded #cut."""
    ranked = _ranked(entries)
    if _contiguous_depth(ranked) < cut:
        return None
    threshold = dict(ranked)[cut]
    return float(np.mean(s >= threshold))


def latest_rank(list_kind: str, samples_pf: np.ndarray,
                entries: Sequence[Entry] | None = None) -> LatestRank:
    """Place samples of a system's figure (PF: HPL Rmax for 'top500', HPL-MxP for 'hplmxp')
    on the latest recorded list of that kind (or on ``entries``' latest list)."""
    _check_kind(list_kind)
    lists = lists_of(_shipped(list_kind) if entries is None else entries)
    if not lists:
        raise ValueError(f"no {list_kind} entries")
    month = max(lists)
    latest = lists[month]
    size = LIST_SIZE[list_kind]
    s = _samples(samples_pf)
    p10, p50, p90 = _q(s, 0.10), _q(s, 0.50), _q(s, 0.90)
    ranked = _ranked(latest)
    lead = latest[0]
    exact = np.fromiter((placement(latest, float(v), size).exact for v in _thin(s)), bool)
    counts: dict[str, int] = {}
    for e in latest:
        counts[e.verified] = counts.get(e.verified, 0) + 1
    return LatestRank(
        list_kind, timeaxis.fmt(month), int(s.size), p10, p50, p90,
        placement(latest, p10, size), placement(latest, p50, size), placement(latest, p90, size),
        float(np.mean(s >= ranked[0][1])) if ranked[0][0] == 1 else 0.0,
        _share_within(latest, s, 5), _share_within(latest, s, 10), float(exact.mean()),
        lead.system, lead.value_pf, ranked[-1][0], len(latest), counts, lead.source)


# --------------------------------------------------------------------------- trends


@dataclass(frozen=True)
class Method:
    """How a per-rank trend is fitted and how wide its band is (see the module docstring)."""

    name: str
    window_years: float | None = 6.0  # fit over the last N years; None: from ``from_year``
    from_year: float = -math.inf  # earliest list a fit may use
    drift: bool = True  # add a random walk in the growth rate
    drift_window_years: float = 4.0  # span of the rolling fits whose slopes give the drift
    drift_history_years: float = 20.0  # how far back those rolling fits go
    calibrate: bool = True  # widen by the earlier out-of-sample errors
    calibration_years: float = 12.0  # earlier fit ends span this many years before the end
    calibration_quantile: float = 0.80  # share of earlier errors the band must hold
    floor: bool = True  # no value below the last recorded one (ranks never fell, 1993-2025)
    min_lists: int = 4

    def describe(self) -> str:
        window = (f"the last {self.window_years:g} years" if self.window_years is not None
                  else f"lists from {self.from_year:g}")
        parts = [f"least-squares line of log10(value) on {window}"]
        if self.drift:
            parts.append(f"growth-rate drift from rolling {self.drift_window_years:g}-year "
                         f"slopes over {self.drift_history_years:g} years")
        if self.floor:
            parts.append("floored at the last recorded value")
        if self.calibrate:
            parts.append(f"band widened until {self.calibration_quantile:.0%} of out-of-sample "
                         f"errors from fit ends in the previous {self.calibration_years:g} "
                         "years fall inside")
        return "; ".join(parts)


#: the method world rank uses; chosen by ``backtest_windows`` on the shipped data
CHOSEN = Method("recent-6y line + growth drift + calibrated band")
#: the plain method: one line from 2010 with its prediction band only (the back-test baseline)
BASELINE = Method("line from 2010, prediction band only", window_years=None, from_year=2010.0,
                  drift=False, calibrate=False, floor=False)


@dataclass(frozen=True)
class Trend:
    """log10(value PF) = intercept + slope * (year - tbar) for one rank of one list kind.

    The predictive spread at a year is ``band_factor * sqrt(resid_sd**2 * (1 + 1/n +
    (year - tbar)**2 / sxx) + (drift_sd * max(0, year - last_year))**2)``.
    """

    list_kind: str
    rank: int
    method: str
    n: int
    slope: float  # log10 per year
    intercept: float  # log10 PF at tbar
    tbar: float
    sxx: float
    resid_sd: float
    drift_sd: float  # log10 per year per year
    band_factor: float
    first_list: str
    last_list: str
    last_year: float
    calibrated_from: str  # which series gave drift_sd and band_factor
    floor_pf: float = 0.0  # the last fitted list's value: a later list has never been lower

    @property
    def growth_per_year(self) -> float:
        return float(10.0 ** self.slope)

    def mu(self, year: float) -> float:
        return self.intercept + self.slope * (year - self.tbar)

    def sd(self, year: float) -> float:
        h = max(0.0, year - self.last_year)
        var = self.resid_sd ** 2 * (1 + 1 / self.n + (year - self.tbar) ** 2 / self.sxx)
        return self.band_factor * math.sqrt(var + (self.drift_sd * h) ** 2)

    def predict(self, year: float) -> tuple[float, float, float]:
        """(P10, P50, P90) of this rank's value in PF at a decimal year, floored."""
        mu, sd = self.mu(year), self.sd(year)
        f = self.floor_pf
        return (max(f, 10 ** (mu - Z90 * sd)), max(f, 10 ** mu), max(f, 10 ** (mu + Z90 * sd)))

    def prob_below(self, values_pf: np.ndarray, year: float) -> np.ndarray:
        """P(this rank's value at ``year`` < each value): the chance a system beats it."""
        v = np.asarray(values_pf, dtype=float)
        x = np.log10(np.maximum(v, 1e-300))
        sd = self.sd(year)
        p = (x > self.mu(year)).astype(float) if sd <= 0 else _phi((x - self.mu(year)) / sd)
        return np.where(v <= self.floor_pf, 0.0, p)

    def to_dict(self) -> dict[str, Any]:
        return {"list_kind": self.list_kind, "rank": self.rank, "method": self.method,
                "n": self.n, "slope": self.slope, "intercept": self.intercept,
                "tbar": self.tbar, "sxx": self.sxx, "resid_sd": self.resid_sd,
                "drift_sd": self.drift_sd, "band_factor": self.band_factor,
                "first_list": self.first_list, "last_list": self.last_list,
                "last_year": self.last_year, "calibrated_from": self.calibrated_from,
                "floor_pf": self.floor_pf, "growth_per_year": self.growth_per_year}


def _phi(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (numpy has no erf; math.erf per element is exact and cheap here)."""
    z = np.asarray(z, dtype=float)
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(z / math.sqrt(2.0)))


def _series(entries: Iterable[Entry], rank: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    pts = sorted((e.month, e.value_pf) for e in entries if e.rank == rank)
    months = [m for m, _ in pts]
    t = np.array([timeaxis.decimal_year(m) for m in months], dtype=float)
    y = np.log10(np.array([v for _, v in pts], dtype=float)) if pts else np.zeros(0)
    return t, y, months


def _ols(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float]:
    tbar = float(t.mean())
    sxx = float(((t - tbar) ** 2).sum())
    slope = float(((t - tbar) * (y - y.mean())).sum() / sxx) if sxx > 0 else 0.0
    intercept = float(y.mean())
    resid = y - (intercept + slope * (t - tbar))
    sd = math.sqrt(float((resid ** 2).sum()) / (len(t) - 2)) if len(t) > 2 else 0.0
    return slope, intercept, tbar, sxx, sd


def _drift_sd(t: np.ndarray, y: np.ndarray, end: float, m: Method) -> float | None:
    """Spread of the slopes of rolling ``drift_window_years`` fits before ``end``."""
    keep = (t < end) & (t >= end - m.drift_history_years)
    tt, yy = t[keep], y[keep]
    slopes = []
    for i in range(len(tt)):
        w = (tt >= tt[i] - m.drift_window_years - 1e-9) & (tt <= tt[i])
        if w.sum() >= 4 and tt[i] - tt[w].min() >= m.drift_window_years - 0.6:
            slopes.append(_ols(tt[w], yy[w])[0])
    return float(np.std(slopes, ddof=1)) if len(slopes) >= 3 else None


def _window(t: np.ndarray, end: float, m: Method) -> np.ndarray:
    keep = (t < end) & (t >= m.from_year)
    if m.window_years is not None:
        keep &= t >= end - m.window_years
    return keep


def _line(kind: str, rank: int, t: np.ndarray, y: np.ndarray, months: list[int], end: float,
          m: Method, drift_sd: float, factor: float, source: str) -> Trend:
    keep = _window(t, end, m)
    if keep.sum() < max(m.min_lists, 3):
        raise ScenarioError(kind, f"rank {rank}", f"has {int(keep.sum())} lists before "
                                                  f"{end:.1f}; a trend needs {m.min_lists}")
    slope, intercept, tbar, sxx, sd = _ols(t[keep], y[keep])
    idx = np.flatnonzero(keep)
    before = np.flatnonzero(t < end)
    floor = float(10 ** y[before].max()) if m.floor and before.size else 0.0
    return Trend(kind, rank, m.name, int(keep.sum()), slope, intercept, tbar, sxx, sd,
                 drift_sd, factor, timeaxis.fmt(months[idx[0]]), timeaxis.fmt(months[idx[-1]]),
                 float(t[idx[-1]]), source, floor)


def _calibration(kind: str, rank: int, t: np.ndarray, y: np.ndarray, months: list[int],
                 end: float, m: Method) -> float | None:
    """Band factor so that ``calibration_quantile`` of earlier out-of-sample errors fit."""
    z: list[float] = []
    for origin in np.arange(end - m.calibration_years, end - 0.99, 0.5):
        if _window(t, origin, m).sum() < max(m.min_lists, 6):
            continue
        drift = (_drift_sd(t, y, origin, m) or 0.0) if m.drift else 0.0
        tr = _line(kind, rank, t, y, months, origin, m, drift, 1.0, "")
        test = (t >= origin) & (t < end)
        for year, val in zip(t[test], y[test], strict=True):
            sd = tr.sd(float(year))
            if sd > 0:
                z.append(abs(float(val) - tr.mu(float(year))) / sd)
    if len(z) < 5:
        return None
    return max(1.0, float(np.quantile(z, m.calibration_quantile)) / Z90)


def fit_trend(list_kind: str, rank: int, end_year: float | None = None,
              method: Method = CHOSEN, entries: Sequence[Entry] | None = None,
              fallback: Trend | None = None) -> Trend:
    """The trend of one rank fitted on lists before ``end_year`` (default: all of them).

    ``fallback`` lends its drift and band factor when this series is too short to give its
    own (the HPL-MxP lists start in 2019); without one, the missing part is left out.
    """
    _check_kind(list_kind)
    data = _shipped(list_kind) if entries is None else entries
    t, y, months = _series(data, rank)
    if t.size == 0:
        raise ScenarioError(list_kind, f"rank {rank}", "has no recorded lists")
    end = float(t.max()) + 0.01 if end_year is None else end_year
    drift = _drift_sd(t, y, end, method) if method.drift else 0.0
    factor = _calibration(list_kind, rank, t, y, months, end, method) if method.calibrate \
        else 1.0
    own = drift is not None and factor is not None
    source = f"{list_kind} #{rank}"
    if not own and fallback is not None:
        source = f"{fallback.calibrated_from} (this series is too short)"
        drift = drift if drift is not None else fallback.drift_sd
        factor = factor if factor is not None else fallback.band_factor
    return _line(list_kind, rank, t, y, months, end, method, drift or 0.0, factor or 1.0,
                 source if (own or fallback is not None) else f"{source} (uncalibrated)")


@lru_cache(maxsize=16)
def _latest_trend(list_kind: str, rank: int) -> Trend:
    fallback = _latest_trend("top500", rank) if list_kind == "hplmxp" else None
    return fit_trend(list_kind, rank, fallback=fallback)


def trends(list_kind: str, ranks: Sequence[int] = TREND_RANKS) -> tuple[Trend, ...]:
    """The shipped data's current trends for ``ranks``, leaving out a rank with too few lists."""
    _check_kind(list_kind)
    out = []
    for r in ranks:
        try:
            out.append(_latest_trend(list_kind, r))
        except ScenarioError:
            continue
    return tuple(out)


# --------------------------------------------------------------------------- projected list


@dataclass(frozen=True)
class TrendPoint:
    rank: int
    p10_pf: float
    p50_pf: float
    p90_pf: float
    growth_per_year: float
    fitted: str  # first..last list the line was fitted on

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "p10_pf": self.p10_pf, "p50_pf": self.p50_pf,
                "p90_pf": self.p90_pf, "growth_per_year": self.growth_per_year,
                "fitted": self.fitted}


@dataclass(frozen=True)
class ProjectedRank:
    """A system's standing on the list projected to ``month`` from the per-rank trends.

    The probabilities average the trend's predictive distribution over the samples, so both
    the system's and the trend's uncertainty are in them. ``rank_p*`` place the value
    quantiles on the list of trend medians (a range between the ranks the trends cover).
    """

    list_kind: str
    month: str
    n_samples: int
    value_p10_pf: float
    value_p50_pf: float
    value_p90_pf: float
    trend: tuple[TrendPoint, ...]
    p_first: float
    p_top5: float | None
    p_top10: float | None
    band: str  # where the P50 value sits: "#1 class", "top 5", "top 10", "below top 10"
    rank_p10: Placement
    rank_p50: Placement
    rank_p90: Placement
    method: str
    calibrated_from: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        name = "TOP500" if self.list_kind == "top500" else "HPL-MxP"
        top10 = "n/a" if self.p_top10 is None else f"{self.p_top10:.0%}"
        return (f"on the {name} list projected to {self.month}: P50 value {self.band} "
                f"({self.rank_p50.text()}), P(#1) {self.p_first:.0%}, P(top 10) {top10}")

    def to_dict(self) -> dict[str, Any]:
        return {"list_kind": self.list_kind, "month": self.month, "n_samples": self.n_samples,
                "value_p10_pf": self.value_p10_pf, "value_p50_pf": self.value_p50_pf,
                "value_p90_pf": self.value_p90_pf, "trend": [p.to_dict() for p in self.trend],
                "p_first": self.p_first, "p_top5": _finite(self.p_top5),
                "p_top10": _finite(self.p_top10), "band": self.band,
                "rank_p10": self.rank_p10.to_dict(), "rank_p50": self.rank_p50.to_dict(),
                "rank_p90": self.rank_p90.to_dict(), "method": self.method,
                "calibrated_from": list(self.calibrated_from), "summary": self.summary()}


def projected_rank(list_kind: str, month: int | str, samples_pf: np.ndarray,
                   trend_set: Sequence[Trend] | None = None) -> ProjectedRank:
    """Place samples of a system's figure (PF) on the list projected to ``month`` (an integer
    month of models.timeaxis or 'YYYY-MM'); the trends default to the shipped data's."""
    _check_kind(list_kind)
    m = timeaxis.parse_month(month) if isinstance(month, str) else int(month)
    year = timeaxis.decimal_year(m)
    ts = sorted(trends(list_kind) if trend_set is None else trend_set, key=lambda t: t.rank)
    if not ts or ts[0].rank != 1:
        raise ScenarioError(list_kind, "rank 1", "has no trend to project")
    s = _samples(samples_pf)
    x = _thin(s)
    points = []
    for tr in ts:
        lo, mid, hi = tr.predict(year)
        points.append(TrendPoint(tr.rank, lo, mid, hi, tr.growth_per_year,
                                 f"{tr.first_list}..{tr.last_list}"))
    by_rank = {tr.rank: tr for tr in ts}

    def p_beat(rank: int) -> float | None:
        tr = by_rank.get(rank)
        return None if tr is None else float(tr.prob_below(x, year).mean())

    p10, p50, p90 = _q(s, 0.10), _q(s, 0.50), _q(s, 0.90)
    medians = [Entry(m, p.rank, p.p50_pf) for p in points]
    band = "below top 10"
    labels = {1: "#1 class", 5: "top 5", 10: "top 10"}
    for p in sorted(points, key=lambda p: p.rank, reverse=True):
        if p.rank in labels and p50 >= p.p50_pf:
            band = labels[p.rank]
    size = LIST_SIZE[list_kind]
    return ProjectedRank(
        list_kind, timeaxis.fmt(m), int(s.size), p10, p50, p90, tuple(points),
        p_beat(1) or 0.0, p_beat(5), p_beat(10), band,
        placement(medians, p10, size, "projected"), placement(medians, p50, size, "projected"),
        placement(medians, p90, size, "projected"), ts[0].method,
        tuple(sorted({tr.calibrated_from for tr in ts})))


# --------------------------------------------------------------------------- back-test


@dataclass(frozen=True)
class BacktestWindow:
    """One fit window's out-of-sample score: fitted on lists up to ``fit_to``, tested after."""

    rank: int
    fit_to: int
    fitted: str  # first..last list the line used
    test_years: str
    growth_per_year: float
    drift_sd: float
    band_factor: float
    rows: tuple[top500.BacktestRow, ...]
    median_abs_error_pct: float  # median |actual/predicted - 1| in percent
    mean_log10_error: float  # > 0: the trend was too low on average
    coverage: float  # share of actual lists inside the P10-P90 band
    median_band_ratio: float  # median P90/P10 over the tested lists: how wide the band was

    def summary(self) -> str:
        bias = "under" if self.mean_log10_error > 0 else "over"
        inside = sum(r.inside for r in self.rows)
        return (f"#{self.rank} fitted to {self.fit_to} ({self.fitted}, "
                f"{self.growth_per_year:.2f}x a year), tested {self.test_years}: median error "
                f"{self.median_abs_error_pct:.0f}% ({bias}-predicting), {inside} of "
                f"{len(self.rows)} lists inside P10-P90 (band P90/P10 about "
                f"{self.median_band_ratio:.1f}x)")

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "fit_to": self.fit_to, "fitted": self.fitted,
                "test_years": self.test_years, "growth_per_year": self.growth_per_year,
                "drift_sd": self.drift_sd, "band_factor": self.band_factor,
                "rows": [{"list": r.list, "actual_pf": r.actual_pf,
                          "predicted_pf": r.predicted_pf, "low_pf": r.low_pf,
                          "high_pf": r.high_pf, "ratio": r.ratio, "inside": r.inside}
                         for r in self.rows],
                "median_abs_error_pct": self.median_abs_error_pct,
                "mean_log10_error": self.mean_log10_error, "coverage": self.coverage,
                "median_band_ratio": self.median_band_ratio, "summary": self.summary()}


@dataclass(frozen=True)
class Backtest:
    """A method's back-test over several fit windows for one rank, worst window named."""

    list_kind: str
    rank: int
    method: str
    method_text: str
    windows: tuple[BacktestWindow, ...]
    coverage: float  # over every tested list of every window
    worst: BacktestWindow  # lowest coverage, then largest median error

    def summary(self) -> str:
        return (f"{self.method}: #{self.rank} inside P10-P90 on {self.coverage:.0%} of tested "
                f"lists over {len(self.windows)} windows; worst window: {self.worst.summary()}")

    def to_dict(self) -> dict[str, Any]:
        return {"list_kind": self.list_kind, "rank": self.rank, "method": self.method,
                "method_text": self.method_text,
                "windows": [w.to_dict() for w in self.windows], "coverage": self.coverage,
                "worst_fit_to": self.worst.fit_to, "worst": self.worst.to_dict(),
                "summary": self.summary()}


#: the fit ends the back-test tries
FIT_ENDS = (2015, 2017, 2019, 2021)


def backtest_windows(list_kind: str = "top500", rank: int = 1,
                     fit_ends: Sequence[int] = FIT_ENDS, method: Method = CHOSEN,
                     entries: Sequence[Entry] | None = None,
                     test_to: int | None = None) -> Backtest:
    """Fit the trend of ``rank`` on the lists up to each year in ``fit_ends`` and score its
    projection of every later list (to ``test_to``, default the last recorded year)."""
    _check_kind(list_kind)
    data = _shipped(list_kind) if entries is None else entries
    t, y, months = _series(data, rank)
    if t.size == 0:
        raise ScenarioError(list_kind, f"rank {rank}", "has no recorded lists")
    last = timeaxis.year_of(max(months)) if test_to is None else test_to
    windows = []
    for fit_to in fit_ends:
        tr = fit_trend(list_kind, rank, float(fit_to + 1), method, data)
        rows = []
        for m, val in zip(months, y, strict=True):
            if not fit_to < timeaxis.year_of(m) <= last:
                continue
            lo, mid, hi = tr.predict(timeaxis.decimal_year(m))
            actual = float(10 ** val)
            rows.append(top500.BacktestRow(timeaxis.fmt(m), actual, mid, lo, hi, actual / mid,
                                           lo <= actual <= hi))
        if not rows:
            raise ScenarioError(list_kind, f"rank {rank}", f"has no lists in {fit_to + 1}.."
                                                           f"{last} to test on")
        ratios = np.array([r.ratio for r in rows])
        windows.append(BacktestWindow(
            rank, fit_to, f"{tr.first_list}..{tr.last_list}", f"{fit_to + 1}-{last}",
            tr.growth_per_year, tr.drift_sd, tr.band_factor, tuple(rows),
            float(np.median(np.abs(ratios - 1)) * 100), float(np.mean(np.log10(ratios))),
            float(np.mean([r.inside for r in rows])),
            float(np.median([r.high_pf / r.low_pf for r in rows]))))
    worst = min(windows, key=lambda w: (w.coverage, -w.median_abs_error_pct))
    tested = [r.inside for w in windows for r in w.rows]
    return Backtest(list_kind, rank, method.name, method.describe(), tuple(windows),
                    float(np.mean(tested)), worst)
