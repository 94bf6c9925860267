"""Peak floating-point rate: independent FMA chains held in vector registers.

Each thread updates ``width`` accumulators ``x <- x * b + c``, one fused
multiply-add (2 FLOPs) per accumulator per iteration. The accumulator count is
a compile-time constant so LLVM keeps them in registers (one vector per
``lanes`` accumulators) and unrolls the update into independent FMAs, enough
of them to cover the FMA latency times the number of FMA units.

Only ``contract`` fast-math is enabled: it allows the fused multiply-add and
nothing that could reassociate a chain away. Threads are Python threads
running a ``nogil`` kernel, one per usable core, started together at a barrier.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache

import numpy as np
from numba import njit

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.errors import UserError

DTYPES = {"fp64": np.float64, "fp32": np.float32}
#: Contraction factor and offset of the recurrence: the chain converges to
#: c / (1 - b) = 1, so values stay finite for any iteration count.
B, C = 0.75, 0.25


def accumulators(vector_bits: int, itemsize: int, registers: int) -> int:
    """Accumulators per thread: half the vector register file, at least 8 vectors.

    Eight chains cover a 4-cycle FMA latency on two units; 16 (on 32-register
    ISAs) leaves slack for longer latencies without spilling.
    """
    lanes = max(1, vector_bits // (8 * itemsize))
    vectors = max(8, registers // 2)
    return lanes * vectors


@cache
def _kernel(width: int):
    """A kernel specialised for ``width`` accumulators (a closure constant, cached on disk)."""

    @njit(nogil=True, fastmath={"contract"}, cache=True)
    def fma_chains(iterations, b, c, x0, out):
        acc = np.empty(width, out.dtype)
        for j in range(width):
            acc[j] = x0[j]
        for _ in range(iterations):
            for j in range(width):
                acc[j] = acc[j] * b + c
        for j in range(width):
            out[j] = acc[j]

    return fma_chains


def closed_form(x0: np.ndarray, iterations: int, b: float = B, c: float = C) -> np.ndarray:
    """x_n = b^n (x_0 - f) + f with f = c / (1 - b), in float64."""
    f = c / (1.0 - b)
    return b**iterations * (x0.astype(np.float64) - f) + f


@dataclass(frozen=True)
class FmaRun:
    precision: str
    threads: int
    width: int
    iterations: int
    flops: int
    seconds: float  # first thread start to last thread end
    thread_seconds: tuple[float, ...]
    max_rel_error: float

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9


def flop_count(threads: int, width: int, iterations: int) -> int:
    """Exact FLOPs: one FMA (2 FLOPs) per accumulator per iteration per thread."""
    return 2 * threads * width * iterations


def tolerance(precision: str) -> float:
    """Relative error allowed against the closed form: a few hundred ulps of the dtype."""
    return 256 * float(np.finfo(DTYPES[precision]).eps)


def run_fma(precision: str, width: int, iterations: int, threads: int) -> FmaRun:
    """Run the chains on ``threads`` threads at once and check every final value."""
    if precision not in DTYPES:
        raise UserError(f"precision {precision!r} has no native FMA kernel here; "
                        f"available: {', '.join(DTYPES)}")
    if width < 1 or iterations < 1 or threads < 1:
        raise UserError("width, iterations and threads must all be at least 1")
    dtype = DTYPES[precision]
    kern = _kernel(width)
    x0 = (np.arange(width, dtype=np.float64) / width).astype(dtype)
    outs = [np.empty(width, dtype) for _ in range(threads)]
    starts = [0.0] * threads
    ends = [0.0] * threads
    barrier = threading.Barrier(threads)
    b, c = dtype(B), dtype(C)

    def work(t: int) -> None:
        barrier.wait()
        starts[t] = time.perf_counter()
        kern(iterations, b, c, x0, outs[t])
        ends[t] = time.perf_counter()

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    expect = closed_form(x0, iterations)
    err = max(float(np.max(np.abs(o.astype(np.float64) - expect) / np.abs(expect))) for o in outs)
    return FmaRun(
        precision=precision,
        threads=threads,
        width=width,
        iterations=iterations,
        flops=flop_count(threads, width, iterations),
        seconds=max(ends) - min(starts),
        thread_seconds=tuple(e - s for s, e in zip(starts, ends, strict=True)),
        max_rel_error=err,
    )


def compile_kernel(precision: str, width: int) -> float:
    """Compile (or load from cache) the kernel for one precision; returns the seconds spent."""
    t0 = time.perf_counter()
    run_fma(precision, width, 1, 1)
    return time.perf_counter() - t0
