"""Peak kernel vs NumPy's BLAS matrix product (n = 4096, same dtype, all cores).

    python -m bench.speed.peak [--rounds 5] [--n 4096] [--seconds 0.5]

Target (issue 2): FP64 and FP32 each >= 0.95x the BLAS rate in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench import sysinfo
from bench.speed.common import alternate, ratio_line
from kernels import flops


def blas_gflops(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> float:
    t = time.perf_counter()
    np.matmul(a, b, out=out)
    return 2.0 * a.shape[0] ** 3 / (time.perf_counter() - t) / 1e9


def setup() -> tuple[sysinfo.Machine, int, int]:
    """The machine, the threads to use and the vector registers of its ISA."""
    machine = sysinfo.probe()
    cpu = machine.cpu
    threads = min(sysinfo.usable_cpus(), cpu.cores)
    registers = 32 if cpu.arch == "aarch64" or "avx512f" in cpu.flags else 16
    return machine, threads, registers


def measure(precision: str, n: int, rounds: int, seconds: float
            ) -> tuple[list[float], list[float]]:
    """Our FMA rate and NumPy's matmul rate (GFLOP/s), alternating for ``rounds`` rounds."""
    machine, threads, registers = setup()
    dtype = {"fp64": np.float64, "fp32": np.float32}[precision]
    width = flops.accumulators(sysinfo.vector_bits(machine.cpu), np.dtype(dtype).itemsize,
                               registers)
    flops.compile_kernel(precision, width)
    probe = flops.run_fma(precision, width, 100_000, threads)
    iters = int(100_000 * seconds / probe.seconds)
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.empty_like(a)
    blas_gflops(a, b, out)  # warm-up

    def ours() -> float:
        run = flops.run_fma(precision, width, iters, threads)
        if run.max_rel_error > flops.tolerance(precision):
            raise RuntimeError(f"peak {precision}: error {run.max_rel_error:.2e} against the "
                               "closed form")
        return run.gflops

    return alternate(rounds, ours, lambda: blas_gflops(a, b, out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--seconds", type=float, default=0.5, help="target seconds per FMA run")
    args = ap.parse_args()
    machine, threads, _ = setup()
    sw = sysinfo.software_versions(with_mpi=False)
    print(f"{machine.cpu.model}, {threads} threads; BLAS {sw.get('blas')}; LLVM {sw.get('llvm')}")
    for precision in ("fp64", "fp32"):
        mine, anchor = measure(precision, args.n, args.rounds, args.seconds)
        print(ratio_line(f"peak {precision} vs numpy matmul n={args.n}", mine, anchor,
                         "GFLOP/s", target=0.95))
        print(f"  theoretical peak {machine.peaks[precision].gflops:.1f} GFLOP/s "
              f"({machine.peaks[precision].formula})")

if __name__ == "__main__":
    main()
