"""CI-tier benchmarks: each kernel at a small, fixed size, timed by pytest-benchmark.

The cases are declared with each benchmark (``ci=(CICase(...),)`` in its
``@benchmark`` registration, ``bench/registry.py``); this module turns every case
into a test named ``test_<case>`` (parametrised by its ids), so a new benchmark
enters the tier without an edit here. Run by ``.ci/run``:

    python -m pytest bench/ci --benchmark-enable --benchmark-only \
        --benchmark-json results/ci-benchmarks.json

Sizes and iteration counts are fixed (never adapted to the machine's speed) so
two runs time the same work and ``hpcplan gate`` can compare them; every
kernel and BLAS runs one thread (see ``conftest.CI_THREADS``). Each
entry's ``extra_info`` carries the kernel's own figure per record name
(median over the timed rounds, in ``unit``), its validation status and its
parameters; a failed validation fails the test and keeps the entry marked.
The figures of a small run are not the kernel's headline numbers (STREAM's
arrays here are below 4x the last-level cache, the storage reads come from the
page cache): they track the code, not the machine.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bench import registry

#: One untimed round first: JIT cache loads, page faults, BLAS thread start-up.
WARMUP_ROUNDS = 1
Once = Callable[[], tuple[dict[str, float], bool, str]]


def measure(benchmark: Any, once: Once, *, rounds: int, unit: str,
            params: Mapping[str, Any]) -> dict[str, Any]:
    """Time ``once`` for ``rounds`` rounds; store its figures and checks in ``extra_info``.

    ``once`` returns (figures by record name, validation passed, a sentence).
    """
    figures: list[dict[str, float]] = []
    failures: list[str] = []
    details: list[str] = []

    def target() -> None:
        figs, ok, detail = once()
        figures.append(figs)
        details.append(detail)
        if not ok:
            failures.append(detail)

    benchmark.pedantic(target, rounds=rounds, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    timed = figures[WARMUP_ROUNDS:] if len(figures) > WARMUP_ROUNDS else figures
    per_name = {name: [f[name] for f in timed] for name in timed[0]}
    info = {
        "unit": unit,
        "figures": {name: statistics.median(v) for name, v in per_name.items()},
        "figure_rounds": per_name,
        "validation": {"passed": not failures,
                       "details": "; ".join(dict.fromkeys(failures)) or details[-1]},
        "params": dict(params),
        "record_name": next(iter(per_name)),
    }
    benchmark.extra_info.update(info)
    assert not failures, f"validation failed: {info['validation']['details']}"
    return info



def _run_case(benchmark: Any, env: registry.CIEnv, case: registry.CICase, case_id: str) -> None:
    if case.skip:
        pytest.skip(case.skip)
    assert case.setup is not None, f"CI case {case.test} has neither set-up nor skip reason"
    run = case.setup(env, case_id)
    try:
        measure(benchmark, run.once, rounds=run.rounds, unit=run.unit, params=run.params)
    finally:
        if run.cleanup is not None:
            run.cleanup()


def _make_test(name: str, cases: dict[str, registry.CICase]) -> Callable[..., None]:
    """One test function per case name; its ids (fp64, fp32...) become its parameters."""
    ids = [i for i in cases if i]
    if ids:
        @pytest.mark.parametrize("case_id", ids)
        def test(benchmark: Any, ci_env: registry.CIEnv, case_id: str) -> None:
            _run_case(benchmark, ci_env, cases[case_id], case_id)
    else:
        def test(benchmark: Any, ci_env: registry.CIEnv) -> None:
            _run_case(benchmark, ci_env, cases[""], "")
    test.__name__ = test.__qualname__ = f"test_{name}"
    first = next(iter(cases.values()))
    test.__doc__ = first.setup.__doc__ if first.setup is not None else first.skip
    return test


def _collect() -> dict[str, dict[str, registry.CICase]]:
    grouped: dict[str, dict[str, registry.CICase]] = {}
    for _bench, case in registry.ci_cases():
        for case_id in case.ids or ("",):
            if case_id in grouped.setdefault(case.test, {}):
                raise ValueError(f"CI case test_{case.test}[{case_id}] is declared twice")
            grouped[case.test][case_id] = case
    return grouped


for _name, _cases in _collect().items():
    globals()[f"test_{_name}"] = _make_test(_name, _cases)
