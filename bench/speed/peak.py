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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--seconds", type=float, default=0.5, help="target seconds per FMA run")
    args = ap.parse_args()
    machine = sysinfo.probe()
    cpu = machine.cpu
    threads = min(sysinfo.usable_cpus(), cpu.cores)
    registers = 32 if cpu.arch == "aarch64" or "avx512f" in cpu.flags else 16
    sw = sysinfo.software_versions(with_mpi=False)
    print(f"{cpu.model}, {threads} threads; BLAS {sw.get('blas')}; LLVM {sw.get('llvm')}")
    for precision, dtype in (("fp64", np.float64), ("fp32", np.float32)):
        width = flops.accumulators(sysinfo.vector_bits(cpu), np.dtype(dtype).itemsize, registers)
        flops.compile_kernel(precision, width)
        probe = flops.run_fma(precision, width, 100_000, threads)
        iters = int(100_000 * args.seconds / probe.seconds)
        rng = np.random.default_rng(0)
        a = rng.random((args.n, args.n)).astype(dtype)
        b = rng.random((args.n, args.n)).astype(dtype)
        out = np.empty_like(a)
        blas_gflops(a, b, out)  # warm-up

        def ours(precision=precision, width=width, iters=iters) -> float:
            run = flops.run_fma(precision, width, iters, threads)
            assert run.max_rel_error <= flops.tolerance(precision)
            return run.gflops

        mine, anchor = alternate(args.rounds, ours, lambda a=a, b=b, out=out:
                                 blas_gflops(a, b, out))
        print(ratio_line(f"peak {precision} vs numpy matmul n={args.n}", mine, anchor,
                         "GFLOP/s", target=0.95))
        print(f"  theoretical peak {machine.peaks[precision].gflops:.1f} GFLOP/s "
              f"({machine.peaks[precision].formula})")


if __name__ == "__main__":
    main()
