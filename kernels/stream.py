"""STREAM: sustainable memory bandwidth of Copy, Scale, Add and Triad.

Follows McCalpin's rules: 8-byte elements, bytes counted per element as 16
(Copy, Scale) and 24 (Add, Triad) with write-allocate traffic not counted,
NTIMES repetitions of the four kernels in order, the best time excluding the
first iteration, and the final arrays checked against the scalar recurrence.
The loops run on all threads Numba is allowed (``numba.set_num_threads``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.errors import UserError

KERNELS = ("copy", "scale", "add", "triad")
BYTES_PER_ELEMENT = {"copy": 16, "scale": 16, "add": 24, "triad": 24}
FLOPS_PER_ELEMENT = {"copy": 0, "scale": 1, "add": 1, "triad": 2}
SCALAR = 3.0
#: STREAM's own validation threshold on the average relative error for doubles.
EPSILON = 1e-13


@njit(parallel=True, cache=True)
def _init(a, b, c):
    for i in prange(a.size):
        a[i] = 1.0
        b[i] = 2.0
        c[i] = 0.0


@njit(parallel=True, cache=True)
def _copy(a, c):
    for i in prange(a.size):
        c[i] = a[i]


@njit(parallel=True, cache=True)
def _scale(b, c, q):
    for i in prange(b.size):
        b[i] = q * c[i]


@njit(parallel=True, cache=True)
def _add(a, b, c):
    for i in prange(a.size):
        c[i] = a[i] + b[i]


@njit(parallel=True, cache=True)
def _triad(a, b, c, q):
    for i in prange(a.size):
        a[i] = b[i] + q * c[i]


@njit(parallel=True, cache=True)
def _mean_abs_error(x, expect):
    total = 0.0
    for i in prange(x.size):
        total += abs(x[i] - expect)
    return total / x.size


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


@dataclass(frozen=True)
class StreamRun:
    elements: int
    ntimes: int
    threads: int
    times: dict[str, tuple[float, ...]]  # seconds per repetition, per kernel
    errors: dict[str, float]  # average relative error of a, b, c
    compile_s: float

    def bytes_moved(self, kernel: str) -> int:
        return BYTES_PER_ELEMENT[kernel] * self.elements

    def rates_gbs(self, kernel: str) -> tuple[float, ...]:
        """GB/s (10^9 bytes) of every repetition."""
        return tuple(self.bytes_moved(kernel) / t / 1e9 for t in self.times[kernel])

    def best_gbs(self, kernel: str) -> float:
        """STREAM's figure: the best time, the first iteration excluded."""
        return self.bytes_moved(kernel) / min(self.times[kernel][1:]) / 1e9

    @property
    def valid(self) -> bool:
        return all(e <= EPSILON for e in self.errors.values())


def _compile() -> float:
    t0 = time.perf_counter()
    a, b, c = (np.empty(8) for _ in range(3))
    _init(a, b, c)
    _copy(a, c)
    _scale(b, c, SCALAR)
    _add(a, b, c)
    _triad(a, b, c, SCALAR)
    _mean_abs_error(a, 1.0)
    return time.perf_counter() - t0


def run_stream(elements: int, ntimes: int = 10, threads: int | None = None) -> StreamRun:
    """Allocate, initialise in parallel (first touch), time, validate, free."""
    if ntimes < 2:
        raise UserError("STREAM needs ntimes >= 2 (the first iteration is excluded)")
    if elements < 1:
        raise UserError("STREAM needs a positive array size")
    if threads is not None:
        numba.set_num_threads(threads)
    compile_s = _compile()
    a, b, c = (np.empty(elements) for _ in range(3))
    _init(a, b, c)
    a *= 2.0
    times: dict[str, list[float]] = {k: [] for k in KERNELS}
    clock = time.perf_counter
    for _ in range(ntimes):
        t = clock()
        _copy(a, c)
        times["copy"].append(clock() - t)
        t = clock()
        _scale(b, c, SCALAR)
        times["scale"].append(clock() - t)
        t = clock()
        _add(a, b, c)
        times["add"].append(clock() - t)
        t = clock()
        _triad(a, b, c, SCALAR)
        times["triad"].append(clock() - t)
    ea, eb, ec = expected_values(ntimes)
    errors = {name: _mean_abs_error(arr, e) / abs(e)
              for name, arr, e in (("a", a, ea), ("b", b, eb), ("c", c, ec))}
    return StreamRun(elements, ntimes, numba.get_num_threads(),
                     {k: tuple(v) for k, v in times.items()}, errors, compile_s)
