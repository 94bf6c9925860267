"""The anchor scoreboard: each kernel beside the tool a user would otherwise run.

    python -m bench.anchors [--quick] [--only GROUP,...] [--output FILE] [--dir DIR]

Pairs (from the issues' targets): peak FMA vs NumPy's BLAS matmul, STREAM
Triad vs the C STREAM in Debian's HPCC, storage vs fio and IOR, metadata vs
mdtest (IOR and mdtest from ``$HPCPLAN_IOR``/``$HPCPLAN_MDTEST`` or PATH), ping-pong vs
``python -m mpi4py.bench pingpong``, MxP vs NumPy ``linalg.solve``, plus the
internal ratios the issues promise (MPI-IO vs POSIX file per process, the
FP64 LU variant vs NumPy, 2 ranks x 1 thread vs 1 rank x 2 threads, the
projection engine vs its plain per-sample loop). Each
pair alternates ours and the anchor round by round in the same run; the line
shows both medians, the ratio of the medians and the spread of the per-round
ratios. A pair whose tool or kernel is absent is printed as MISSING with the
reason; a pair that broke is printed as ERROR (exit status 1). The measuring
code lives in ``bench/speed/*.py`` and is reused here.

``--quick`` uses small sizes (a few minutes on 2 cores); the default is the
thorough run of the speed scripts' defaults (HPCC alone takes minutes per
round). The board is also written to ``--output`` (default
``results/baselines/anchors-latest.txt``, linked from the README).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_OUTPUT = Path("results/baselines/anchors-latest.txt")
MIB = 2**20


@dataclass
class Line:
    """One scoreboard line: our figures and the anchor's, round by round (same unit).

    ``better`` is the direction of the unit; ``target`` is the promised ratio
    ours/anchor (at least it when higher is better, at most it for times);
    ``upper`` also bounds it from above (agreement within a band); ``note`` is
    context shown after the figures.
    """

    pair: str
    unit: str
    ours: list[float] = field(default_factory=list)
    anchor: list[float] = field(default_factory=list)
    better: str = "higher"
    target: float | None = None
    status: str = "ok"  # ok, MISSING, ERROR
    reason: str = ""
    upper: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.anchor)

    @property
    def round_ratios(self) -> list[float]:
        return [o / a for o, a in zip(self.ours, self.anchor, strict=False) if a > 0]

    @property
    def met(self) -> bool | None:
        if self.target is None or self.status != "ok":
            return None
        if self.upper is not None:
            return self.target <= self.ratio <= self.upper
        return self.ratio >= self.target if self.better == "higher" else self.ratio <= self.target

    def text(self) -> str:
        if self.status != "ok":
            return f"{self.pair:<50} {self.status}: {self.reason}"
        rr = self.round_ratios
        spread = f"rounds {_ratio(min(rr))}-{_ratio(max(rr))}" if rr else ""
        goal = ""
        if self.target is not None:
            sign = ">=" if self.better == "higher" else "<="
            band = f"{self.target:.2f}-{self.upper:.2f}" if self.upper is not None \
                else f"{sign} {self.target:.2f}"
            goal = f"target {band}: {'MET' if self.met else 'NOT MET'}"
        note = f"; {self.note}" if self.note else ""
        return (f"{self.pair:<50} ours {_num(statistics.median(self.ours)):>9} "
                f"anchor {_num(statistics.median(self.anchor)):>9} {self.unit:<8} "
                f"ratio {_ratio(self.ratio)} ({spread}, n={len(rr)})  {goal}{note}").rstrip()


def _ratio(x: float) -> str:
    return f"{x:.3f}" if x >= 0.1 else f"{x:.3g}"


def _num(x: float) -> str:
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


@dataclass(frozen=True)
class Settings:
    quick: bool
    directory: Path
    threads: int


Group = Callable[[Settings], Iterator[Line]]


# --- the groups ---------------------------------------------------------------

def peak(s: Settings) -> Iterator[Line]:
    from bench.speed import peak as speed

    n, rounds, seconds = (2048, 5, 0.2) if s.quick else (4096, 5, 0.5)
    for precision in ("fp64", "fp32"):
        ours, blas = speed.measure(precision, n, rounds, seconds)
        yield Line(f"peak {precision} vs NumPy BLAS matmul (n={n})", "GFLOP/s", ours, blas,
                   target=0.95)


def stream(s: Settings) -> Iterator[Line]:
    from bench.speed import stream as speed

    label = "STREAM triad vs HPCC StarSTREAM"
    missing = speed.hpcc_missing()
    if missing:
        yield Line(label, "GB/s", status="MISSING", reason=missing)
        return
    hpl_n, rounds = (4000, 3) if s.quick else (10000, 2)
    ours, hpcc, elements = speed.measure(rounds, hpl_n, s.threads)
    yield Line(f"{label} ({elements / 1e6:.1f}M elements)", "GB/s", ours, hpcc, target=0.95)


def storage(s: Settings) -> Iterator[Line]:
    from bench.speed import storage as speed
    from kernels.workdir import WorkDir

    size_mib, rounds = (64, 5) if s.quick else (256, 5)
    label = f"storage easy {{op}} vs fio ({size_mib} MiB, O_DIRECT)"
    if shutil.which("fio") is None:
        for op in ("write", "read"):
            yield Line(label.format(op=op), "MiB/s", status="MISSING",
                       reason="fio is not installed (Debian package fio)")
    else:
        with WorkDir.create(s.directory, kind="anchors") as wd:
            res = speed.measure_fio(wd.path, size_mib * MIB, MIB, rounds)
        for k, op in enumerate(("write", "read")):
            yield Line(label.format(op=op), "MiB/s", [x[k] for x in res["ours"]],
                       [x[k] for x in res["fio_none"]], target=0.9)
    if shutil.which("mpiexec") is None:
        yield Line("MPI-IO shared vs POSIX file per process", "MiB/s", status="MISSING",
                   reason="mpiexec is not on PATH (pip install mpich)")
    else:
        data = speed.measure_mpi(s.directory, 2, size_mib // 2 * MIB, MIB, rounds)
        for k, op in enumerate(("write", "read")):
            yield Line(f"MPI-IO shared {op} vs POSIX fpp (2 ranks)", "MiB/s",
                       [x[k] for x in data["mpiio_shared_indep"]],
                       [x[k] for x in data["posix_fpp"]], target=0.8)
    yield from storage_ior(s)
    yield from metadata_mdtest(s)


def storage_ior(s: Settings) -> Iterator[Line]:
    """Easy bandwidth vs IOR on the same shape (2 ranks, file per process, O_DIRECT, fsync).

    Like against like: both on huge-page buffers (the target) and both on
    4 KiB pages (IOR as it ships; context only, as the request shape then
    follows the page allocator on both sides, see ``kernels.iobuf``).
    """
    from bench.speed import storage as speed

    mib, rounds = (64, 3) if s.quick else (256, 5)
    label = "storage easy {op} vs IOR (2 ranks fpp, {mib} MiB each, {buf})"
    bufs = {"huge": "huge pages", "pages": "4 KiB pages"}
    missing = speed.tool_missing("ior") or ("" if speed.mpiexec() else
                                            "mpiexec is not on PATH (pip install mpich)")
    if missing:
        for buf in bufs.values():
            for op in ("write", "read"):
                yield Line(label.format(op=op, mib=mib, buf=buf), "MiB/s", status="MISSING",
                           reason=missing)
        return
    data = speed.measure_ior(s.directory, 2, mib * MIB, MIB, rounds)
    for buf, words in bufs.items():
        for k, op in enumerate(("write", "read")):
            yield Line(label.format(op=op, mib=mib, buf=words), "MiB/s",
                       [x[k] for x in data[f"ours_{buf}"]], [x[k] for x in data[f"ior_{buf}"]],
                       target=0.8 if buf == "huge" else None,
                       upper=1.25 if buf == "huge" else None,
                       note="" if buf == "huge" else "context: request shape follows the "
                                                     "page allocator on both sides")


def metadata_mdtest(s: Settings) -> Iterator[Line]:
    """Easy metadata phases vs mdtest (2 ranks, empty files, a directory per rank)."""
    from bench.speed import storage as speed

    files, rounds = (2000, 3) if s.quick else (2000, 5)
    label = "metadata easy {op} vs mdtest (2 ranks x {files} files)"
    missing = speed.tool_missing("mdtest") or ("" if speed.mpiexec() else
                                               "mpiexec is not on PATH (pip install mpich)")
    if missing:
        for op in speed.MD_PHASES:
            yield Line(label.format(op=op, files=files), "ops/s", status="MISSING",
                       reason=missing)
        return
    data = speed.measure_mdtest(s.directory, 2, files, rounds)
    for op in speed.MD_PHASES:
        floor = data["floor"][op]
        note = f"Python call floor {_num(statistics.median(floor))} ops/s" if floor else ""
        yield Line(label.format(op=op, files=files), "ops/s", data["ours"][op],
                   data["mdtest"][op], target=0.7, note=note)


def network(s: Settings) -> Iterator[Line]:
    from bench.speed import network as speed

    if shutil.which("mpiexec") is None:
        yield Line("ping-pong vs mpi4py.bench", "us", status="MISSING",
                   reason="mpiexec is not on PATH (pip install mpich)")
        return
    data = speed.measure(5 if s.quick else 9)
    for key, how in (("anchor_written", "written buffers"), ("anchor", "as shipped")):
        for size in sorted(data["ours"]):
            what = f"{size} B" if size < MIB else f"{size // MIB} MiB"
            yield Line(f"ping-pong {what} vs mpi4py.bench ({how})", "us",
                       [t * 1e6 for t in data["ours"][size]],
                       [t * 1e6 for t in data[key][size]], better="lower", target=1.10)


def mxp(s: Settings) -> Iterator[Line]:
    try:
        import kernels.mxp  # noqa: F401
        from bench.speed import mxp as speed
    except ImportError as exc:
        yield Line("MxP fp32 vs NumPy linalg.solve", "GFLOP/s", status="MISSING",
                   reason=f"the MxP solver (issue 3) has not landed: {exc}")
        return
    n, rounds = (2048, 3) if s.quick else (8192, 3)
    nb = 256
    solvers = ("numpy", "mxp", "fp64", "dist")
    rates: dict[str, list[float]] = {k: [] for k in solvers}
    for _ in range(rounds):
        for solver in solvers:
            r = speed.launch(solver, n, nb, 1 if solver == "dist" else s.threads, 2, 1800)
            if not r["passed"]:
                raise RuntimeError(f"{solver} failed the HPL check: backward error "
                                   f"{r['backward_error']:.3g}")
            rates[solver].append(r["gflops"])
    yield Line(f"MxP fp32 vs NumPy linalg.solve (n={n})", "GFLOP/s", rates["mxp"],
               rates["numpy"], target=1.6)
    yield Line(f"FP64 LU variant vs NumPy linalg.solve (n={n})", "GFLOP/s", rates["fp64"],
               rates["numpy"], target=0.8)
    yield Line(f"MxP 2 ranks x 1 thread vs 1 x {s.threads} threads", "GFLOP/s", rates["dist"],
               rates["mxp"], target=0.8)


def projection(s: Settings) -> Iterator[Line]:
    """The projection engine vs the plain per-sample loop that defines its numbers (issue 6).

    Runs ``python -m bench.speed.models`` in a child: it pins itself to one core.
    """
    import json
    import subprocess

    samples, anchor_samples, rounds = (20_000, 200, 3) if s.quick else (100_000, 1000, 3)
    label = f"projection ({samples:,} samples) vs per-sample loop"
    try:
        import models.projection  # noqa: F401
    except ImportError as exc:
        yield Line(label, "s", status="MISSING",
                   reason=f"the capacity models (issue 6) have not landed: {exc}")
        return
    proc = subprocess.run([sys.executable, "-m", "bench.speed.models", "--json", "--samples",
                           str(samples), "--anchor-samples", str(anchor_samples), "--rounds",
                           str(rounds)], capture_output=True, text=True, check=False,
                          timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench.speed.models failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-300:]}")
    data = json.loads(lines[-1])
    yield Line(f"{label} (scaled from {anchor_samples:,})", "s", data["ours_s"],
               data["anchor_scaled_s"], better="lower")


GROUPS: dict[str, Group] = {"peak": peak, "stream": stream, "storage": storage,
                            "network": network, "mxp": mxp, "models": projection}


def run_group(name: str, settings: Settings) -> list[Line]:
    """A group's lines; a failure becomes an ERROR line with the reason, never a silent gap."""
    lines: list[Line] = []
    try:
        lines.extend(GROUPS[name](settings))
    except (Exception, SystemExit) as exc:  # a broken pair must not hide the others
        text = " ".join(str(exc).split())[-300:] or exc.__class__.__name__
        lines.append(Line(f"{name}", "", status="ERROR", reason=text))
    return lines


