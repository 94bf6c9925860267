"""The benchmark runner: warm-up, timed repetitions, statistics, MPI reduction.

One process or many: launched by mpiexec or srun, every rank runs the same
kernel between barriers and rank 0 reduces. Throughput figures aggregate as
the sum over ranks of each repetition's rate; the per-rank spread (min,
median, max of each rank's median) is kept. Without a launcher nothing
imports MPI and the run is a single process. Where the RAPL counters are readable
(``kernels.energy``), the lowest rank on each host meters its node's energy around
the timed repetitions and the record carries it in ``params['energy']``.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import bounds, sysinfo
from bench.records import Record, summarize
from kernels.comm import SingleProcess
from kernels.energy import EnergyMeter, Unavailable

#: Environment variables that launchers (Hydra, Open MPI, Slurm's PMI2/PMIx) set.
LAUNCHER_ENV = ("PMI_SIZE", "PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE")


def launched_by_mpi(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return any(k in env for k in LAUNCHER_ENV)


#: The single-process communicator (rank 0 of 1), shared with the kernels.
LocalComm = SingleProcess


#: Seconds MPI's start-up may take before a rank gives up (``$HPCPLAN_MPI_INIT_TIMEOUT``;
#: 0: wait for ever). A broken PMI exchange otherwise hangs every rank until the job's time
#: limit: seen with MPICH 5.0's PMI-1 client under Slurm's pmi2 plugin, whose server
#: rejected an over-long allgather segment ("value not properly terminated in client
#: request") once in some tens of starts. Failing fast lets the caller launch again.
MPI_INIT_TIMEOUT_S = 300.0
MPI_INIT_ENV = "HPCPLAN_MPI_INIT_TIMEOUT"


def mpi_init_timeout(env: Mapping[str, str] | None = None) -> float:
    """The start-up limit in seconds; a value that is not a number counts as the default."""
    raw = (os.environ if env is None else env).get(MPI_INIT_ENV, "")
    try:
        value = float(raw) if raw.strip() else MPI_INIT_TIMEOUT_S
    except ValueError:
        return MPI_INIT_TIMEOUT_S
    return value if value >= 0 and math.isfinite(value) else MPI_INIT_TIMEOUT_S


def world() -> Any:
    """COMM_WORLD under a launcher, else a LocalComm.

    MPI starts when mpi4py is imported, inside C code that holds the interpreter, so the
    watchdog is faulthandler's own thread: past the limit it prints where the rank hung
    and ends the process (exit status 1), and the launcher ends the others.
    """
    if not launched_by_mpi():
        return LocalComm()
    import faulthandler

    limit = mpi_init_timeout()
    if limit > 0:
        faulthandler.dump_traceback_later(limit, exit=True)
    try:
        from mpi4py import MPI
    finally:
        if limit > 0:
            faulthandler.cancel_dump_traceback_later()
    return MPI.COMM_WORLD


@dataclass
class Context:
    """What every benchmark of one run shares; ``record`` fills the common fields."""

    machine: sysinfo.Machine
    software: dict[str, Any]
    comm: Any = field(default_factory=LocalComm)
    node_type: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda _msg: None
    nodes: int = 1
    ranks_on_node: int = 1
    hosts: tuple[str, ...] = ()
    job: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    meter: EnergyMeter | Unavailable | None = None  # opened on first use

    @property
    def rank(self) -> int:
        return int(self.comm.rank)

    @property
    def size(self) -> int:
        return int(self.comm.size)

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def threads(self) -> int:
        """Threads this rank should use: its CPUs, shared with ranks on the same node."""
        cpus = sysinfo.usable_cpus()
        if cpus >= self.machine.cpu.threads and self.ranks_on_node > 1:
            cpus //= self.ranks_on_node
        return max(1, min(cpus, self.machine.cpu.cores))

    def energy_meter(self) -> EnergyMeter | Unavailable | None:
        """This node's energy meter on the lowest rank of its host; None on the others,
        so a node's counters are read once. Without known hosts every rank reads."""
        if self.rank < len(self.hosts) and self.hosts.index(self.hosts[self.rank]) != self.rank:
            return None
        if self.meter is None:
            self.meter = EnergyMeter.open()
        return self.meter

    def say(self, message: str) -> None:
        if self.is_root:
            self.progress(message)

    def record(self, name: str, value: float | None, unit: str, **fields: Any) -> Record:
        fields.setdefault("ranks", self.size)
        fields.setdefault("nodes", self.nodes)
        return Record(name=name, value=value, unit=unit, machine=self.machine.to_dict(),
                      software=self.software, node_type=self.node_type, job=dict(self.job),
                      run_id=self.run_id, **fields)

    def unavailable(self, name: str, unit: str, reason: str, **params: Any) -> Record:
        """A record saying why this measurement cannot run here; never a number."""
        return self.record(name, None, unit, status="unavailable", params=params,
                           validation={"passed": False, "details": reason})


