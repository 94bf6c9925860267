"""MxP solve vs NumPy ``linalg.solve`` (FP64), our FP64 LU variant, 2 ranks vs 2 threads.

    python -m hpcplan.anchors.mxp [--n 8192] [--nb 256] [--rounds 3] [--ranks 2]

Every measurement runs in a fresh process on the same seeded matrix so its
peak memory can be read (VmHWM minus the resident size before the matrix was
generated, over the FP64 matrix bytes of that rank). Per round, in turn:
NumPy solve (1 rank, all threads), MxP (1 rank, all threads), our FP64 LU
(1 rank, all threads), MxP over ``--ranks`` MPI ranks with 1 thread each.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from the workers' environment
(they slow a current OpenBLAS); the BLAS kernel in use is printed.

Targets (issue 3): MxP >= 1.6x NumPy solve; FP64 variant >= 0.8x NumPy solve;
``--ranks`` x 1 thread >= 0.8x 1 rank x ``--ranks`` threads; peak <= 2.5x the
FP64 matrix.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

WORKER_FLAG = "--worker"
SOLVERS = ("numpy", "mxp", "fp64", "dist")


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def worker(solver: str, n: int, nb: int, threads: int) -> dict:
    """Run one solve in this process; the figures as a dict (rank 0's view under MPI)."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from kernels import matgen, mxp

    if solver == "dist":
        from mpi4py import MPI  # before the baseline: MPI's own buffers are not the solver's

        MPI.COMM_WORLD.Barrier()
    blas = next(i for i in threadpool_info() if i.get("user_api") == "blas")
    with threadpool_limits(limits=threads, user_api="blas"):
        mxp.warmup()
        np.linalg.solve(np.eye(64) * 2, np.ones(64))
        base_kb = _status_kb("VmRSS")
        out = {"solver": solver, "n": n, "nb": nb, "threads": threads,
               "blas": f"{blas['internal_api']} {blas['version']} ({blas['architecture']})"}
        if solver == "dist":
            from kernels import mxp_dist

            comm = MPI.COMM_WORLD
            system = mxp_dist.setup(comm, n, nb, seed=1)
            r = system.solve("fp32", threads=threads)
            local_bytes = system.a64.nbytes
            system.free()
            rel = (_status_kb("VmHWM") - base_kb) * 1024 / local_bytes
            worst = comm.allreduce(rel, op=MPI.MAX)
            out.update(gflops=r.gflops, seconds=r.total_s, lu_seconds=r.factor_s,
                       passed=r.passed, iterations=r.iterations,
                       backward_error=r.backward_error, peak_over_matrix=worst,
                       ranks=comm.size, grid=f"{r.grid.p}x{r.grid.q}")
            if comm.rank != 0:
                return {}
            return out
        a, b = matgen.generate(n, seed=1)
        if solver == "numpy":
            t = time.perf_counter()
            x = np.linalg.solve(a, b)
            seconds = time.perf_counter() - t
            r_inf = float(np.abs(b - a @ x).max())
            be = mxp.backward_error(r_inf, mxp.inf_norm(a), float(np.abs(x).max()),
                                    float(np.abs(b).max()), n)
            out.update(gflops=mxp.flop_credit(n) / seconds / 1e9, seconds=seconds,
                       passed=be < mxp.THRESHOLD, backward_error=be, iterations=0)
        else:
            r = mxp.solve(a, b, nb=nb, precision="fp32" if solver == "mxp" else "fp64",
                          threads=threads)
            out.update(gflops=r.gflops, seconds=r.total_s, lu_seconds=r.factor_s,
                       passed=r.passed, iterations=r.iterations,
                       backward_error=r.backward_error)
        out["peak_over_matrix"] = (_status_kb("VmHWM") - base_kb) * 1024 / a.nbytes
        out["ru_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out["ranks"] = 1
        return out


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(key, None)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def launch(solver: str, n: int, nb: int, threads: int, ranks: int, timeout_s: float) -> dict:
    cmd = [sys.executable, "-m", "hpcplan.anchors.mxp", WORKER_FLAG, solver, str(n), str(nb),
           str(threads)]
    env = _env(threads)
    if solver == "dist":
        from bench.launcher import launcher

        run = launcher()
        cmd, env = run.command(ranks, *cmd), run.env(env)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{solver} worker failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == WORKER_FLAG:
        solver, n, nb, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        out = worker(solver, n, nb, threads)
        if out:
            print(json.dumps(out))
        return
    from bench import sysinfo
    from bench.launcher import launcher
    from hpcplan.anchors.common import ratio_line

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--nb", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ranks", type=int, default=2, help="MPI ranks for the distributed run")
    ap.add_argument("--threads", type=int, default=0, help="threads of the 1-rank runs "
                    "(default: usable cores)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per worker")
    args = ap.parse_args()
    machine = sysinfo.probe()
    threads = args.threads or min(sysinfo.usable_cpus(), machine.cpu.cores)
    print(f"{machine.cpu.model}, {machine.cpu.cores} cores; n={args.n}, nb={args.nb}, "
          f"{args.rounds} rounds; 1-rank runs use {threads} threads, the MPI run "
          f"{args.ranks} ranks x 1 thread; load average {os.getloadavg()[0]:.2f}")
    print(f"MPI run: {launcher().describe()}")
    figures: dict[str, list[dict]] = {s: [] for s in SOLVERS}
    for rnd in range(args.rounds):
        for solver in SOLVERS:
            t = threads if solver != "dist" else 1
            r = launch(solver, args.n, args.nb, t, args.ranks, args.timeout)
            if not r["passed"]:
                raise SystemExit(f"{solver} failed the HPL check: {r}")
            figures[solver].append(r)
            print(f"  round {rnd + 1} {solver:<5} {r['gflops']:8.2f} GFLOP/s  "
                  f"{r['seconds']:7.3f} s  iterations {r['iterations']}  backward error "
                  f"{r['backward_error']:.3g}  peak {r['peak_over_matrix']:.2f}x matrix",
                  flush=True)
    rate = {s: [f["gflops"] for f in figures[s]] for s in SOLVERS}
    print(f"BLAS: {figures['mxp'][0]['blas']} (OPENBLAS_CORETYPE/L2_SIZE unset in workers)")
    print(ratio_line(f"MxP fp32 vs numpy solve n={args.n}", rate["mxp"], rate["numpy"],
                     "GFLOP/s", target=1.6))
    print(ratio_line("FP64 LU variant vs numpy solve", rate["fp64"], rate["numpy"],
                     "GFLOP/s", target=0.8))
    print(ratio_line(f"MxP {args.ranks}x1 thread vs 1x{threads} threads", rate["dist"],
                     rate["mxp"], "GFLOP/s", target=0.8))
    lu = sorted(f["lu_seconds"] for f in figures["mxp"])
    print(f"MxP LU-only (diagnostic): median {lu[len(lu) // 2]:.3f} s = "
          f"{2 / 3 * args.n**3 / lu[len(lu) // 2] / 1e9:.1f} GFLOP/s")
    for s in SOLVERS:
        worst = max(f["peak_over_matrix"] for f in figures[s])
        print(f"peak memory {s:<5}: {worst:.2f}x the FP64 matrix of one rank "
              f"(target <= 2.5x: {'MET' if worst <= 2.5 else 'NOT MET'})")


if __name__ == "__main__":
    main()
