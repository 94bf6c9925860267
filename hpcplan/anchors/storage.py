"""Speed check of the storage kernels against fio, IOR and mdtest, and of MPI-IO against POSIX.

    python -m hpcplan.anchors.storage [--dir DIR] [--size-mib 256] [--rounds 5]
                                     [--mpi-ranks 2] [--rss-gib 16] [--ior-ranks 2]
                                     [--md-files 2000]

1. POSIX easy write and read, one process, O_DIRECT, fsync: our kernel versus
   fio (ioengine=psync, iodepth=1, direct=1, end_fsync=1, same bs and size,
   --output-format=json, its buffer on huge pages like ours through
   ``GLIBC_TUNABLES`` and ``--iomem_align``) on the same file system, rotating which goes first,
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
4. IOR (POSIX, file per process, O_DIRECT, fsync, 3 iterations, max) against
   our easy bandwidth on the same shape, 2 ranks, alternating, medians; twice:
   both sides on huge-page transfer buffers (ours by default, IOR's malloc
   through ``GLIBC_TUNABLES``) and both on 4 KiB pages (IOR as it ships). On
   a virtual disk the buffer's physical layout moves O_DIRECT bandwidth by 2-3x
   (``kernels.iobuf``), so only like against like is a comparison. Target:
   0.8-1.25x.
5. mdtest (-F -u, files per rank, a directory per rank) against our easy
   metadata phases, 2 ranks, alternating, medians, with the rate Python's call
   cost alone allows beside each. Target: >= 0.7x.

IOR and mdtest are found as ``$HPCPLAN_IOR`` / ``$HPCPLAN_MDTEST`` or on PATH
(build them from github.com/hpc/ior with the ``mpicc`` of the MPI that mpi4py
uses, e.g. the mpich wheel's); they run under that MPI's ``mpiexec``
(``bench.launcher``, printed at the start).

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

from bench.launcher import Launcher, launcher, launcher_for
from kernels.iobuf import huge_page_bytes
from kernels.storage import MIB, IOConfig, run_bandwidth
from kernels.workdir import WorkDir

ROOT = Path(__file__).resolve().parents[2]
#: Environment variables naming the reference tools (else they are looked up on PATH).
TOOL_ENV = {"ior": "HPCPLAN_IOR", "mdtest": "HPCPLAN_MDTEST"}
#: glibc tunables that put a C tool's malloc buffers on transparent huge pages (glibc >= 2.35):
#: allocations below 32 MiB come from the heap, which glibc then advises as huge-page memory.
THP_MALLOC = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432"
MD_PHASES = ("create", "stat", "read", "remove")
_MDTEST_ROWS = {"create": "File creation", "stat": "File stat", "read": "File read",
                "remove": "File removal"}


def find_tool(name: str) -> str | None:
    """The reference tool ``name`` (ior, mdtest): ``$HPCPLAN_<NAME>`` if set, else PATH."""
    given = os.environ.get(TOOL_ENV[name], "").strip()
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which(name)


def tool_missing(name: str) -> str:
    """Why ``name`` cannot run here ("" when it can)."""
    if find_tool(name) is not None:
        return ""
    env = TOOL_ENV[name]
    if os.environ.get(env, "").strip():
        return f"${env} ({os.environ[env]}) is not an executable file"
    return (f"{name} is not installed: build it from github.com/hpc/ior with the mpicc of "
            f"mpi4py's MPI and put it on PATH or set ${env}")


def tool_launcher(exe: str) -> Launcher:
    """The launcher of the MPI library a C tool links (ldd); mpi4py's when ldd sees none."""
    run = launcher_for(exe)
    return run if run.path is not None or run.libmpi else launcher()


def buffer_env(buffer: str) -> dict[str, str]:
    """The environment a C tool runs in so its malloc buffers are ``buffer`` (huge or pages)."""
    env = dict(os.environ)
    env.pop("GLIBC_TUNABLES", None)
    if buffer == "huge":
        env["GLIBC_TUNABLES"] = THP_MALLOC
    return env


