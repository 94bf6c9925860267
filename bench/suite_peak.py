"""Peak FLOP/s per precision: the fastest kernel variant on this host, validated.

The kernel shape that reaches the FMA units' rate differs between cores
(vector width, chains needed to cover latency x units), so, as the Empirical
Roofline Toolkit does, a short sweep times each candidate variant on this
host, validates it (closed form, linear time) and keeps the fastest. The
choice is cached per CPU and software versions (``variant_cache_path``), so a
warm run does not sweep again.

A rate is accepted only when (1) every accumulator matches the recurrence's
closed form, (2) doubling the iterations doubles the time (work was not folded
away), and (3) it stays under the most generous theoretical peak. Both time
checks take the best of several tries at each size and fall back to per-thread
CPU time, so a busy neighbour makes a run ``noisy`` (a note), not ``failed``.
The effective clock is measured (a dependent add chain) and the peak at that
clock recorded beside the nominal one; a rate above it is flagged in a note.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import sysinfo
from bench.records import Record
from bench.registry import Calibrates, CICase, CIEnv, CIRun, Param, benchmark
from bench.runner import Context, compile_time, repeat, to_record

KERNEL_VERSION = "2"
#: Accepted range of t(2n)/t(n): linear scaling, with room for a noisy shared
#: machine; folded work shows as a ratio near 1.
LINEAR_RANGE = (1.4, 3.0)
#: Tries at each size for the linearity check: at least, at most (it stops once linear).
LINEAR_TRIES = (2, 6)
#: A thread that had the CPU for less of the timed region than this shared its core.
QUIET_CPU_SHARE = 0.9
#: Fastest over slowest repetition above which a run counts as noisy.
NOISY_SPREAD = 1.3
#: Allowance for the clock measurement before a rate counts as above the peak at it.
CLOCK_ALLOWANCE = 1.02
#: Target seconds of one timed run during the sweep.
SWEEP_SECONDS = 0.03
CACHE_FILE = "peak-variants.json"


def variant_cache_path() -> Path:
    """Where the chosen variants live: beside Numba's cache when it has a directory."""
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:
        return Path(numba_dir) / CACHE_FILE
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hpcplan" / CACHE_FILE


def cache_key(ctx: Context, precision: str, threads: int) -> str:
    """What the best variant depends on: the CPU, the code generator, the kernel, the threads."""
    cpu = ctx.machine.cpu
    sw = ctx.software
    target = f"{os.environ.get('NUMBA_CPU_NAME', 'host')}/" + hashlib.sha256(
        os.environ.get("NUMBA_CPU_FEATURES", "").encode()).hexdigest()[:12]
    return "|".join([cpu.arch, cpu.vendor, cpu.model, str(cpu.family), ",".join(cpu.isa),
                     f"numba {sw.get('numba')}", f"llvmlite {sw.get('llvmlite')}",
                     f"llvm {sw.get('llvm')}", f"target {target}", f"kernel {KERNEL_VERSION}",
                     precision, f"threads {threads}"])


