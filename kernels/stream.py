"""STREAM: sustainable memory bandwidth of Copy, Scale, Add and Triad.

Follows McCalpin's rules: 8-byte elements, bytes counted per element as 16
(Copy, Scale) and 24 (Add, Triad) with write-allocate traffic not counted,
NTIMES repetitions of the four kernels in order, the best time excluding the
first iteration, and the final arrays checked against the scalar recurrence.

Each thread owns a contiguous share of the three arrays (it touches its pages
first, so they sit on its memory node) and runs every kernel on it at the same
moment as the others, as OpenMP's static schedule does; a barrier separates
the kernels, as HPCC's StarSTREAM puts MPI barriers around each kernel. A
repetition's time is its slowest thread's (all threads at once), and the
figure is the best repetition, as in STREAM and HPCC. Each thread also times
its own share; the sum of each thread's best is kept as a diagnostic: well
above the figure, it shows another process delaying one thread at a time.

Measured on a 2-core AMD EPYC VM against HPCC, alternating rounds, with other
work on the node: Numba's ``prange`` (OpenMP, whose idle workers spin) fell to
0.2-0.7x of HPCC in rounds where another process ran; Python threads blocking
at a barrier did not. Pinning threads to cores, 64-byte aligned arrays,
separate processes per core and narrower vectors changed nothing beyond this
VM's round-to-round swings (its memory bandwidth moves between about 40 and
80 GB/s), so none is done. Shares start on 64-byte boundaries so no cache line
is written by two threads.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.errors import UserError
from kernels.threads import on_threads

KERNELS = ("copy", "scale", "add", "triad")
BYTES_PER_ELEMENT = {"copy": 16, "scale": 16, "add": 24, "triad": 24}
FLOPS_PER_ELEMENT = {"copy": 0, "scale": 1, "add": 1, "triad": 2}
SCALAR = 3.0
#: STREAM's own validation threshold on the average relative error for doubles.
EPSILON = 1e-13
#: Shares start on multiples of this many elements (64 bytes: one cache line).
ALIGN_ELEMENTS = 8


@njit(nogil=True, cache=True)
def _init(a, b, c):
    for i in range(a.size):
        a[i] = 1.0
        b[i] = 2.0
        c[i] = 0.0


@njit(nogil=True, cache=True)
def _double(a):
    for i in range(a.size):
        a[i] = 2.0 * a[i]


@njit(nogil=True, cache=True)
def _copy(a, c):
    for i in range(a.size):
        c[i] = a[i]


@njit(nogil=True, cache=True)
def _scale(b, c, q):
    for i in range(b.size):
        b[i] = q * c[i]


@njit(nogil=True, cache=True)
def _add(a, b, c):
    for i in range(a.size):
        c[i] = a[i] + b[i]


@njit(nogil=True, cache=True)
def _triad(a, b, c, q):
    for i in range(a.size):
        a[i] = b[i] + q * c[i]


@njit(nogil=True, cache=True)
def _abs_error_sum(x, expect):
    total = 0.0
    for i in range(x.size):
        total += abs(x[i] - expect)
    return total


def min_elements(llc_bytes: int, ranks_on_node: int = 1) -> int:
    """Elements per array so the node's arrays are each at least 4x the last-level cache."""
    return max(1_000_000, -(-4 * llc_bytes // (8 * max(1, ranks_on_node))))


def check_fits(elements: int, available_bytes: int, fraction: float = 0.8) -> None:
    """Refuse arrays that would not fit in memory, with the size that would."""
    need = 3 * 8 * elements
    if need > fraction * available_bytes:
        fits = int(fraction * available_bytes // 24)
        raise UserError(
            f"STREAM arrays of {elements:,} elements need {need / 2**30:.2f} GiB but only "
            f"{available_bytes / 2**30:.2f} GiB is available; at most {fits:,} elements fit")


def expected_values(ntimes: int) -> tuple[float, float, float]:
    """Final a, b, c after ``ntimes`` rounds, by STREAM's scalar recurrence."""
    aj, bj, cj = 1.0, 2.0, 0.0
    aj = 2.0 * aj  # STREAM's timing-granularity pass: a = 2 * a
    for _ in range(ntimes):
        cj = aj
        bj = SCALAR * cj
        cj = aj + bj
        aj = bj + SCALAR * cj
    return aj, bj, cj


def shares(elements: int, threads: int) -> list[int]:
    """Share boundaries: ``threads`` near-equal parts starting on 64-byte boundaries."""
    cuts = [(elements * t // threads) // ALIGN_ELEMENTS * ALIGN_ELEMENTS for t in range(threads)]
    return [*cuts, elements]


@dataclass(frozen=True)
class StreamRun:
    elements: int
    ntimes: int
    threads: int
    times: dict[str, tuple[float, ...]]  # seconds per repetition, all threads (the slowest)
    errors: dict[str, float]  # average relative error of a, b, c
    compile_s: float
    #: seconds per thread per repetition, and each thread's elements; empty for one timer
    thread_times: dict[str, tuple[tuple[float, ...], ...]] | None = None
    thread_elements: tuple[int, ...] = ()

    def bytes_moved(self, kernel: str) -> int:
        return BYTES_PER_ELEMENT[kernel] * self.elements

    def rates_gbs(self, kernel: str) -> tuple[float, ...]:
        """GB/s (10^9 bytes) of every repetition, all threads at once."""
        return tuple(self.bytes_moved(kernel) / t / 1e9 for t in self.times[kernel])

    def best_gbs(self, kernel: str) -> float:
        """STREAM's figure: the best time excluding the first iteration, all threads at once."""
        return self.bytes_moved(kernel) / min(self.times[kernel][1:]) / 1e9

    def per_thread_gbs(self, kernel: str) -> float:
        """Diagnostic: each thread's bytes over its own best time, summed (>= ``best_gbs``)."""
        if not self.thread_times:
            return self.best_gbs(kernel)
        per = BYTES_PER_ELEMENT[kernel]
        return sum(per * n / min(ts[1:]) for n, ts in zip(self.thread_elements,
                                                          self.thread_times[kernel],
                                                          strict=True)) / 1e9

    @property
    def valid(self) -> bool:
        return all(e <= EPSILON for e in self.errors.values())


def _compile() -> float:
    t0 = time.perf_counter()
    a, b, c = (np.empty(8) for _ in range(3))
    _init(a, b, c)
    _double(a)
    _copy(a, c)
    _scale(b, c, SCALAR)
    _add(a, b, c)
    _triad(a, b, c, SCALAR)
    _abs_error_sum(a, 1.0)
    return time.perf_counter() - t0


def run_stream(elements: int, ntimes: int = 10, threads: int | None = None) -> StreamRun:
    """Allocate, initialise per thread (first touch), time, validate, free."""
    if ntimes < 2:
        raise UserError("STREAM needs ntimes >= 2 (the first iteration is excluded)")
    if elements < 1:
        raise UserError("STREAM needs a positive array size")
    threads = threads or len(os.sched_getaffinity(0))
    threads = max(1, min(threads, elements // ALIGN_ELEMENTS or 1))
    compile_s = _compile()
    a, b, c = (np.empty(elements) for _ in range(3))
    cuts = shares(elements, threads)
    times = {k: [[0.0] * ntimes for _ in range(threads)] for k in KERNELS}
    errors = [[0.0, 0.0, 0.0] for _ in range(threads)]
    ea, eb, ec = expected_values(ntimes)
    clock = time.perf_counter
    sync = threading.Barrier(threads).wait  # between kernels, as OpenMP's implicit barrier

    def work(t: int) -> None:
        lo, hi = cuts[t], cuts[t + 1]
        x, y, z = a[lo:hi], b[lo:hi], c[lo:hi]
        _init(x, y, z)
        _double(x)
        mine = {k: times[k][t] for k in KERNELS}
        for i in range(ntimes):
            sync()
            s = clock()
            _copy(x, z)
            mine["copy"][i] = clock() - s
            sync()
            s = clock()
            _scale(y, z, SCALAR)
            mine["scale"][i] = clock() - s
            sync()
            s = clock()
            _add(x, y, z)
            mine["add"][i] = clock() - s
            sync()
            s = clock()
            _triad(x, y, z, SCALAR)
            mine["triad"][i] = clock() - s
        errors[t] = [_abs_error_sum(x, ea), _abs_error_sum(y, eb), _abs_error_sum(z, ec)]

    on_threads(work, threads)
    totals = [sum(e[j] for e in errors) / elements for j in range(3)]
    return StreamRun(
        elements, ntimes, threads,
        {k: tuple(max(times[k][t][i] for t in range(threads)) for i in range(ntimes))
         for k in KERNELS},
        {"a": totals[0] / abs(ea), "b": totals[1] / abs(eb), "c": totals[2] / abs(ec)},
        compile_s,
        {k: tuple(tuple(ts) for ts in times[k]) for k in KERNELS},
        tuple(cuts[t + 1] - cuts[t] for t in range(threads)))
