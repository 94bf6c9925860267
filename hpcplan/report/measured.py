"""What the stored records say about each machine, as data the report draws and tabulates.

Records from different machines are never mixed: they are grouped by node
type, CPU model and cores per node, and every figure and table is per group.
A cluster's nodes share a group; the hosts seen are listed with it. Only
validated (ok) records give numbers; failed, aborted and unavailable ones are
listed with their reason and never plotted.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.records import PRECISIONS, Record

if TYPE_CHECKING:
    from models.scaling import ScalingFit

#: how the areas are ordered in tables and figures
AREAS = ("compute", "memory", "storage", "metadata", "network", "job")
#: STREAM kernels on the roofline: (flops, bytes) per element (McCalpin's counting)
STREAM_COUNTS = {"scale": (1, 16), "add": (1, 24), "triad": (2, 24)}
BYTES_PER_ELEMENT = {"fp64": 8, "fp32": 4, "fp16": 2, "bf16": 2}
#: units that add up over nodes (throughput), so a per-node figure and ideal scaling make sense
THROUGHPUT_UNITS = frozenset({"GFLOP/s", "GB/s", "MiB/s", "ops/s", "IOPS"})


@dataclass(frozen=True)
class MachineGroup:
    key: str  # a slug, unique among the groups (HTML ids, CSV)
    label: str
    cpu_model: str
    cores: int | None
    node_type: str
    hosts: tuple[str, ...]
    machine: dict[str, Any]  # the newest record's machine description
    records: tuple[Record, ...]  # oldest first


def _name_key(name: str) -> tuple[int, str]:
    area = name.split(".", 1)[0]
    return (AREAS.index(area) if area in AREAS else len(AREAS), name)


def group(records: Sequence[Record]) -> list[MachineGroup]:
    """One group per (node type, CPU model, cores per node), in order of first appearance."""
    buckets: dict[tuple[str, str, int | None], list[Record]] = {}
    for rec in sorted(records, key=lambda r: r.timestamp):
        cores = rec.machine.get("cores")
        key = (rec.node_type, str(rec.machine.get("cpu_model") or "unknown CPU"),
               cores if isinstance(cores, int) else None)
        buckets.setdefault(key, []).append(rec)
    out = []
    used: set[str] = set()
    for (node_type, cpu, cores), recs in buckets.items():
        label = cpu + (f", {cores} cores per node" if cores else "")
        if node_type:
            label += f" (node type {node_type})"
        slug = re.sub(r"[^a-z0-9]+", "-", f"{node_type} {cpu} {cores or ''}".lower()).strip("-")
        slug = slug or "machine"
        base, n = slug, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        hosts = sorted({str(r.machine.get("hostname")) for r in recs if r.machine.get("hostname")}
                       | {h for r in recs for h in _node_list(r)})
        out.append(MachineGroup(slug, label, cpu, cores, node_type, tuple(hosts),
                                dict(recs[-1].machine), tuple(recs)))
    return out


def _node_list(rec: Record) -> list[str]:
    nl = rec.job.get("node_list")
    return [str(nl)] if nl else []


def peak_gflops(rec: Record) -> float | None:
    """The theoretical peak a GFLOP/s record is measured against (all its nodes)."""
    if rec.unit != "GFLOP/s":
        return None
    given = rec.params.get("theoretical_peak_gflops")
    if isinstance(given, int | float) and given > 0:
        return float(given)
    prec = rec.precision
    peaks = rec.machine.get("peak_gflops") or {}
    if prec and isinstance(peaks.get(prec), int | float) and peaks[prec] > 0:
        return float(peaks[prec]) * rec.nodes
    return None


#: a GFLOP/s figure outside this share of its theoretical peak is flagged for checking
PLAUSIBLE_PEAK = (0.50, 1.10)
#: two precisions of one CPU whose measured ratio is off their lane ratio by more than this
#: factor are flagged (FP32 has twice FP64's lanes: 2x expected, 1.6x..2.5x passes)
LANE_RATIO_TOLERANCE = 1.25


def _mib(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.3g} {unit}"
    return f"{n:,.0f} B"


def notes(rec: Record) -> list[str]:
    """What the record itself says about how to read it: variant, file sizes, cache state,
    noise. Failed, aborted and unavailable records give their reason instead."""
    if rec.status != "ok":
        return [str(rec.validation.get("details", ""))[:200]]
    p, out = rec.params, []
    if isinstance(p.get("label"), str):
        out.append(p["label"])  # e.g. the IO500-style score is a variant, not an IO500 result
    if isinstance(p.get("variant"), str) and " " in p["variant"]:
        out.append(p["variant"])
    if isinstance(p.get("block_bytes"), int):
        xfer = p.get("transfer_bytes")
        out.append(f"{_mib(p['block_bytes'])} per rank" + (
            f" in {_mib(xfer)} transfers" if isinstance(xfer, int) else "") + (
            ", O_DIRECT" if p.get("direct") else "") + (", fsync" if p.get("fsync") else ""))
    if isinstance(p.get("files_per_rank"), int):
        size = p.get("file_bytes")
        out.append(f"{p['files_per_rank']:,} files per rank" + (
            f" of {_mib(size)}" if isinstance(size, int) else "") + (
            " (small files)" if isinstance(size, int) and 0 < size < 65536 else ""))
    if p.get("likely_cached"):
        out.append("likely cached (read of data this node just wrote)")
    elif rec.name.endswith(".read") and "drop_cache" in p:
        out.append("page cache drop requested before reading" if p["drop_cache"] else
                   "page cache not dropped before reading")
    for w in p.get("warnings") or ():
        out.append(str(w))
    for n in rec.validation.get("notes") or ():
        out.append(str(n))
    return list(dict.fromkeys(x for x in out if x))


def note(rec: Record) -> str:
    return "; ".join(notes(rec))


def clock_text(rec: Record) -> str:
    """The clock a theoretical peak assumes, and the share at the measured clock if known."""
    p = rec.params
    nominal = p.get("nominal_clock_mhz") or rec.machine.get("base_mhz")
    text = (f"at {float(nominal) / 1000:.2f} GHz nominal clock" if isinstance(nominal, int | float)
            and nominal > 0 else "clock unknown")
    at = p.get("percent_of_peak_at_measured_clock")
    mhz = p.get("measured_clock_mhz")
    if isinstance(at, int | float) and isinstance(mhz, int | float) and mhz > 0:
        text += f"; {at:.1f}% at the measured {mhz / 1000:.2f} GHz"
    return text


def _turbo_explains(rec: Record, hi: float) -> bool:
    """Above the nominal-clock peak but within ``hi`` of the peak at the clock measured
    during the run: turbo, not a wrong formula."""
    at = rec.params.get("percent_of_peak_at_measured_clock")
    return isinstance(at, int | float) and not isinstance(at, bool) and 0 < at <= 100 * hi


def checks(g: MachineGroup) -> dict[tuple[str, int, int], list[str]]:
    """Anomaly flags per (name, nodes, ranks) of the newest ok records: a GFLOP/s figure
    below 50 % or above 110 % of its theoretical peak (unless the clock measured during the
    run explains it: turbo), and two peak precisions of one CPU
    whose measured ratio disagrees with the ratio of their theoretical peaks (lanes)."""
    out: dict[tuple[str, int, int], list[str]] = {}
    newest = [r for r in latest(g.records) if r.status == "ok" and r.value is not None]
    lo, hi = PLAUSIBLE_PEAK
    for rec in newest:
        peak = peak_gflops(rec)
        if not peak:
            continue
        share = float(rec.value) / peak  # type: ignore[arg-type]
        if share < lo:
            why = ("a solve at this size is bound by memory and pivoting: use a larger n before "
                   "calibrating from it" if rec.name.startswith(("compute.mxp.", "compute.hpl.",
                                                                 "compute.solve."))
                   else "a busy or throttled machine, too few threads, or a peak formula too "
                        "high")
            out.setdefault((rec.name, rec.nodes, rec.ranks), []).append(
                f"CHECK: {100 * share:.0f}% of the theoretical peak (below {100 * lo:.0f}%): "
                + why)
        elif share > hi and not _turbo_explains(rec, hi):
            out.setdefault((rec.name, rec.nodes, rec.ranks), []).append(
                f"CHECK: {100 * share:.0f}% of the theoretical peak (above {100 * hi:.0f}%): "
                "the peak formula is too low (FMA units, vector width or clock)")
    peaks = {(r.precision, r.nodes, r.ranks): r for r in newest
             if r.name.startswith("compute.peak.") and peak_gflops(r)}
    for (prec, nodes, ranks), rec in peaks.items():
        for (other, n2, r2), rec2 in peaks.items():
            if (n2, r2) != (nodes, ranks) or PRECISIONS.index(other) <= PRECISIONS.index(prec):
                continue
            measured = float(rec2.value) / float(rec.value)  # type: ignore[arg-type]
            lanes = peak_gflops(rec2) / peak_gflops(rec)  # type: ignore[operator]
            if not 1 / LANE_RATIO_TOLERANCE <= measured / lanes <= LANE_RATIO_TOLERANCE:
                text = (f"CHECK: {other.upper()}/{prec.upper()} measured {measured:.2f}x against "
                        f"{lanes:.2f}x from their lanes: one of the two figures is off")
                for key in ((rec.name, nodes, ranks), (rec2.name, nodes, ranks)):
                    out.setdefault(key, []).append(text)
    return out


def _order(records: Sequence[Record]) -> dict[str, tuple[int, int]]:
    """Area first, then the order the suites ran the benchmarks in (first appearance)."""
    out: dict[str, tuple[int, int]] = {}
    for i, rec in enumerate(sorted(records, key=lambda r: r.timestamp)):
        out.setdefault(rec.name, (_name_key(rec.name)[0], i))
    return out


def latest(records: Sequence[Record]) -> list[Record]:
    """The newest record per (name, nodes, ranks), by area and then the suites' order."""
    newest: dict[tuple[str, int, int], Record] = {}
    for rec in sorted(records, key=lambda r: r.timestamp):
        newest[(rec.name, rec.nodes, rec.ranks)] = rec
    order = _order(records)
    return sorted(newest.values(), key=lambda r: (*order[r.name], r.nodes, r.ranks))