def read_cache(path: Path) -> dict[str, Any]:
    """The cached choices; an unreadable or damaged file reads as empty (a sweep rebuilds it)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_cache(path: Path, key: str, entry: dict[str, Any]) -> bool:
    """Add one choice atomically (temporary file, fsync, rename); False when it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = read_cache(path)
        data[key] = entry
        fd, tmp = tempfile.mkstemp(prefix=".peak-variants-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError:
        return False
    return True


def _iterations_for(run: Callable[[int], Any], seconds: float) -> int:
    """Iterations for a run of about ``seconds``, from a short probe of ``run``."""
    probe = run(20_000)
    per_iteration = max(max(probe.thread_cpu_seconds), 1e-7) / 20_000
    return max(1000, int(seconds / per_iteration))


def _cpu_rate(run: Any) -> float:
    """GFLOP/s over the CPU time the threads had: what the code does when it runs."""
    return run.flops / max(max(run.thread_cpu_seconds), 1e-9) / 1e9


def sweep(ctx: Context, precision: str, candidates: list[Any], threads: int,
          seconds: float = SWEEP_SECONDS) -> tuple[Any, dict[str, Any]]:
    """Time and validate each candidate on every rank at once; the fastest valid one.

    Candidates are ranked by their rate over CPU time (preemption by another
    process does not count against a variant); wall-clock rates are kept too.
    """
    from kernels import flops

    tol = flops.tolerance(precision)
    cpu_rates: dict[str, float | None] = {}
    wall_rates: dict[str, float | None] = {}
    rejected: dict[str, str] = {}
    t0 = time.perf_counter()
    for v in candidates:
        flops.compile_kernel(precision, v)
        n = int(max(ctx.comm.allgather(_iterations_for(
            lambda k, v=v: flops.run_fma(precision, v, k, threads), seconds))))
        runs: dict[int, list[Any]] = {n: [], 2 * n: []}
        for size in (n, n, 2 * n, 2 * n):
            ctx.comm.Barrier()
            runs[size].append(flops.run_fma(precision, v, size, threads))
        every = runs[n] + runs[2 * n]
        ratio = (min(min(r.thread_cpu_seconds) for r in runs[2 * n])
                 / max(min(min(r.thread_cpu_seconds) for r in runs[n]), 1e-9))
        ok = (all(r.max_rel_error <= tol for r in every)
              and LINEAR_RANGE[0] <= ratio <= LINEAR_RANGE[1])
        mine = (max(_cpu_rate(r) for r in every), max(r.gflops for r in every), ok, ratio)
        gathered = ctx.comm.allgather(mine)
        if all(g[2] for g in gathered):
            cpu_rates[v.label] = round(sum(g[0] for g in gathered), 3)
            wall_rates[v.label] = round(sum(g[1] for g in gathered), 3)
        else:
            cpu_rates[v.label] = wall_rates[v.label] = None
            rejected[v.label] = (f"closed form or linearity failed (t(2n)/t(n) "
                                 f"{min(g[3] for g in gathered):.2f}-"
                                 f"{max(g[3] for g in gathered):.2f})")
    valid = [v for v in candidates if cpu_rates[v.label] is not None]
    if not valid:
        return None, {"candidates_gflops": wall_rates, "rejected": rejected}
    best = max(valid, key=lambda v: cpu_rates[v.label] or 0.0)
    return best, {"candidates_gflops": wall_rates, "candidates_cpu_time_gflops": cpu_rates,
                  "rejected": rejected, "seconds": round(time.perf_counter() - t0, 3)}


def choose_variant(ctx: Context, precision: str, threads: int) -> tuple[Any, dict[str, Any]]:
    """The variant to time: forced by ``peak_variant``, cached, or swept (and then cached)."""
    from kernels import flops

    cpu = ctx.machine.cpu
    itemsize = flops.itemsize(precision)
    candidates = flops.candidates(sysinfo.vector_bits(cpu), itemsize, sysinfo.registers(cpu))
    forced = ctx.options.get("peak_variant")
    if forced:
        return flops.Variant.parse(forced), {"source": "peak_variant option"}
    path = variant_cache_path()
    key = cache_key(ctx, precision, threads)
    cached = None
    if ctx.is_root and not ctx.options.get("peak_sweep"):
        cached = read_cache(path).get(key)
    cached = ctx.comm.bcast(cached, root=0)
    if isinstance(cached, dict) and isinstance(cached.get("variant"), str):
        with contextlib.suppress(Exception):
            variant = flops.Variant.parse(cached["variant"])
            return variant, {"source": f"cached in {path}",
                             **{k: v for k, v in cached.items() if k != "variant"}}
    ctx.say(f"peak {precision}: sweeping {len(candidates)} kernel variants "
            "(once per CPU and software versions)")
    best, info = sweep(ctx, precision, candidates, threads,
                       float(ctx.options.get("peak_sweep_seconds", SWEEP_SECONDS)))
    if best is None:
        fallback = flops.default_variant(sysinfo.vector_bits(cpu), itemsize,
                                         sysinfo.registers(cpu))
        return fallback, {"source": "default (every swept variant failed validation)", **info}
    stored = False
    if ctx.is_root:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        stored = write_cache(path, key, {"variant": best.label, **info, "swept_at": stamp})
    where = f", cached in {path}" if stored else " (cache not writable)"
    return best, {"source": "swept" + where, **info}


def _best_of(measure: Callable[[], tuple[float, float]], tries: int) -> tuple[float, float]:
    walls, cpus = zip(*(measure() for _ in range(tries)), strict=True)
    return min(walls), min(cpus)


def linearity(run: Callable[[int], Any], iterations: int) -> dict[str, Any]:
    """t(2n)/t(n) from the best of several tries at each size, wall and CPU time.

    Each try's time is its fastest thread's; tries stop once the wall-clock
    ratio is linear (at least ``LINEAR_TRIES[0]`` each), or after ``LINEAR_TRIES[1]``.
    """
    def once(n: int) -> tuple[float, float]:
        r = run(n)
        return min(r.thread_seconds), min(r.thread_cpu_seconds)

    lo, hi = LINEAR_TRIES
    wall1, cpu1 = _best_of(lambda: once(iterations), lo)
    wall2, cpu2 = _best_of(lambda: once(2 * iterations), lo)
    tries = lo
    while not LINEAR_RANGE[0] <= wall2 / wall1 <= LINEAR_RANGE[1] and tries < hi:
        w, c = once(iterations)
        wall1, cpu1 = min(wall1, w), min(cpu1, c)
        w, c = once(2 * iterations)
        wall2, cpu2 = min(wall2, w), min(cpu2, c)
        tries += 1
    return {"wall": wall2 / wall1, "cpu": cpu2 / max(cpu1, 1e-9), "tries": tries}


def clock_notes(peak: sysinfo.Peak, best: float, nodes: int,
                clocks: list[float]) -> tuple[dict[str, Any], list[str]]:
    """The peak at the measured clock beside the nominal one; notes when a rate exceeds either.

    The fastest rank's clock is used: the highest peak any rank could have reached.
    """
    total = peak.gflops * nodes
    params: dict[str, Any] = {"nominal_clock_mhz": round(peak.nominal_mhz, 1),
                              "measured_clock_mhz": None}
    notes: list[str] = []
    if not clocks:
        if best > total:
            notes.append(f"{100 * best / total:.0f}% of peak at nominal clock; clock not "
                         "measurable here")
        return params, notes
    mhz = max(clocks)
    at_clock = peak.at_clock(mhz) * nodes
    params.update({"measured_clock_mhz": round(mhz, 1),
                   "peak_at_measured_clock_gflops": round(at_clock, 3),
                   "percent_of_peak_at_measured_clock": round(100 * best / at_clock, 2)})
    if best > CLOCK_ALLOWANCE * at_clock:
        notes.append(f"ABOVE peak at measured clock: {100 * best / at_clock:.0f}% at {mhz:.0f} "
                     "MHz; site 'fma_units' or vector width too low?")
    elif best > total:
        notes.append(f"{100 * best / total:.0f}% of peak at nominal clock, "
                     f"{100 * best / at_clock:.0f}% at measured {mhz:.0f} MHz")
    return params, notes


@dataclass(frozen=True)
class PeakKernel:
    """What ``_peak_rate`` times: the FMA chains of one variant, or AMX tile products.

    ``run(n)`` returns a run with ``gflops``, ``flops``, ``max_rel_error``, ``cpu_share``,
    ``thread_seconds`` and ``thread_cpu_seconds`` (kernels.flops.FmaRun, kernels.amx.TileRun).
    """

    run: Callable[[int], Any]
    flops: Callable[[int], int]  # exact FLOPs of run(n) on this rank
    compile: Callable[[], float]
    tolerance: float
    label: str  # for the progress line
    params: dict[str, Any]  # what the record says about the kernel
    check: Callable[[], Any] | None = None  # a run whose error must also be within tolerance


def _fma_kernel(ctx: Context, precision: str, threads: int) -> PeakKernel:
    from kernels import flops

    variant, chosen = choose_variant(ctx, precision, threads)
    return PeakKernel(
        run=lambda n: flops.run_fma(precision, variant, n, threads),
        flops=lambda n: flops.flop_count(threads, variant.width, n),
        compile=lambda: flops.compile_kernel(precision, variant),
        tolerance=flops.tolerance(precision),
        label=f"{threads} threads x {variant.chains} chains of {variant.lanes} lanes "
              f"({chosen['source'].split(',')[0]})",
        params={"variant": variant.label, "lanes": variant.lanes, "chains": variant.chains,
                "vector_bits": variant.vector_bits(flops.itemsize(precision)),
                "accumulators": variant.width, "sweep": chosen,
                "fastmath": "none (llvm.fma intrinsic)", "vector_features": _features()})


def _amx_kernel(threads: int) -> PeakKernel:
    from kernels import amx

    return PeakKernel(
        run=lambda n: amx.run_tiles(n, threads),
        flops=lambda n: amx.flop_count(threads, n),
        compile=amx.compile_kernel,
        tolerance=0.0,  # exact: every sum is a small integer in FP32
        label=f"{threads} threads x {amx.ACCUMULATORS} AMX accumulator tiles",
        params={"variant": "amx", "accumulators": amx.ACCUMULATORS,
                "tile_flops": amx.TILE_FLOPS, "instruction": "tdpbf16ps",
                "vector_features": "AMX tiles (inline assembly)"},
        check=lambda: amx.run_tiles(1000, threads, check=True))


def _peak_rate(ctx: Context, precision: str, kernel: PeakKernel | None = None) -> list[Record]:
    """The peak of ``precision`` by ``kernel`` (default: the FMA chains chosen for this CPU)."""
    from kernels import clock

    name = f"compute.peak.{precision}"
    peak = ctx.machine.peaks.get(precision)
    if peak is None:
        return [ctx.unavailable(name, "GFLOP/s", "no clock or ISA information to bound the rate")]
    threads = ctx.threads()
    kernel = kernel or _fma_kernel(ctx, precision, threads)
    ctx.say(f"peak {precision}: {kernel.label}")
    compile_s = compile_time(ctx, kernel.compile)
    target_s = float(ctx.options.get("peak_seconds", 0.25))
    iterations = _iterations_for(kernel.run, target_s)
    iterations = int(max(ctx.comm.allgather(iterations)))
    tol = kernel.tolerance
    shares: list[float] = []
    wrong: list[str] = []
    if kernel.check is not None:
        probe = kernel.check()
        if probe.max_rel_error > tol:
            wrong.append(f"check run: error {probe.max_rel_error:.2e} > {tol:.2e}")

    def once() -> tuple[float, bool, str]:
        run = kernel.run(iterations)
        shares.append(run.cpu_share)
        ok = run.max_rel_error <= tol
        return run.gflops, ok, "" if ok else f"error {run.max_rel_error:.2e} > {tol:.2e}"

    def checked(n: int) -> Any:
        run = kernel.run(n)
        if run.max_rel_error > tol:
            wrong.append(f"error {run.max_rel_error:.2e} > {tol:.2e} at {n} iterations")
        shares.append(run.cpu_share)
        return run

    m = repeat(ctx, once, int(ctx.options.get("repeats", 7)), compile_s=compile_s)
    lin = linearity(checked, iterations)
    mhz = clock.effective_mhz(threads)
    gathered = ctx.comm.gather((lin, min(shares, default=1.0), mhz, wrong), root=0)
    if not ctx.is_root:
        return []
    nodes = ctx.nodes
    total_peak = peak.gflops * nodes
    generous = peak.generous_gflops * nodes
    wall_ok = all(LINEAR_RANGE[0] <= g[0]["wall"] <= LINEAR_RANGE[1] for g in gathered)
    cpu_ok = all(LINEAR_RANGE[0] <= g[0]["cpu"] <= LINEAR_RANGE[1] for g in gathered)
    wrong_all = [w for g in gathered for w in g[3]]
    linear = (wall_ok or cpu_ok) and not wrong_all
    plausible = bool(m.samples) and max(m.samples) <= generous
    share = min(g[1] for g in gathered)
    details = []
    if wrong_all:
        details.append("; ".join(wrong_all))
    if not (wall_ok or cpu_ok):
        ratios = [g[0]["cpu"] for g in gathered]
        details.append(f"time for 2x iterations was {min(ratios):.2f}-{max(ratios):.2f}x "
                       "(CPU time), not ~2x: work was removed")
    if not plausible:
        details.append(f"rate {max(m.samples):.1f} GFLOP/s exceeds the most generous peak "
                       f"{generous:.1f} GFLOP/s")
    samples = m.samples or (0.0,)
    best = max(samples)
    spread = best / max(min(samples), 1e-9)
    clock_params, notes = clock_notes(peak, best, nodes, [g[2] for g in gathered if g[2]])
    if not wall_ok or share < QUIET_CPU_SHARE or spread > NOISY_SPREAD:
        notes.append(f"noisy: CPU share down to {100 * share:.0f}%, spread {spread:.2f}x; "
                     "best repetition kept")
    return [to_record(
        ctx, name, "GFLOP/s", m, statistic="max",
        params={"precision": precision, "threads_per_rank": threads, **kernel.params,
                "iterations": iterations,
                "flops_per_repetition": kernel.flops(iterations) * ctx.size,
                "theoretical_peak_gflops": round(total_peak, 3),
                "percent_of_peak": round(100 * best / total_peak, 2), **clock_params,
                "generous_peak_gflops": round(generous, 3), "peak_formula": peak.formula,
                "peak_assumptions": list(peak.assumptions)},
        validation={"passed": linear and plausible, "closed_form_tolerance": tol,
                    "linearity_ratio": [round(g[0]["wall"], 3) for g in gathered],
                    "linearity_ratio_cpu_time": [round(g[0]["cpu"], 3) for g in gathered],
                    "linearity_tries": max(g[0]["tries"] for g in gathered),
                    "min_cpu_share": round(share, 3),
                    "noisy": any(n.startswith("noisy") for n in notes), "notes": notes,
                    "details": "; ".join(details) or
                    "closed form, linear time and generous-peak checks passed"},
    )]


def _features() -> str:
    return "prefer 512-bit" if "-prefer-256-bit" in os.environ.get("NUMBA_CPU_FEATURES", "") \
        else "LLVM default"


PARAMS = (
    Param("peak_seconds", "float", "target seconds per timed repetition", unit="s",
          default=0.25, minimum=0.001, maximum=3600),
    Param("peak_variant", "word", "force a kernel variant (chains x lanes, e.g. 8x8) instead "
          "of the one chosen for this CPU"),
    Param("peak_sweep", "bool", "sweep the variants again instead of using the cached choice",
          default=False),
    Param("peak_sweep_seconds", "float", "seconds per variant in the sweep", unit="s",
          default=SWEEP_SECONDS, minimum=0.001, maximum=60),
)
#: What the peak kernel chose or measured on this host: not inputs, so not compared.
OUTCOMES = ("iterations", "flops_per_repetition", "sweep", "variant", "lanes", "chains",
            "vector_bits", "accumulators", "measured_clock_mhz", "percent_of_peak",
            "peak_at_measured_clock_gflops", "percent_of_peak_at_measured_clock")
#: FMA iterations per thread and CI round (about 5-10 ms on a current core).
CI_PEAK_ITERATIONS = 2_000_000


def _ci_peak(env: CIEnv, precision: str) -> CIRun:
    """A fixed variant, never swept: two CI runs must time the same code."""
    from kernels import flops

    cpu = env.machine.cpu
    itemsize = flops.itemsize(precision)
    variant = flops.default_variant(sysinfo.vector_bits(cpu), itemsize, sysinfo.registers(cpu))
    flops.compile_kernel(precision, variant)
    tol = flops.tolerance(precision)

    def once() -> tuple[dict[str, float], bool, str]:
        run = flops.run_fma(precision, variant, CI_PEAK_ITERATIONS, env.threads)
        ok = run.max_rel_error <= tol
        return ({f"compute.peak.{precision}": run.gflops}, ok,
                f"closed form matched within {tol:.1e}" if ok else
                f"error {run.max_rel_error:.2e} > {tol:.2e} against the closed form")

    return CIRun(once, rounds=20, unit="GFLOP/s",
                 params={"precision": precision, "accumulators": variant.width,
                         "threads": env.threads, "iterations": CI_PEAK_ITERATIONS})


@benchmark(suites=("quick", "peak"), records=("compute.peak.fp64",), order=10,
           description="peak FP64 FLOP/s: FMA chains in registers, variant chosen per CPU",
           kernel_version=KERNEL_VERSION, params=PARAMS, outcomes=OUTCOMES,
           calibrates={"compute.peak.fp64": Calibrates("fp64_peak_fraction", "GFLOP/s",
                                                       "peak_fp64_gflops")},
           ci=(CICase("peak", _ci_peak, ids=("fp64",)),))
def peak_fp64(ctx: Context) -> list[Record]:
    return _peak_rate(ctx, "fp64")


@benchmark(suites=("quick", "peak"), records=("compute.peak.fp32",), order=11,
           description="peak FP32 FLOP/s: FMA chains in registers, variant chosen per CPU",
           kernel_version=KERNEL_VERSION, params=PARAMS, outcomes=OUTCOMES,
           calibrates={"compute.peak.fp32": Calibrates("fp32_peak_fraction", "GFLOP/s",
                                                       "peak_fp32_gflops")},
           ci=(CICase("peak", _ci_peak, ids=("fp32",)),))
def peak_fp32(ctx: Context) -> list[Record]:
    return _peak_rate(ctx, "fp32")


@benchmark(suites=("quick", "peak"), records=("compute.peak.fp16", "compute.peak.bf16"),
           order=12, description="peak FP16 FLOP/s (FMA chains, where the CPU has native FP16 "
           "vectors) and BF16 FLOP/s (AMX tile products, where the CPU has AMX); otherwise why "
           "not", kernel_version=KERNEL_VERSION, params=PARAMS,
           outcomes=(*OUTCOMES, "probed_at", "tile_flops"))
def peak_low_precision(ctx: Context) -> list[Record]:
    """FP16 by the same FMA chains as FP32 where the generated code is native half precision
    (AVX512-FP16, Arm FP16); BF16 by AMX tile products (kernels/amx.py) where Linux lends
    the tile state; otherwise, for each, a record saying why not.

    BF16 without AMX is AVX512-BF16's dot product, about half the FP32 FMA rate: not the
    CPU's BF16 capability, so not reported as its peak; nor is an FP32 emulation.
    """
    from kernels import amx, flops

    native = sysinfo.native_precisions(ctx.machine.cpu)
    # every rank must take the same branch: the kernels are collective
    fp16 = all(ctx.comm.allgather("fp16" in native and flops.native_fp16()))
    tiles = native.get("bf16") == sysinfo.AMX_BF16 and amx.supported(ctx.machine.cpu.flags)
    denied = amx.permit() if tiles else None
    bf16 = all(ctx.comm.allgather(tiles and denied is None))
    out = _peak_rate(ctx, "fp16") if fp16 else []
    out += _peak_rate(ctx, "bf16", _amx_kernel(ctx.threads())) if bf16 else []
    if not ctx.is_root:
        return []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    reasons = {}
    if not fp16:
        reasons["fp16"] = ("the CPU has {}, but the code generated here has no native FP16 "
                           "vector arithmetic (NUMBA_CPU_NAME or NUMBA_CPU_FEATURES without "
                           "avx512fp16/fullfp16, or a rank without it); an FP32 emulation is "
                           "not reported as peak")
    if not bf16:
        reasons["bf16"] = (f"the CPU has {{}}, but {denied}" if denied else
                           "the CPU has {}, but not on every rank" if tiles else
                           "the CPU has {}: a dot product into FP32 at about half the FP32 "
                           "FMA rate, not the CPU's BF16 capability (that is a matrix engine "
                           "such as AMX), so not reported as peak")
    for precision in ("fp16", "bf16"):
        if precision not in reasons:
            continue
        reason = (reasons[precision].format(native[precision]) if precision in native else
                  f"no native {precision.upper()} arithmetic on this CPU")
        out.append(ctx.unavailable(f"compute.peak.{precision}", "GFLOP/s", reason,
                                   precision=precision, probed_at=stamp))
    return sorted(out, key=lambda r: ("compute.peak.fp16", "compute.peak.bf16").index(r.name))
