"""HPL-MxP-style mixed-precision solve on one rank: low-precision LU, FP64 refinement.

The matrix is converted to the low precision (FP32 on CPUs; the precision is a
parameter, FP64 gives the HPL-style reference variant) and factored by a
blocked right-looking LU without pivoting: the diagonal block is factored in
Numba (recursively, with BLAS products between the Numba leaves) together with
the inverses of its triangular factors, the panel below and the block row to
the right are multiplied by those inverses, and the trailing matrix is updated
through NumPy's BLAS. Classical iterative refinement in FP64, preconditioned
by the low-precision factors, then runs until the HPL backward-error check
passes (eps = 2^-53, threshold 16) or 50 corrections have been applied.

Credit is (2/3 n^3 + 3/2 n^2) over the whole time to solution: conversion,
factorisation and refinement (generation excluded). The LU-only time is kept
as a diagnostic. Memory: the FP64 matrix (kept for the residual), the
low-precision factors, and O(threads * n * nb) work space; nothing else of size n^2.

Threads: the solver splits every product and element-wise pass into bands of
rows (or columns), one per thread, each calling BLAS single-threaded. NumPy's
matmul cannot accumulate (no GEMM beta), so each trailing-update product lands
in the thread's scratch and is subtracted by the same thread; a multi-threaded
BLAS called thousands of times per factorisation would instead spin its
workers between calls and serialise those subtractions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from numba import njit

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.errors import UserError

#: Precisions the factorisation can run in here, all through NumPy's BLAS.
DTYPES: dict[str, type[np.floating]] = {"fp64": np.float64, "fp32": np.float32}
#: Precisions the issue names that NumPy cannot factor natively, and why.
LACKING = {
    "fp16": "NumPy's float16 matrix product is emulated in software, not run by FP16 units",
    "bf16": "NumPy has no bfloat16 type",
}
#: HPL's accuracy check: machine epsilon of FP64 and the pass threshold.
EPS = 2.0**-53
THRESHOLD = 16.0
#: HPL-MxP allows at most this many refinement iterations.
MAX_ITERATIONS = 50
#: Default block size (columns per panel) and the order below which the
#: diagonal block is factored by the Numba leaf instead of recursing.
DEFAULT_NB = 256
LEAF = 96
#: Rows of the trailing matrix updated per BLAS call: bounds the product's
#: temporary to CHUNK_ROWS x n elements instead of a full-size copy.
CHUNK_ROWS = 256


def dtype_for(precision: str) -> np.dtype:
    """The NumPy dtype of a factorisation precision, or a UserError saying why not."""
    if precision in DTYPES:
        return np.dtype(DTYPES[precision])
    if precision in LACKING:
        raise UserError(f"precision {precision!r} is not available on this machine: "
                        f"{LACKING[precision]}; use one of {', '.join(DTYPES)}")
    raise UserError(f"unknown precision {precision!r}; use one of {', '.join(DTYPES)}")


def flop_credit(n: int) -> float:
    """HPL's operation count for one solve of order n: 2/3 n^3 + 3/2 n^2."""
    return 2.0 / 3.0 * n**3 + 1.5 * n**2


