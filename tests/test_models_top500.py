"""TOP500 history, trend fit, back-test and rank bands."""

import math

import numpy as np
import pytest

from models import timeaxis
from models.top500 import VERIFIED, Point, backtest, fit, load_history, rank_by_year


def test_history_has_sources():
    pts = load_history()
    assert {1, 5, 10, 500} <= {p.rank for p in pts}
    assert all(p.source and p.source_date and p.verified in VERIFIED for p in pts)
    top = {timeaxis.fmt(p.month): p.rmax_pf for p in pts if p.rank == 1}
    # the figures docs/REFERENCE.md quotes (the list export gives 33.8627 for Tianhe-2)
    assert top["2013-06"] == pytest.approx(33.86, rel=1e-3)
    assert top["2019-06"] == 148.6 and top["2025-11"] == 1809
    assert min(top) == "1993-06" and len(top) == 66  # every list since the first


def test_fit_recovers_an_exact_exponential():
    pts = [Point(timeaxis.month(y, 6), 1, 10.0 * 1.5 ** (y - 2010), "x", "s", "checked")
           for y in range(2010, 2020)]
    t = fit(pts, 1)
    assert t.growth_per_year == pytest.approx(1.5, rel=1e-12)
    assert t.resid_sd == pytest.approx(0.0, abs=1e-12)
    lo, mid, hi = t.predict(timeaxis.decimal_year(timeaxis.month(2022, 6)))
    assert mid == pytest.approx(10 * 1.5**12, rel=1e-9)
    assert lo == pytest.approx(mid) and hi == pytest.approx(mid)


def test_prediction_interval_widens_away_from_data():
    t = fit(load_history(), 1, 2010)
    lo1, _, hi1 = t.predict(2020.0)
    lo2, _, hi2 = t.predict(2035.0)
    assert hi2 / lo2 > hi1 / lo1 > 1


def test_backtest_reports_its_error():
    bt = backtest(load_history(), rank=1, from_year=2010, fit_to=2019, test_to=2025)
    assert bt.test_years == "2020-2025"
    assert [r.list for r in bt.rows][:2] == ["2020-06", "2020-11"]
    assert all(math.isclose(r.ratio, r.actual_pf / r.predicted_pf) for r in bt.rows)
    assert 0 <= bt.coverage <= 1 and bt.median_abs_error_pct > 0
    assert "median error" in bt.summary()


def test_rank_band():
    pts = load_history()
    t1, t10 = fit(pts, 1, 2010), fit(pts, 10, 2010)
    huge = np.full((1, 100), 1e7)
    small = np.full((1, 100), 1.0)
    assert rank_by_year(t1, t10, [2027], huge)[0].band == "#1 class"
    assert rank_by_year(t1, t10, [2027], huge)[0].p_above_top1 > 0.99
    low = rank_by_year(t1, t10, [2027], small)[0]
    assert low.band == "below top 10" and low.p_top10 < 0.01