def change(values: Sequence[float]) -> float | None:
    """The newest value against the median of the earlier ones, as a fraction (+0.1 = +10 %)."""
    if len(values) < 2:
        return None
    before = statistics.median(values[:-1])
    return None if before == 0 else values[-1] / before - 1.0


def latest_rows(g: MachineGroup) -> list[dict[str, Any]]:
    """Per benchmark: the newest figure, per node, against the theoretical peak (with the clock
    it assumes), its history, its own notes and any anomaly flag."""
    ok: dict[tuple[str, int, int], list[float]] = {}
    for rec in sorted(g.records, key=lambda r: r.timestamp):
        if rec.status == "ok" and rec.value is not None:
            ok.setdefault((rec.name, rec.nodes, rec.ranks), []).append(float(rec.value))
    flags = checks(g)
    rows = []
    for rec in latest(g.records):
        peak = peak_gflops(rec)
        pct = 100.0 * rec.value / peak if rec.value is not None and peak else None
        per_node = (rec.value / rec.nodes if rec.value is not None and rec.nodes > 1
                    and rec.unit in THROUGHPUT_UNITS else None)
        key = (rec.name, rec.nodes, rec.ranks)
        past = ok.get(key, [])
        rows.append({"benchmark": rec.name, "value": rec.value, "unit": rec.unit,
                     "per_node": per_node, "percent_of_peak": pct, "peak_gflops": peak,
                     "clock": clock_text(rec) if pct is not None else "",
                     "nodes": rec.nodes, "ranks": rec.ranks, "status": rec.status,
                     "check": "; ".join(flags.get(key, [])) if rec.status == "ok" else "",
                     "note": note(rec), "ok_results": len(past),
                     "change_vs_earlier_median": change(past) if rec.status == "ok" else None,
                     "timestamp": rec.timestamp, "run_id": rec.run_id,
                     "job_id": rec.job.get("job_id") or ""})
    return rows


