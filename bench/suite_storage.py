"""Storage benchmarks: IOR-style bandwidth, mdtest-style metadata and an IO500-style score.

Registered for three suites: ``io`` runs the easy and hard bandwidth tests and
both metadata shapes in one run directory and, when all of them ran, adds ``storage.io500.score``,
labelled a variant (no find phase, no 300 s stonewall, our own phase sizes).
Suite ``metadata`` runs the metadata shapes only; suite ``quick`` runs ``io`` on one
node (or says why not on several).

Everything is written under a fresh marked directory inside ``--target``
(default: a new temporary directory, single node only), which is removed on
success, failure and SIGINT/SIGTERM; an interrupted test gives an ``aborted``
record. Parameters (``--param KEY=VALUE``): io_api, io_layout, io_block,
io_transfer, io_segments, io_fsync, io_direct, io_collective, io_stonewall_s,
io_reorder, io_verify, io_drop_cache, io_hints, io_hard, io_hard_segments, io_space_fraction,
io_buffer (huge or pages), md_files, md_easy_files, md_hard_files; sizes take B, KiB, MiB,
GiB suffixes.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.records import Record, summarize
from bench.registry import Calibrates, CICase, CIEnv, CIRun, Param, benchmark
from bench.runner import Context
from kernels.errors import UserError

#: Versions of the kernels behind the records (kernels/storage.py, kernels/metadata.py).
STORAGE_KERNEL_VERSION = "2"  # 2: huge-page transfer buffers by default
METADATA_KERNEL_VERSION = "2"  # 2: dir_fd-relative calls, checks after the window, mdtest read
KERNEL_VERSIONS = {"storage.*": STORAGE_KERNEL_VERSION, "metadata.*": METADATA_KERNEL_VERSION}

MIB = 2**20
GIB = 2**30
#: IO500's phases that enter the score (the find phase is not run here).
IO500_BANDWIDTH = ("storage.easy.write", "storage.easy.read", "storage.hard.write",
                   "storage.hard.read")
IO500_METADATA = ("metadata.easy.create", "metadata.easy.stat", "metadata.easy.remove",
                  "metadata.hard.create", "metadata.hard.read", "metadata.hard.stat",
                  "metadata.hard.remove")
VARIANT_LABEL = "IO500-style variant, not an official IO500 result"
DEVIATIONS = ("no find phase", "write phases are not stonewalled to 300 s",
              "phase sizes chosen by hpcplan parameters")

#: The bandwidth parameters (``--param``) of the io and quick suites.
BANDWIDTH_PARAMS = (
    Param("io_api", "word", "I/O interface", default="posix", choices=("posix", "mpiio")),
    Param("io_layout", "word", "file per process or one shared file (easy test)",
          default="fpp", choices=("fpp", "shared")),
    Param("io_buffer", "word", "transfer buffers on huge pages or 4 KiB pages",
          default="huge", choices=("huge", "pages")),
    Param("io_block", "size", "bytes per rank and segment (easy test)", unit="bytes",
          default="128MiB"),
    Param("io_transfer", "size", "bytes per transfer (easy test)", unit="bytes",
          default="1MiB"),
    Param("io_segments", "int", "segments (easy test)", default=1, minimum=1),
    Param("io_fsync", "bool", "fsync inside the timed window", default=True),
    Param("io_direct", "bool", "O_DIRECT (POSIX only)", default=False),
    Param("io_collective", "bool", "collective MPI-IO calls (mpiio only)", default=False),
    Param("io_stonewall_s", "float", "stop writing after this many seconds (0: never)",
          unit="s", default=0, maximum=86_400),
    Param("io_reorder", "reorder", "rank shift for reads so no rank reads its own writes",
          default="auto"),
    Param("io_verify", "bool", "verify the data read back", default=True),
    Param("io_drop_cache", "bool", "drop the page cache before reading", default=True),
    Param("io_hints", "text", "MPI-IO hints, key=value separated by commas"),
    Param("io_hard", "bool", "run the hard (shared-file, small-transfer) test", default=True),
    Param("io_hard_segments", "int", "segments of the hard test", default=1000, minimum=1),
    Param("io_iterations", "int", "write/read iterations (default: repeats, else 3)",
          minimum=1, maximum=1_000_000),
)
SPACE = Param("io_space_fraction", "float", "share of the free space a test may use",
              default=0.5, minimum=1e-6, maximum=1)
MD_PARAMS = (
    SPACE,
    Param("md_files", "int", "files per rank for both metadata shapes", default=2000,
          minimum=1),
    Param("md_easy_files", "int", "files per rank, easy shape (default: md_files)", minimum=1),
    Param("md_hard_files", "int", "files per rank, hard shape (default: md_files)", minimum=1),
)
IO_PARAMS = BANDWIDTH_PARAMS + MD_PARAMS
#: What a storage run measured or derived, not what it was asked: not compared.
IO_OUTCOMES = ("warnings", "phase_values", "bandwidth_gib_s", "metadata_kiops")
#: CI-tier sizes: through the page cache, no fsync (the kernel's work, not the disk's).
CI_BLOCK, CI_TRANSFER, CI_METADATA_FILES = 16 * 2**20, 2**20, 200


def _ci_storage_easy(env: CIEnv, _case: str) -> CIRun:
    """Write, read back and verify through the page cache.

    No fsync and no cache drop: the timing is the kernel's own work (pattern,
    system calls, verification), not a disk that other jobs on a shared runner
    also use. The device-bound figures belong to ``hpcplan run --suite io``.
    """
    from kernels.storage import IOConfig, run_bandwidth
    from kernels.workdir import WorkDir

    cfg = IOConfig(block_bytes=CI_BLOCK, transfer_bytes=CI_TRANSFER, fsync=False,
                   drop_cache=False)

    def once() -> tuple[dict[str, float], bool, str]:
        with WorkDir.create(env.scratch, kind="ci") as wd:
            r = run_bandwidth(cfg, wd.path)
        if not r.ok:
            return ({"storage.easy.write": 0.0, "storage.easy.read": 0.0}, False,
                    r.failure or r.verify_details)
        return ({"storage.easy.write": r.writes[0].mib_s, "storage.easy.read": r.reads[0].mib_s},
                True, r.verify_details or "data verified")

    return CIRun(once, rounds=20, unit="MiB/s",
                 params={"block_bytes": CI_BLOCK, "transfer_bytes": CI_TRANSFER,
                         "fsync": False, "drop_cache": False, "direct": False, "layout": "fpp",
                         "api": "posix"})


def _ci_metadata_easy(env: CIEnv, _case: str) -> CIRun:
    from kernels.metadata import PHASES, MDConfig, run_metadata
    from kernels.workdir import WorkDir

    cfg = MDConfig.easy(files_per_rank=CI_METADATA_FILES)

    def once() -> tuple[dict[str, float], bool, str]:
        with WorkDir.create(env.scratch, kind="ci") as wd:
            r = run_metadata(cfg, wd.path)
        if not r.ok:
            return ({f"metadata.easy.{p}": 0.0 for p in PHASES}, False,
                    r.failure or r.verify_details)
        return ({f"metadata.easy.{p}": r.phases[p].ops_s for p in PHASES}, True,
                r.verify_details or "contents and removal verified")

    return CIRun(once, rounds=20, unit="ops/s",
                 params={"mode": "easy", "files_per_rank": CI_METADATA_FILES})


_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(value: Any, field: str) -> int:
    """Bytes from an int or a string such as '47008', '1MiB', '64m' (binary multiples)."""
    if isinstance(value, bool):
        raise UserError(f"{field} must be a size in bytes, got {value!r}")
    if isinstance(value, int):
        return value
    m = _SIZE_RE.match(str(value))
    if not m:
        raise UserError(f"{field} {value!r} is not a size such as 1048576, 1MiB or 64m")
    return int(m.group(1)) * _SCALE[m.group(2).lower()]


def parse_hints(value: Any) -> tuple[tuple[str, str], ...]:
    """MPI-IO hints from 'key=value,key=value' (e.g. romio_cb_write=disable,cb_nodes=2)."""
    out = []
    for item in str(value or "").split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise UserError(f"io_hints item {item!r} is not KEY=VALUE")
        out.append((key.strip(), val.strip()))
    return tuple(out)


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UserError(f"{field} {value!r} must be true or false")


def _int(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserError(f"{field} {value!r} must be an integer") from None


def _kernel_comm(ctx: Context) -> Any:
    """mpi4py communicator for the kernels, or None for a single process."""
    return ctx.comm if hasattr(ctx.comm, "Get_rank") else None


def _filesystem(path: Path) -> str:
    """The type of the file system holding ``path`` (longest /proc/self/mounts match)."""
    best, fstype = "", "unknown"
    try:
        with open("/proc/self/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3:
                    mnt = parts[1].replace("\\040", " ")
                    inside = str(path) == mnt or str(path).startswith(mnt.rstrip("/") + "/")
                    if inside and len(mnt) >= len(best):
                        best, fstype = mnt, parts[2]
    except OSError:
        pass
    return fstype


class _Target:
    """The user's target, or a temporary directory this run made (and removes)."""

    def __init__(self, ctx: Context) -> None:
        self.made: Path | None = None
        given = ctx.options.get("target")
        if given:
            self.path = Path(str(given))
            return
        if ctx.nodes > 1:
            raise UserError(f"the storage suites on {ctx.nodes} nodes need --target on a file "
                            f"system every node shares")
        made = tempfile.mkdtemp(prefix="hpcplan-target-") if ctx.is_root else None
        self.made = Path(ctx.comm.bcast(made, root=0))
        self.path = self.made

    def close(self, ctx: Context) -> None:
        if self.made is not None and ctx.is_root:
            with contextlib.suppress(OSError):
                os.rmdir(self.made)  # only if empty: nothing but our own leftovers is removed


