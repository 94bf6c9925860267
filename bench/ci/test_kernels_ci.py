"""CI-tier benchmarks: each kernel at a small, fixed size, timed by pytest-benchmark.

Run by ``.ci/run``:

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
from pathlib import Path
from typing import Any

import pytest

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


# --- compute ------------------------------------------------------------------

#: FMA iterations per thread and round (about 5-10 ms on a current core).
PEAK_ITERATIONS = 2_000_000


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_peak(benchmark: Any, machine: Any, threads: int, precision: str) -> None:
    from bench import sysinfo
    from kernels import flops

    cpu = machine.cpu
    itemsize = 8 if precision == "fp64" else 4
    # A fixed variant, never swept: two CI runs must time the same code.
    variant = flops.default_variant(sysinfo.vector_bits(cpu), itemsize, sysinfo.registers(cpu))
    width = variant.width
    flops.compile_kernel(precision, variant)
    tol = flops.tolerance(precision)

    def once() -> tuple[dict[str, float], bool, str]:
        run = flops.run_fma(precision, variant, PEAK_ITERATIONS, threads)
        ok = run.max_rel_error <= tol
        return ({f"compute.peak.{precision}": run.gflops}, ok,
                f"closed form matched within {tol:.1e}" if ok else
                f"error {run.max_rel_error:.2e} > {tol:.2e} against the closed form")

    measure(benchmark, once, rounds=20, unit="GFLOP/s",
            params={"precision": precision, "accumulators": width, "threads": threads,
                    "iterations": PEAK_ITERATIONS})


GEMM_N = 384


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_gemm(benchmark: Any, threads: int, precision: str) -> None:
    gemm = pytest.importorskip("kernels.gemm", reason="the GEMM kernel (issue 3) has not landed")
    g = gemm.Gemm(GEMM_N, precision, seed=0)

    def once() -> tuple[dict[str, float], bool, str]:
        seconds = g.run()
        ok, _ratio, detail = g.check()
        return {f"compute.gemm.{precision}": g.flops / seconds / 1e9}, ok, detail

    measure(benchmark, once, rounds=20, unit="GFLOP/s",
            params={"precision": precision, "n": GEMM_N, "threads": threads})


MXP_N, MXP_NB = 768, 128


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
def test_mxp_solve(benchmark: Any, precision: str) -> None:
    mxp = pytest.importorskip("kernels.mxp", reason="the MxP solver (issue 3) has not landed")
    matgen = pytest.importorskip("kernels.matgen", reason="the MxP generator has not landed")
    a, b = matgen.generate(MXP_N, seed=1)
    mxp.warmup()
    name = f"compute.mxp.{precision}" if precision != "fp64" else "compute.hpl.fp64"

    def once() -> tuple[dict[str, float], bool, str]:
        r = mxp.solve(a, b, nb=MXP_NB, precision=precision)
        return {name: r.gflops}, r.passed, r.detail

    measure(benchmark, once, rounds=20, unit="GFLOP/s",
            params={"precision": precision, "n": MXP_N, "nb": MXP_NB, "seed": 1})


def test_mxp_dist_self(benchmark: Any) -> None:
    """The distributed solver's code path on a 1 x 1 grid (MPI_COMM_SELF): one process."""
    mxp_dist = pytest.importorskip("kernels.mxp_dist",
                                   reason="the distributed MxP solver (issue 3) has not landed")
    from mpi4py import MPI

    from kernels import mxp

    mxp.warmup()
    system = mxp_dist.setup(MPI.COMM_SELF, MXP_N, MXP_NB, seed=1)

    def once() -> tuple[dict[str, float], bool, str]:
        r = system.solve("fp32")
        return {"compute.mxp.fp32": r.gflops}, r.passed, r.detail

    try:
        measure(benchmark, once, rounds=20, unit="GFLOP/s",
                params={"precision": "fp32", "n": MXP_N, "nb": MXP_NB, "seed": 1,
                        "grid": "1x1", "communicator": "MPI_COMM_SELF"})
    finally:
        system.free()


# --- memory -------------------------------------------------------------------

#: 4 Mi elements: 96 MiB over three arrays, a CI-sized STREAM (not 4x the LLC).
STREAM_ELEMENTS, STREAM_NTIMES = 4 * 2**20, 5