# --- roofline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ceiling:
    precision: str
    gflops: float
    measured: bool  # False: the theoretical peak from the machine probe


@dataclass(frozen=True)
class Point:
    label: str
    intensity: float  # FLOP/byte
    gflops: float
    family: str  # stream | gemm | solve


@dataclass(frozen=True)
class Roofline:
    ceilings: tuple[Ceiling, ...]
    bandwidth_gbs: float | None  # STREAM triad, 10^9 B/s
    points: tuple[Point, ...]

    @property
    def empty(self) -> bool:
        return not self.points and not any(c.measured for c in self.ceilings) \
            and self.bandwidth_gbs is None


def _n(rec: Record) -> int | None:
    n = rec.params.get("n")
    return n if isinstance(n, int) and n > 0 else None


def roofline(g: MachineGroup) -> Roofline:
    """Ceilings and kernels of one node: the newest ok single-node record of each benchmark."""
    ok = {r.name: r for r in sorted(g.records, key=lambda r: r.timestamp)
          if r.status == "ok" and r.nodes == 1 and r.value is not None}
    measured = {p: ok[f"compute.peak.{p}"].value for p in PRECISIONS if f"compute.peak.{p}" in ok}
    points: list[Point] = []
    for kernel, (flops, nbytes) in STREAM_COUNTS.items():
        rec = ok.get(f"memory.stream.{kernel}")
        if rec is not None:
            ai = flops / nbytes
            points.append(Point(f"STREAM {kernel} ({flops} flop/{nbytes} B)", ai,
                                float(rec.value) * ai, "stream"))
    for name, rec in ok.items():
        n, prec = _n(rec), rec.precision
        if rec.unit != "GFLOP/s" or n is None or prec is None:
            continue
        if name.startswith("compute.gemm."):
            # 2 n^3 flops over the compulsory traffic of three n x n operands
            points.append(Point(f"GEMM {prec.upper()} (n={n})",
                                2.0 * n / (3.0 * BYTES_PER_ELEMENT[prec]), float(rec.value),
                                "gemm"))
        elif name.startswith(("compute.mxp.", "compute.hpl.", "compute.solve.")):
            # (2/3 n^3 + 3/2 n^2) flops over the FP64 matrix read once (8 n^2 bytes)
            label = {"compute.hpl.fp64": "LU solve FP64", "compute.solve.numpy":
                     "NumPy solve FP64"}.get(name, f"MxP solve {prec.upper()}")
            points.append(Point(f"{label} (n={n})", (2 / 3 * n + 1.5) / 8.0, float(rec.value),
                                "solve"))
    # theoretical roofs: FP64 (the classic one), and each precision measured or placed
    wanted = {"fp64"} | set(measured) | {ok[n].precision for n in ok
                                         if n.startswith(("compute.gemm.", "compute.mxp."))}
    peaks = g.machine.get("peak_gflops") or {}
    ceilings = [Ceiling(p, float(v), True) for p, v in measured.items()]
    ceilings += [Ceiling(p, float(peaks[p]), False) for p in PRECISIONS
                 if p in wanted and isinstance(peaks.get(p), int | float) and peaks[p] > 0]
    triad = ok.get("memory.stream.triad")
    return Roofline(tuple(ceilings), float(triad.value) if triad else None, tuple(points))


