"""The HPL-MxP-style solve across MPI ranks: 2-D block-cyclic LU, FP64 refinement.

The n x n matrix is cut into nb x nb blocks dealt cyclically over a P x Q
process grid (row-major ranks, as ScaLAPACK), so block (I, J) lives on process
(I mod P, J mod Q) and each rank stores its blocks as one dense local array.
Each rank generates only its own blocks (``kernels.matgen``); the diagonal
(the row sums of magnitudes) is summed along the process row.

LU step K, without pivoting, right-looking: the owner of the diagonal block
factors it (``kernels.mxp.factor_diagonal``); the inverse of U11 goes down the
process column and the inverse of L11 along the process row; the column owners
form L21 and the row owners U12; L21 is broadcast along process rows, U12 down
process columns, and every rank updates its share of the trailing matrix with
one local BLAS product. Refinement keeps x and b replicated (n numbers): the
residual is a local product plus one all-reduce, the triangular solves walk
the block rows with a reduce to the diagonal owner and a broadcast of the
solved block. The caller passes the communicator; nothing here initialises MPI.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kernels import matgen
from kernels.errors import UserError
from kernels.mxp import (
    DEFAULT_NB,
    MAX_ITERATIONS,
    THRESHOLD,
    SolveResult,
    by_rows,
    dtype_for,
    factor_diagonal,
    new_work,
    panel_products,
    refine,
    single_threaded_blas,
    trailing_update,
)


@dataclass(frozen=True)
class Grid:
    """A P x Q process grid; rank r sits at row r // Q, column r % Q."""

    p: int
    q: int

    @property
    def size(self) -> int:
        return self.p * self.q

    def coords(self, rank: int) -> tuple[int, int]:
        return rank // self.q, rank % self.q

    def rank(self, row: int, col: int) -> int:
        return row * self.q + col


