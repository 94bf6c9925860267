"""World-leading check: the TOP500 history and where a system would rank against it.

The history's rows (with their sources) are read here; the trend of the #1 and
#10 series, its band and its back-test are ``models.worldrank``'s (one trend
method everywhere). A projected system's HPL-equivalent Rmax is placed against
the trends per year: above the #1 trend, within the top 10, or below.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models import timeaxis
from models.errors import ScenarioError

if TYPE_CHECKING:
    from models import worldrank

HISTORY = Path(__file__).with_name("data") / "top500.csv"
#: how a data row's value was checked (the ``verified`` column of the data files)
VERIFIED = ("checked", "reference", "recalled")


@dataclass(frozen=True)
class Point:
    month: int  # list edition
    rank: int
    rmax_pf: float
    system: str
    source: str
    verified: str
    rpeak_pf: float | None = None  # theoretical peak of the entry, when recorded
    source_date: str = ""  # when the figure was published, YYYY-MM
    checked_against: str = ""  # the stored page the value was seen in, when checked

    @property
    def year(self) -> float:
        return timeaxis.decimal_year(self.month)


def read_rows(path: str | Path) -> list[tuple[str, dict[str, str]]]:
    """(where, row) per data row of a commented CSV; ``where`` names the row and its file line.

    Lines starting with ``#`` and blank lines are skipped, so the line number is the one an
    editor shows and an error can point at it.
    """
    p = Path(path)
    with open(p, newline="") as fh:
        numbered = [(i, ln) for i, ln in enumerate(fh, start=1)
                    if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise ScenarioError(str(p), "", "has no header row")
    reader = csv.DictReader(ln for _, ln in numbered)
    out = []
    for k, row in enumerate(reader, start=1):
        line = numbered[reader.line_num - 1][0]
        if None in row or any(v is None for v in row.values()):
            raise ScenarioError(str(p), f"row {k} (line {line})",
                                "has a different number of fields than the header")
        out.append((f"row {k} (line {line})", row))
    return out


def check_provenance(path: str | Path, where: str, row: dict[str, str]) -> None:
    """Every data row names its source, its date and how it was checked; else a ScenarioError."""
    if not (row.get("source") or "").strip():
        raise ScenarioError(str(path), where, "has no source")
    # a file without a source_date column is dated by its list edition
    date = (row["source_date"] if "source_date" in row else row.get("list") or "").strip()
    try:
        timeaxis.parse_month(date)
    except timeaxis.MonthError as exc:
        raise ScenarioError(str(path), where, f"has no usable source date ({exc})") from None
    if row.get("verified") not in VERIFIED:
        raise ScenarioError(str(path), where, f"verified is {row.get('verified')!r}; "
                                              f"expected one of {', '.join(VERIFIED)}")


def positive(raw: str | None, name: str) -> float:
    """A finite value above zero, from a CSV field (why: log-scale trends and ranks need it)."""
    v = float(raw if raw is not None else "")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} is {raw!r}; it must be a number above 0")
    return v


def list_rank(row: dict[str, str], where: str,
              seen: dict[tuple[int, int], str]) -> tuple[int, int]:
    """(list month, rank) of a row; ValueError for a rank below 1 or a (list, rank) seen twice."""
    rank = int(row["rank"])
    if rank < 1:
        raise ValueError(f"rank is {rank}; ranks start at 1")
    key = (timeaxis.parse_month(row["list"]), rank)
    if key in seen:
        raise ValueError(f"list {row['list']} rank {rank} is also on {seen[key]}")
    seen[key] = where
    return key


def load_history(path: str | Path = HISTORY) -> list[Point]:
    """The TOP500 rows; a malformed row raises ScenarioError naming the file and the row."""
    p = Path(path)
    out = []
    seen: dict[tuple[int, int], str] = {}
    for where, row in read_rows(p):
        try:
            month, rank = list_rank(row, where, seen)
            rpeak = (row.get("rpeak_pf") or "").strip()
            out.append(Point(month, rank,
                             positive(row["rmax_pf"], "rmax_pf"), row["system"], row["source"],
                             row["verified"], positive(rpeak, "rpeak_pf") if rpeak else None,
                             (row.get("source_date") or "").strip(),
                             (row.get("checked_against") or "").strip()))
        except (KeyError, ValueError, TypeError, timeaxis.MonthError) as exc:
            raise ScenarioError(str(p), where, f"is malformed ({exc})") from None
        check_provenance(p, where, row)
    return out


@dataclass(frozen=True)
class BacktestRow:
    list: str
    actual_pf: float
    predicted_pf: float
    low_pf: float
    high_pf: float
    ratio: float  # actual / predicted
    inside: bool


@dataclass(frozen=True)
class Backtest:
    rank: int
    fit_years: str
    test_years: str
    growth_per_year: float
    rows: tuple[BacktestRow, ...]
    median_abs_error_pct: float  # median |actual/predicted - 1| in percent
    mean_log10_error: float  # mean log10(actual/predicted): > 0 the trend was too low
    coverage: float  # share of actual values inside the P10-P90 band

    def summary(self) -> str:
        bias = "under" if self.mean_log10_error > 0 else "over"
        return (f"fit of the #{self.rank} series over {self.fit_years} "
                f"({self.growth_per_year:.2f}x a year) projected {self.test_years}: median "
                f"error {self.median_abs_error_pct:.0f}%, {bias}-predicting on average by "
                f"{abs(10 ** self.mean_log10_error - 1) * 100:.0f}%, "
                f"{self.coverage * 100:.0f}% of lists inside the P10-P90 band")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["summary"] = self.summary()
        return d


@dataclass(frozen=True)
class YearRank:
    year: int
    rmax_p10_pf: float
    rmax_p50_pf: float
    rmax_p90_pf: float
    top1_trend_pf: float
    top10_trend_pf: float
    band: str  # where the P50 sits: "#1 class", "top 10", "below top 10"
    p_above_top1: float  # probability, over samples and trend uncertainty
    p_top10: float


#: probabilities over the samples are integrated over at most this many sample quantiles
PROB_POINTS = 1000


def rank_by_year(trend1: worldrank.Trend, trend10: worldrank.Trend, years: list[int],
                 samples: np.ndarray) -> list[YearRank]:
    """Rank band per year for a system's Rmax samples at each year end: (years, samples).

    P(top 10) and P(#1) average the trend's prediction CDF over the samples;
    above ``PROB_POINTS`` samples, over that many evenly spaced sample quantiles
    (an error below 1/PROB_POINTS in probability, at a fraction of the cost).
    """
    out = []
    for i, year in enumerate(years):
        t = year + 10.5 / 12  # the November list
        s = np.sort(samples[i])
        n = len(s)
        x = s if n <= PROB_POINTS else s[((np.arange(PROB_POINTS) + 0.5) * n / PROB_POINTS)
                                          .astype(np.int64)]

        def q(p: float, s: np.ndarray = s, n: int = n) -> float:
            return float(s[min(max(math.ceil(p * n) - 1, 0), n - 1)])

        p10, p50, p90 = q(0.1), q(0.5), q(0.9)
        top1, top10 = trend1.predict(t)[1], trend10.predict(t)[1]
        band = "#1 class" if p50 >= top1 else "top 10" if p50 >= top10 else "below top 10"
        out.append(YearRank(year, p10, p50, p90, top1, top10, band,
                            float(trend1.prob_below(x, t).mean()),
                            float(trend10.prob_below(x, t).mean())))
    return out