# --- history and scaling ----------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str  # "1 node, 2 ranks"
    timestamps: tuple[str, ...]
    values: tuple[float, ...]
    lows: tuple[float, ...]  # min of each record's samples (the value when there are none)
    highs: tuple[float, ...]


@dataclass(frozen=True)
class History:
    name: str
    unit: str
    direction: str
    series: tuple[Series, ...]

    def change(self) -> float | None:
        """Newest value against the median of the earlier ones of its newest series."""
        return change(max(self.series, key=lambda s: s.timestamps[-1]).values)


def _scale(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def histories(g: MachineGroup) -> list[History]:
    """Per benchmark with ok records, one series per (nodes, ranks), oldest first."""
    by_name: dict[str, dict[tuple[int, int], list[Record]]] = {}
    for rec in sorted(g.records, key=lambda r: r.timestamp):
        if rec.status == "ok" and rec.value is not None:
            by_name.setdefault(rec.name, {}).setdefault((rec.nodes, rec.ranks), []).append(rec)
    out = []
    order = _order(g.records)
    for name in sorted(by_name, key=lambda n: order[n]):
        series = []
        for (nodes, ranks), recs in sorted(by_name[name].items()):
            vals = tuple(float(r.value) for r in recs)  # type: ignore[arg-type]
            series.append(Series(
                f"{_scale(nodes, 'node')}, {_scale(ranks, 'rank')}",
                tuple(r.timestamp for r in recs), vals,
                tuple(min(float(r.stats.get("min", v)), v) for r, v in zip(recs, vals,
                                                                             strict=True)),
                tuple(max(float(r.stats.get("max", v)), v) for r, v in zip(recs, vals,
                                                                             strict=True))))
        first = by_name[name][next(iter(by_name[name]))][0]
        out.append(History(name, first.unit, first.direction, tuple(series)))
    return out


@dataclass(frozen=True)
class Scaling:
    name: str
    unit: str
    direction: str
    nodes: tuple[int, ...]
    values: tuple[float, ...]  # newest ok record at each node count
    study: str = ""  # the scaling study the points come from ('hpcplan plan --nodes')
    fit: ScalingFit | None = None  # the weak-scaling law fitted to every run of the study

    @property
    def ideal(self) -> bool:
        return self.direction == "higher" and self.unit in THROUGHPUT_UNITS


#: Records of a weak-scaled solve (fixed matrix share per node): the scaling law applies.
WEAK_SCALED = ("compute.mxp.", "compute.hpl.")


def newest_study(records: Sequence[Record]) -> str:
    """The study id of the newest record that has one ('' when none does)."""
    tagged = [r for r in records if isinstance(r.job.get("study_id"), str) and r.job["study_id"]]
    return str(max(tagged, key=lambda r: r.timestamp).job["study_id"]) if tagged else ""


def scaling(g: MachineGroup) -> list[Scaling]:
    """Benchmarks measured at two or more node counts: the newest scaling study's records
    when there is one, else the newest ok record per count; a weak-scaled solve gets the
    scaling law fitted to every run of it."""
    from models.scaling import ScalingInputError, fit_scaling

    study = newest_study(g.records)
    pool = [r for r in g.records if r.job.get("study_id") == study] if study else g.records
    newest: dict[str, dict[int, Record]] = {}
    runs: dict[str, list[tuple[float, float]]] = {}
    for rec in sorted(pool, key=lambda r: r.timestamp):
        if rec.status == "ok" and rec.value is not None:
            newest.setdefault(rec.name, {})[rec.nodes] = rec
            runs.setdefault(rec.name, []).append((float(rec.nodes), float(rec.value)))
    out = []
    for name, per in newest.items():
        if len(per) < 2:
            continue
        counts = tuple(sorted(per))
        first = per[counts[0]]
        fit = None
        if name.startswith(WEAK_SCALED) and first.unit == "GFLOP/s":
            try:
                fit = fit_scaling(runs[name])
            except ScalingInputError:
                fit = None
        out.append(Scaling(name, first.unit, first.direction, counts,
                           tuple(float(per[c].value) for c in counts),  # type: ignore[arg-type]
                           study, fit))
    order = _order(g.records)
    return sorted(out, key=lambda s: order[s.name])


# --- runs ---------------------------------------------------------------------------------


def runs(groups: Sequence[MachineGroup]) -> list[dict[str, Any]]:
    """One row per run: when, where, how many ranks and nodes, job, software, outcome."""
    rows: dict[str, dict[str, Any]] = {}
    for g in groups:
        for rec in g.records:
            row = rows.get(rec.run_id)
            if row is None:
                sw = rec.software
                mpi = sw.get("mpi_library") or ""
                row = rows[rec.run_id] = {
                    "run_id": rec.run_id, "started": rec.timestamp, "machine": g.label,
                    "host": str(rec.machine.get("hostname") or ""),
                    "node_list": str(rec.job.get("node_list") or ""),
                    "job_id": str(rec.job.get("job_id") or ""),
                    "job_state": str(rec.job.get("state") or ""),
                    "ranks": rec.ranks, "nodes": rec.nodes, "ok": 0, "not_ok": 0,
                    "commit": str(sw.get("hpcplan_commit") or "")[:12],
                    "software": ", ".join(f"{k} {sw[k]}" for k in
                                          ("python", "numpy", "numba", "llvm", "mpi4py")
                                          if sw.get(k)) + (f", {mpi}" if mpi else ""),
                }
            row["started"] = min(row["started"], rec.timestamp)
            row["ranks"] = max(row["ranks"], rec.ranks)
            row["nodes"] = max(row["nodes"], rec.nodes)
            row["ok" if rec.status == "ok" else "not_ok"] += 1
    return sorted(rows.values(), key=lambda r: r["started"])


def describe_machine(machine: dict[str, Any]) -> str:
    """One line: CPU, sockets, cores, clock, memory, ISA, theoretical peaks per node."""
    parts = [str(machine.get("cpu_model") or "unknown CPU")]
    if machine.get("sockets"):
        parts.append(f"{machine['sockets']} socket(s)")
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("base_mhz"):
        parts.append(f"{float(machine['base_mhz']) / 1000:.2f} GHz base")
    if machine.get("memory_bytes"):
        parts.append(f"{float(machine['memory_bytes']) / 2**30:.0f} GiB memory")
    if machine.get("isa"):
        parts.append("ISA " + " ".join(str(i) for i in machine["isa"]))
    peaks = machine.get("peak_gflops") or {}
    if peaks:
        parts.append("theoretical peak per node " + ", ".join(
            f"{p.upper()} {float(v):,.1f} GFLOP/s" for p, v in peaks.items()
            if isinstance(v, int | float)))
    return "; ".join(parts)