def _io_configs(ctx: Context) -> tuple[Any, Any | None]:
    from kernels import storage

    o = ctx.options
    common: dict[str, Any] = {
        "api": str(o.get("io_api", "posix")),
        "fsync": _bool(o.get("io_fsync", True), "io_fsync"),
        "collective": _bool(o.get("io_collective", False), "io_collective"),
        "stonewall_s": float(o["io_stonewall_s"]) if o.get("io_stonewall_s") else None,
        "reorder": o.get("io_reorder", "auto"),
        "verify": _bool(o.get("io_verify", True), "io_verify"),
        "drop_cache": _bool(o.get("io_drop_cache", True), "io_drop_cache"),
        "iterations": _int(o.get("io_iterations", o.get("repeats", 3)), "io_iterations"),
        "space_fraction": float(o.get("io_space_fraction", 0.5)),
        "hints": parse_hints(o.get("io_hints", "")),
        "buffer": str(o.get("io_buffer", "huge")),
    }
    if isinstance(common["reorder"], str) and common["reorder"] not in ("auto", "off"):
        common["reorder"] = _int(common["reorder"], "io_reorder")
    easy = storage.IOConfig(
        layout=str(o.get("io_layout", "fpp")),
        block_bytes=parse_size(o.get("io_block", 128 * MIB), "io_block"),
        transfer_bytes=parse_size(o.get("io_transfer", MIB), "io_transfer"),
        segments=_int(o.get("io_segments", 1), "io_segments"),
        direct=_bool(o.get("io_direct", False), "io_direct"),
        **common,
    )
    hard = None
    if _bool(o.get("io_hard", True), "io_hard"):
        hard = storage.IOConfig.hard(
            segments=_int(o.get("io_hard_segments", 1000), "io_hard_segments"), **common)
    easy.validate()
    if hard is not None:
        hard.validate()
    return easy, hard


