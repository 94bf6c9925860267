"""Peak FLOP/s per precision, validated three ways.

A rate is accepted only when (1) every accumulator matches the recurrence's
closed form, (2) doubling the iterations doubles the time (work was not folded
away), and (3) it stays under the most generous theoretical peak.
"""

from __future__ import annotations

import time

from bench import sysinfo
from bench.records import Record
from bench.runner import Context, compile_time, repeat, to_record

KERNEL_VERSION = "1"
#: Accepted range of t(2n)/t(n): linear scaling, with room for a noisy shared
#: machine; folded work shows as a ratio near 1.
LINEAR_RANGE = (1.4, 3.0)


def _registers(cpu: sysinfo.CpuInfo) -> int:
    return 32 if cpu.arch == "aarch64" or "avx512f" in cpu.flags else 16


def _peak(ctx: Context, precision: str) -> list[Record]:
    from kernels import flops

    name = f"compute.peak.{precision}"
    cpu = ctx.machine.cpu
    peak = ctx.machine.peaks.get(precision)
    if peak is None:
        return [ctx.unavailable(name, "GFLOP/s", "no clock or ISA information to bound the rate")]
    itemsize = 8 if precision == "fp64" else 4
    width = flops.accumulators(sysinfo.vector_bits(cpu), itemsize, _registers(cpu))
    threads = ctx.threads()
    ctx.say(f"peak {precision}: {threads} threads x {width} FMA chains")
    compile_s = compile_time(ctx, lambda: flops.compile_kernel(precision, width))
    target_s = float(ctx.options.get("peak_seconds", 0.25))
    probe = flops.run_fma(precision, width, 200_000, threads)
    iterations = max(1000, int(200_000 * target_s / max(probe.seconds, 1e-6)))
    iterations = int(max(ctx.comm.allgather(iterations)))
    tol = flops.tolerance(precision)

    def once() -> tuple[float, bool, str]:
        run = flops.run_fma(precision, width, iterations, threads)
        ok = run.max_rel_error <= tol
        return run.gflops, ok, "" if ok else f"error {run.max_rel_error:.2e} > {tol:.2e}"

    m = repeat(ctx, once, int(ctx.options.get("repeats", 7)), compile_s=compile_s)
    # The fastest thread of the fastest run: a thread that another process preempted
    # (a shared node) does not distort the ratio.
    single = min(min(flops.run_fma(precision, width, iterations, threads).thread_seconds)
                 for _ in range(5))
    double = min(min(flops.run_fma(precision, width, 2 * iterations, threads).thread_seconds)
                 for _ in range(5))
    ratios = ctx.comm.gather(double / single, root=0)
    if not ctx.is_root:
        return []
    total_peak = peak.gflops * ctx.nodes
    generous = peak.generous_gflops * ctx.nodes
    linear = all(LINEAR_RANGE[0] <= r <= LINEAR_RANGE[1] for r in ratios)
    plausible = bool(m.samples) and max(m.samples) <= generous
    details = []
    if not linear:
        details.append(f"time for 2x iterations was {min(ratios):.2f}-{max(ratios):.2f}x, "
                       "not ~2x: work was removed or the timing is unreliable")
    if not plausible:
        details.append(f"rate {max(m.samples):.1f} GFLOP/s exceeds the most generous peak "
                       f"{generous:.1f} GFLOP/s")
    return [to_record(
        ctx, name, "GFLOP/s", m, statistic="max", kernel_version=KERNEL_VERSION,
        params={"precision": precision, "threads_per_rank": threads, "accumulators": width,
                "iterations": iterations, "flops_per_repetition":
                flops.flop_count(threads, width, iterations) * ctx.size,
                "theoretical_peak_gflops": round(total_peak, 3),
                "generous_peak_gflops": round(generous, 3), "peak_formula": peak.formula,
                "peak_assumptions": list(peak.assumptions),
                "fastmath": "contract only", "vector_features": _features()},
        validation={"passed": linear and plausible, "closed_form_tolerance": tol,
                    "linearity_ratio": [round(r, 3) for r in ratios],
                    "details": "; ".join(details) or
                    "closed form, linear time and generous-peak checks passed"},
    )]


def _features() -> str:
    import os

    return "prefer 512-bit" if "-prefer-256-bit" in os.environ.get("NUMBA_CPU_FEATURES", "") \
        else "LLVM default"


def peak_fp64(ctx: Context) -> list[Record]:
    return _peak(ctx, "fp64")


def peak_fp32(ctx: Context) -> list[Record]:
    return _peak(ctx, "fp32")


def peak_low_precision(ctx: Context) -> list[Record]:
    """FP16 and BF16: reported as unavailable unless Numba can execute them natively.

    Numba has no half-precision or bfloat16 arithmetic on CPUs, so a rate would be
    an emulation through FP32, which is not the hardware's capability.
    """
    if not ctx.is_root:
        return []
    out = []
    native = sysinfo.native_precisions(ctx.machine.cpu)
    for precision in ("fp16", "bf16"):
        if precision in native:
            reason = (f"the CPU has {native[precision]}, but Numba cannot generate native "
                      f"{precision.upper()} arithmetic on CPUs; an FP32 emulation is not reported "
                      "as peak")
        else:
            reason = f"no native {precision.upper()} arithmetic on this CPU"
        out.append(ctx.unavailable(f"compute.peak.{precision}", "GFLOP/s", reason,
                                   precision=precision,
                                   probed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    return out
