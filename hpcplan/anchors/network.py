"""Speed check: our ping-pong against ``python -m mpi4py.bench pingpong``, same ranks, same run.

    python -m hpcplan.anchors.network [--rounds 7] [--bookkeeping]

Without a launcher it starts itself under ``mpiexec -n 2``, the ``mpiexec`` of the MPI
library mpi4py loads (``bench.launcher``; printed first). Each round runs
the benchmarks in the same two processes, rotating which goes first, at 8 B
(latency) and 1 MiB and 4 MiB (bandwidth). mpi4py.bench reports the mean
one-way time over its iterations, so the ratio compares our mean over all
timed round trips with it (like for like); our headline (median of
repetitions) is printed too. Target: within 10% (ratio of times <= 1.10).

mpi4py.bench sends ``numpy.empty`` buffers it never writes: on Linux their
pages are the shared zero page, so the sender reads cache-resident zeros. Our
kernel sends a written, verified pattern. The anchor therefore also runs with
its buffers written once before timing ("anchor, written buffers"), which is
the like-for-like comparison; both ratios are printed.

``--bookkeeping`` (needs ``SLURM_CONF``, e.g. the local cluster) submits a
2-node network job with ``hpcplan submit --wait`` and reports submit-to-
collected time minus the batch script's own run time (target: under 2 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (8, 1 << 20, 4 << 20)
#: Anchor loop lengths per size: mpi4py.bench defaults, capped so a round stays short.
ANCHOR_LOOPS = {8: 10000, 1 << 20: 200, 4 << 20: 50}


def _worker(rounds: int, as_json: bool = False) -> int:
    from mpi4py import MPI
    from mpi4py import bench as anchor

    from kernels import network

    comm = MPI.COMM_WORLD
    ours: dict[int, list[float]] = {s: [] for s in SIZES}
    ours_median: dict[int, list[float]] = {s: [] for s in SIZES}
    theirs: dict[int, list[float]] = {s: [] for s in SIZES}
    theirs_written: dict[int, list[float]] = {s: [] for s in SIZES}
    for rnd in range(rounds):
        for size in SIZES:
            def run_ours(size: int = size) -> None:
                r = network.pingpong(comm, [size], repetitions=5, target_s=0.02, peer=1)[0]
                ours[size].append(statistics.fmean(r.one_way_s))
                ours_median[size].append(statistics.median(r.one_way_s))

            def run_anchor(size: int = size, written: bool = False) -> None:
                loop = ANCHOR_LOOPS[size]
                args = ["-q", "-m", str(size), "-n", str(size), "-l", str(loop),
                        "--loop-large", str(loop), "--loop-huge", str(loop),
                        "-s", "10", "--skip-large", "10", "--skip-huge", "2"]
                with _written_buffers() if written else contextlib.nullcontext():
                    (_, t_mean, _), = anchor.pingpong(comm, args, verbose=False)
                (theirs_written if written else theirs)[size].append(t_mean)

            order = [run_ours, run_anchor, lambda size=size: run_anchor(size, written=True)]
            for fn in order[rnd % 3:] + order[:rnd % 3]:
                fn()
    if comm.rank != 0:
        return 0
    if as_json:
        print("NETJSON " + json.dumps({"ours": ours, "ours_median": ours_median,
                                       "anchor": theirs, "anchor_written": theirs_written}),
              flush=True)
        return 0
    print(f"ping-pong, 2 ranks ({MPI.Get_library_version().splitlines()[0].strip()}), "
          f"{rounds} alternating rounds; one-way times, medians over rounds")
    print(f"{'size B':>9}  {'ours mean':>10}  {'ours med':>10}  {'anchor':>10}  "
          f"{'anchor wr':>10}  {'ratio':>6}  {'ratio wr':>8}")
    worst = worst_written = 0.0
    for size in SIZES:
        o, om, t, tw = (statistics.median(x[size])
                        for x in (ours, ours_median, theirs, theirs_written))
        worst, worst_written = max(worst, o / t), max(worst_written, o / tw)
        print(f"{size:>9}  {o * 1e6:>8.2f}us  {om * 1e6:>8.2f}us  {t * 1e6:>8.2f}us  "
              f"{tw * 1e6:>8.2f}us  {o / t:>6.3f}  {o / tw:>8.3f}")
        if size >= 1024:
            print(f"{'':>9}  bandwidth GB/s: ours {size / o / 1e9:.2f}, anchor "
                  f"{size / t / 1e9:.2f}, anchor with written buffers {size / tw / 1e9:.2f}")
    for label, value in (("mpi4py.bench as shipped", worst),
                         ("mpi4py.bench, written buffers", worst_written)):
        print(f"worst time ratio vs {label}: {value:.3f} "
              f"({'within' if value <= 1.10 else 'OUTSIDE'} the 10% target)")
    return 0


@contextlib.contextmanager
def _written_buffers():  # type: ignore[no-untyped-def]
    """Make mpi4py.bench's ``numpy.empty`` buffers real memory by writing them once."""
    import numpy

    original = numpy.empty

    def empty(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = original(*args, **kwargs)
        out.fill(1)
        return out

    numpy.empty = empty
    try:
        yield
    finally:
        numpy.empty = original


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}


