"""Matrix-product throughput per precision through NumPy's BLAS.

FP64 and FP32 run as DGEMM and SGEMM. NumPy has no bfloat16 type and its
float16 product is a generic loop with no half-precision BLAS behind it, so a
rate measured that way is an emulation, not what FP16/BF16 units deliver:
those precisions are reported as unavailable rather than timed.

Validation: a band of rows of C is recomputed in FP64 from the same inputs
and must agree within the worst-case rounding bound of a k-term dot product
in the working precision, gamma_k = k u / (1 - k u), relative to |A| |B|.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from kernels.errors import UserError

#: Precisions a GEMM record exists for, in report order.
PRECISIONS = ("fp64", "fp32", "fp16", "bf16")
DTYPES: dict[str, type[np.floating]] = {"fp64": np.float64, "fp32": np.float32}
#: Why a precision is not measured here even where the CPU has the instructions.
NOT_NATIVE = {
    "fp16": "NumPy's float16 matmul is a generic C loop, not a half-precision BLAS, so its "
            "rate is an emulation and says nothing about the FP16 units",
    "bf16": "NumPy has no bfloat16 type and no BF16 BLAS is available to it",
}
#: Rows of C recomputed in FP64 by the check.
CHECK_ROWS = 16


def native(precision: str) -> tuple[bool, str]:
    """Whether this precision's GEMM runs natively here, and the reason when it does not."""
    if precision in DTYPES:
        return True, ""
    if precision in NOT_NATIVE:
        return False, NOT_NATIVE[precision]
    raise UserError(f"unknown GEMM precision {precision!r}; use one of {', '.join(PRECISIONS)}")


def gemm_flops(m: int, n: int, k: int) -> float:
    """Floating-point operations of C = A B with A m x k and B k x n: 2 m n k."""
    return 2.0 * m * n * k


def bytes_needed(n: int, precision: str) -> int:
    return 3 * n * n * np.dtype(DTYPES[precision]).itemsize


@dataclass
class Gemm:
    """Square operands of order n in one precision, allocated once, timed many times."""

    n: int
    precision: str
    seed: int = 0

    def __post_init__(self) -> None:
        ok, why = native(self.precision)
        if not ok:
            raise UserError(f"precision {self.precision!r} is not available on this machine: {why}")
        if self.n < 1:
            raise UserError(f"GEMM order n={self.n} must be at least 1")
        dtype = DTYPES[self.precision]
        rng = np.random.default_rng(self.seed)
        self.a = (rng.random((self.n, self.n)) - 0.5).astype(dtype)
        self.b = (rng.random((self.n, self.n)) - 0.5).astype(dtype)
        self.c = np.empty((self.n, self.n), dtype=dtype)

    @property
    def flops(self) -> float:
        return gemm_flops(self.n, self.n, self.n)

    def run(self) -> float:
        """One product C = A B; the seconds it took."""
        t0 = time.perf_counter()
        np.matmul(self.a, self.b, out=self.c)
        return time.perf_counter() - t0

    def check(self) -> tuple[bool, float, str]:
        """Recompute CHECK_ROWS rows of C in FP64: passed, worst error / bound, a sentence."""
        rows = np.linspace(0, self.n - 1, min(CHECK_ROWS, self.n)).astype(np.int64)
        a64 = self.a[rows].astype(np.float64)
        b64 = self.b.astype(np.float64)
        exact = a64 @ b64
        scale = np.abs(a64) @ np.abs(b64)
        u = float(np.finfo(DTYPES[self.precision]).eps) / 2
        k = self.n
        gamma = k * u / (1 - k * u) if k * u < 1 else np.inf
        bound = gamma * scale + np.finfo(np.float64).tiny
        ratio = float(np.max(np.abs(self.c[rows] - exact) / bound))
        ok = bool(np.isfinite(ratio) and ratio <= 1.0)
        return ok, ratio, (f"{rows.size} rows of C recomputed in FP64: worst error is "
                           f"{ratio:.3g} of the k*u rounding bound")
