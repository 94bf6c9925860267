"""Suite ``compute``: GEMM per precision, the HPL-MxP-style solve and its FP64 references.

Records: ``compute.gemm.{fp64,fp32,fp16,bf16}``; ``compute.mxp.<precision>``
(mixed-precision solve), ``compute.hpl.fp64`` (our LU in FP64, a no-pivoting
variant of HPL), ``compute.solve.numpy`` (NumPy ``linalg.solve``: LAPACK
dgesv, partial pivoting, FP64, the HPL-style figure a centre would report)
and ``compute.mxp.speedup`` = MxP rate / NumPy solve rate on the same matrix
(best of repetitions each). When the run spans several nodes NumPy cannot
solve the distributed system, and the speed-up divides by ``compute.hpl.fp64``
instead; the record says which.

Options (``--param KEY=VALUE``): ``gemm_n`` (default 4096), ``mxp_n`` (default:
the largest multiple of ``mxp_nb`` whose FP64 solve fits in ``mxp_mem_fraction``
(0.1) of the available memory), ``mxp_nb`` (256), ``mxp_grid`` ("PxQ"),
``mxp_precision`` (fp32), ``mxp_seed`` (42), ``mxp_max_iter`` (50),
``mxp_diag_scale`` (1: the reference generator), ``repeats`` (GEMM 5, solves 2).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

from bench.records import Record
from bench.registry import Calibrates, CICase, CIEnv, CIRun, Param, benchmark
from bench.runner import Context, Measurement, compile_time, repeat, to_record
from kernels.errors import UserError

KERNEL_VERSION = "1"
MEM_FRACTION = 0.1
GEMM_N = 4096


@contextmanager
def _blas_threads(threads: int):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def _blas() -> str:
    from threadpoolctl import threadpool_info

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return "unknown"
    b = libs[0]
    return f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})"


def _theoretical_peak(ctx: Context, precision: str) -> float | None:
    peak = ctx.machine.peaks.get(precision)
    return round(peak.gflops * ctx.nodes, 3) if peak else None


def _with_percent(rec: Record) -> Record:
    """Add ``percent_of_peak``: the headline over the probe's theoretical peak."""
    peak = rec.params.get("theoretical_peak_gflops")
    if rec.value is None or not peak:
        return rec
    return rec.replace(params={**rec.params, "percent_of_peak": round(100 * rec.value / peak, 2)})


# --- GEMM ----------------------------------------------------------------------

