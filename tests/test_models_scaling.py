"""The scaling fit on synthetic measurements from a known law (models/scaling.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.scaling import (
    DEFAULT_PRIOR,
    Network,
    ScalingInputError,
    fit_scaling,
    network_prior,
)

A, R1 = 0.08, 2000.0  # the known law: E(N) = 1 / (1 + A log2 N), GFLOP/s per node


def true_rate(n: float, a: float = A, r1: float = R1) -> float:
    return r1 * n / (1 + a * math.log2(n))


def synthetic(counts=(1, 2, 4, 8), reps: int = 3, noise: float = 0.02, seed: int = 7,
              law=true_rate) -> list[tuple[int, float]]:
    rng = np.random.default_rng(seed)
    return [(n, law(n) * math.exp(noise * rng.standard_normal())) for n in counts
            for _ in range(reps)]


def test_fit_recovers_the_law_parameters() -> None:
    fit = fit_scaling(synthetic())
    assert fit.fitted and fit.prior is None and not fit.suspect
    assert fit.n_measured == (1, 2, 4, 8) and fit.runs == 12
    assert fit.a == pytest.approx(A, abs=0.02)
    assert fit.r1 == pytest.approx(R1, rel=0.03)
    assert abs(fit.a - A) < 3 * fit.a_se and abs(fit.r1 - R1) < 3 * fit.r1_se


def test_noise_free_data_fit_exactly() -> None:
    fit = fit_scaling(synthetic(noise=0.0, reps=1))
    assert fit.a == pytest.approx(A, rel=1e-6)
    assert fit.r1 == pytest.approx(R1, rel=1e-6)
    assert fit.predict(8)[1] == pytest.approx(true_rate(8), rel=0.01)


@pytest.mark.parametrize("seed", range(5))
def test_band_at_100x_contains_the_truth(seed: int) -> None:
    fit = fit_scaling(synthetic(seed=seed))
    p10, p50, p90 = fit.predict(800)
    assert p10 < true_rate(800) < p90
    e10, _, e90 = fit.predict_efficiency(800)
    assert e10 < 1 / (1 + A * math.log2(800)) < e90 <= 1.0
    assert p10 < p50 < p90


def test_band_widens_with_distance() -> None:
    fit = fit_scaling(synthetic())

    def width(n: float) -> float:
        p10, p50, p90 = fit.predict(n)
        return (p90 - p10) / p50

    assert width(16) < width(80) < width(800)
    assert fit.extrapolation_factor(800) == pytest.approx(100)
    assert fit.extrapolation_factor(4) == pytest.approx(0.5)


def test_statement_says_how_far() -> None:
    fit = fit_scaling(synthetic())
    text = fit.statement(800)
    assert text.startswith("fitted on 1-8 nodes (12 runs); 800 nodes is 100x beyond the "
                           "largest measured count; efficiency P50 ")
    assert "within the measured range" in fit.statement(4)


def test_superlinear_data_are_suspect() -> None:
    fit = fit_scaling(synthetic(law=lambda n: 1000.0 * n ** 1.2, noise=0.0, reps=1))
    assert fit.suspect and "above 1.1" in fit.suspect[0]
    assert "suspect" in fit.statement(100)
    assert fit.a == 0.0  # the law has no superlinear branch


def test_one_node_count_uses_the_default_prior() -> None:
    fit = fit_scaling([(4, 7000.0), (4, 7100.0)])
    assert not fit.fitted
    assert (fit.a, fit.a_se) == pytest.approx(DEFAULT_PRIOR)
    assert "prior" in fit.prior and "assumption" in fit.prior
    assert "measured on 4 nodes only" in fit.statement(1000)
    assert "a is not fitted" in fit.statement(1000)
    # the prior reproduces the measured rate at the measured count
    assert fit.predict(4)[1] == pytest.approx(7050, rel=0.02)


def test_one_node_count_prior_from_the_network() -> None:
    net = Network(latency_us=2.0, bandwidth_gb_s=12.0, allreduce_gb_s=8.0)
    fit = fit_scaling([(1, 3000.0)], network=net, matrix_gb_per_node=200.0)
    a, sd = network_prior(3000.0, net, 200.0)
    assert (fit.a, fit.a_se) == pytest.approx((a, sd))
    assert "measured latency and bandwidth" in fit.prior
    # hand-computed: n_l = sqrt(2.5e10), slower bandwidth 8 GB/s
    n_l = math.sqrt(200e9 / 8)
    low = 0.75 * 2e-6 * 3e12 / n_l**2
    high = low + 1.5 * (8 / 8e9) * 3e12 / n_l
    assert a == pytest.approx((low + high) / 2)
    assert network_prior(3000.0, Network(bandwidth_gb_s=12.0), 200.0) is None


def test_linear_law_data_get_a_note() -> None:
    def amdahl(n: float) -> float:
        return 1000.0 * n / (1 + 0.05 * (n - 1))

    fit = fit_scaling(synthetic(counts=(1, 2, 4, 8, 16, 32), law=amdahl, noise=0.005))
    assert any("linear-in-N" in note for note in fit.notes)


@pytest.mark.parametrize("points", [
    [],
    [(1, 0.0)],
    [(2, -5.0)],
    [(4, math.nan)],
    [(4, math.inf)],
    [(0, 100.0)],
    [(1.5, 100.0)],
    [(1, 100.0, 3)],
])
def test_bad_measurements_raise(points) -> None:
    with pytest.raises(ValueError):
        fit_scaling(points)


def test_bad_network_and_prediction_raise() -> None:
    with pytest.raises(ScalingInputError, match="latency_us"):
        fit_scaling([(1, 100.0)], network=Network(latency_us=-1.0))
    fit = fit_scaling(synthetic())
    with pytest.raises(ValueError):
        fit.predict(0)