def _md_configs(ctx: Context) -> tuple[Any, Any]:
    from kernels import metadata

    o = ctx.options
    files = _int(o.get("md_files", 2000), "md_files")
    easy = metadata.MDConfig.easy(_int(o.get("md_easy_files", files), "md_easy_files"),
                                  space_fraction=float(o.get("io_space_fraction", 0.5)))
    hard = metadata.MDConfig.hard(_int(o.get("md_hard_files", files), "md_hard_files"),
                                  space_fraction=float(o.get("io_space_fraction", 0.5)))
    easy.validate()
    hard.validate()
    return easy, hard


def _per_rank(rates: Sequence[float], times: Sequence[float]) -> dict[str, float]:
    out = {"min": min(rates), "median": statistics.median(rates), "max": max(rates)}
    out.update({f"rank_{i}_s": t for i, t in enumerate(times)})
    return out


def _target_label(ctx: Context, target: Path) -> str:
    """The target as records show it: a temporary one by its parent, so runs stay comparable."""
    if ctx.options.get("target"):
        return str(target)
    return f"temporary directory in {tempfile.gettempdir()}"


def bandwidth_records(ctx: Context, shape: str, result: Any, target: Path) -> list[Record]:
    """storage.<shape>.write and .read from a kernel BandwidthResult (rank 0 only)."""
    c = result.config
    pl = result.placement
    base = {
        "api": c.api, "layout": c.layout, "pattern": shape, "block_bytes": c.block_bytes,
        "transfer_bytes": c.transfer_bytes, "segments": c.segments,
        "iterations": c.iterations, "fsync": c.fsync, "direct": c.direct,
        "collective": c.collective, "stonewall_s": c.stonewall_s, "drop_cache": c.drop_cache,
        "buffer": c.buffer, "buffer_granted": result.buffer,
        "aggregate_bytes": c.planned_bytes(result.ranks), "reorder": c.reorder,
        "rank_shift": pl.rank_shift, "reads_cross_node": pl.reads_cross_node,
        "warnings": list(result.warnings), "target": _target_label(ctx, target),
        "filesystem": _filesystem(target), "statistic": "max",
        "timing": "first open to last close over all ranks, fsync inside",
    }
    if c.api == "mpiio":
        base["mpiio_hints_requested"] = dict(c.hints)
        base["mpiio_hints"] = dict(result.hints)  # in effect: the library may ignore some
    records = []
    for op, phases, cached in (("write", result.writes, result.likely_cached_write),
                               ("read", result.reads, result.likely_cached_read)):
        if op == "read" and not c.read:
            continue
        name = f"storage.{shape}.{op}"
        params = {**base, "likely_cached": cached,
                  "stonewall_hit": any(p.stonewall_hit for p in phases)}
        if not result.ok or not phases:
            details = result.failure or "no phase completed"
            records.append(ctx.record(name, None, "MiB/s", status="failed", params=params,
                                      validation={"passed": False, "details": details},
                                      kernel_version=STORAGE_KERNEL_VERSION,
                                      compile_s=result.compile_s))
            continue
        samples = [p.mib_s for p in phases]
        iops = [p.iops for p in phases]
        per_rank_rates = [statistics.median(
            p.bytes_per_rank[i] / MIB / max(p.rank_times_s[i], 1e-12) for p in phases)
            for i in range(result.ranks)]
        times = [statistics.median(p.rank_times_s[i] for p in phases)
                 for i in range(result.ranks)]
        stats = {**summarize(samples), "iops_min": min(iops), "iops_max": max(iops),
                 "iops_mean": statistics.fmean(iops),
                 "window_s_median": statistics.median(p.window_s for p in phases)}
        records.append(ctx.record(
            name, max(samples), "MiB/s", samples=samples, stats=stats, params=params,
            validation={"passed": True, "details": result.verify_details},
            per_rank=_per_rank(per_rank_rates, times), kernel_version=STORAGE_KERNEL_VERSION,
            compile_s=result.compile_s))
    return records