def measure(rounds: int, timeout_s: float = 900) -> dict[str, dict[int, list[float]]]:
    """One-way seconds per round and size: ours (mean, median) and the anchor (shipped, written).

    Runs the rounds under ``mpiexec -n 2``; keys: ours, ours_median, anchor, anchor_written.
    """
    from bench.launcher import launcher

    run = launcher()
    proc = subprocess.run(run.command(2, sys.executable, "-m", "hpcplan.anchors.network",
                                      "--worker", "--json", "--rounds", str(rounds)),
                          env=run.env(_env()), capture_output=True, text=True, check=False,
                          timeout=timeout_s)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("NETJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"ping-pong under {run.describe()} failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-500:]}")
    data = json.loads(line[8:])
    return {k: {int(size): v for size, v in d.items()} for k, d in data.items()}


def _bookkeeping() -> int:
    from slurm.jobs import script_runtime_s
    from slurm.ledger import Ledger

    if not os.environ.get("SLURM_CONF"):
        print("--bookkeeping needs SLURM_CONF (start one: python -m slurm.localcluster start)")
        return 2
    overheads = []
    with tempfile.TemporaryDirectory(prefix="hpcplan-speed-") as tmp:
        for _ in range(3):
            results = Path(tmp) / f"r{len(overheads)}"
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "hpcplan", "submit", "network", "--nodes", "2",
                            "--results", str(results), "--wait", "--timeout", "300",
                            "--repeats", "2", "--param", "net_sizes=8,65536"],
                           check=True, capture_output=True, text=True)
            total = time.monotonic() - t0
            entry = Ledger(results / "slurm").entries()[0]
            job_s = script_runtime_s(Path(entry["stdout"]))
            if job_s is None:
                print("the job's output lacks its start/finish lines")
                return 1
            overheads.append(total - job_s)
            print(f"job {entry['job_id']}: submit to collected {total:.2f} s, "
                  f"batch script {job_s:.2f} s, bookkeeping {total - job_s:.2f} s")
    med = statistics.median(overheads)
    print(f"bookkeeping median {med:.2f} s: {'within' if med < 2 else 'OUTSIDE'} the 2 s target")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m hpcplan.anchors.network")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--bookkeeping", action="store_true",
                        help="also time job bookkeeping on the Slurm cluster of SLURM_CONF")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.rounds, args.json)
    from bench.launcher import launcher

    run = launcher()
    print(f"launcher: {run.describe()}", flush=True)
    rc = subprocess.run(run.command(2, sys.executable, "-m", "hpcplan.anchors.network",
                                    "--worker", "--rounds", str(args.rounds)),
                        env=run.env(_env()), check=False, timeout=900).returncode
    if rc == 0 and args.bookkeeping:
        rc = _bookkeeping()
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
