"""Peak kernel vs NumPy's BLAS matrix product (n = 4096, same dtype, all cores).

    python -m hpcplan.anchors.peak [--rounds 5] [--n 4096] [--seconds 0.5]

Target (issues 2, 16): FP64 and FP32 each >= 0.95x the BLAS rate in the same run, and
no figure above 105% of the theoretical peak at the measured clock (printed too).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench import sysinfo
from hpcplan.anchors.common import alternate, ratio_line
from kernels import clock, flops

#: Seconds to let BLAS worker threads stop spinning before our kernel is timed.
BLAS_SPIN_S = 0.25


def blas_gflops(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> float:
    t = time.perf_counter()
    np.matmul(a, b, out=out)
    return 2.0 * a.shape[0] ** 3 / (time.perf_counter() - t) / 1e9


def setup() -> tuple[sysinfo.Machine, int]:
    """The machine and the threads to use."""
    machine = sysinfo.probe()
    return machine, min(sysinfo.usable_cpus(), machine.cpu.cores)


def variant(precision: str, threads: int) -> flops.Variant:
    """The variant ``hpcplan run`` times here: cached, or swept now (and cached)."""
    from bench.runner import make_context
    from bench.suite_peak import choose_variant

    return choose_variant(make_context(), precision, threads)[0]


def measure(precision: str, n: int, rounds: int, seconds: float
            ) -> tuple[list[float], list[float]]:
    """Our FMA rate and NumPy's matmul rate (GFLOP/s), alternating for ``rounds`` rounds."""
    _machine, threads = setup()
    dtype = {"fp64": np.float64, "fp32": np.float32}[precision]
    chosen = variant(precision, threads)
    flops.compile_kernel(precision, chosen)
    probe = flops.run_fma(precision, chosen, 100_000, threads)
    iters = int(100_000 * seconds / probe.seconds)
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.empty_like(a)
    blas_gflops(a, b, out)  # warm-up

    def ours() -> float:
        # OpenBLAS's workers spin for a while after a call returns (OPENBLAS_THREAD_TIMEOUT,
        # about 2^28 cycles); on a node with few cores they would take cycles from ours.
        time.sleep(BLAS_SPIN_S)
        run = flops.run_fma(precision, chosen, iters, threads)
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
    machine, threads = setup()
    sw = sysinfo.software_versions(with_mpi=False)
    print(f"{machine.cpu.model}, {threads} threads; BLAS {sw.get('blas')}; LLVM {sw.get('llvm')}")
    for precision in ("fp64", "fp32"):
        mine, anchor = measure(precision, args.n, args.rounds, args.seconds)
        print(ratio_line(f"peak {precision} vs numpy matmul n={args.n}", mine, anchor,
                         "GFLOP/s", target=0.95))
        peak = machine.peaks[precision]
        print(f"  theoretical peak {peak.gflops:.1f} GFLOP/s ({peak.formula}); "
              f"variant {variant(precision, threads).label}")
        mhz = clock.effective_mhz(threads)
        if mhz:
            at = peak.at_clock(mhz)
            print(f"  at the measured clock {mhz:.0f} MHz: {at:.1f} GFLOP/s; best ours "
                  f"{max(mine):.1f} = {100 * max(mine) / at:.1f}% of it")

if __name__ == "__main__":
    main()
