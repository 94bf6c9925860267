"""The projection engine: hand-computed runs, zero variance, seeds, and the reference loop."""

import copy
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from models import engine, inputs, reference
from models.loader import load_scenario, parse_scenario, resolve_path
from models.projection import project

FIXTURES = Path(__file__).parent / "fixtures" / "models"
SMALL = FIXTURES / "small.toml"


def small_data() -> dict:
    return tomllib.loads(SMALL.read_text())


@pytest.fixture(scope="module")
def det():
    return project(load_scenario(SMALL), samples=0)


def months(p, first, last):
    return slice(p.index(first), p.index(last) + 1)


def test_hand_computed_compute(det):
    d = det.deterministic
    # 2026-2027: 1000 CPU nodes (1 TF FP64, 2 TF FP32: mixed counts the FP32 rate)
    # from 2027-01: 100 GPU nodes x 4 x (50 TF FP64, 800 TF BF16); CPUs retire 2028-01
    expect = {"2026-01": (1.0, 2.0), "2026-12": (1.0, 2.0), "2027-01": (21.0, 322.0),
              "2027-12": (21.0, 322.0), "2028-01": (20.0, 320.0), "2030-12": (20.0, 320.0)}
    for month, (fp64, mixed) in expect.items():
        i = det.index(month)
        assert d["fp64_peak_pf"][i] == pytest.approx(fp64, rel=1e-12)
        assert d["mixed_peak_pf"][i] == pytest.approx(mixed, rel=1e-12)
        assert d["hpl_pf"][i] == pytest.approx(0.5 * fp64, rel=1e-12)
        assert d["mxp_pf"][i] == pytest.approx(0.25 * mixed, rel=1e-12)
    # power: 1000 x 500 W, then + 100 x 5000 W (the whole GPU node); x PUE 1.25
    assert d["power_mw"][det.index("2026-06")] == pytest.approx(0.625, rel=1e-12)
    assert d["power_mw"][det.index("2027-06")] == pytest.approx(1.25, rel=1e-12)
    assert d["power_mw"][det.index("2029-06")] == pytest.approx(0.625, rel=1e-12)


def test_hand_computed_storage(det):
    d = det.deterministic
    # fs: 20 PB raw, 8+2 -> 16 usable, x 0.75 -> 12; fs2 from 2028-06: 100 PiB, 16+4, 10 % fs
    pib = 2**50 / 1e15
    usable2 = 100 * pib * 0.8 * 0.9
    i, j = det.index("2028-05"), det.index("2028-06")
    assert (d["storage_raw_pb"][i], d["storage_usable_pb"][i]) == pytest.approx((20.0, 16.0))
    assert d["storage_effective_pb"][i] == pytest.approx(12.0)
    assert d["storage_raw_pb"][j] == pytest.approx(20 + 100 * pib)
    assert d["storage_usable_pb"][j] == pytest.approx(16 + usable2)
    assert d["storage_effective_pb"][j] == pytest.approx(12 + usable2 * 0.8)
    # demand 10 PB x 1.5^(t/12): above 12 PB from t > 12 ln 1.2 / ln 1.5 = 5.4 -> 2026-07
    assert d["storage_demand_pb"][det.index("2027-01")] == pytest.approx(15.0)
    assert det.storage_fill.deterministic_date == "2026-07"


def test_hand_computed_targets(det):
    compute, storage = det.targets
    assert compute.deterministic_date == compute.p50_date == compute.p90_date == "2027-01"
    assert compute.probability_by_deadline == 1.0
    assert compute.probability_by_year == {2026: 0.0, 2027: 1.0, 2028: 1.0, 2029: 1.0, 2030: 1.0}
    assert compute.power_at_p50_mw == pytest.approx(1.25)
    # 16 + 81.06 usable PB stays below 100 PB: never met
    assert storage.deterministic_date is None and storage.p50_date is None
    assert storage.probability_by_deadline == 0.0
    assert det.world.system == "new"  # the largest FP64 system


def test_constraints_flag_power_over_envelope():
    data = small_data()
    data["facility"]["power_envelope"] = "1 MW"  # 1.25 MW drawn in 2027
    p = project(parse_scenario(data, "s.toml"), samples=0)
    by_year = {c.year: c for c in p.constraints}
    assert by_year[2027].over_envelope and by_year[2027].p_over_envelope == 1.0
    assert by_year[2027].pressures["power envelope"] == pytest.approx(1.25)
    assert not by_year[2026].over_envelope
    # "flag" leaves capability as installed
    assert p.deterministic["mixed_peak_pf"][p.index("2027-06")] == pytest.approx(322.0)
    data["facility"]["power_policy"] = "cap"
    capped = project(parse_scenario(data, "s.toml"), samples=0)
    assert capped.deterministic["mixed_peak_pf"][p.index("2027-06")] == pytest.approx(322 / 1.25)
    assert capped.targets[0].deterministic_date is None or \
        capped.targets[0].deterministic_date >= "2028-01"


