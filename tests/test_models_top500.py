"""TOP500 history and rank bands (the trend itself: models.worldrank)."""


import numpy as np
import pytest

from models import timeaxis, worldrank
from models.top500 import VERIFIED, load_history, rank_by_year
from models.worldrank import Entry


def test_history_has_sources():
    pts = load_history()
    assert {1, 5, 10, 500} <= {p.rank for p in pts}
    assert all(p.source and p.source_date and p.verified in VERIFIED for p in pts)
    top = {timeaxis.fmt(p.month): p.rmax_pf for p in pts if p.rank == 1}
    # the figures docs/REFERENCE.md quotes (the list export gives 33.8627 for Tianhe-2)
    assert top["2013-06"] == pytest.approx(33.86, rel=1e-3)
    assert top["2019-06"] == 148.6 and top["2025-11"] == 1809
    assert min(top) == "1993-06" and len(top) == 66  # every list since the first


def test_the_trend_recovers_an_exact_exponential_and_widens_away_from_data():
    """The one trend method (models.worldrank), with the plain prediction band."""
    entries = [Entry(timeaxis.month(y, 6), 1, 10.0 * 1.5 ** (y - 2010))
               for y in range(2010, 2020)]
    t = worldrank.fit_trend("top500", 1, method=worldrank.BASELINE, entries=entries)
    assert t.growth_per_year == pytest.approx(1.5, rel=1e-12)
    assert t.resid_sd == pytest.approx(0.0, abs=1e-12)
    mid = t.predict(timeaxis.decimal_year(timeaxis.month(2022, 6)))[1]
    assert mid == pytest.approx(10 * 1.5**12, rel=1e-9)
    real = worldrank.fit_trend("top500", 1, method=worldrank.BASELINE)
    lo1, _, hi1 = real.predict(2020.0)
    lo2, _, hi2 = real.predict(2035.0)
    assert hi2 / lo2 > hi1 / lo1 > 1


def test_rank_band():
    t1, t10 = worldrank.fit_trend("top500", 1), worldrank.fit_trend("top500", 10)
    huge = np.full((1, 100), 1e7)
    small = np.full((1, 100), 1.0)
    assert rank_by_year(t1, t10, [2027], huge)[0].band == "#1 class"
    assert rank_by_year(t1, t10, [2027], huge)[0].p_above_top1 > 0.99
    low = rank_by_year(t1, t10, [2027], small)[0]
    assert low.band == "below top 10" and low.p_top10 < 0.01
