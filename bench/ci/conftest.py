"""pytest-benchmark set-up of the CI tier: machine identity in the JSON, scratch space.

The machine key written under ``machine_info.hpcplan`` names the baseline this
run is gated against (``bench.baselines``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_LOAD_AT_START = os.getloadavg()[0]


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    """Our machine key, and the load average: a busy machine makes every timing slower."""
    from bench.baselines import machine_info as ours

    machine_info["hpcplan"] = {**ours(), "load_average_start": round(_LOAD_AT_START, 2),
                               "load_average_end": round(os.getloadavg()[0], 2)}


@pytest.fixture(scope="session")
def machine() -> Any:
    from bench import sysinfo

    return sysinfo.probe()


#: One thread everywhere (kernels, BLAS): a parallel region waits for its slowest
#: thread, so on a shared runner one busy core makes a multi-threaded timing jump
#: several-fold between runs, while one thread keeps a core to itself far more often.
#: The tier tracks the code, not the machine's capacity.
CI_THREADS = 1


@pytest.fixture(scope="session")
def threads() -> int:
    return CI_THREADS


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread() -> Iterator[None]:
    import numpy  # noqa: F401  (loads its BLAS, which threadpoolctl only limits once loaded)
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=CI_THREADS):
        assert all(p["num_threads"] == CI_THREADS for p in threadpool_info()), threadpool_info()
        yield


@pytest.fixture(scope="session")
def ci_env(machine: Any, threads: int, scratch: Path) -> Any:
    """What a registered CI case's set-up receives (``bench.registry.CIEnv``)."""
    from bench.registry import CIEnv

    return CIEnv(threads=threads, machine=machine, scratch=scratch)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory the storage benchmarks create their marked run directories in."""
    path = tmp_path_factory.mktemp("ci-storage")
    yield path
    leftovers = list(path.iterdir())
    assert not leftovers, f"storage benchmarks left {leftovers} behind"