def metadata_records(ctx: Context, result: Any, target: Path) -> list[Record]:
    """metadata.<mode>.<phase> from a kernel MDResult (rank 0 only)."""
    from kernels.metadata import PHASES

    c = result.config
    pl = result.placement
    params = {"mode": c.mode, "files_per_rank": c.files_per_rank, "file_bytes": c.file_bytes,
              "rank_shift": pl.rank_shift, "reads_cross_node": pl.reads_cross_node,
              "warnings": list(result.warnings), "target": _target_label(ctx, target),
              "filesystem": _filesystem(target), "statistic": "single run",
              "timing": "first start to last end over all ranks"}
    if result.null_call_s > 0:
        params["python_null_call_us"] = result.null_call_s * 1e6
    records = []
    for op in PHASES:
        name = f"metadata.{c.mode}.{op}"
        phase = result.phases.get(op)
        # The rate Python's per-call cost alone allows on these ranks: a rate near it
        # measures the interpreter, not the metadata service.
        params = {**params, "python_floor_ops_s": result.floor_ops_s(op)}
        if not result.ok or phase is None:
            records.append(ctx.record(name, None, "ops/s", status="failed", params=params,
                                      validation={"passed": False,
                                                  "details": result.failure or "not run"},
                                      kernel_version=METADATA_KERNEL_VERSION,
                                      compile_s=result.compile_s))
            continue
        times = [e - s for s, e in zip(phase.starts_s, phase.ends_s, strict=True)]
        rates = [n / max(t, 1e-12) for n, t in zip(phase.ops_per_rank, times, strict=True)]
        records.append(ctx.record(
            name, phase.ops_s, "ops/s", samples=[phase.ops_s], params=params,
            validation={"passed": True, "details": result.verify_details},
            per_rank=_per_rank(rates, times), kernel_version=METADATA_KERNEL_VERSION,
            compile_s=result.compile_s))
    return records