def fio(directory: Path, rw: str, size: int, bs: int, fallocate: str, buffer: str = "huge"
        ) -> float:
    """fio's reported bandwidth in MiB/s for one sequential job, its buffer on ``buffer``
    pages like ours (``buffer_env``, and aligned to a huge page so it sits on one)."""
    cmd = ["fio", "--name=hpcplan-anchor", f"--directory={directory}",
           "--filename=fio.data", "--ioengine=psync", "--iodepth=1", f"--rw={rw}",
           f"--bs={bs}", f"--size={size}", "--direct=1", f"--fallocate={fallocate}",
           "--output-format=json", *(["--end_fsync=1"] if rw == "write" else []),
           *([f"--iomem_align={huge_page_bytes()}"] if buffer == "huge" else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env=buffer_env(buffer)).stdout
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
    run = launcher()
    cmd = run.command(ranks, sys.executable, "-m", "hpcplan.anchors.storage",
                      "--mpi-worker", "--dir", str(directory), "--size-mib", str(size // MIB),
                      "--bs", str(bs), "--rounds", str(rounds))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False,
                          env=run.env())
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("MPIJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"{run.describe()}: run failed:\n{proc.stdout}\n{proc.stderr}")
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


def parse_ior(text: str) -> dict[str, float]:
    """Max MiB/s of write and read from IOR's "Summary of all tests" table."""
    found: dict[str, float] = {}
    for line in text.split("Summary of all tests:")[-1].splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[0] in ("write", "read"):
            found[parts[0]] = float(parts[1])  # the Max(MiB) column
    return found


def parse_mdtest(text: str) -> dict[str, float]:
    """Max ops/s per easy phase from mdtest's "SUMMARY rate" table."""
    out: dict[str, float] = {}
    for line in text.split("SUMMARY rate")[-1].split("SUMMARY")[0].splitlines():
        for phase, row in _MDTEST_ROWS.items():
            if line.strip().startswith(row + " "):
                out[phase] = float(line.split()[2])  # the Max column
    return out


def ior(directory: Path, ranks: int, block: int, bs: int, iterations: int, buffer: str
        ) -> tuple[float, float]:
    """IOR's max write and read MiB/s: POSIX, file per process, O_DIRECT, fsync (-e)."""
    exe = find_tool("ior")
    if exe is None:
        raise RuntimeError(tool_missing("ior"))
    run = tool_launcher(exe)
    (directory / "ior").mkdir(exist_ok=True)  # a name the run marker lists (kernels.workdir)
    cmd = run.command(ranks, exe, "-a", "POSIX", "--posix.odirect", "-F", "-C",
                      "-e", "-w", "-r", "-t", str(bs), "-b", str(block), "-i", str(iterations),
                      "-o", str(directory / "ior" / "ior.data"))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env=run.env(buffer_env(buffer)), timeout=1800)
    found = parse_ior(proc.stdout)
    if proc.returncode != 0 or len(found) != 2:
        raise RuntimeError(f"ior failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    return found["write"], found["read"]


def mdtest(directory: Path, ranks: int, files: int) -> dict[str, float]:
    """mdtest's easy phases (ops/s): empty files, a directory per rank (-F -u), one iteration."""
    exe = find_tool("mdtest")
    if exe is None:
        raise RuntimeError(tool_missing("mdtest"))
    run = tool_launcher(exe)
    cmd = run.command(ranks, exe, "-F", "-u", "-n", str(files), "-i", "1",
                      "-d", str(directory / "mdtest"))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=run.env(),
                          timeout=1800)
    out = parse_mdtest(proc.stdout)
    if proc.returncode != 0 or len(out) != len(MD_PHASES):
        raise RuntimeError(f"mdtest failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    return out


def ior_worker(directory: Path, block: int, bs: int, iterations: int, buffer: str) -> None:
    """Under mpiexec: our easy bandwidth on IOR's shape; rank 0 prints JSON (max MiB/s)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    cfg = IOConfig(block_bytes=block, transfer_bytes=bs, direct=True, fsync=True,
                   iterations=iterations, buffer=buffer)
    with WorkDir.create(directory, kind="speed", comm=comm) as wd:
        r = run_bandwidth(cfg, wd.path, comm=comm)
    if not r.ok:
        raise SystemExit(f"storage kernel failed: {r.failure}")
    if comm.Get_rank() == 0:
        print("IORJSON " + json.dumps({"write": max(p.mib_s for p in r.writes),
                                       "read": max(p.mib_s for p in r.reads),
                                       "buffer": r.buffer}), flush=True)


def md_worker(directory: Path, files: int) -> None:
    """Under mpiexec: our easy metadata phases; rank 0 prints JSON (ops/s and Python floors)."""
    from mpi4py import MPI

    from kernels.metadata import MDConfig, run_metadata

    comm = MPI.COMM_WORLD
    with WorkDir.create(directory, kind="speed", comm=comm) as wd:
        r = run_metadata(MDConfig.easy(files), wd.path, comm=comm)
    if not r.ok:
        raise SystemExit(f"metadata kernel failed: {r.failure}")
    if comm.Get_rank() == 0:
        print("MDJSON " + json.dumps({"rates": {k: p.ops_s for k, p in r.phases.items()},
                                      "floors": {k: r.floor_ops_s(k) for k in r.phases}}),
              flush=True)


def _launch_worker(flag: str, tag: str, ranks: int, args: list[str]) -> dict:
    run = launcher()
    cmd = run.command(ranks, sys.executable, "-m", "hpcplan.anchors.storage", flag, *args)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False,
                          env=run.env(), timeout=1800)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(tag + " ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"{flag} run failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    return dict(json.loads(line[len(tag) + 1:]))


#: IOR comparison players: ours and IOR, each on huge-page and on 4 KiB-page buffers.
IOR_PLAYERS = ("ours_huge", "ior_huge", "ours_pages", "ior_pages")


def measure_ior(directory: Path, ranks: int, block: int, bs: int, rounds: int,
                iterations: int = 3, progress: Callable[[str], None] | None = None
                ) -> dict[str, list[tuple[float, float]]]:
    """(write, read) max MiB/s per round of each IOR_PLAYERS entry, rotating who goes first."""
    out: dict[str, list[tuple[float, float]]] = {p: [] for p in IOR_PLAYERS}
    with WorkDir.create(directory, kind="anchors") as wd:
        for i in range(rounds):
            k = i % len(IOR_PLAYERS)
            for who in IOR_PLAYERS[k:] + IOR_PLAYERS[:k]:
                side, buffer = who.split("_")
                if side == "ours":
                    res = _launch_worker("--ior-worker", "IORJSON", ranks, [
                        "--dir", str(wd.path), "--block", str(block), "--bs", str(bs),
                        "--iterations", str(iterations), "--buffer", buffer])
                    out[who].append((res["write"], res["read"]))
                else:
                    out[who].append(ior(wd.path, ranks, block, bs, iterations, buffer))
            if progress:
                progress(f"  round {i + 1}: " + " | ".join(
                    f"{p} w {out[p][-1][0]:.0f} r {out[p][-1][1]:.0f}" for p in IOR_PLAYERS))
    return out


def measure_mdtest(directory: Path, ranks: int, files: int, rounds: int,
                   progress: Callable[[str], None] | None = None
                   ) -> dict[str, dict[str, list[float]]]:
    """Per phase, ours and mdtest's ops/s per round and our Python floor, alternating."""
    out: dict[str, dict[str, list[float]]] = {k: {p: [] for p in MD_PHASES}
                                              for k in ("ours", "mdtest", "floor")}
    with WorkDir.create(directory, kind="anchors") as wd:
        for i in range(rounds):
            for who in (("ours", "mdtest") if i % 2 == 0 else ("mdtest", "ours")):
                if who == "ours":
                    res = _launch_worker("--md-worker", "MDJSON", ranks, [
                        "--dir", str(wd.path), "--md-files", str(files)])
                    for p in MD_PHASES:
                        out["ours"][p].append(res["rates"][p])
                        if res["floors"][p]:
                            out["floor"][p].append(res["floors"][p])
                else:
                    got = mdtest(wd.path, ranks, files)
                    for p in MD_PHASES:
                        out["mdtest"][p].append(got[p])
            if progress:
                progress(f"  round {i + 1}: " + " | ".join(
                    f"{p} {out['ours'][p][-1]:.0f}/{out['mdtest'][p][-1]:.0f}"
                    for p in MD_PHASES) + " ops/s (ours/mdtest)")
    return out


def compare_ior(directory: Path, ranks: int, block: int, bs: int, rounds: int) -> None:
    data = measure_ior(directory, ranks, block, bs, rounds, progress=print)
    for k, op in enumerate(("write", "read")):
        for buffer in ("huge", "pages"):
            mine = statistics.median(x[k] for x in data[f"ours_{buffer}"])
            theirs = statistics.median(x[k] for x in data[f"ior_{buffer}"])
            ratio = mine / theirs
            verdict = "PASS" if 0.8 <= ratio <= 1.25 else "FAIL"
            print(f"easy {op} vs IOR ({ranks} ranks fpp, {block // MIB} MiB each, O_DIRECT, "
                  f"{buffer} buffers): ours {mine:.1f} MiB/s, IOR {theirs:.1f} MiB/s, ratio "
                  f"{ratio:.3f} (target 0.8-1.25) {verdict}")


def compare_mdtest(directory: Path, ranks: int, files: int, rounds: int) -> None:
    data = measure_mdtest(directory, ranks, files, rounds, progress=print)
    for p in MD_PHASES:
        mine, theirs = statistics.median(data["ours"][p]), statistics.median(data["mdtest"][p])
        floor = data["floor"][p]
        note = f", Python call floor {statistics.median(floor):.0f} ops/s" if floor else ""
        verdict = "PASS" if mine >= 0.7 * theirs else "FAIL"
        print(f"easy {p} vs mdtest ({ranks} ranks x {files} files): ours {mine:.0f} ops/s, "
              f"mdtest {theirs:.0f} ops/s, ratio {mine / theirs:.3f}{note} (target >= 0.7) "
              f"{verdict}")


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
    ap.add_argument("--ior-ranks", type=int, default=2, help="ranks for IOR vs ours (0: skip)")
    ap.add_argument("--md-files", type=int, default=2000,
                    help="files per rank for mdtest vs ours (0: skip)")
    ap.add_argument("--mpi-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ior-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--md-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--block", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--iterations", type=int, default=3, help=argparse.SUPPRESS)
    ap.add_argument("--buffer", default="huge", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size, directory = args.size_mib * MIB, Path(args.dir)
    if args.mpi_worker:
        mpi_worker(directory, size, args.bs, args.rounds)
        return
    if args.ior_worker:
        ior_worker(directory, args.block, args.bs, args.iterations, args.buffer)
        return
    if args.md_worker:
        md_worker(directory, args.md_files)
        return
    print(f"storage speed check in {directory} (shared machines give noisy numbers); "
          f"MPI runs: {launcher().describe()}")
    if not args.skip_fio:
        if shutil.which("fio") is None:
            raise SystemExit("fio is not installed (Debian package fio)")
        with WorkDir.create(directory, kind="speed") as wd:
            compare_fio(wd.path, size, args.bs, args.rounds)
    if args.mpi_ranks > 1:
        compare_mpi(directory, args.mpi_ranks, size // 2, args.bs, args.rounds)
    if args.rss_gib:
        rss_check(directory, args.rss_gib)
    for name, wanted in (("ior", args.ior_ranks > 0), ("mdtest", args.md_files > 0)):
        if wanted and tool_missing(name):
            print(f"{name}: MISSING: {tool_missing(name)}")
    if args.ior_ranks > 0 and not tool_missing("ior"):
        compare_ior(directory, args.ior_ranks, size, args.bs, args.rounds)
    if args.md_files > 0 and not tool_missing("mdtest"):
        compare_mdtest(directory, 2, args.md_files, args.rounds)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process: peak RSS {own:.1f} MiB; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