def bytes_needed(n: int, precision: str = "fp32", nb: int = DEFAULT_NB, threads: int = 1) -> int:
    """Peak bytes of one solve: FP64 matrix, low-precision factors, O(n nb) work, vectors."""
    item = dtype_for(precision).itemsize
    nb = max(1, min(nb, n))
    blocks = -(-n // nb)
    inverses = 2 * blocks * nb * nb * item
    work = max(1, threads) * max(CHUNK_ROWS, nb) * n * item
    vectors = 8 * n * 8
    return 8 * n * n + item * n * n + inverses + work + vectors


def max_order(available_bytes: int, precision: str = "fp32", nb: int = DEFAULT_NB) -> int:
    """The largest n whose solve fits in ``available_bytes`` (a multiple of nb when >= nb)."""
    item = dtype_for(precision).itemsize
    n = int(math.sqrt(max(available_bytes, 0) / (8 + item)))
    while n > 0 and bytes_needed(n, precision, nb) > available_bytes:
        n -= 1
    if n >= nb:
        n -= n % nb
    return n


def check_problem(n: int, nb: int, precision: str, available_bytes: int | None = None) -> None:
    """Refuse bad input before anything is allocated: one sentence naming the value."""
    dtype_for(precision)
    if n < 1:
        raise UserError(f"matrix order n={n} must be at least 1")
    if nb <= 0 or nb > n:
        raise UserError(f"block size nb={nb} must be between 1 and the matrix order n={n}")
    if available_bytes is not None:
        need = bytes_needed(n, precision, nb)
        if need > available_bytes:
            fit = max_order(available_bytes, precision, nb)
            raise UserError(
                f"matrix order n={n} needs {need / 1e9:.2f} GB for a {precision} solve but only "
                f"{available_bytes / 1e9:.2f} GB is available; the largest n that fits is {fit}")


# --- Numba leaves ------------------------------------------------------------

@njit(cache=True, error_model="numpy")
def _leaf_factor(a, linv, uinv, one):
    """In-place LU without pivoting of a small block, and the inverses of L and U.

    Row-oriented loops so the innermost loop is a contiguous AXPY. Returns 0, or
    1 + the first column whose pivot is zero or not finite.
    """
    n = a.shape[0]
    for k in range(n):
        piv = a[k, k]
        if piv == 0 or not np.isfinite(piv):
            return k + 1
        inv = one / piv
        for i in range(k + 1, n):
            lik = a[i, k] * inv
            a[i, k] = lik
            for j in range(k + 1, n):
                a[i, j] -= lik * a[k, j]
    # L^{-1} (unit lower): row i of X is e_i - sum_{k<i} L[i,k] X[k,:].
    for i in range(n):
        for j in range(n):
            linv[i, j] = 0
        linv[i, i] = one
        for k in range(i):
            lik = a[i, k]
            for j in range(k + 1):
                linv[i, j] -= lik * linv[k, j]
    # U^{-1} (upper): row i of Y is (e_i - sum_{k>i} U[i,k] Y[k,:]) / U[i,i].
    for i in range(n - 1, -1, -1):
        for j in range(n):
            uinv[i, j] = 0
        uinv[i, i] = one
        for k in range(i + 1, n):
            uik = a[i, k]
            for j in range(k, n):
                uinv[i, j] -= uik * uinv[k, j]
        d = one / a[i, i]
        for j in range(i, n):
            uinv[i, j] *= d
    return 0


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mxp")


def by_rows(rows: int, threads: int, fn: Callable[[int, int], object]) -> list:
    """Run ``fn(start, stop)`` on ``threads`` bands of rows at once; results in band order.

    NumPy releases the GIL in its loops and around BLAS calls, so each band runs
    on its own core; with single-threaded BLAS this is the whole parallelism.
    """
    return by_bands(rows, threads, lambda _i, start, stop: fn(start, stop))


def by_bands(rows: int, threads: int, fn: Callable[[int, int, int], object]) -> list:
    """Like ``by_rows`` but ``fn(band, start, stop)`` also gets its band number."""
    if threads <= 1 or rows < 2 * threads:
        return [fn(0, 0, rows)]
    edges = [rows * i // threads for i in range(threads + 1)]
    return list(_pool(threads).map(fn, range(threads), edges[:-1], edges[1:]))


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS calls run in the calling thread: the solver's own threads share the cores.

    A multi-threaded BLAS called thousands of times per factorisation spends
    its time waking and spinning worker threads, worst on a busy machine.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _band_norm(a: np.ndarray, start: int, stop: int, chunk_rows: int,
               out: np.ndarray | None = None) -> float:
    """Largest row sum of |a| over rows [start, stop); copies them into ``out`` on the way."""
    best = 0.0
    for r in range(start, stop, chunk_rows):
        e = min(r + chunk_rows, stop)
        if out is not None:
            np.copyto(out[r:e], a[r:e], casting="same_kind")
        if e > r:
            best = max(best, float(np.abs(a[r:e]).sum(axis=1).max()))
    return best


def inf_norm(a: np.ndarray, chunk_rows: int = CHUNK_ROWS, threads: int = 1) -> float:
    """||a||_inf (largest row sum of magnitudes), a band of rows at a time: no n^2 temporary."""
    return max(by_rows(a.shape[0], threads, lambda s, e: _band_norm(a, s, e, chunk_rows)),
               default=0.0)


def convert(a: np.ndarray, dtype: np.dtype, threads: int = 1) -> tuple[np.ndarray, float]:
    """A new C-ordered copy of ``a`` in ``dtype`` (a copy even when FP64) and ||a||_inf.

    One pass: each band of rows is cast, then summed while still in cache.
    """
    out = np.empty(a.shape, dtype=dtype)
    norms = by_rows(a.shape[0], threads, lambda s, e: _band_norm(a, s, e, CHUNK_ROWS, out))
    return out, max(norms, default=0.0)


def factor_diagonal(d: np.ndarray, linv: np.ndarray, uinv: np.ndarray) -> int:
    """Factor the square block ``d`` in place and fill the inverses of its L and U.

    Recursive halving: the leaves run in Numba, the off-diagonal quarters go
    through BLAS products. Returns 0 or 1 + the column of a zero pivot.
    """
    b = d.shape[0]
    if b <= LEAF:
        work = np.ascontiguousarray(d)
        li = np.empty_like(work)
        ui = np.empty_like(work)
        status = int(_leaf_factor(work, li, ui, work.dtype.type(1)))
        d[...] = work
        linv[...] = li
        uinv[...] = ui
        return status
    h = b // 2
    status = factor_diagonal(d[:h, :h], linv[:h, :h], uinv[:h, :h])
    if status:
        return status
    d[h:, :h] = d[h:, :h] @ uinv[:h, :h]
    d[:h, h:] = linv[:h, :h] @ d[:h, h:]
    d[h:, h:] -= d[h:, :h] @ d[:h, h:]
    status = factor_diagonal(d[h:, h:], linv[h:, h:], uinv[h:, h:])
    if status:
        return status + h
    linv[h:, :h] = -(linv[h:, h:] @ (d[h:, :h] @ linv[:h, :h]))
    linv[:h, h:] = 0
    uinv[:h, h:] = -(uinv[:h, :h] @ (d[:h, h:] @ uinv[h:, h:]))
    uinv[h:, :h] = 0
    return 0


# --- factorisation and triangular solves ------------------------------------

@dataclass
class Factors:
    """LU factors in place of the matrix, with the inverses of the diagonal blocks."""

    lu: np.ndarray  # unit-lower L strictly below the diagonal, U on and above
    linv: np.ndarray  # (blocks, nb, nb): inverse of each diagonal block of L
    uinv: np.ndarray  # (blocks, nb, nb): inverse of each diagonal block of U
    nb: int
    breakdown: int = 0  # 0, or 1 + the column where a pivot was zero or not finite

    @property
    def n(self) -> int:
        return int(self.lu.shape[0])


def lu_factor(a: np.ndarray, nb: int = DEFAULT_NB, chunk_rows: int = CHUNK_ROWS,
              threads: int = 1) -> Factors:
    """Blocked right-looking LU without pivoting, in place, in ``a``'s precision.

    Step k: factor the diagonal block (Numba leaves), L21 = A21 U11^-1 and
    U12 = L11^-1 A12 as BLAS products with the block inverses, then the
    trailing update A22 -= L21 U12 through BLAS, ``chunk_rows`` rows at a time.
    The products and the update are split in ``threads`` bands, each band
    calling single-threaded BLAS on its own core.
    """
    n = a.shape[0]
    if a.ndim != 2 or a.shape[1] != n:
        raise ValueError(f"matrix must be square, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError("matrix must be C-contiguous")
    threads = max(1, threads)
    blocks = -(-n // nb)
    linv = np.zeros((blocks, nb, nb), dtype=a.dtype)
    uinv = np.zeros((blocks, nb, nb), dtype=a.dtype)
    work = new_work(threads, chunk_rows, n, nb, a.dtype)
    with single_threaded_blas():
        for blk in range(blocks):
            k = blk * nb
            e = min(k + nb, n)
            b = e - k
            status = factor_diagonal(a[k:e, k:e], linv[blk, :b, :b], uinv[blk, :b, :b])
            if status:
                return Factors(a, linv, uinv, nb, breakdown=k + status)
            if e == n:
                break
            panel_products(a[e:, k:e], a[k:e, e:], linv[blk, :b, :b], uinv[blk, :b, :b],
                           work, threads)
            trailing_update(a[e:, e:], a[e:, k:e], a[k:e, e:], work, threads)
    return Factors(a, linv, uinv, nb)


def new_work(threads: int, chunk_rows: int, cols: int, nb: int, dtype: np.dtype) -> np.ndarray:
    """Per-thread scratch: a band of the trailing product or of a panel (O(n nb) in all)."""
    return np.empty((max(1, threads), max(chunk_rows, nb) * max(cols, 1)), dtype=dtype)


def panel_products(below: np.ndarray, right: np.ndarray, linv: np.ndarray, uinv: np.ndarray,
                   work: np.ndarray, threads: int) -> None:
    """In place: ``below`` <- below U11^-1 (L21) and ``right`` <- L11^-1 right (U12).

    ``below`` is split by rows and ``right`` by columns over the threads; each
    band's product goes through the thread's scratch and is copied back.
    """
    b = uinv.shape[0]

    def rows(i: int, start: int, stop: int) -> None:
        for r in range(start, stop, work.shape[1] // b):
            e = min(r + work.shape[1] // b, stop)
            tmp = work[i, : (e - r) * b].reshape(e - r, b)
            np.matmul(below[r:e], uinv, out=tmp)
            below[r:e] = tmp

    def cols(i: int, start: int, stop: int) -> None:
        step = work.shape[1] // b
        for c in range(start, stop, step):
            e = min(c + step, stop)
            tmp = work[i, : b * (e - c)].reshape(b, e - c)
            np.matmul(linv, right[:, c:e], out=tmp)
            right[:, c:e] = tmp

    if below.size:
        by_bands(below.shape[0], threads, rows)
    if right.size:
        by_bands(right.shape[1], threads, cols)


def trailing_update(c: np.ndarray, left: np.ndarray, right: np.ndarray, work: np.ndarray,
                    threads: int = 1) -> None:
    """c -= left @ right through BLAS, each thread a band of rows, chunk by chunk.

    NumPy's matmul cannot accumulate into c (no GEMM beta), so each chunk's
    product lands in the thread's scratch (``work[i]``) and is then subtracted.
    """
    rows, cols = c.shape
    if rows == 0 or cols == 0:
        return
    step = max(1, work.shape[1] // cols)

    def band(i: int, start: int, stop: int) -> None:
        for r in range(start, stop, step):
            e = min(r + step, stop)
            tmp = work[i, : (e - r) * cols].reshape(e - r, cols)
            np.matmul(left[r:e], right, out=tmp)
            np.subtract(c[r:e], tmp, out=c[r:e])

    by_bands(rows, min(threads, work.shape[0]), band)


def lu_solve(f: Factors, r: np.ndarray, threads: int = 1) -> np.ndarray:
    """Solve L U x = r in the factors' precision (block substitution, BLAS gemv).

    Each block row's product with the solved part is split by rows over the
    threads; the diagonal blocks are applied through their stored inverses.
    """
    n, nb = f.n, f.nb
    y = r.astype(f.lu.dtype)
    blocks = f.linv.shape[0]

    def update(k: int, e: int, cols: slice) -> None:
        seg, mat, vec = y[k:e], f.lu[k:e, cols], y[cols]

        def band(start: int, stop: int) -> None:
            seg[start:stop] -= mat[start:stop] @ vec

        by_rows(e - k, threads, band)

    for blk in range(blocks):
        k, e = blk * nb, min(blk * nb + nb, n)
        if k:
            update(k, e, slice(0, k))
        y[k:e] = f.linv[blk, : e - k, : e - k] @ y[k:e]
    for blk in range(blocks - 1, -1, -1):
        k, e = blk * nb, min(blk * nb + nb, n)
        if e < n:
            update(k, e, slice(e, n))
        y[k:e] = f.uinv[blk, : e - k, : e - k] @ y[k:e]
    return y


def residual(a: np.ndarray, b: np.ndarray, x: np.ndarray, threads: int = 1) -> np.ndarray:
    """b - A x in FP64, rows split over the threads."""
    r = np.empty_like(b)

    def band(start: int, stop: int) -> None:
        np.subtract(b[start:stop], a[start:stop] @ x, out=r[start:stop])

    by_rows(b.shape[0], threads, band)
    return r


# --- the HPL check and the whole solve ---------------------------------------

def backward_error(r_inf: float, a_inf: float, x_inf: float, b_inf: float, n: int) -> float:
    """HPL's scaled residual ||Ax-b||_inf / ((||A||_inf ||x||_inf + ||b||_inf) n eps)."""
    denom = (a_inf * x_inf + b_inf) * n * EPS
    if not math.isfinite(r_inf) or not math.isfinite(denom) or denom == 0.0:
        return math.inf
    return r_inf / denom


@dataclass
class SolveResult:
    """Everything one solve measured; ``passed`` is the HPL check."""

    x: np.ndarray
    n: int
    nb: int
    precision: str
    passed: bool
    backward_error: float
    iterations: int
    detail: str
    convert_s: float
    factor_s: float
    refine_s: float
    total_s: float
    history: list[float] = field(default_factory=list)

    @property
    def gflops(self) -> float:
        """The HPL credit over the total time to solution, in GFLOP/s."""
        return flop_credit(self.n) / self.total_s / 1e9

    @property
    def lu_gflops(self) -> float:
        """Diagnostic only: 2/3 n^3 over the factorisation time."""
        return 2.0 / 3.0 * self.n**3 / self.factor_s / 1e9


def refine(a: np.ndarray, b: np.ndarray, a_inf: float, apply_inverse, max_iter: int,
           threshold: float, residual=None) -> tuple[np.ndarray, bool, float, int, str, list]:
    """Classical iterative refinement in FP64 until the HPL check passes.

    ``apply_inverse(r)`` solves with the low-precision factors; ``residual(x)``
    returns b - A x (defaults to the local product). Returns x, passed, the
    last backward error, corrections applied, a detail sentence, the history.
    """
    n = b.shape[0]
    resid = residual or (lambda x: b - a @ x)
    b_inf = float(np.abs(b).max()) if n else 0.0
    x = apply_inverse(b)
    history: list[float] = []
    it = 0
    while True:
        r = resid(x)
        r_inf = float(np.abs(r).max())
        be = backward_error(r_inf, a_inf, float(np.abs(x).max()), b_inf, n)
        history.append(be)
        if be < threshold:
            return x, True, be, it, f"backward error {be:.3g} < {threshold:g} after {it} " \
                "refinement iterations", history
        if not math.isfinite(be):
            return x, False, be, it, f"residual is not finite after {it} refinement " \
                "iterations (the low-precision factors are unusable)", history
        if it >= max_iter:
            return x, False, be, it, f"backward error {be:.3g} still >= {threshold:g} after " \
                f"{it} refinement iterations (limit {max_iter})", history
        x += apply_inverse(r / r_inf) * r_inf
        it += 1


def solve(a: np.ndarray, b: np.ndarray, nb: int = DEFAULT_NB, precision: str = "fp32",
          max_iter: int = MAX_ITERATIONS, threshold: float = THRESHOLD,
          threads: int = 1) -> SolveResult:
    """Solve A x = b to FP64 accuracy with an LU in ``precision``; ``a`` is left unchanged.

    The timed region covers the conversion (a copy for FP64), the factorisation
    and the refinement; the caller generated A and b beforehand. The work is
    split over ``threads`` threads (use one per core), each calling BLAS
    single-threaded, whatever the caller's BLAS setting.
    """
    n = a.shape[0]
    dtype = dtype_for(precision)
    check_problem(n, nb, precision)
    if a.dtype != np.float64 or b.dtype != np.float64:
        raise ValueError("a and b must be FP64 arrays")
    if not 0 <= max_iter <= MAX_ITERATIONS:
        raise UserError(f"max_iter={max_iter} must be between 0 and {MAX_ITERATIONS}")
    with single_threaded_blas():
        t0 = time.perf_counter()
        low, a_inf = convert(a, dtype, threads)
        t1 = time.perf_counter()
        f = lu_factor(low, nb, threads=threads)
        t2 = time.perf_counter()
        if f.breakdown:
            x = np.full(n, np.nan)
            total = time.perf_counter() - t0
            return SolveResult(x, n, nb, precision, False, math.inf, 0,
                               f"LU without pivoting broke down at column {f.breakdown - 1} "
                               "(zero or non-finite pivot)", t1 - t0, t2 - t1, 0.0, total)

        def apply_inverse(r: np.ndarray) -> np.ndarray:
            return lu_solve(f, r, threads).astype(np.float64)

        with np.errstate(all="ignore"):
            x, passed, be, it, detail, history = refine(
                a, b, a_inf, apply_inverse, max_iter, threshold,
                residual=lambda x: residual(a, b, x, threads))
        t3 = time.perf_counter()
    return SolveResult(x, n, nb, precision, passed, be, it, detail, t1 - t0, t2 - t1, t3 - t2,
                       t3 - t0, history)


def warmup() -> None:
    """Compile (or load from cache) every Numba kernel for both precisions."""
    a = np.eye(LEAF + 8) * 4.0 + 0.01
    b = np.ones(LEAF + 8)
    for precision in DTYPES:
        solve(a, b, nb=LEAF + 8, precision=precision)
        solve(a, b, nb=8, precision=precision, threads=2)