def make_context(comm: Any = None, *, fma_units: int = sysinfo.DEFAULT_FMA_UNITS,
                 node_type: str = "", options: dict[str, Any] | None = None,
                 progress: Callable[[str], None] | None = None, run_id: str = "") -> Context:
    """Probe once per node and agree on the run's identity across ranks."""
    import uuid

    comm = world() if comm is None else comm
    machine = sysinfo.probe(fma_units=fma_units)
    # Slurm's node name tells nodes apart even when they share a host (test clusters).
    hosts = comm.allgather(os.environ.get("SLURMD_NODENAME") or machine.hostname)
    here = hosts[comm.rank]
    software = sysinfo.software_versions(with_mpi=not isinstance(comm, LocalComm))
    run_id = comm.bcast(run_id or uuid.uuid4().hex[:12])
    return Context(
        machine=machine, software=software, comm=comm, node_type=node_type,
        options=dict(options or {}), progress=progress or (lambda _m: None),
        nodes=len(set(hosts)), ranks_on_node=hosts.count(here),
        hosts=tuple(hosts), job=sysinfo.slurm_environment(), run_id=run_id,
    )


@dataclass(frozen=True)
class Measurement:
    """Reduced result of timed repetitions (meaningful on rank 0)."""

    samples: tuple[float, ...]  # aggregate rate per repetition
    per_rank: dict[str, float]  # min/median/max over ranks of each rank's median rate
    compile_s: float
    passed: bool
    details: tuple[str, ...]
    #: Summed over nodes around all repetitions: joules, seconds, watts, zones; or
    #: {"unavailable": reason}. None when nothing was metered (built by hand).
    energy: dict[str, Any] | None = None

    def best(self) -> float:
        return max(self.samples)

    def median(self) -> float:
        return statistics.median(self.samples)


def compile_time(ctx: Context, warmup: Callable[[], Any]) -> float:
    """Run the warm-up (JIT compile or cache load) on every rank; the slowest rank's seconds."""
    t0 = time.perf_counter()
    warmup()
    spent = time.perf_counter() - t0
    return max(ctx.comm.allgather(spent))


def repeat(ctx: Context, once: Callable[[], tuple[float, bool, str]], repeats: int,
           *, aggregate: str = "sum", compile_s: float = 0.0) -> Measurement:
    """Time ``once`` ``repeats`` times between barriers on every rank.

    ``once`` returns (rate in the record's unit, validation passed, detail).
    ``aggregate`` is how ranks combine per repetition: ``sum`` for throughput,
    ``max`` for times and latencies where the slowest rank decides.
    """
    rates: list[float] = []
    passed = True
    details: list[str] = []
    meter = ctx.energy_meter()
    with contextlib.ExitStack() as stack:
        window = stack.enter_context(meter.measure()) if isinstance(meter, EnergyMeter) else None
        for _ in range(repeats):
            ctx.comm.Barrier()
            rate, ok, detail = once()
            if window is not None:
                window.update()  # each repetition, so no counter wraps twice unseen
            rates.append(rate)
            if not ok:
                passed = False
                details.append(detail)
    if window is not None:
        energy = ({"unavailable": window.error} if window.error else
                  {"joules": window.joules, "seconds": window.seconds, "zones": list(window.zones)})
    else:
        energy = {"unavailable": meter.reason} if isinstance(meter, Unavailable) else None
    gathered = ctx.comm.gather((rates, passed, details, energy), root=0)
    if not ctx.is_root:
        return Measurement((), {}, compile_s, passed, ())
    combine = {"sum": sum, "max": max, "min": min}[aggregate]
    samples = tuple(combine(g[0][i] for g in gathered) for i in range(repeats))
    medians = [statistics.median(g[0]) for g in gathered]
    per_rank = {"min": min(medians), "median": statistics.median(medians), "max": max(medians)}
    all_ok = all(g[1] for g in gathered)
    all_details = tuple(f"rank {r}: {d}" for r, g in enumerate(gathered) for d in g[2])
    return Measurement(samples, per_rank, compile_s, all_ok, all_details,
                       _node_energy(ctx, [g[3] for g in gathered]))


