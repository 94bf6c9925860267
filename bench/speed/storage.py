"""Speed check of the storage kernel against fio and of MPI-IO against POSIX.

    python -m bench.speed.storage [--dir DIR] [--size-mib 256] [--rounds 5]
                                  [--mpi-ranks 2] [--rss-gib 16]

1. POSIX easy write and read, one process, O_DIRECT, fsync: our kernel versus
   fio (ioengine=psync, iodepth=1, direct=1, end_fsync=1, same bs and size,
   --output-format=json) on the same file system, rotating which goes first,
   medians. Target: each >= 0.9x fio. fio runs twice per round: fallocate=none
   (it extends a fresh file while timing, as IOR and this kernel do: the
   like-for-like anchor) and fio's default fallocate=native (file preallocated
   before timing; on ext4 its O_DIRECT writes then convert unwritten extents).
2. MPI-IO shared file versus POSIX file per process with 2 ranks (mpiexec),
   rotating order, medians; fsync inside the window and the page cache of the
   files dropped (fadvise) before reading, so both read from the device.
   Target: >= 0.8x.
3. With --rss-gib N: one N GiB O_DIRECT write + read in a child process, its
   peak resident memory next to that of a 64 MiB run (target: < 256 MiB).

Everything is written under a marked run directory inside --dir and removed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kernels.storage import MIB, IOConfig, run_bandwidth
from kernels.workdir import WorkDir

ROOT = Path(__file__).resolve().parents[2]


def fio(directory: Path, rw: str, size: int, bs: int, fallocate: str) -> float:
    """fio's reported bandwidth in MiB/s for one sequential job."""
    cmd = ["fio", "--name=hpcplan-anchor", f"--directory={directory}",
           "--filename=fio.data", "--ioengine=psync", "--iodepth=1", f"--rw={rw}",
           f"--bs={bs}", f"--size={size}", "--direct=1", f"--fallocate={fallocate}",
           "--output-format=json", *(["--end_fsync=1"] if rw == "write" else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    return job[rw]["bw_bytes"] / MIB


def ours(directory: Path, size: int, bs: int) -> tuple[float, float]:
    """Our POSIX easy write and read (O_DIRECT, fsync), verification off the clock."""
    cfg = IOConfig(block_bytes=size, transfer_bytes=bs, direct=True, fsync=True)
    r = run_bandwidth(cfg, directory)
    if not r.ok:
        raise SystemExit(f"storage kernel failed: {r.failure}")
    return r.writes[0].mib_s, r.reads[0].mib_s


#: fio variants: "none" creates and extends a fresh file while timing, as IOR and our
#: kernel do (the like-for-like anchor); "native" (fio's default) fallocates the file
#: before the timed job, so its writes convert preallocated extents instead.
FIO_VARIANTS = ("none", "native")


def measure_fio(directory: Path, size: int, bs: int, rounds: int,
                progress: Callable[[str], None] | None = None
                ) -> dict[str, list[tuple[float, float]]]:
    """(write, read) MiB/s per round of ours and of each fio variant, rotating who goes first."""
    players = ["ours", *(f"fio_{v}" for v in FIO_VARIANTS)]
    results: dict[str, list[tuple[float, float]]] = {p: [] for p in players}
    fio_dir = directory / "fio"
    fio_dir.mkdir()
    ours(directory, 8 * MIB, bs)  # compile / load the pattern kernel outside the rounds
    for i in range(rounds):
        order = players[i % len(players):] + players[:i % len(players)]
        for who in order:
            if who == "ours":
                results[who].append(ours(directory, size, bs))
            else:
                variant = who.removeprefix("fio_")
                w = fio(fio_dir, "write", size, bs, variant)
                r = fio(fio_dir, "read", size, bs, variant)
                results[who].append((w, r))
                (fio_dir / "fio.data").unlink()
        if progress:
            progress(f"  round {i + 1}: " + " | ".join(
                f"{p} write {results[p][-1][0]:7.1f} read {results[p][-1][1]:7.1f}"
                for p in players) + " MiB/s")
    return results


def compare_fio(directory: Path, size: int, bs: int, rounds: int) -> None:
    results = measure_fio(directory, size, bs, rounds, lambda m: print(m, flush=True))
    med = {p: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for p, v in results.items()}
    for k, op in enumerate(("write", "read")):
        mine = med["ours"][k]
        for variant in FIO_VARIANTS:
            theirs = med[f"fio_{variant}"][k]
            verdict = "PASS" if mine >= 0.9 * theirs else "FAIL"
            print(f"POSIX easy {op} (O_DIRECT, fsync, 1 process, {size // MIB} MiB, bs {bs}): "
                  f"ours {mine:.1f} MiB/s, fio (fallocate={variant}) {theirs:.1f} MiB/s, "
                  f"ratio {mine / theirs:.3f} (target >= 0.9) {verdict}")


def mpi_worker(directory: Path, size: int, bs: int, rounds: int) -> None:
    """Under mpiexec: alternate POSIX fpp and MPI-IO shared rounds; rank 0 prints JSON."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    shapes = {
        "posix_fpp": IOConfig(layout="fpp", block_bytes=size, transfer_bytes=bs),
        "posix_shared": IOConfig(layout="shared", block_bytes=size, transfer_bytes=bs),
        "mpiio_shared_indep": IOConfig(api="mpiio", layout="shared", block_bytes=size,
                                       transfer_bytes=bs),
        "mpiio_shared_coll": IOConfig(api="mpiio", layout="shared", block_bytes=size,
                                      transfer_bytes=bs, collective=True),
    }
    out: dict[str, list[list[float]]] = {k: [] for k in shapes}
    with WorkDir.create(directory, kind="speed", comm=comm) as wd:
        names = list(shapes)
        for i in range(rounds + 1):
            for name in names[i % len(names):] + names[:i % len(names)]:
                r = run_bandwidth(shapes[name], wd.path, comm=comm)
                if not r.ok:
                    raise SystemExit(f"{name} failed: {r.failure}")
                if i > 0:  # round 0 warms up
                    out[name].append([r.writes[0].mib_s, r.reads[0].mib_s])
    if comm.Get_rank() == 0:
        print("MPIJSON " + json.dumps(out), flush=True)


def measure_mpi(directory: Path, ranks: int, size: int, bs: int, rounds: int
                ) -> dict[str, list[list[float]]]:
    """[write, read] MiB/s per round of each shape (posix_fpp, mpiio_shared_*, ...), mpiexec."""
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, "-m", "bench.speed.storage",
           "--mpi-worker", "--dir", str(directory), "--size-mib", str(size // MIB),
           "--bs", str(bs), "--rounds", str(rounds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("MPIJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"mpiexec run failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line[8:])


def compare_mpi(directory: Path, ranks: int, size: int, bs: int, rounds: int) -> None:
    data = measure_mpi(directory, ranks, size, bs, rounds)
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for k, v in data.items()}
    base_w, base_r = med["posix_fpp"]
    print(f"POSIX file per process, {ranks} ranks x {size // MIB} MiB (fsync inside the "
          f"window, page cache dropped before reads): "
          f"write {base_w:.1f} MiB/s, read {base_r:.1f} MiB/s")
    for k in ("posix_shared", "mpiio_shared_indep", "mpiio_shared_coll"):
        w, r = med[k]
        verdict = "PASS" if w >= 0.8 * base_w and r >= 0.8 * base_r else "FAIL"
        verdict = verdict if k.startswith("mpiio") else "(context)"
        print(f"{k}: write {w:.1f} MiB/s ({w / base_w:.3f}x), read {r:.1f} MiB/s "
              f"({r / base_r:.3f}x) (target >= 0.8x POSIX fpp) {verdict}")


RSS_CHILD = """
import resource, sys
from kernels.storage import IOConfig, run_bandwidth
from kernels.workdir import WorkDir
with WorkDir.create(sys.argv[1], kind="speed") as wd:
    cfg = IOConfig(block_bytes=int(sys.argv[2]), transfer_bytes=2**20, direct=True)
    r = run_bandwidth(cfg, wd.path)
    assert r.ok, r.failure
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, r.writes[0].mib_s, r.reads[0].mib_s)
"""


def rss_check(directory: Path, gib: float) -> None:
    rows = []
    for nbytes in (64 * MIB, int(gib * 2**30)):
        out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(directory), str(nbytes)],
                             capture_output=True, text=True, cwd=ROOT, check=True).stdout
        kib, w, r = out.split()
        rows.append((nbytes, int(kib) / 1024, float(w), float(r)))
    for nbytes, mib, w, r in rows:
        print(f"run of {nbytes / 2**30:.3f} GiB (O_DIRECT): peak RSS {mib:.1f} MiB "
              f"(write {w:.0f}, read {r:.0f} MiB/s)")
    verdict = "PASS" if rows[-1][1] < 256 else "FAIL"
    print(f"peak RSS of the {gib:g} GiB run < 256 MiB: {verdict}; growth over 64 MiB run "
          f"{rows[-1][1] - rows[0][1]:.1f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp", help="file system to test (default /tmp)")
    ap.add_argument("--size-mib", type=int, default=256, help="file size in MiB (default 256)")
    ap.add_argument("--bs", type=int, default=MIB, help="transfer size in bytes (default 1 MiB)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    ap.add_argument("--mpi-ranks", type=int, default=2, help="ranks for MPI-IO vs POSIX (0: skip)")
    ap.add_argument("--rss-gib", type=float, default=0, help="also show peak RSS of an N GiB run")
    ap.add_argument("--skip-fio", action="store_true", help="skip the comparison with fio")
    ap.add_argument("--mpi-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size, directory = args.size_mib * MIB, Path(args.dir)
    if args.mpi_worker:
        mpi_worker(directory, size, args.bs, args.rounds)
        return
    print(f"storage speed check in {directory} (shared machines give noisy numbers)")
    if not args.skip_fio:
        if shutil.which("fio") is None:
            raise SystemExit("fio is not installed (Debian package fio)")
        with WorkDir.create(directory, kind="speed") as wd:
            compare_fio(wd.path, size, args.bs, args.rounds)
    if args.mpi_ranks > 1:
        compare_mpi(directory, args.mpi_ranks, size // 2, args.bs, args.rounds)
    if args.rss_gib:
        rss_check(directory, args.rss_gib)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process: peak RSS {own:.1f} MiB; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
