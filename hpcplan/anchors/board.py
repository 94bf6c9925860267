"""The anchor scoreboard: each kernel beside the tool a user would otherwise run.

    hpcplan anchors [--quick] [--only GROUP,...] [--output FILE] [--dir DIR] [--gate]

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
code lives in the speed scripts beside this module and is reused here; the
command layer (``hpcplan.cmd_anchors``) owns the terminal, so this module returns
lines and hands progress to a callback.

``--quick`` uses small sizes (a few minutes on 2 cores); the default is the
thorough run of the speed scripts' defaults (HPCC alone takes minutes per
round). The board is also written to ``--output`` (default
``results/baselines/anchors-latest.txt``, linked from the README), headed by
the machine it ran on and the MPI launcher (``bench.launcher``: the
``mpiexec`` of the MPI library mpi4py loads).

Floors (``FLOORS``): a few ratios hold on any CPU, whatever its speed, because
both sides of the pair ran on it in the same run: peak FMA vs BLAS matmul,
STREAM vs HPCC, MxP vs NumPy solve. Each floored line shows its floor and the
median of its per-round ratios (ours and the anchor alternate, so a drift of
the machine between rounds moves both). ``--gate`` makes them a gate that
applies on every machine, with or without a committed baseline: a floor that
is not held is re-measured once (its group alone), and the exit status is 1
when it still is not, or when its figure is missing. ``.ci/run`` runs
``--quick --only peak,stream,mxp --gate``.

``python -m hpcplan.anchors.board`` is kept as a shortcut for ``hpcplan anchors``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_OUTPUT = Path("results/baselines/anchors-latest.txt")
MIB = 2**20

#: The CI floors (issue 16): ours / anchor, as the median of the per-round ratios of one run,
#: that must hold on any CPU. The key's first part is the group that measures it. MxP's 1.3 is
#: for the quick size, n=3072: a 2-core AVX-512 Xeon measured 1.43 at n=2048 (rounds
#: 1.27-1.58) and 1.64 at n=8192, a 2-core AVX-512 AMD EPYC 1.8-2.5 per round at n=3072.
FLOORS: dict[str, float] = {
    "peak.fp64": 0.85,     # our FMA kernel vs NumPy's BLAS matmul, same dtype, all cores
    "peak.fp32": 0.85,
    "stream.triad": 0.80,  # vs HPCC StarSTREAM x processes (host bandwidth flips 0.8-1.2x)
    "mxp.fp32": 1.30,      # MxP solve vs NumPy linalg.solve (FP64)
}
#: STREAM rounds at the quick size: host memory bandwidth on a VM flips between rounds, so the
#: floor is checked on the median of this many per-round ratios (one HPCC run each, ~35 s).
STREAM_QUICK_ROUNDS = 5


@dataclass
class Line:
    """One scoreboard line: our figures and the anchor's, round by round (same unit).

    ``better`` is the direction of the unit; ``target`` is the promised ratio
    ours/anchor (at least it when higher is better, at most it for times);
    ``upper`` also bounds it from above (agreement within a band); ``note`` is
    context shown after the figures; ``key`` names the line's entry in
    ``FLOORS`` (higher-is-better ratios only), if it has one.
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
    key: str = ""

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

    @property
    def floor(self) -> float | None:
        return FLOORS.get(self.key)

    @property
    def floor_ratio(self) -> float | None:
        """The median of the per-round ratios: what the floor is checked against."""
        rr = self.round_ratios
        return statistics.median(rr) if self.status == "ok" and rr else None

    @property
    def floor_held(self) -> bool | None:
        """None without a floor; False when the figure is missing or below it."""
        if self.floor is None:
            return None
        return self.floor_ratio is not None and self.floor_ratio >= self.floor

    def floor_text(self) -> str:
        if self.floor is None:
            return ""
        if self.floor_ratio is None:
            return f"floor >= {self.floor:.2f}: NOT CHECKED"
        return (f"floor >= {self.floor:.2f} (median round ratio {_ratio(self.floor_ratio)}): "
                f"{'HELD' if self.floor_held else 'BELOW'}")

    def text(self) -> str:
        if self.status != "ok":
            floor = f"; {self.floor_text()}" if self.floor is not None else ""
            return f"{self.pair:<50} {self.status}: {self.reason}{floor}"
        rr = self.round_ratios
        spread = f"rounds {_ratio(min(rr))}-{_ratio(max(rr))}" if rr else ""
        goal = ""
        if self.target is not None:
            sign = ">=" if self.better == "higher" else "<="
            band = f"{self.target:.2f}-{self.upper:.2f}" if self.upper is not None \
                else f"{sign} {self.target:.2f}"
            goal = f"target {band}: {'MET' if self.met else 'NOT MET'}"
        tail = "; ".join(x for x in (goal, self.floor_text(), self.note) if x)
        return (f"{self.pair:<50} ours {_num(statistics.median(self.ours)):>9} "
                f"anchor {_num(statistics.median(self.anchor)):>9} {self.unit:<8} "
                f"ratio {_ratio(self.ratio)} ({spread}, n={len(rr)})  {tail}").rstrip()


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
    from hpcplan.anchors import peak as speed

    n, rounds, seconds = (2048, 5, 0.2) if s.quick else (4096, 5, 0.5)
    for precision in ("fp64", "fp32"):
        ours, blas = speed.measure(precision, n, rounds, seconds)
        yield Line(f"peak {precision} vs NumPy BLAS matmul (n={n})", "GFLOP/s", ours, blas,
                   target=0.95, key=f"peak.{precision}")


