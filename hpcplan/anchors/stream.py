"""STREAM Triad vs the reference C STREAM inside HPCC (Debian package ``hpcc``).

    python -m hpcplan.anchors.stream [--rounds 2] [--hpl-n 10000] [--procs CORES]

HPCC runs StarSTREAM with one MPI process per core; its figure is per process,
so the node's bandwidth is StarSTREAM x processes. HPCC sizes the STREAM vectors
from the HPL problem (``--hpl-n``); our kernel runs in one process with one
thread per core on the same total array size. Runs alternate; medians are
compared. Target (issues 2, 16): Triad >= 0.95x, on AMD as on Intel.
HPCC also runs HPL, FFT, PTRANS and RandomAccess, so each of its rounds takes
minutes; install an optimised BLAS (``apt-get install libopenblas0-pthread``)
to shorten its HPL phase.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench import sysinfo
from bench.launcher import Launcher, launcher_for
from hpcplan.anchors.common import alternate, ratio_line
from kernels import stream

HPCC_INPUT = Path("/usr/share/doc/hpcc/examples/_hpccinf.txt")


def hpcc_input(n: int, procs: int) -> str:
    lines = HPCC_INPUT.read_text().splitlines()
    lines[5] = f"{n:<13}Ns"
    lines[7] = f"{192:<13}NBs"
    lines[10] = f"{1:<13}Ps"
    lines[11] = f"{procs:<13}Qs"
    return "\n".join(lines) + "\n"


def hpcc_launcher() -> Launcher | None:
    """The mpiexec of the MPI library HPCC links (Debian's: Open MPI), or None without hpcc."""
    exe = shutil.which("hpcc")
    return launcher_for(exe) if exe else None


def hpcc_missing() -> str:
    """Why HPCC cannot run here ('' when it can)."""
    if not shutil.which("hpcc"):
        return "hpcc is not installed (Debian package hpcc)"
    if not HPCC_INPUT.exists():
        return f"HPCC's example input {HPCC_INPUT} is missing (Debian package hpcc)"
    run = hpcc_launcher()
    if run is None or run.path is None:
        return (f"no launcher for HPCC's MPI (Debian package hpcc pulls in openmpi-bin): "
                f"{run.describe() if run else ''}")
    return ""


def run_hpcc(n: int, procs: int) -> dict[str, float]:
    missing = hpcc_missing()
    run = hpcc_launcher()
    if missing or run is None:
        raise SystemExit(f"{missing}: apt-get install hpcc")
    env = run.env({**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "hpccinf.txt").write_text(hpcc_input(n, procs))
        subprocess.run(run.command(procs, "hpcc"), cwd=tmp, env=env, check=True,
                       capture_output=True, timeout=3600)
        text = Path(tmp, "hpccoutf.txt").read_text()
    found = dict(re.findall(r"^(StarSTREAM_\w+|STREAM_VectorSize|Success)=(\S+)$", text, re.M))
    return {k: float(v) for k, v in found.items()}


def measure(rounds: int, hpl_n: int, procs: int) -> tuple[list[float], list[float], int]:
    """Our Triad and HPCC's StarSTREAM Triad x processes (GB/s), alternating; and the size.

    HPCC's first run sizes our arrays (the same total elements) and counts as
    its first round.
    """
    first = run_hpcc(hpl_n, procs)
    elements = int(first["STREAM_VectorSize"]) * procs
    cached = [first]

    def anchor() -> float:
        out = cached.pop() if cached else run_hpcc(hpl_n, procs)
        if out.get("Success", 0.0) != 1.0:
            raise RuntimeError("HPCC reported a failed run (Success != 1)")
        return out["StarSTREAM_Triad"] * procs

    def ours() -> float:
        run = stream.run_stream(elements, 10, procs)
        if not run.valid:
            raise RuntimeError(f"STREAM validation failed: {run.errors}")
        return run.best_gbs("triad")

    mine, hpcc = alternate(rounds, ours, anchor)
    return mine, hpcc, elements


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hpl-n", type=int, default=10000)
    ap.add_argument("--procs", type=int, default=0, help="HPCC processes (default: cores)")
    args = ap.parse_args()
    machine = sysinfo.probe()
    procs = args.procs or min(sysinfo.usable_cpus(), machine.cpu.cores)
    mine, hpcc, elements = measure(args.rounds, args.hpl_n, procs)
    print(f"{machine.cpu.model}; HPCC with {procs} processes, HPL N={args.hpl_n}: "
          f"vector {elements // procs:,} elements per process; ours: one process, "
          f"{procs} threads, {elements:,} elements "
          f"({3 * 8 * elements / 2**20:.0f} MiB in all; "
          f"LLC {machine.cpu.llc_bytes / 2**20:.0f} MiB)")
    print(ratio_line("STREAM triad vs HPCC StarSTREAM", mine, hpcc, "GB/s", target=0.95))
    run = hpcc_launcher()
    print(f"HPCC ran under {run.describe() if run else 'no launcher'}")

if __name__ == "__main__":
    main()