def _node_energy(ctx: Context, readings: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Sum the reading ranks' energy (None: a rank that left it to another on its node)."""
    readers = [(ctx.hosts[r] if r < len(ctx.hosts) else str(r), e)
               for r, e in enumerate(readings) if e is not None]
    for host, e in readers:
        if "unavailable" in e:
            where = f" (on {host})" if len(readers) > 1 else ""
            return {"unavailable": f"{e['unavailable']}{where}"}
    joules = sum(e["joules"] for _, e in readers)
    seconds = max((e["seconds"] for _, e in readers), default=0.0)
    zones = [z if len(readers) == 1 else f"{host}:{z}" for host, e in readers for z in e["zones"]]
    return {"joules": round(joules, 6), "seconds": round(seconds, 6),
            "watts": round(joules / seconds, 3) if seconds > 0 else 0.0, "zones": zones}


def _energy_params(energy: dict[str, Any], unit: str, samples: Sequence[float]) -> dict[str, Any]:
    """The energy block of a record; GFLOP/s per W from the rate over the whole window.

    Every repetition does the same work, so the harmonic mean of the rates is the
    window's work over its time, and that over the average power is work per joule.
    """
    out = dict(energy)
    if (unit == "GFLOP/s" and out.get("watts") and samples
            and all(s > 0 for s in samples)):
        out["gflops_per_w"] = round(statistics.harmonic_mean(samples) / out["watts"], 6)
    return out


def to_record(ctx: Context, name: str, unit: str, m: Measurement, *, statistic: str = "max",
              params: Mapping[str, Any] | None = None, validation: Mapping[str, Any] | None = None,
              kernel_version: str = "1", direction: str = "higher") -> Record:
    """The record of a measurement: a failed validation carries no value."""
    chosen = {"max": max, "min": min, "median": statistics.median}[statistic](m.samples)
    check = {"passed": m.passed, "details": "; ".join(m.details) or "all checks passed",
             **(validation or {})}
    check["passed"] = bool(check["passed"]) and m.passed
    extra: dict[str, Any] = {"statistic": statistic}
    if m.energy is not None:
        extra["energy"] = _energy_params(m.energy, unit, m.samples if check["passed"] else ())
    return ctx.record(
        name, chosen if check["passed"] else None, unit,
        status="ok" if check["passed"] else "failed", direction=direction,
        samples=m.samples if check["passed"] else (),
        stats=summarize(m.samples) if check["passed"] else {},
        params={**(params or {}), **extra}, validation=check,
        kernel_version=kernel_version, compile_s=m.compile_s, per_rank=m.per_rank,
    )


@contextlib.contextmanager
def deferred_signals(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                     ) -> Iterator[list[int]]:
    """Note SIGINT/SIGTERM instead of dying, so the records measured so far are written.

    Kernels that must clean up at once (storage) install their own raising handler
    inside this one; when they return, a repeated signal (Slurm sends SIGTERM more
    than once at a time limit) lands here and is only noted.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum))
                for s in signums}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_benchmarks(ctx: Context, benchmarks: Sequence[Callable[[Context], list[Record]]],
                   received: list[int] | None = None) -> list[Record]:
    """Run each benchmark in order on every rank; rank 0 returns all records.

    Stops at the first benchmark boundary after a termination signal (``received``,
    from ``deferred_signals``) or after a benchmark reports itself aborted.
    """
    out: list[Record] = []
    received = [] if received is None else received
    for bench in benchmarks:
        if received:
            ctx.say(f"stopping: {signal.Signals(received[0]).name} received")
            break
        recs = [bounds.checked(rec) for rec in bench(ctx)]
        out.extend(recs)
        if any(r.status == "aborted" for r in recs):
            break
    return out if ctx.is_root else []
