"""bench.compare: the bootstrap interval, verdicts, comparability of records."""

from __future__ import annotations

import numpy as np
import pytest

from bench.compare import (
    Series,
    bootstrap_ratio,
    compare_series,
    parse_fraction,
    record_series,
)
from bench.records import Record
from kernels.errors import UserError


def noisy(rng: np.random.Generator, n: int, base: float = 1.0) -> tuple[float, ...]:
    """Timings of a shared machine: 5% jitter and 15% of rounds hit by other work."""
    jitter = rng.lognormal(0.0, 0.05, n)
    hit = rng.random(n) < 0.15
    return tuple(base * jitter * (1.0 + hit * rng.uniform(0.0, 0.6, n)))


def times(key: str, samples: tuple[float, ...]) -> Series:
    return Series(key=key, samples=samples, unit="s", direction="lower")


def record(cpu: str = "Xeon A", samples: tuple[float, ...] = (10, 11, 12, 10.5, 11.5),
           **kw) -> Record:
    params = kw.pop("params", {"precision": "fp64", "iterations": 1000})
    return Record(name=kw.pop("name", "compute.peak.fp64"), value=max(samples), unit="GFLOP/s",
                  samples=samples, params=params, machine={"cpu_model": cpu},
                  validation={"passed": True, "details": "ok"}, **kw)


def test_bootstrap_is_deterministic_and_brackets_the_ratio() -> None:
    rng = np.random.default_rng(1)
    a, b = noisy(rng, 20), noisy(rng, 20, base=1.3)
    first, second = bootstrap_ratio(a, b), bootstrap_ratio(a, b)
    assert first == second
    ratio, lo, hi = first
    assert lo <= ratio <= hi
    assert ratio == pytest.approx(np.median(b) / np.median(a))
    assert lo > 1.1 and hi < 1.6


def test_thirty_percent_slower_is_slower_and_faster_is_faster() -> None:
    rng = np.random.default_rng(2)
    a = times("k", noisy(rng, 20))
    slow = compare_series(a, times("k", noisy(rng, 20, base=1.3)))
    assert slow.verdict == "slower"
    assert slow.slowdown == pytest.approx(1.3, rel=0.1)
    assert slow.slowdown_ci is not None and slow.slowdown_ci[0] > 1.0
    fast = compare_series(a, times("k", noisy(rng, 20, base=0.7)))
    assert fast.verdict == "faster"
    assert fast.change is not None and fast.change < -0.2


def test_rates_turn_into_time_factors() -> None:
    """A rate that drops from 130 to 100 is a 1.3x slowdown, as a time growing 1.0 -> 1.3 s."""
    a = Series("r", tuple(130 + d for d in (-1, 0, 1, 0.5, -0.5, 0.2)), "GB/s", "higher")
    b = Series("r", tuple(100 + d for d in (-1, 0, 1, 0.5, -0.5, 0.2)), "GB/s", "higher")
    c = compare_series(a, b)
    assert c.verdict == "slower"
    assert c.slowdown == pytest.approx(1.3, rel=1e-3)
    assert c.change == pytest.approx(100 / 130 - 1, rel=1e-3)


def test_identical_distributions_rarely_look_different() -> None:
    """The verdict on re-runs of the same thing: a change in at most 1 of 20 seeded tries."""
    verdicts = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        verdicts.append(compare_series(times("k", noisy(rng, 20)),
                                       times("k", noisy(rng, 20)), seed=seed).verdict)
    assert sum(v != "no significant change" for v in verdicts) <= 1, verdicts


def test_too_few_samples_give_no_verdict() -> None:
    c = compare_series(times("k", (1.0, 1.1, 0.9)), times("k", (2.0, 2.1, 1.9, 2.2, 2.0)))
    assert c.verdict == "insufficient samples"
    assert "3 and 5 samples" in c.reason and "at least 5" in c.reason
    assert not c.judged
    assert compare_series(times("k", (1.0, 1.1, 0.9)), times("k", (2.0, 2.1, 1.9)),
                          min_samples=3).verdict == "slower"


def test_records_from_two_cpu_models_are_refused_with_the_reason() -> None:
    c = compare_series(record_series(record("Xeon A")), record_series(record("EPYC B")))
    assert c.verdict == "refused"
    assert c.reason == "machine.cpu_model differs ('Xeon A' vs 'EPYC B')"
    assert not c.judged
    forced = compare_series(record_series(record("Xeon A")), record_series(record("EPYC B")),
                            force=True)
    assert forced.forced and forced.judged
    assert "machine.cpu_model differs" in forced.reason


def test_precision_or_parameters_differing_is_refused() -> None:
    a = record_series(record(params={"precision": "fp64", "n": 512}))
    b = record_series(record(params={"precision": "fp32", "n": 512}))
    c = compare_series(a, b)
    assert c.verdict == "refused"
    assert c.reason == "params differ: precision ('fp64' vs 'fp32')"
    other = record_series(record(name="compute.peak.fp32"))
    assert "name differs" in compare_series(a, other).reason


def test_run_time_outcomes_in_params_do_not_block_a_comparison() -> None:
    a = record_series(record(params={"precision": "fp64", "iterations": 1000}))
    b = record_series(record(params={"precision": "fp64", "iterations": 2000}))
    assert compare_series(a, b).verdict == "no significant change"


def test_a_failed_record_has_no_figure_to_compare() -> None:
    failed = Record(name="compute.peak.fp64", value=None, unit="GFLOP/s", status="failed",
                    machine={"cpu_model": "Xeon A"},
                    validation={"passed": False, "details": "closed form mismatch"})
    c = compare_series(record_series(record()), record_series(failed))
    assert c.verdict == "refused"
    assert c.reason == "B: compute.peak.fp64 has status failed and no figure"


def test_benchmark_timings_on_other_machines_or_params_are_refused() -> None:
    a = Series("t", (1.0,) * 5, "s", "lower",
               context={"machine.cpu_model": "Xeon A", "params": {"n": 384}})
    b = Series("t", (1.0,) * 5, "s", "lower",
               context={"machine.cpu_model": "EPYC B", "params": {"n": 384}})
    assert compare_series(a, b).reason == "machine.cpu_model differs ('Xeon A' vs 'EPYC B')"
    c = Series("t", (1.0,) * 5, "s", "lower",
               context={"machine.cpu_model": "Xeon A", "params": {"n": 512}})
    assert compare_series(a, c).reason == "params differ: n (384 vs 512)"
    rec = record_series(record())
    assert "pytest-benchmark timing" in compare_series(rec, a).reason


@pytest.mark.parametrize(("text", "value"), [("10%", 0.10), ("2.5 %", 0.025), ("0.1", 0.1),
                                             ("0%", 0.0)])
def test_parse_fraction(text: str, value: float) -> None:
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["10", "ten%", "-5%", ""])
def test_parse_fraction_refuses_unclear_values(text: str) -> None:
    with pytest.raises(UserError, match="--max-slowdown"):
        parse_fraction(text)