def make_grid(size: int, p: int | None = None, q: int | None = None) -> Grid:
    """The grid for ``size`` ranks: as given, or the squarest P x Q with P <= Q."""
    if p is None and q is None:
        p = max(d for d in range(1, math.isqrt(size) + 1) if size % d == 0)
        return Grid(p, size // p)
    if p is None or q is None or p < 1 or q < 1 or p * q != size:
        raise UserError(f"process grid {p}x{q} does not match the {size} MPI ranks "
                        f"(P x Q must equal the rank count)")
    return Grid(p, q)


def local_indices(n: int, nb: int, iproc: int, nprocs: int) -> np.ndarray:
    """Global indices (ascending) of the rows or columns that process ``iproc`` owns."""
    blocks = range(iproc, -(-n // nb), nprocs)
    if not blocks:
        return np.empty(0, dtype=np.int64)
    return np.concatenate([np.arange(b * nb, min(b * nb + nb, n)) for b in blocks]).astype(np.int64)


def local_start(block: int, iproc: int, nprocs: int, nb: int, size: int) -> int:
    """Local offset of the first owned block whose global index is >= ``block``.

    ``size`` is the local extent, returned when no such block is owned.
    """
    owned_before = max(0, -(-(block - iproc) // nprocs))
    return min(owned_before * nb, size)


def bytes_needed_local(n: int, nb: int, grid: Grid, precision: str = "fp32",
                       threads: int = 1) -> int:
    """Peak bytes on the most loaded rank: FP64 blocks, low-precision blocks, panels, vectors."""
    item = dtype_for(precision).itemsize
    blocks = -(-n // nb)
    rows = -(-blocks // grid.p) * nb
    cols = -(-blocks // grid.q) * nb
    panels = (rows * nb + nb * cols + max(1, threads) * max(256, nb) * cols) * item
    return rows * cols * (8 + item) + panels + 12 * n * 8


@dataclass
class DistResult(SolveResult):
    """One distributed solve; identical on every rank (times are the slowest rank's)."""

    grid: Grid = field(kw_only=True)
    generate_s: float = field(kw_only=True)


class DistributedSystem:
    """One rank's share of the seeded system A x = b, and of its low-precision factors.

    Built by ``setup`` (which checks the input first); ``solve`` may run many
    times on the same generated matrix; ``free`` releases the sub-communicators.
    """

    def __init__(self, comm: Any, n: int, nb: int, grid: Grid, seed: int,
                 diag_scale: float = 1.0) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm, self.n, self.nb, self.grid, self.seed = comm, n, nb, grid, seed
        self.diag_scale = diag_scale
        self.dtype = np.dtype(np.float64)
        self.myrow, self.mycol = grid.coords(comm.rank)
        self.row_comm = comm.Split(self.myrow, self.mycol)  # my process row, ranked by column
        self.col_comm = comm.Split(self.mycol + grid.p, self.myrow)  # my process column
        self.rows = local_indices(n, nb, self.myrow, grid.p)
        self.cols = local_indices(n, nb, self.mycol, grid.q)
        self.blocks = -(-n // nb)
        self.a64 = np.empty((self.rows.size, self.cols.size))
        self.low: np.ndarray | None = None
        self.linv: dict[int, np.ndarray] = {}
        self.uinv: dict[int, np.ndarray] = {}
        self.breakdown = 0
        self.threads = 1
        t = time.perf_counter()
        self.b = self._generate()
        self.generate_s = float(comm.allreduce(time.perf_counter() - t, op=MPI.MAX))

    def free(self) -> None:
        self.row_comm.Free()
        self.col_comm.Free()

    # -- layout helpers --
    def span(self, k_block: int) -> tuple[int, int, int]:
        k = k_block * self.nb
        e = min(k + self.nb, self.n)
        return k, e, e - k

    def owner(self, k_block: int) -> tuple[int, int]:
        return k_block % self.grid.p, k_block % self.grid.q

    def _generate(self) -> np.ndarray:
        """Fill my blocks from the seeded generator; returns b (replicated, n numbers)."""
        partial = matgen.fill_offdiag(self.a64, self.rows, self.cols, self.seed)
        self.row_comm.Allreduce(self.MPI.IN_PLACE, partial, op=self.MPI.SUM)
        partial *= self.diag_scale
        mine = np.flatnonzero(np.isin(self.rows, self.cols))
        for li in mine:
            g = self.rows[li]
            lj = int(np.searchsorted(self.cols, g))
            self.a64[li, lj] = partial[li]
        return matgen.rhs(np.arange(self.n, dtype=np.int64), self.seed)

    def convert(self) -> float:
        """Cast my blocks to the factor precision and return ||A||_inf, in one pass.

        Each band is copied, then its partial row sums of |A| taken while in
        cache; the partial sums are added along process rows.
        """
        self.low = np.empty(self.a64.shape, dtype=self.dtype)
        low, a64 = self.low, self.a64
        partial = np.zeros(self.rows.size)

        def band(start: int, stop: int) -> None:
            for r in range(start, stop, 256):
                e = min(r + 256, stop)
                np.copyto(low[r:e], a64[r:e], casting="same_kind")
                partial[r:e] = np.abs(a64[r:e]).sum(axis=1)

        by_rows(self.rows.size, self.threads, band)
        self.row_comm.Allreduce(self.MPI.IN_PLACE, partial, op=self.MPI.SUM)
        local = float(partial.max()) if partial.size else 0.0
        return float(self.comm.allreduce(local, op=self.MPI.MAX))

    def solve(self, precision: str = "fp32", *, max_iter: int = MAX_ITERATIONS,
              threshold: float = THRESHOLD, threads: int = 1) -> DistResult:
        """Convert, factor in ``precision`` and refine in FP64; every rank calls.

        Times cover conversion (with ||A||_inf), factorisation and refinement,
        the slowest rank's; the factors are released before returning.
        This rank's work is split over ``threads`` threads, each calling BLAS
        single-threaded (one per core the rank owns).
        """
        self.dtype = dtype_for(precision)
        self.threads = max(1, threads)
        if not 0 <= max_iter <= MAX_ITERATIONS:
            raise UserError(f"max_iter={max_iter} must be between 0 and {MAX_ITERATIONS}")
        comm, MPI = self.comm, self.MPI
        with single_threaded_blas():
            comm.Barrier()
            t0 = time.perf_counter()
            a_inf = self.convert()
            t1 = time.perf_counter()
            self.factor()
            t2 = time.perf_counter()
            if self.breakdown:
                x = np.full(self.n, np.nan)
                passed, be, it, history = False, math.inf, 0, []
                detail = (f"LU without pivoting broke down at column {self.breakdown - 1} "
                          "(zero or non-finite pivot)")
            else:
                with np.errstate(all="ignore"):
                    x, passed, be, it, detail, history = refine(
                        self.a64, self.b, a_inf, self.apply_inverse, max_iter, threshold,
                        residual=lambda x: self.residual(self.b, x))
            t3 = time.perf_counter()
        self.low, self.linv, self.uinv, self.breakdown = None, {}, {}, 0
        times = np.array([t1 - t0, t2 - t1, t3 - t2, t3 - t0])
        comm.Allreduce(MPI.IN_PLACE, times, op=MPI.MAX)
        return DistResult(x, self.n, self.nb, precision, passed, be, it, detail,
                          *(float(v) for v in times), history=history, grid=self.grid,
                          generate_s=self.generate_s)

    # -- factorisation --
    def factor(self) -> None:
        """Right-looking block-cyclic LU without pivoting, in place in ``self.low``."""
        a = self.low
        assert a is not None
        nb, grid, dt = self.nb, self.grid, self.dtype
        lpanel = np.empty(self.rows.size * nb, dtype=dt)
        upanel = np.empty(nb * self.cols.size, dtype=dt)
        work = new_work(self.threads, 256, self.cols.size, nb, dt)
        nothing = a[:0, :0]
        status = np.zeros(1, dtype=np.int64)
        for kb in range(self.blocks):
            k, _, b = self.span(kb)
            prow, pcol = self.owner(kb)
            in_row, in_col = self.myrow == prow, self.mycol == pcol
            lr = (kb // grid.p) * nb  # local row of block kb (on its process row)
            lc = (kb // grid.q) * nb
            lr_below = local_start(kb + 1, self.myrow, grid.p, nb, self.rows.size)
            lc_right = local_start(kb + 1, self.mycol, grid.q, nb, self.cols.size)
            linv = np.empty((b, b), dtype=dt)
            uinv = np.empty((b, b), dtype=dt)
            if in_row and in_col:
                status[0] = factor_diagonal(a[lr:lr + b, lc:lc + b], linv, uinv)
                if status[0]:
                    status[0] += k
                self.linv[kb], self.uinv[kb] = linv, uinv
            self.comm.Bcast(status, root=grid.rank(prow, pcol))
            if status[0]:
                self.breakdown = int(status[0])
                return
            if in_row and grid.q > 1:
                self.row_comm.Bcast(linv, root=pcol)
            if in_col and grid.p > 1:
                self.col_comm.Bcast(uinv, root=prow)
            m, w = self.rows.size - lr_below, self.cols.size - lc_right
            lbuf = lpanel[: m * b].reshape(m, b)
            ubuf = upanel[: b * w].reshape(b, w)
            panel_products(a[lr_below:, lc:lc + b] if in_col else nothing,
                           a[lr:lr + b, lc_right:] if in_row else nothing,
                           linv, uinv, work, self.threads)
            if in_col:
                lbuf[...] = a[lr_below:, lc:lc + b]
            if in_row:
                ubuf[...] = a[lr:lr + b, lc_right:]
            if grid.q > 1 and m:
                self.row_comm.Bcast(lbuf, root=pcol)
            if grid.p > 1 and w:
                self.col_comm.Bcast(ubuf, root=prow)
            trailing_update(a[lr_below:, lc_right:], lbuf, ubuf, work, self.threads)

    # -- triangular solves with replicated vectors --
    def _sweep(self, rhs: np.ndarray, lower: bool) -> np.ndarray:
        """Solve L y = rhs (lower) or U z = rhs, in the factors' precision."""
        a = self.low
        assert a is not None
        nb, grid, dt = self.nb, self.grid, self.dtype
        out = np.array(rhs, dtype=dt)
        at_cols = np.zeros(self.cols.size, dtype=dt)  # solution at my columns
        block = np.empty(nb, dtype=dt)
        total = np.empty(nb, dtype=dt)
        order = range(self.blocks) if lower else range(self.blocks - 1, -1, -1)
        for kb in order:
            k, e, b = self.span(kb)
            prow, pcol = self.owner(kb)
            lc = (kb // grid.q) * nb
            if self.myrow == prow:
                lr = (kb // grid.p) * nb
                if lower:
                    stop = local_start(kb, self.mycol, grid.q, nb, self.cols.size)
                    part = a[lr:lr + b, :stop] @ at_cols[:stop]
                else:
                    start = local_start(kb + 1, self.mycol, grid.q, nb, self.cols.size)
                    part = a[lr:lr + b, start:] @ at_cols[start:]
                part = np.ascontiguousarray(part, dtype=dt)
                if grid.q > 1:
                    self.row_comm.Reduce(part, total[:b], op=self.MPI.SUM, root=pcol)
                else:
                    total[:b] = part
                if self.mycol == pcol:
                    inv = self.linv[kb] if lower else self.uinv[kb]
                    block[:b] = inv @ (out[k:e] - total[:b])
            self.comm.Bcast(block[:b], root=grid.rank(prow, pcol))
            out[k:e] = block[:b]
            if self.mycol == pcol:
                at_cols[lc:lc + b] = block[:b]
        return out

    def apply_inverse(self, r: np.ndarray) -> np.ndarray:
        """(L U)^-1 r with the low-precision factors, returned in FP64 (replicated)."""
        return self._sweep(self._sweep(r, lower=True), lower=False).astype(np.float64)

    def residual(self, b: np.ndarray, x: np.ndarray) -> np.ndarray:
        """b - A x in FP64: local product at my rows, summed over all ranks.

        Reduced to rank 0 and broadcast, so every rank holds bit-identical values
        and takes the same refinement decisions.
        """
        part = np.zeros(self.n)
        local = np.empty(self.rows.size)
        xc = x[self.cols]

        def band(start: int, stop: int) -> None:
            np.matmul(self.a64[start:stop], xc, out=local[start:stop])

        by_rows(self.rows.size, self.threads, band)
        part[self.rows] = local
        full = np.empty(self.n)
        self.comm.Reduce(part, full, op=self.MPI.SUM, root=0)
        self.comm.Bcast(full, root=0)
        return b - full


def setup(comm: Any, n: int, nb: int = DEFAULT_NB, *, seed: int = 42,
          grid: tuple[int, int] | None = None, precision: str = "fp32",
          available_bytes: int | None = None, diag_scale: float = 1.0) -> DistributedSystem:
    """Check the input, then generate each rank's blocks; every rank of ``comm`` calls.

    ``available_bytes`` is what one rank may use (checked for ``precision``
    before anything is allocated).
    """
    dtype_for(precision)
    matgen.check_order(n)
    if nb <= 0 or nb > n:
        raise UserError(f"block size nb={nb} must be between 1 and the matrix order n={n}")
    g = make_grid(comm.size, *(grid or (None, None)))
    if available_bytes is not None:
        need = bytes_needed_local(n, nb, g, precision)
        if need > available_bytes:
            fit = n
            while fit > nb and bytes_needed_local(fit, nb, g, precision) > available_bytes:
                fit = int(fit * 0.98)
            fit -= fit % nb
            raise UserError(
                f"matrix order n={n} needs {need / 1e9:.2f} GB per rank on a {g.p}x{g.q} grid "
                f"but only {available_bytes / 1e9:.2f} GB is available; the largest n that "
                f"fits is about {fit}")
    return DistributedSystem(comm, n, nb, g, seed, diag_scale)


def solve(comm: Any, n: int, nb: int = DEFAULT_NB, *, seed: int = 42, precision: str = "fp32",
          grid: tuple[int, int] | None = None, max_iter: int = MAX_ITERATIONS,
          threshold: float = THRESHOLD, available_bytes: int | None = None,
          diag_scale: float = 1.0, threads: int = 1) -> DistResult:
    """Generate, factor and refine the seeded system of order n over ``comm`` (one call)."""
    system = setup(comm, n, nb, seed=seed, grid=grid, precision=precision,
                   available_bytes=available_bytes, diag_scale=diag_scale)
    try:
        return system.solve(precision, max_iter=max_iter, threshold=threshold, threads=threads)
    finally:
        system.free()