def io500_score(ctx: Context, records: Sequence[Record]) -> Record | None:
    """The IO500-style score when every phase that enters it ran; None otherwise.

    Score = sqrt(geometric mean of bandwidths in GiB/s x geometric mean of
    metadata rates in kIOPS), labelled a variant.
    """
    by_name = {r.name: r for r in records}
    wanted = IO500_BANDWIDTH + IO500_METADATA
    if any(n not in by_name for n in wanted):
        return None
    params: dict[str, Any] = {"variant": True, "label": VARIANT_LABEL,
                              "deviations": list(DEVIATIONS),
                              "bandwidth_phases": list(IO500_BANDWIDTH),
                              "metadata_phases": list(IO500_METADATA)}
    bad = [n for n in wanted if not by_name[n].ok]
    if bad:
        status = "aborted" if any(by_name[n].status == "aborted" for n in bad) else "failed"
        return ctx.record("storage.io500.score", None, "score", status=status, params=params,
                          validation={"passed": False,
                                      "details": f"phases without a result: {', '.join(bad)}"})
    bw = _geomean([by_name[n].value * MIB / GIB for n in IO500_BANDWIDTH])  # type: ignore[operator]
    md = _geomean([by_name[n].value / 1000.0 for n in IO500_METADATA])  # type: ignore[operator]
    params.update({"bandwidth_gib_s": bw, "metadata_kiops": md,
                   "phase_values": {n: by_name[n].value for n in wanted}})
    return ctx.record("storage.io500.score", math.sqrt(bw * md), "score", params=params,
                      validation={"passed": True,
                                  "details": "every phase ran and was verified"})


def _geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def _aborted(ctx: Context, names: Sequence[str], unit: str, reason: str) -> list[Record]:
    return [ctx.record(n, None, unit, status="aborted",
                       validation={"passed": False, "details": reason}) for n in names]


def _preflight(ctx: Context, target: Path, configs: Sequence[Any]) -> None:
    """Refuse before anything is written when the largest test cannot fit the target.

    Tests run one after another and each removes its files, so the largest
    one decides; each test checks again just before it writes.
    """
    from kernels.workdir import check_target, guard_space

    error = ""
    if ctx.is_root:
        try:
            check_target(target)
            biggest = max(configs, key=lambda c: c.planned_bytes(ctx.size))
            guard_space(target, biggest.planned_bytes(ctx.size),
                        max(c.planned_files(ctx.size) for c in configs) + 2,
                        min(c.space_fraction for c in configs))
        except UserError as exc:
            error = str(exc)
    error = ctx.comm.bcast(error, root=0)
    if error:
        raise UserError(error)


def _run_steps(ctx: Context, kind: str,
               steps: Sequence[tuple[Sequence[str], str, Callable[[Path], list[Record]],
                                     tuple[str, ...]]],
               configs: Sequence[Any]) -> list[Record]:
    """Run steps in one marked run directory with signal-safe cleanup.

    A step is (record names it produces, unit, fn(run_dir) -> records, the names it
    creates in the run directory). The marker lists exactly those names, so ``clean``
    removes nothing else from a directory this run left behind. On
    SIGINT/SIGTERM the interrupted step's records are marked aborted, the
    remaining steps are skipped and the directory is removed.
    """
    from kernels.workdir import Aborted, WorkDir, abort_on_signals

    target = _Target(ctx)
    comm = _kernel_comm(ctx)
    out: list[Record] = []
    try:
        _preflight(ctx, target.path, configs)
        with abort_on_signals():
            current: tuple[Sequence[str], str] = ((), "")
            try:
                entries = tuple(dict.fromkeys(e for step in steps for e in step[3]))
                with WorkDir.create(target.path, kind=kind, comm=comm, entries=entries) as wd:
                    for names, unit, fn, _entries in steps:
                        current = (names, unit)
                        out.extend(fn(wd.path))
                    current = ((), "")
            except Aborted as exc:
                ctx.say(f"{exc}: run directory removed")
                if ctx.is_root:
                    reason = f"{exc} during this phase; the run directory was removed"
                    out.extend(_aborted(ctx, current[0], current[1], reason))
    finally:
        target.close(ctx)
    return out if ctx.is_root else []


