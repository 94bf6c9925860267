"""Seeded test matrices that any rank can evaluate for its own blocks.

Element (i, j) is a pure function of (seed, i, j): the SplitMix64 stream seeded
with ``seed`` at position ``i * 2**32 + j``, mapped to the open interval
(-0.5, 0.5). No state is carried between elements, so the matrix does not
depend on the block size, the process grid or the order of evaluation, and a
distributed run builds bit-for-bit the matrix of a single-rank run.

The generator is the HPL-MxP reference's: uniform (-0.5, 0.5) off the
diagonal, each diagonal entry the sum of the magnitudes of its row's
off-diagonal entries (diagonally dominant, so LU without pivoting is stable;
the reference calls this "for testing"). The right-hand side is column
``RHS_COLUMN`` of the same stream, beyond any matrix column.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.errors import UserError

#: Words recorded with every result so the matrix can be named and rebuilt.
GENERATOR = ("hpl-mxp-reference: uniform(-0.5,0.5) off the diagonal from the SplitMix64 stream "
             "at i*2^32+j, diagonal = sum of |off-diagonal| of its row (diagonally dominant)")
#: The stream column that holds the right-hand side b.
RHS_COLUMN = 2**32 - 1
#: Largest order the (i, j) -> i * 2**32 + j counter supports.
MAX_N = 2**32 - 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11, _S32 = (np.uint64(s) for s in (30, 27, 31, 11, 32))
_ONE = np.uint64(1)
_TWO_M53 = 2.0**-53


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def _uniform(key, i, j):
    counter = (np.uint64(i) << _S32) | np.uint64(j)
    z = _mix(key + (counter + _ONE) * _GOLDEN)
    return (np.float64(z >> _S11) + 0.5) * _TWO_M53 - 0.5


@njit(cache=True)
def _fill_offdiag(out, rows, cols, key, rowsum):
    """out[a, b] = u(rows[a], cols[b]) off the diagonal, 0 on it; rowsum += |u|."""
    for a in range(rows.size):
        i = rows[a]
        acc = 0.0
        for b in range(cols.size):
            j = cols[b]
            if i == j:
                out[a, b] = 0.0
            else:
                v = _uniform(key, i, j)
                out[a, b] = v
                acc += abs(v)
        rowsum[a] += acc


@njit(cache=True)
def _fill_rhs(out, rows, key):
    for a in range(rows.size):
        out[a] = _uniform(key, rows[a], np.uint64(RHS_COLUMN))


def _key(seed: int) -> np.uint64:
    if not 0 <= seed < 2**64:
        raise UserError(f"seed {seed} must be an integer in [0, 2**64)")
    return np.uint64(seed)


def fill_offdiag(out: np.ndarray, rows: np.ndarray, cols: np.ndarray, seed: int) -> np.ndarray:
    """Fill ``out`` with the off-diagonal entries at global (rows x cols); diagonal left 0.

    Returns each row's partial sum of |off-diagonal| over ``cols``: the caller
    adds the partial sums of every column owner to get the diagonal.
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    if out.shape != (rows.size, cols.size):
        raise ValueError(f"out has shape {out.shape}, rows x cols is {(rows.size, cols.size)}")
    rowsum = np.zeros(rows.size, dtype=np.float64)
    _fill_offdiag(out, rows, cols, _key(seed), rowsum)
    return rowsum


def rhs(rows: np.ndarray, seed: int) -> np.ndarray:
    """The right-hand side b at global ``rows`` (FP64)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.empty(rows.size, dtype=np.float64)
    _fill_rhs(out, rows, _key(seed))
    return out


def check_order(n: int) -> None:
    if not 1 <= n <= MAX_N:
        raise UserError(f"matrix order n={n} must be between 1 and {MAX_N}")


def generate(n: int, seed: int = 42, diag_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The full FP64 matrix A (n x n, C order) and right-hand side b of one rank.

    ``diag_scale`` multiplies the diagonal: 1 is the reference generator; below
    1 the matrix loses diagonal dominance, which is how a test forces the
    unpivoted LU (and the run) to fail.
    """
    check_order(n)
    idx = np.arange(n, dtype=np.int64)
    a = np.empty((n, n), dtype=np.float64)
    a[np.diag_indices(n)] = fill_offdiag(a, idx, idx, seed) * diag_scale
    return a, rhs(idx, seed)