def test_slip_and_lifetime_move_together():
    data = small_data()
    data["phases"]["gpu_1"]["slip_years"] = 0.5
    data["phases"]["gpu_1"]["lifetime_years"] = 1
    p = project(parse_scenario(data, "s.toml"), samples=0)
    mixed = p.deterministic["mixed_peak_pf"]
    assert mixed[p.index("2027-06")] == pytest.approx(2.0)
    assert mixed[p.index("2027-07")] == pytest.approx(322.0)  # delivered 6 months late
    assert mixed[p.index("2028-06")] == pytest.approx(320.0)
    assert mixed[p.index("2028-07")] == pytest.approx(0.0, abs=1e-9)  # one year of service


def zero_spread(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["uncertainty"] = {
        "delivery_slip_years": {"dist": "triangular", "low": 0.25, "mode": 0.25, "high": 0.25},
        "availability": {"dist": "uniform", "low": 0.9, "high": 0.9},
    }
    data["facility"]["pue"] = {"dist": "normal", "mean": 1.3, "sd": 0}
    data["storage"]["demand"]["growth_per_year"] = {"dist": "fixed", "value": 0.4}
    return data


def test_zero_variance_monte_carlo_equals_deterministic():
    sc = parse_scenario(zero_spread(small_data()), "s.toml")
    det = project(sc, samples=0)
    mc = project(sc, samples=2000, seed=3)
    for name, band in mc.bands.items():
        for q in (band.p10, band.p25, band.p50, band.p75, band.p90):
            assert np.array_equal(q, det.deterministic[name]), name
    for a, b in zip(det.targets, mc.targets, strict=True):
        assert (a.p50_date, a.p90_date, a.probability_by_deadline) == \
            (b.p50_date, b.p90_date, b.probability_by_deadline)
        assert a.p50_date == a.deterministic_date
    assert mc.storage_fill.p50_date == det.storage_fill.deterministic_date


@pytest.mark.parametrize("samples", [400, 5000])  # the sorted and the bracketed order stats
def test_graded_bands_are_ordered(samples):
    p = project(load_scenario(resolve_path(None)), samples=samples, seed=4, drivers=False,
                world=False)
    assert {"mixed_peak_pf", "power_mw", "storage_demand_pb"} <= set(p.bands)
    for name, b in p.bands.items():
        for low, high in ((b.p10, b.p25), (b.p25, b.p50), (b.p50, b.p75), (b.p75, b.p90)):
            assert np.all(low <= high), name
    spread = p.bands["hpl_pf"]
    assert np.any(spread.p25 < spread.p75)  # the inner band is a band, not a line
    bands = p.to_dict()["bands"]["hpl_pf"]
    assert list(bands) == ["p10", "p25", "p50", "p75", "p90"]
    assert bands["p25"] == [float(v) for v in spread.p25]


def test_seeded_runs_are_reproducible():
    sc = load_scenario(resolve_path(None))
    a = project(sc, samples=1500, seed=11, drivers=False).to_dict()
    b = project(sc, samples=1500, seed=11, drivers=False).to_dict()
    c = project(sc, samples=1500, seed=12, drivers=False).to_dict()
    for d in (a, b, c):
        d.pop("timings_s")
    assert a == b
    assert a["bands"] != c["bands"]


def test_engine_matches_the_plain_loop():
    sc = load_scenario(resolve_path(None))
    space = inputs.build(sc)
    comp = engine.compile_scenario(sc, space)
    x = space.sample(np.random.default_rng(5), 700)  # > 512: the partition path
    res = engine.evaluate(comp, x, keep_paths=True)
    ref = reference.run(comp, x.tolist())
    for name in reference.PER_ROW:
        np.testing.assert_allclose(res.paths[name], np.array(ref[name]), rtol=1e-12, atol=1e-9)
    for name in engine.BAND_METRICS:
        want = reference.percentile_bands(ref[name], engine.QUANTILES)
        np.testing.assert_allclose(res.bands[name], np.array(want), rtol=1e-12, atol=1e-9)
    for i, (metric, threshold) in enumerate(comp.targets):
        want = [reference.first_above(p, threshold) for p in ref[metric]]
        got = [None if m == engine.NEVER else int(m) for m in res.met_month[i]]
        assert got == want


@pytest.mark.parametrize("n", [1, 2, 9, 511, 512, 1000, 1001])
def test_order_statistics(n):
    rng = np.random.default_rng(n)
    a = rng.random((3, n))
    got = engine.order_stats(a.copy())
    s = np.sort(a, axis=1)
    for row, q in enumerate(engine.QUANTILES):
        assert np.array_equal(got[row], s[:, engine.order_index(q, n)])
    few = rng.choice([1.0, 2.0, 5.0], size=(2, n))
    got = engine.order_stats(few.copy(), few_values=True)
    assert np.array_equal(got[engine.P50], np.sort(few, axis=1)[:, engine.order_index(0.5, n)])


@pytest.mark.parametrize("n", [4096, 16_384, 100_003])
def test_large_order_statistics_are_exact(n):
    """The one-partition path (4096 <= n < 16384) and the sampled brackets above: spread
    values, ties filling a bracket (lo == hi), a few values, sorted and reversed input."""
    rng = np.random.default_rng(n)
    cases = [rng.random(n), np.zeros(n), rng.choice([0.0, 7.5], size=n, p=[0.3, 0.7]),
             rng.choice([1.0, 2.0, 3.0], size=n), np.where(rng.random(n) < 0.6, 0.0,
                                                             rng.random(n)),
             np.arange(n, dtype=float), np.arange(n, 0, -1, dtype=float)]
    for a in cases:
        want = np.sort(a)[[engine.order_index(q, n) for q in engine.QUANTILES]]
        assert np.array_equal(engine.order_stats_1d(a.copy()), want)


def test_a_missed_bracket_falls_back_exactly(monkeypatch):
    monkeypatch.setattr(engine, "_Z", 0.0)  # brackets one sample rank wide: most miss
    a = np.random.default_rng(1).random(50_000)
    want = np.sort(a)[[engine.order_index(q, a.size) for q in engine.QUANTILES]]
    assert np.array_equal(engine.order_stats_1d(a.copy()), want)


def test_monte_carlo_spreads_and_probabilities():
    sc = load_scenario(resolve_path(None))
    p = project(sc, samples=3000, seed=1)
    mixed = p.bands["mixed_peak_pf"]
    assert np.all(mixed.p10 <= mixed.p50) and np.all(mixed.p50 <= mixed.p90)
    for t in p.targets:
        probs = list(t.probability_by_year.values())
        assert probs == sorted(probs)  # met by year y implies met by y + 1
        assert 0.0 <= t.probability_by_deadline <= 1.0
        swings = [d.swing_months for d in t.drivers]
        assert swings == sorted(swings, reverse=True)  # every driver, largest swing first
    keys = {d.key for d in p.targets[0].drivers}
    # the uncertain size, a yes/no phase and the common-cause slip are all drivers
    assert {"systems.tianhe_xingyi.partitions.hpc.count", "phases.ai_1.probability",
            "uncertainty.slip_correlation"} <= keys
    json.dumps(p.to_dict(), allow_nan=False)


def test_definitions_and_sources_are_listed(det):
    text = " ".join(det.definitions)
    for phrase in ("Mixed-precision PF", "FP16/BF16", "sparsity excluded", "FP8 excluded",
                   "HPL-equivalent", "MxP-equivalent", "PiB", "Effectively usable"):
        assert phrase in text
    assert det.sources and all(s.text for s in det.sources)


def test_held_share_by_hand():
    """Reached by month m and not fallen back by then: met <= m < fell."""
    from models.projection import held_share

    never = engine.NEVER
    met = np.array([0, 2, never, 1], dtype=np.int32)
    fell = np.array([3, never, never, 2], dtype=np.int32)
    assert held_share(met, fell, 5).tolist() == [0.25, 0.5, 0.5, 0.25, 0.25]
    assert held_share(met, None, 5).tolist() == [0.25, 0.5, 0.75, 0.75, 0.75]


def test_still_held_curve_sits_between_kept_and_reached():
    p = project(load_scenario(resolve_path(None)), 400, 3)
    months = list(p.months)
    for t in p.targets:
        assert len(t.held_by_month) == len(months)
        at = months.index(t.deadline)
        held = t.held_by_month[at]
        assert t.probability_kept <= held + 1e-9 <= t.probability_by_deadline + 2e-9
        assert all(0.0 <= h <= 1.0 for h in t.held_by_month)