def _bandwidth_step(ctx: Context, shape: str, cfg: Any
                    ) -> tuple[list[str], str, Callable, tuple[str, ...]]:
    from kernels.storage import run_bandwidth

    def step(run_dir: Path) -> list[Record]:
        ctx.say(f"storage {shape}: {cfg.api} {cfg.layout}, {ctx.size} rank(s) x "
                f"{cfg.block_bytes * cfg.segments / MIB:.1f} MiB in {cfg.transfer_bytes} B "
                f"transfers, {cfg.iterations} iteration(s)")
        result = run_bandwidth(cfg, run_dir, comm=_kernel_comm(ctx), label=shape)
        return bandwidth_records(ctx, shape, result, run_dir.parent) if ctx.is_root else []

    names = [f"storage.{shape}.write"] + ([f"storage.{shape}.read"] if cfg.read else [])
    return names, "MiB/s", step, (shape, ".direct-probe") if cfg.direct else (shape,)


def _metadata_step(ctx: Context, cfg: Any
                   ) -> tuple[list[str], str, Callable, tuple[str, ...]]:
    from kernels.metadata import PHASES, run_metadata

    def step(run_dir: Path) -> list[Record]:
        ctx.say(f"metadata {cfg.mode}: {ctx.size} rank(s) x {cfg.files_per_rank} files of "
                f"{cfg.file_bytes} B")
        result = run_metadata(cfg, run_dir, comm=_kernel_comm(ctx))
        return metadata_records(ctx, result, run_dir.parent) if ctx.is_root else []

    return [f"metadata.{cfg.mode}.{op}" for op in PHASES], "ops/s", step, (f"md-{cfg.mode}",)


@benchmark(suites=("io",), records=("storage.*", "metadata.*"), order=40,
           description="IOR-style easy/hard bandwidth, mdtest-style metadata, IO500-style "
           "score (--target)", kernel_version=KERNEL_VERSIONS, params=IO_PARAMS,
           outcomes=IO_OUTCOMES,
           calibrates={"storage.easy.write": Calibrates("storage_write", "MiB/s")},
           ci=(CICase("storage_easy", _ci_storage_easy),
               CICase("metadata_easy", _ci_metadata_easy)))
def io(ctx: Context) -> list[Record]:
    """Suite ``io``: easy and hard bandwidth, both metadata shapes, and the IO500-style score."""
    easy, hard = _io_configs(ctx)
    md_easy, md_hard = _md_configs(ctx)
    steps = [_bandwidth_step(ctx, "easy", easy)]
    if hard is not None:
        steps.append(_bandwidth_step(ctx, "hard", hard))
    steps += [_metadata_step(ctx, md_easy), _metadata_step(ctx, md_hard)]
    configs = [c for c in (easy, hard, md_easy, md_hard) if c is not None]
    records = _run_steps(ctx, "io", steps, configs)
    if ctx.is_root:
        score = io500_score(ctx, records)
        if score is not None:
            records.append(score)
    return records


@benchmark(suites=("metadata",), records=("metadata.*",), order=41,
           description="mdtest-style create/stat/read/remove, easy and hard (--target)",
           kernel_version=KERNEL_VERSIONS, params=MD_PARAMS, outcomes=IO_OUTCOMES)
def metadata(ctx: Context) -> list[Record]:
    """Suite ``metadata``: mdtest-style easy and hard create, stat, read, remove."""
    md_easy, md_hard = _md_configs(ctx)
    return _run_steps(ctx, "metadata", [_metadata_step(ctx, md_easy),
                                        _metadata_step(ctx, md_hard)], [md_easy, md_hard])


def storage(ctx: Context) -> list[Record]:
    """Bandwidth only (easy and hard), for suites that want no metadata phases."""
    easy, hard = _io_configs(ctx)
    steps = [_bandwidth_step(ctx, "easy", easy)]
    if hard is not None:
        steps.append(_bandwidth_step(ctx, "hard", hard))
    return _run_steps(ctx, "io", steps, [c for c in (easy, hard) if c is not None])



@benchmark(suites=("quick",), records=("storage.*", "metadata.*"), order=42,
           name="storage_quick",
           description="the io suite in a temporary directory (single node) or on --target",
           kernel_version=KERNEL_VERSIONS, params=IO_PARAMS, outcomes=IO_OUTCOMES,
           calibrates={"storage.easy.write": Calibrates("storage_write", "MiB/s")})
def quick(ctx: Context) -> list[Record]:
    """The quick suite's storage step: on several nodes without --target it says why it
    did not run instead of failing the whole suite (a node-local temporary directory
    cannot be shared)."""
    if ctx.nodes > 1 and not ctx.options.get("target"):
        reason = (f"{ctx.nodes} nodes and no --target: the storage step needs a file system "
                  "every node shares")
        return [ctx.unavailable(name, "MiB/s", reason) for name in IO500_BANDWIDTH
                ] if ctx.is_root else []
    return io(ctx)