def test_stream(benchmark: Any, threads: int) -> None:
    from kernels import stream

    def once() -> tuple[dict[str, float], bool, str]:
        run = stream.run_stream(STREAM_ELEMENTS, STREAM_NTIMES, threads)
        return ({f"memory.stream.{k}": run.best_gbs(k) for k in ("triad", "copy")}, run.valid,
                "final arrays match STREAM's recurrence" if run.valid else
                f"final arrays differ from STREAM's recurrence: {run.errors}")

    measure(benchmark, once, rounds=15, unit="GB/s",
            params={"elements": STREAM_ELEMENTS, "ntimes": STREAM_NTIMES, "threads": threads})


# --- storage and metadata -----------------------------------------------------

STORAGE_BLOCK, STORAGE_TRANSFER = 16 * 2**20, 2**20


def test_storage_easy(benchmark: Any, scratch: Path) -> None:
    """Write, read back and verify through the page cache.

    No fsync and no cache drop: the timing is the kernel's own work (pattern,
    system calls, verification), not a disk that other jobs on a shared runner
    also use. The device-bound figures belong to ``hpcplan run --suite io``.
    """
    from kernels.storage import IOConfig, run_bandwidth
    from kernels.workdir import WorkDir

    cfg = IOConfig(block_bytes=STORAGE_BLOCK, transfer_bytes=STORAGE_TRANSFER, fsync=False,
                   drop_cache=False)

    def once() -> tuple[dict[str, float], bool, str]:
        with WorkDir.create(scratch, kind="ci") as wd:
            r = run_bandwidth(cfg, wd.path)
        if not r.ok:
            return {"storage.easy.write": 0.0, "storage.easy.read": 0.0}, False, \
                r.failure or r.verify_details
        return ({"storage.easy.write": r.writes[0].mib_s, "storage.easy.read": r.reads[0].mib_s},
                True, r.verify_details or "data verified")

    measure(benchmark, once, rounds=20, unit="MiB/s",
            params={"block_bytes": STORAGE_BLOCK, "transfer_bytes": STORAGE_TRANSFER,
                    "fsync": False, "drop_cache": False, "direct": False, "layout": "fpp",
                    "api": "posix"})


METADATA_FILES = 200


def test_metadata_easy(benchmark: Any, scratch: Path) -> None:
    from kernels.metadata import PHASES, MDConfig, run_metadata
    from kernels.workdir import WorkDir

    cfg = MDConfig.easy(files_per_rank=METADATA_FILES)

    def once() -> tuple[dict[str, float], bool, str]:
        with WorkDir.create(scratch, kind="ci") as wd:
            r = run_metadata(cfg, wd.path)
        if not r.ok:
            return {f"metadata.easy.{p}": 0.0 for p in PHASES}, False, \
                r.failure or r.verify_details
        return ({f"metadata.easy.{p}": r.phases[p].ops_s for p in PHASES}, True,
                r.verify_details or "contents and removal verified")

    measure(benchmark, once, rounds=20, unit="ops/s",
            params={"mode": "easy", "files_per_rank": METADATA_FILES})


# --- network ------------------------------------------------------------------

def test_network_pingpong(benchmark: Any) -> None:
    """A ping-pong needs two ranks; this tier is one process, so it says so instead."""
    pytest.skip("network.pingpong: a ping-pong needs 2 MPI ranks and the CI tier is one "
                "process; it is covered by tests/mpi/test_network_mpi.py and compared with "
                "mpi4py.bench by 'python -m bench.anchors'")


#: A fixed loop length (the kernel's adaptive count is capped here) so runs time equal work.
ALLREDUCE_BYTES, ALLREDUCE_LOOPS = 2**20, 40


def test_network_allreduce_self(benchmark: Any) -> None:
    """Allreduce on MPI_COMM_SELF: the kernel and the MPI library's local path, no network."""
    from mpi4py import MPI

    from kernels import network

    def once() -> tuple[dict[str, float], bool, str]:
        (r,) = network.allreduce(MPI.COMM_SELF, [ALLREDUCE_BYTES], repetitions=3,
                                 target_s=10.0, warmup=2, max_iterations=ALLREDUCE_LOOPS)
        return ({"network.allreduce.self": statistics.median(r.algbw_gb_s)}, r.valid,
                "sum verified" if r.valid else "the reduced array differs from the expected sum")

    measure(benchmark, once, rounds=20, unit="GB/s",
            params={"size_bytes": ALLREDUCE_BYTES, "iterations": ALLREDUCE_LOOPS, "ranks": 1,
                    "communicator": "MPI_COMM_SELF"})