def stream(s: Settings) -> Iterator[Line]:
    from hpcplan.anchors import stream as speed

    label = "STREAM triad vs HPCC StarSTREAM"
    missing = speed.hpcc_missing()
    if missing:
        yield Line(label, "GB/s", status="MISSING", reason=missing, key="stream.triad")
        return
    hpl_n, rounds = (4000, STREAM_QUICK_ROUNDS) if s.quick else (10000, 3)
    ours, hpcc, elements = speed.measure(rounds, hpl_n, s.threads)
    run = speed.hpcc_launcher()
    yield Line(f"{label} ({elements / 1e6:.1f}M elements)", "GB/s", ours, hpcc, target=0.95,
               key="stream.triad", note=f"HPCC under {run.short() if run else '?'}")


def storage(s: Settings) -> Iterator[Line]:
    from bench.launcher import launcher
    from hpcplan.anchors import storage as speed
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
    if launcher().path is None:
        yield Line("MPI-IO shared vs POSIX file per process", "MiB/s", status="MISSING",
                   reason=launcher().describe())
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
    from hpcplan.anchors import storage as speed

    mib, rounds = (64, 3) if s.quick else (256, 5)
    label = "storage easy {op} vs IOR (2 ranks fpp, {mib} MiB each, {buf})"
    bufs = {"huge": "huge pages", "pages": "4 KiB pages"}
    missing = speed.tool_missing("ior") or _no_launcher()
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
    from hpcplan.anchors import storage as speed

    files, rounds = (2000, 3) if s.quick else (2000, 5)
    label = "metadata easy {op} vs mdtest (2 ranks x {files} files)"
    missing = speed.tool_missing("mdtest") or _no_launcher()
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


def _no_launcher() -> str:
    """Why MPI programs cannot be started here ("" when they can)."""
    from bench.launcher import launcher

    return "" if launcher().path is not None else launcher().describe()


def network(s: Settings) -> Iterator[Line]:
    from bench.launcher import launcher
    from hpcplan.anchors import network as speed

    if launcher().path is None:
        yield Line("ping-pong vs mpi4py.bench", "us", status="MISSING",
                   reason=launcher().describe())
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
        from hpcplan.anchors import mxp as speed
    except ImportError as exc:
        yield Line("MxP fp32 vs NumPy linalg.solve", "GFLOP/s", status="MISSING",
                   reason=f"the MxP solver (issue 3) has not landed: {exc}", key="mxp.fp32")
        return
    n, rounds = (3072, 3) if s.quick else (8192, 3)
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
               rates["numpy"], target=1.6, key="mxp.fp32")
    yield Line(f"FP64 LU variant vs NumPy linalg.solve (n={n})", "GFLOP/s", rates["fp64"],
               rates["numpy"], target=0.8)
    yield Line(f"MxP 2 ranks x 1 thread vs 1 x {s.threads} threads", "GFLOP/s", rates["dist"],
               rates["mxp"], target=0.8)