def header(settings: Settings, started: float, load_start: float) -> list[str]:
    from bench import sysinfo

    m = sysinfo.probe()
    mode = "quick (small sizes)" if settings.quick else "thorough"
    return [
        f"hpcplan anchor scoreboard, {mode} mode, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}",
        f"machine: {m.cpu.model}, {m.cpu.cores} cores, {m.memory_bytes / 2**30:.1f} GiB; "
        f"commit {(sysinfo.git_commit() or 'unknown')[:12]}",
        f"load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end on "
        f"{os.cpu_count()} CPUs (a shared machine makes both sides noisy)",
        "ratio = median ours / median anchor; rounds = spread of the per-round ratios "
        "(ours and the anchor alternate)",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.anchors",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    ap.add_argument("--only", default="", metavar="GROUPS",
                    help=f"comma-separated subset of {', '.join(GROUPS)}")
    ap.add_argument("--output", default=str(DEFAULT_OUTPUT), metavar="FILE",
                    help=f"also write the board here (default {DEFAULT_OUTPUT}; '-' for none)")
    ap.add_argument("--dir", default=tempfile.gettempdir(), metavar="DIR",
                    help="file system for the storage pairs (default: the temporary directory)")
    args = ap.parse_args(argv)
    names = [g for g in args.only.split(",") if g] or list(GROUPS)
    unknown = [g for g in names if g not in GROUPS]
    if unknown:
        ap.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    from bench import sysinfo

    settings = Settings(quick=args.quick, directory=Path(args.dir),
                        threads=max(1, min(sysinfo.usable_cpus(), sysinfo.probe().cpu.cores)))
    started, load_start = time.time(), os.getloadavg()[0]
    lines: list[Line] = []
    for name in names:
        t0 = time.monotonic()
        new = run_group(name, settings)
        lines.extend(new)
        for line in new:
            print(f"  {line.text()}", file=sys.stderr, flush=True)
        print(f"  ({name}: {time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
    board = [*header(settings, started, load_start), *(line.text() for line in lines)]
    board.append(f"\n{len(lines)} lines: {sum(x.met is True for x in lines)} met, "
                 f"{sum(x.met is False for x in lines)} not met, "
                 f"{sum(x.status == 'MISSING' for x in lines)} missing, "
                 f"{sum(x.status == 'ERROR' for x in lines)} errors; "
                 f"{time.time() - started:.0f} s")
    if args.output != "-":
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(board) + "\n")
    print("\n".join(board))
    if args.output != "-":
        print(f"written: {args.output}", file=sys.stderr)
    return 1 if any(x.status == "ERROR" for x in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