def _gemm(ctx: Context, precision: str) -> list[Record]:
    from kernels import gemm

    name = f"compute.gemm.{precision}"
    ok, why = gemm.native(precision)
    if not ok:
        return [ctx.unavailable(name, "GFLOP/s", why, precision=precision)] if ctx.is_root else []
    n = int(ctx.options.get("gemm_n", GEMM_N))
    if n < 1:
        raise UserError(f"gemm_n={n} must be at least 1")
    available = min(ctx.comm.allgather(ctx.machine.memory_available_bytes // ctx.ranks_on_node))
    if gemm.bytes_needed(n, precision) > available:
        raise UserError(f"gemm_n={n} needs {gemm.bytes_needed(n, precision) / 1e9:.2f} GB per "
                        f"rank but only {available / 1e9:.2f} GB is available")
    threads = ctx.threads()
    ctx.say(f"GEMM {precision}: n={n}, {ctx.size} rank(s) x {threads} BLAS thread(s)")
    with _blas_threads(threads):
        g = gemm.Gemm(n, precision, seed=ctx.rank)
        compile_s = compile_time(ctx, g.run)

        def once() -> tuple[float, bool, str]:
            # The window runs from this rank's start to the moment every rank is done,
            # and the widest window counts: ranks that took turns on shared cores
            # (oversubscribed) cannot add up to more than the node did.
            t0 = time.perf_counter()
            g.run()
            ctx.comm.Barrier()
            seconds = max(ctx.comm.allgather(time.perf_counter() - t0))
            return g.flops / seconds / 1e9, True, ""

        m = repeat(ctx, once, int(ctx.options.get("repeats", 5)), compile_s=compile_s)
        passed, ratio, detail = g.check()
    checks = ctx.comm.gather((passed, ratio, detail), root=0)
    if not ctx.is_root:
        return []
    worst = max(checks, key=lambda c: c[1])
    details = [worst[2]]
    all_ok = all(c[0] for c in checks)
    peak = ctx.machine.peaks.get(precision)
    generous = peak.generous_gflops * ctx.nodes if peak else None
    if generous is not None and m.samples and max(m.samples) > generous:
        all_ok = False
        details.append(f"rate {max(m.samples):.1f} GFLOP/s exceeds the most generous peak "
                       f"{generous:.1f} GFLOP/s (ranks did not run concurrently: oversubscribed?)")
    return [_with_percent(to_record(
        ctx, name, "GFLOP/s", m, statistic="max",
        params={"precision": precision, "n": n, "flops_per_product": gemm.gemm_flops(n, n, n),
                "threads_per_rank": threads, "blas": _blas(), "library": "numpy.matmul",
                "timing": "sum of flops over the widest rank window (start to all ranks done)",
                "theoretical_peak_gflops": _theoretical_peak(ctx, precision),
                "generous_peak_gflops": None if generous is None else round(generous, 3)},
        validation={"passed": all_ok, "details": "; ".join(details),
                    "worst_error_over_bound": worst[1]},
    ))]


def gemm_fp64(ctx: Context) -> list[Record]:
    return _gemm(ctx, "fp64")


def gemm_fp32(ctx: Context) -> list[Record]:
    return _gemm(ctx, "fp32")


def gemm_low_precision(ctx: Context) -> list[Record]:
    """FP16 and BF16: unavailable records saying why (never an emulated rate)."""
    return _gemm(ctx, "fp16") + _gemm(ctx, "bf16")


#: The CI tier's GEMM order: small enough for 20 rounds on one thread.
CI_GEMM_N = 384


def _ci_gemm(env: CIEnv, precision: str) -> CIRun:
    from kernels import gemm as kernel

    g = kernel.Gemm(CI_GEMM_N, precision, seed=0)

    def once() -> tuple[dict[str, float], bool, str]:
        seconds = g.run()
        ok, _ratio, detail = g.check()
        return {f"compute.gemm.{precision}": g.flops / seconds / 1e9}, ok, detail

    return CIRun(once, rounds=20, unit="GFLOP/s",
                 params={"precision": precision, "n": CI_GEMM_N, "threads": env.threads})


@benchmark(suites=("compute",), records=("compute.gemm.*",), order=30,
           description="GEMM per precision (FP16/BF16 say why they cannot run)",
           kernel_version=KERNEL_VERSION,
           params=(Param("gemm_n", "int", "matrix order", default=GEMM_N, minimum=1,
                         maximum=200_000),),
           outcomes=("percent_of_peak",),
           ci=(CICase("gemm", _ci_gemm, ids=("fp64", "fp32")),))
def gemm(ctx: Context) -> list[Record]:
    """Every precision in report order: FP64, FP32, FP16, BF16."""
    return gemm_fp64(ctx) + gemm_fp32(ctx) + gemm_low_precision(ctx)


# --- the solves ------------------------------------------------------------------

def _grid(text: Any) -> tuple[int, int] | None:
    if text in (None, ""):
        return None
    parts = str(text).lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UserError(f"mxp_grid={text!r} must look like PxQ, e.g. 2x2")
    return int(parts[0]), int(parts[1])


def _problem(ctx: Context) -> dict[str, Any]:
    """Validated solve parameters; n from memory unless ``mxp_n`` says otherwise."""
    from kernels import mxp, mxp_dist

    o = ctx.options
    threads = ctx.threads()
    nb = int(o.get("mxp_nb", mxp.DEFAULT_NB))
    precision = str(o.get("mxp_precision", "fp32"))
    mxp.dtype_for(precision)
    grid = mxp_dist.make_grid(ctx.size, *(_grid(o.get("mxp_grid")) or (None, None)))
    node_bytes = min(ctx.comm.allgather(ctx.machine.memory_available_bytes))
    fraction = float(o.get("mxp_mem_fraction", MEM_FRACTION))
    if not 0 < fraction <= 1:
        raise UserError(f"mxp_mem_fraction={fraction} must be in (0, 1]")
    if nb <= 0:
        raise UserError(f"block size mxp_nb={nb} must be positive")

    def fits(n: int, budget: float) -> bool:
        # The FP64 variant (matrix + FP64 factors) is the largest of the three solves;
        # on one node NumPy's solve needs the same on rank 0 alone.
        local = mxp_dist.bytes_needed_local(n, nb, grid, "fp64", threads) * ctx.ranks_on_node
        whole = mxp.bytes_needed(n, "fp64", nb, threads) if ctx.nodes == 1 else 0
        return max(local, whole) <= budget

    def largest(budget: float) -> int:
        n = nb
        while fits(n * 2, budget):
            n *= 2
        step = n // 2
        while step >= nb:
            if fits(n + step, budget):
                n += step
            step //= 2
        return n - n % nb

    if "mxp_n" in o:
        n = int(o["mxp_n"])
        if n < 1:
            raise UserError(f"matrix order mxp_n={n} must be at least 1")
        if nb > n:
            raise UserError(f"block size mxp_nb={nb} must be between 1 and the matrix order "
                            f"mxp_n={n}")
        if not fits(n, node_bytes):
            raise UserError(f"matrix order mxp_n={n} does not fit in the {node_bytes / 1e9:.2f} GB "
                            f"available per node (FP64 matrix plus FP64 factors); the largest n "
                            f"that fits is {largest(node_bytes)}")
    else:
        n = largest(fraction * node_bytes)
        if n < nb:
            raise UserError(f"not even n = mxp_nb = {nb} fits in {fraction:g} of the available "
                            f"memory; lower mxp_nb or raise mxp_mem_fraction")
    max_iter = int(o.get("mxp_max_iter", mxp.MAX_ITERATIONS))
    if not 0 <= max_iter <= mxp.MAX_ITERATIONS:
        raise UserError(f"mxp_max_iter={max_iter} must be between 0 and {mxp.MAX_ITERATIONS}")
    return {"n": n, "nb": nb, "precision": precision, "grid": grid, "max_iter": max_iter,
            "seed": int(o.get("mxp_seed", 42)), "diag_scale": float(o.get("mxp_diag_scale", 1.0)),
            "repeats": int(o.get("repeats", 2)), "memory_budget_bytes": node_bytes,
            "sized_from_memory": "mxp_n" not in o}


def _polite_wait(comm: Any) -> None:
    """Wait for rank 0 without spinning a core (MPICH's Barrier busy-polls)."""
    if comm.size == 1:
        return
    req = comm.Ibarrier()
    while not req.Test():
        time.sleep(0.005)


class _Solver:
    """One system, solved on one rank (kernels.mxp) or over the communicator (mxp_dist)."""

    def __init__(self, ctx: Context, prob: dict[str, Any]) -> None:
        self.ctx, self.prob = ctx, prob
        if ctx.size == 1:
            from kernels import matgen

            t = time.perf_counter()
            self.a, self.b = matgen.generate(prob["n"], prob["seed"], prob["diag_scale"])
            self.generate_s = time.perf_counter() - t
            self.system = None
        else:
            from kernels import mxp_dist

            g = prob["grid"]
            self.system = mxp_dist.setup(
                ctx.comm, prob["n"], prob["nb"], seed=prob["seed"], grid=(g.p, g.q),
                precision="fp64", diag_scale=prob["diag_scale"],
                available_bytes=prob["memory_budget_bytes"] // ctx.ranks_on_node)
            self.generate_s = self.system.generate_s

    def solve(self, precision: str) -> Any:
        from kernels import mxp

        threads = self.ctx.threads()
        if self.system is not None:
            return self.system.solve(precision, max_iter=self.prob["max_iter"], threads=threads)
        return mxp.solve(self.a, self.b, nb=self.prob["nb"], precision=precision,
                         max_iter=self.prob["max_iter"], threads=threads)

    def free(self) -> None:
        if self.system is not None:
            self.system.free()
        self.a = self.b = None


def _measure(ctx: Context, solver: _Solver, precision: str, repeats: int,
             compile_s: float) -> tuple[Measurement, list[Any]]:
    results: list[Any] = []

    def once() -> tuple[float, bool, str]:
        r = solver.solve(precision)
        results.append(r)
        return (r.gflops if r.passed else 0.0), r.passed, r.detail

    # Every rank holds the same global rate: combine with min, not sum.
    return repeat(ctx, once, repeats, aggregate="min", compile_s=compile_s), results


def _credit(n: int) -> float:
    from kernels.mxp import flop_credit

    return flop_credit(n)


def _solve_params(ctx: Context, prob: dict[str, Any], results: list[Any], precision: str,
                  threads: int, generate_s: float) -> dict[str, Any]:
    from kernels import matgen, mxp

    last = results[-1]
    grid = prob["grid"]
    phases = {"generation": "fp64", "conversion": f"fp64 -> {precision}",
              "factorisation": precision, "triangular_solves": precision,
              "residual": "fp64", "solution_update": "fp64", "check": "fp64"}
    return {
        "n": prob["n"], "nb": prob["nb"], "grid": f"{grid.p}x{grid.q}", "precision": precision,
        "phase_precisions": phases, "threads_per_rank": threads, "blas": _blas(),
        "generator": matgen.GENERATOR, "seed": prob["seed"], "diag_scale": prob["diag_scale"],
        "algorithm": "blocked right-looking LU without pivoting (diagonal blocks in Numba, "
                     "panels and trailing update through BLAS), 2-D block-cyclic over MPI",
        "refinement": "classical iterative refinement: FP64 residual, correction from the "
                      f"{precision} factors",
        "iterations": last.iterations, "max_iterations": prob["max_iter"],
        "backward_error": last.backward_error, "threshold": mxp.THRESHOLD, "eps": mxp.EPS,
        "flop_credit": _credit(prob["n"]),
        "credit_rule": "(2/3 n^3 + 3/2 n^2) / total time; generation excluded; conversion, "
                       "factorisation and refinement included",
        "generate_seconds_not_credited": round(generate_s, 6),
        "convert_seconds": [round(r.convert_s, 6) for r in results],
        "lu_seconds": [round(r.factor_s, 6) for r in results],
        "refine_seconds": [round(r.refine_s, 6) for r in results],
        "total_seconds": [round(r.total_s, 6) for r in results],
        "lu_only_gflops_diagnostic": round(2 / 3 * prob["n"] ** 3 /
                                           min(r.factor_s for r in results) / 1e9, 3),
        "sized_from_memory": prob["sized_from_memory"],
        "theoretical_peak_gflops": _theoretical_peak(ctx, precision),
    }


def _validation(results: list[Any], prob: dict[str, Any]) -> dict[str, Any]:
    from kernels import mxp

    last = results[-1]
    return {"passed": all(r.passed for r in results), "details": last.detail,
            "backward_error": last.backward_error, "threshold": mxp.THRESHOLD,
            "iterations": last.iterations, "max_iterations": prob["max_iter"],
            "check": "||Ax-b||_inf / ((||A||_inf ||x||_inf + ||b||_inf) n eps), eps = 2^-53"}


def _numpy_anchor(ctx: Context, prob: dict[str, Any]) -> Record | None:
    """NumPy linalg.solve on rank 0 with the node's threads; other ranks wait idle."""
    import numpy as np

    from kernels import matgen, mxp

    name = "compute.solve.numpy"
    if ctx.nodes > 1:
        return ctx.unavailable(name, "GFLOP/s", "NumPy's solve runs on one node and cannot "
                               "solve the distributed system; the speed-up divides by "
                               "compute.hpl.fp64", n=prob["n"]) if ctx.is_root else None
    threads = min(ctx.threads() * ctx.ranks_on_node, ctx.machine.cpu.cores)
    if not ctx.is_root:
        _polite_wait(ctx.comm)
        return None
    a, b = matgen.generate(prob["n"], prob["seed"], prob["diag_scale"])
    a_inf, b_inf = mxp.inf_norm(a), float(np.abs(b).max())
    samples: list[float] = []
    details: list[str] = []
    bes: list[float] = []
    passed = True
    with _blas_threads(threads):
        np.linalg.solve(a[:64, :64], b[:64])
        for _ in range(prob["repeats"]):
            t0 = time.perf_counter()
            x = np.linalg.solve(a, b)
            seconds = time.perf_counter() - t0
            r_inf = float(np.abs(b - a @ x).max())
            be = mxp.backward_error(r_inf, a_inf, float(np.abs(x).max()), b_inf, prob["n"])
            bes.append(be)
            ok = be < mxp.THRESHOLD
            passed &= ok
            samples.append(_credit(prob["n"]) / seconds / 1e9 if ok else 0.0)
            details.append(f"backward error {be:.3g} {'<' if ok else '>='} {mxp.THRESHOLD:g}")
    del a, b
    _polite_wait(ctx.comm)
    m = Measurement(tuple(samples), {}, 0.0, passed, tuple(details) if not passed else ())
    return _with_percent(to_record(
        ctx, name, "GFLOP/s", m, statistic="max",
        params={"n": prob["n"], "precision": "fp64", "library": "numpy.linalg.solve",
                "algorithm": "LAPACK dgesv: LU with partial pivoting (HPL's rule)",
                "threads": threads, "ranks_used": 1, "blas": _blas(),
                "seed": prob["seed"], "diag_scale": prob["diag_scale"],
                "flop_credit": _credit(prob["n"]), "backward_error": bes,
                "theoretical_peak_gflops": _theoretical_peak(ctx, "fp64")},
        validation={"passed": passed, "details": details[-1], "backward_error": bes[-1],
                    "threshold": mxp.THRESHOLD},
    ))


#: The CI tier's solve: order and block size fixed so two runs time the same work.
CI_MXP_N, CI_MXP_NB = 768, 128


def _ci_mxp_solve(_env: CIEnv, precision: str) -> CIRun:
    from kernels import matgen, mxp

    a, b = matgen.generate(CI_MXP_N, seed=1)
    mxp.warmup()
    name = f"compute.mxp.{precision}" if precision != "fp64" else "compute.hpl.fp64"

    def once() -> tuple[dict[str, float], bool, str]:
        r = mxp.solve(a, b, nb=CI_MXP_NB, precision=precision)
        return {name: r.gflops}, r.passed, r.detail

    return CIRun(once, rounds=20, unit="GFLOP/s",
                 params={"precision": precision, "n": CI_MXP_N, "nb": CI_MXP_NB, "seed": 1})


def _ci_mxp_dist_self(_env: CIEnv, _case: str) -> CIRun:
    """The distributed solver's code path on a 1 x 1 grid (MPI_COMM_SELF): one process."""
    from mpi4py import MPI

    from kernels import mxp, mxp_dist

    mxp.warmup()
    system = mxp_dist.setup(MPI.COMM_SELF, CI_MXP_N, CI_MXP_NB, seed=1)

    def once() -> tuple[dict[str, float], bool, str]:
        r = system.solve("fp32")
        return {"compute.mxp.fp32": r.gflops}, r.passed, r.detail

    return CIRun(once, rounds=20, unit="GFLOP/s", cleanup=system.free,
                 params={"precision": "fp32", "n": CI_MXP_N, "nb": CI_MXP_NB, "seed": 1,
                         "grid": "1x1", "communicator": "MPI_COMM_SELF"})


MXP_PARAMS = (
    Param("mxp_n", "int", "matrix order (default: the largest multiple of mxp_nb whose FP64 "
          "solve fits in mxp_mem_fraction of the available memory)", minimum=1),
    Param("mxp_nb", "int", "block size", default=256, minimum=1, maximum=65_536),
    Param("mxp_precision", "word", "precision of the LU factorisation", default="fp32",
          choices=("fp32", "fp64", "fp16", "bf16")),
    Param("mxp_grid", "word", "process grid PxQ (default: as square as the ranks allow)"),
    Param("mxp_mem_fraction", "float", "share of the available memory the solve may use",
          default=MEM_FRACTION, minimum=1e-6, maximum=1),
    Param("mxp_seed", "int", "seed of the matrix generator", default=42, maximum=2**32 - 1),
    Param("mxp_max_iter", "int", "refinement iterations at most", default=50, maximum=50),
    Param("mxp_diag_scale", "float", "diagonal scale of the generated matrix (1: the "
          "reference generator)", default=1.0, minimum=1e-6, maximum=1e6),
)


@benchmark(suites=("compute",), order=31,
           records=("compute.mxp.*", "compute.hpl.fp64", "compute.solve.numpy"),
           description="HPL-MxP-style solve, FP64 references, MxP/FP64 speed-up",
           kernel_version=KERNEL_VERSION, params=MXP_PARAMS,
           calibrates={"compute.mxp.speedup": Calibrates("mxp_speedup", "ratio")},
           outcomes=("iterations", "backward_error", "convert_seconds", "lu_seconds",
                     "refine_seconds", "total_seconds", "lu_only_gflops_diagnostic",
                     "generate_seconds_not_credited", "percent_of_peak", "numerator_gflops",
                     "denominator_gflops", "mxp_over_fp64_variant", "warnings"),
           ci=(CICase("mxp_solve", _ci_mxp_solve, ids=("fp32", "fp64")),
               CICase("mxp_dist_self", _ci_mxp_dist_self)))
def mxp_solve(ctx: Context) -> list[Record]:
    """The MxP solve, our FP64 variant, NumPy's solve and the MxP/FP64 speed-up."""
    from kernels import mxp

    prob = _problem(ctx)
    threads = ctx.threads()
    precision = prob["precision"]
    ctx.say(f"MxP: n={prob['n']}, nb={prob['nb']}, grid {prob['grid'].p}x{prob['grid'].q}, "
            f"{precision} LU + FP64 refinement, {threads} BLAS thread(s) per rank")
    anchor = _numpy_anchor(ctx, prob)
    records: list[Record] = [anchor] if anchor is not None else []
    with _blas_threads(threads):
        compile_s = compile_time(ctx, mxp.warmup)
        solver = _Solver(ctx, prob)
        try:
            m_mxp, r_mxp = _measure(ctx, solver, precision, prob["repeats"], compile_s)
            m_64, r_64 = _measure(ctx, solver, "fp64", prob["repeats"], compile_s)
            gen_s = solver.generate_s
        finally:
            solver.free()
    if not ctx.is_root:
        return []
    rec_mxp = to_record(ctx, f"compute.mxp.{precision}", "GFLOP/s", m_mxp, statistic="max",
                        params=_solve_params(ctx, prob, r_mxp, precision, threads, gen_s),
                        validation=_validation(r_mxp, prob))
    p64 = _solve_params(ctx, prob, r_64, "fp64", threads, gen_s)
    p64["variant"] = ("HPL-style FP64 variant: the same LU without pivoting in FP64 (HPL and the "
                      "TOP500 require partial pivoting, so this is not an HPL result)")
    rec_64 = to_record(ctx, "compute.hpl.fp64", "GFLOP/s", m_64, statistic="max", params=p64,
                       validation=_validation(r_64, prob))
    rec_mxp, rec_64 = _with_percent(rec_mxp), _with_percent(rec_64)
    records += [rec_mxp, rec_64]
    denominator = anchor if ctx.nodes == 1 and anchor is not None else rec_64
    records.append(_speedup(ctx, rec_mxp, denominator, rec_64))
    return records


def _speedup(ctx: Context, mxp_rec: Record, denom: Record, fp64: Record) -> Record:
    """MxP rate over the FP64 anchor; failed (no number) unless both rates passed."""
    name = "compute.mxp.speedup"
    what = {"compute.solve.numpy": "NumPy linalg.solve (LAPACK dgesv, partial pivoting, FP64) "
                                   "on the same matrix: the HPL-style FP64 figure",
            "compute.hpl.fp64": "our FP64 LU without pivoting (HPL-style variant), because "
                                "NumPy's solve cannot span nodes"}[denom.name]
    params = {"numerator": mxp_rec.name, "denominator": denom.name,
              "denominator_description": what, "statistic": "best / best",
              "numerator_gflops": mxp_rec.value, "denominator_gflops": denom.value,
              "n": mxp_rec.params.get("n"),
              "mxp_over_fp64_variant": (mxp_rec.value / fp64.value
                                        if mxp_rec.ok and fp64.ok else None)}
    if not (mxp_rec.ok and denom.ok):
        bad = [r.name for r in (mxp_rec, denom) if not r.ok]
        return ctx.record(name, None, "ratio", status="failed", params=params,
                          validation={"passed": False,
                                      "details": f"no ratio: {', '.join(bad)} did not pass"})
    assert mxp_rec.value is not None and denom.value is not None
    return ctx.record(name, mxp_rec.value / denom.value, "ratio", params=params,
                      validation={"passed": True, "details": "both rates passed the HPL check"})
