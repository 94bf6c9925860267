"""The gate on synthetic, seeded samples: catches a 30% slowdown, lets re-runs through."""

from __future__ import annotations

import numpy as np
import pytest

from bench.compare import Series, compare_series, gate
from kernels.errors import UserError
from tests.test_compare_stats import noisy

ROUNDS = 20  # what the CI tier's benchmarks time


def run_gate(seed: int, slowdown: float, threshold: float = 0.10) -> bool:
    """One baseline and one current run of three benchmarks; True when the gate passes."""
    rng = np.random.default_rng(seed)
    comparisons = []
    for k, base in enumerate((0.005, 0.03, 0.2)):
        a = Series(f"bench{k}", noisy(rng, ROUNDS, base), "s", "lower")
        b = Series(f"bench{k}", noisy(rng, ROUNDS, base * slowdown), "s", "lower")
        comparisons.append(compare_series(a, b, seed=seed))
    return gate(comparisons, threshold).passed


def test_an_unchanged_kernel_passes_in_at_least_19_of_20_tries() -> None:
    passes = sum(run_gate(seed, 1.0) for seed in range(20))
    assert passes >= 19


def test_a_kernel_slowed_by_30_percent_fails_the_gate() -> None:
    failures = sum(not run_gate(seed, 1.3) for seed in range(20))
    assert failures >= 19


def test_a_small_slowdown_within_the_allowance_passes() -> None:
    assert sum(run_gate(seed, 1.03) for seed in range(20)) >= 19


def test_the_gate_fails_only_beyond_the_allowance() -> None:
    a = Series("k", tuple(1.0 + 0.001 * i for i in range(20)), "s", "lower")
    b = Series("k", tuple(1.2 + 0.001 * i for i in range(20)), "s", "lower")
    c = compare_series(a, b)
    assert c.verdict == "slower"
    assert not gate([c], 0.10).passed
    assert gate([c], 0.25).passed  # significantly slower, but within a 25% allowance


def test_benchmarks_without_a_verdict_are_not_judged_and_do_not_fail() -> None:
    a = Series("k", (1.0, 1.0, 1.0), "s", "lower")
    b = Series("k", (9.0, 9.0, 9.0), "s", "lower")
    result = gate([compare_series(a, b)], 0.10)
    assert result.passed and not result.judged and len(result.not_judged) == 1


def test_an_absurd_allowance_is_refused() -> None:
    with pytest.raises(UserError, match="max-slowdown"):
        gate([], 50.0)