def projection(s: Settings) -> Iterator[Line]:
    """The projection engine vs the plain per-sample loop that defines its numbers (issue 6).

    Runs ``python -m hpcplan.anchors.models`` in a child: it pins itself to one core.
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
    proc = subprocess.run([sys.executable, "-m", "hpcplan.anchors.models", "--json",
                           "--samples", str(samples), "--anchor-samples", str(anchor_samples),
                           "--rounds", str(rounds)], capture_output=True, text=True,
                          check=False, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"hpcplan.anchors.models failed (exit {proc.returncode}): "
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
    from bench.launcher import launcher

    m = sysinfo.probe()
    mode = "quick (small sizes)" if settings.quick else "thorough"
    return [
        f"hpcplan anchor scoreboard, {mode} mode, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}",
        f"machine: {m.cpu.model}, {m.cpu.cores} cores, {m.memory_bytes / 2**30:.1f} GiB; "
        f"commit {(sysinfo.git_commit() or 'unknown')[:12]}",
        f"load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end on "
        f"{os.cpu_count()} CPUs (a shared machine makes both sides noisy)",
        f"MPI runs: {launcher().describe()}",
        "ratio = median ours / median anchor; rounds = spread of the per-round ratios "
        "(ours and the anchor alternate); floor = CI gate on the median of the per-round "
        "ratios, for any CPU",
        "",
    ]


def floor_failures(lines: list[Line], groups: list[str]) -> dict[str, list[str]]:
    """Per group, why its floors are not held (a floor whose line is absent counts too)."""
    out: dict[str, list[str]] = {}
    present = {x.key for x in lines}
    for x in lines:
        if x.floor_held is False:
            out.setdefault(x.key.split(".")[0], []).append(f"{x.pair}: {x.floor_text()}"
                                                           + (f" ({x.reason})" if x.reason
                                                              else ""))
    for key in FLOORS:
        group = key.split(".")[0]
        if group in groups and key not in present:
            why = next((x.reason for x in lines if x.pair == group and x.status == "ERROR"),
                       "no line")
            out.setdefault(group, []).append(f"{key}: floor >= {FLOORS[key]:.2f} not "
                                             f"checked: {why}")
    return out


def apply_gate(lines: list[Line], groups: list[str], settings: Settings,
               log: Callable[[str], None]) -> tuple[list[Line], list[str]]:
    """The floors as a gate: re-run each group that missed one once; the final lines and
    the gate's report (its last line starts "gate: passed" or "gate: FAILED")."""
    report: list[str] = []
    failed = floor_failures(lines, groups)
    for group, whys in failed.items():
        for why in whys:
            report.append(f"gate: {why}; re-running {group} once")
            log(report[-1])
        again = run_group(group, settings)
        for line in again:
            log(f"  {line.text()}")
        first = next(i for i, x in enumerate(lines) if x.key.startswith(group + ".")
                     or x.pair == group)
        lines = [x for x in lines if not (x.key.startswith(group + ".") or x.pair == group)]
        lines[first:first] = [replace(x, note="re-run" + (f"; {x.note}" if x.note else ""))
                              for x in again]
    still = floor_failures(lines, groups)
    checked = [x for x in lines if x.floor is not None]
    if still:
        report.append("gate: FAILED: " + "; ".join(w for ws in still.values() for w in ws))
    elif checked:
        report.append("gate: passed: " + ", ".join(
            f"{x.key} {_ratio(x.floor_ratio or 0.0)} >= {x.floor:.2f}" for x in checked)
            + (f" (after re-running {', '.join(failed)})" if failed else ""))
    else:
        report.append("gate: passed: no floor in the groups run")
    return lines, report


def select_groups(only: str) -> list[str]:
    """The groups named by ``--only`` (all when empty), in the order given."""
    from kernels.errors import UserError

    names = [g.strip() for g in only.split(",") if g.strip()] or list(GROUPS)
    unknown = [g for g in names if g not in GROUPS]
    if unknown:
        raise UserError(f"unknown --only group(s) {', '.join(unknown)}; choose from "
                        f"{', '.join(GROUPS)}")
    return names


def settings_for(quick: bool, directory: Path) -> Settings:
    """Settings with every usable core (affinity and the probe agree) as the thread count."""
    from bench import sysinfo

    return Settings(quick=quick, directory=directory,
                    threads=max(1, min(sysinfo.usable_cpus(), sysinfo.probe().cpu.cores)))


@dataclass
class Board:
    """A finished board: its lines, the text to print and write, and the exit status."""

    lines: list[Line]
    text: list[str]

    @property
    def exit_code(self) -> int:
        """1 when a pair broke or the gate failed, else 0."""
        if any(x.status == "ERROR" for x in self.lines):
            return 1
        return 1 if self.text and self.text[-1].startswith("gate: FAILED") else 0


def run_board(names: list[str], settings: Settings, gate: bool = False,
              log: Callable[[str], None] = lambda _: None) -> Board:
    """Run the groups in order; each line and each group's time go to ``log`` as they come."""
    started, load_start = time.time(), os.getloadavg()[0]
    lines: list[Line] = []
    for name in names:
        t0 = time.monotonic()
        new = run_group(name, settings)
        lines.extend(new)
        for line in new:
            log(f"  {line.text()}")
        log(f"  ({name}: {time.monotonic() - t0:.0f} s)")
    report: list[str] = []
    if gate:
        lines, report = apply_gate(lines, names, settings, log)
    text = [*header(settings, started, load_start), *(line.text() for line in lines)]
    text.append(f"\n{len(lines)} lines: {sum(x.met is True for x in lines)} met, "
                f"{sum(x.met is False for x in lines)} not met, "
                f"{sum(x.status == 'MISSING' for x in lines)} missing, "
                f"{sum(x.status == 'ERROR' for x in lines)} errors; "
                f"{sum(x.floor_held is True for x in lines)} of "
                f"{sum(x.floor is not None for x in lines)} floors held; "
                f"{time.time() - started:.0f} s")
    text.extend(report)
    return Board(lines, text)


def main(argv: list[str] | None = None) -> int:
    """``python -m hpcplan.anchors.board``: the same as ``hpcplan anchors``."""
    from hpcplan.cli import main as cli

    return cli(["anchors", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
