"""IOR-style storage bandwidth: POSIX and MPI-IO, file per process or one shared file.

Why not just call IOR: its users fight invalid output, silent out-of-space,
cached reads and missing cleanup. This kernel keeps IOR's timing rule (bytes
moved / (last close end - first open start) over all ranks, fsync inside the
window) and adds a pattern that is verified off the clock, a space guard, a
read-back rank shift checked against the real rank placement, and a "likely
cached" flag. It streams through one page-aligned transfer buffer per rank, so
memory does not grow with file size; the buffers sit on huge pages by default
so that every O_DIRECT transfer reaches the device as the same request
whatever the page allocator did (``kernels.iobuf`` says why that matters).

POSIX and MPI-IO are two back ends (``BACKENDS``) behind one interface, so
the timing, stonewall, short-transfer and fault rules are written once.

Pure kernel: a config and a directory in, timings and counters out. The
directory must already be a fresh run directory (see ``kernels.workdir``).
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from kernels import memory, pattern
from kernels.comm import or_single
from kernels.errors import UserError
from kernels.iobuf import KINDS as BUFFER_KINDS
from kernels.iobuf import IOBuffer, granted_text
from kernels.workdir import guard_space

MIB = 2**20
#: IO500 ior-hard: 47008-byte transfers interleaved into one shared file.
HARD_TRANSFER_BYTES = 47008
#: O_DIRECT alignment for buffer address, offset and length (the page size).
DIRECT_ALIGN_BYTES = mmap.PAGESIZE
LAYOUTS = ("fpp", "shared")


class StorageFault(Exception):
    """An I/O fault during a run (short write, ENOSPC, EIO, fsync error): the run failed."""


@dataclass(frozen=True)
class PosixOps:
    """The system calls the POSIX back end uses; tests swap in faulty ones."""

    pwrite: Callable[[int, Any, int], int] = os.pwrite
    preadv: Callable[[int, Sequence[Any], int], int] = os.preadv
    fsync: Callable[[int], None] = os.fsync


#: The layer runs use when none is given (a test process may replace it to inject faults).
DEFAULT_OPS = PosixOps()


@dataclass(frozen=True)
class IOConfig:
    """One bandwidth test. Sizes in bytes; ``stonewall_s`` in seconds (None: off).

    ``drop_cache``: before the read phase (untimed) each rank asks the kernel
    to evict the file it will read from its page cache (posix_fadvise
    DONTNEED); only clean pages go, so it is effective after an fsync.

    ``reorder``: "auto" picks a rank shift that makes every rank read data
    written on another node (like IOR -C, but checked); "off" reads own data;
    an integer forces that shift.

    ``buffer``: "huge" puts the transfer buffers on transparent huge pages
    (one scatter-gather entry per O_DIRECT transfer, the same every run);
    "pages" uses 4 KiB pages as IOR's and fio's malloc buffers do.
    """

    api: str = "posix"
    layout: str = "fpp"
    block_bytes: int = 16 * MIB
    transfer_bytes: int = 1 * MIB
    segments: int = 1
    iterations: int = 1
    fsync: bool = True
    direct: bool = False
    collective: bool = False
    stonewall_s: float | None = None
    reorder: str | int = "auto"
    verify: bool = True
    read: bool = True
    drop_cache: bool = True
    seed: int | None = None
    space_fraction: float = 0.5
    hints: tuple[tuple[str, str], ...] = ()
    buffer: str = "huge"

    @classmethod
    def hard(cls, segments: int = 64, **kw: Any) -> IOConfig:
        """The IO500 ior-hard shape: 47008-byte blocks interleaved into one shared file."""
        kw.setdefault("layout", "shared")
        return cls(block_bytes=HARD_TRANSFER_BYTES, transfer_bytes=HARD_TRANSFER_BYTES,
                   segments=segments, **kw)

    def validate(self) -> None:
        """UserError naming the field for any inconsistent setting."""
        if self.api not in APIS:
            raise UserError(f"api {self.api!r} is not one of {', '.join(APIS)}")
        if self.layout not in LAYOUTS:
            raise UserError(f"layout {self.layout!r} is not one of {', '.join(LAYOUTS)}")
        for name in ("block_bytes", "transfer_bytes", "segments", "iterations"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.transfer_bytes % 8:
            raise UserError(f"transfer size {self.transfer_bytes} B is not a multiple of 8 bytes")
        if self.block_bytes % self.transfer_bytes:
            raise UserError(f"block size {self.block_bytes} B is not a multiple of the transfer "
                            f"size {self.transfer_bytes} B")
        if self.direct:
            if self.api != "posix":
                raise UserError("direct I/O (O_DIRECT) is only available with api posix")
            if self.transfer_bytes % DIRECT_ALIGN_BYTES:
                raise UserError(f"transfer size {self.transfer_bytes} B is not a multiple of the "
                                f"{DIRECT_ALIGN_BYTES}-byte alignment that O_DIRECT needs")
        if self.stonewall_s is not None:
            if self.stonewall_s <= 0:
                raise UserError(f"stonewall {self.stonewall_s} s must be positive")
            if self.api == "mpiio" and self.collective:
                raise UserError("stonewall needs independent I/O; it cannot stop collective "
                                "MPI-IO calls (set collective off)")
        if self.collective and self.api != "mpiio":
            raise UserError("collective I/O is only available with api mpiio")
        if isinstance(self.reorder, str) and self.reorder not in ("auto", "off"):
            raise UserError(f"reorder {self.reorder!r} must be 'auto', 'off' or a rank shift")
        if not 0 < self.space_fraction <= 1:
            raise UserError(f"space fraction {self.space_fraction} must be in (0, 1]")
        if self.buffer not in BUFFER_KINDS:
            raise UserError(f"buffer {self.buffer!r} is not one of {', '.join(BUFFER_KINDS)}")

    def planned_bytes(self, ranks: int) -> int:
        """Aggregate size of one iteration (files are removed between iterations)."""
        return ranks * self.block_bytes * self.segments

    def planned_files(self, ranks: int) -> int:
        return ranks if self.layout == "fpp" else 1


def window(starts: Sequence[float], ends: Sequence[float]) -> float:
    """IOR's timed window: last end minus first start over all ranks, in seconds."""
    return max(ends) - min(starts)


def bandwidth_mib_s(total_bytes: int, starts: Sequence[float], ends: Sequence[float]) -> float:
    """Aggregate bandwidth in MiB/s (2**20 bytes) over the IOR window."""
    w = window(starts, ends)
    if w <= 0:
        raise ValueError("the timed window must be positive")
    return total_bytes / MIB / w


@dataclass(frozen=True)
class PhaseTiming:
    """One write or read phase: per-rank start/end (s, common clock), bytes and transfers."""

    op: str
    starts_s: tuple[float, ...]
    ends_s: tuple[float, ...]
    bytes_per_rank: tuple[int, ...]
    transfers_per_rank: tuple[int, ...]
    stonewall_hit: bool = False

    @property
    def window_s(self) -> float:
        return window(self.starts_s, self.ends_s)

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_per_rank)

    @property
    def mib_s(self) -> float:
        return bandwidth_mib_s(self.total_bytes, self.starts_s, self.ends_s)

    @property
    def iops(self) -> float:
        """Transfers (I/O calls) per second over the window."""
        return sum(self.transfers_per_rank) / self.window_s

    @property
    def rank_times_s(self) -> tuple[float, ...]:
        return tuple(e - s for s, e in zip(self.starts_s, self.ends_s, strict=True))


@dataclass(frozen=True)
class Placement:
    """Which node each rank runs on (MPI processor names) and the read-back shift chosen."""

    nodes_of_ranks: tuple[str, ...]
    rank_shift: int
    reads_cross_node: bool
    warnings: tuple[str, ...] = ()

    @property
    def nodes(self) -> int:
        return len(set(self.nodes_of_ranks))


def choose_shift(nodes_of_ranks: Sequence[str], reorder: str | int) -> Placement:
    """Pick the read-back rank shift and check it against the real placement.

    IOR -C assumes block placement and shifts by tasks per node; here the
    shift is tested: it defeats the client cache only if every rank reads
    data written on a different node.
    """
    n = len(nodes_of_ranks)
    names = tuple(nodes_of_ranks)

    def crosses(shift: int) -> bool:
        return shift % n != 0 and all(names[r] != names[(r + shift) % n] for r in range(n))

    if reorder == "off":
        shift = 0
    elif reorder == "auto":
        per_node = names.count(names[0])
        candidates = [per_node, *range(1, n)]
        shift = next((s for s in candidates if crosses(s)), 0)
    else:
        try:
            shift = int(reorder) % n
        except (TypeError, ValueError):
            raise UserError(f"reorder {reorder!r} must be 'auto', 'off' or a rank shift") \
                from None
    cross = crosses(shift)
    warnings: list[str] = []
    if not cross:
        if len(set(names)) == 1:
            warnings.append(f"all {n} ranks run on one node ({names[0]}); read-back cannot "
                            f"defeat the page cache by a rank shift")
        elif reorder == "off":
            warnings.append("reorder is off: every rank reads data written on its own node")
        else:
            bad = [r for r in range(n) if names[r] == names[(r + shift) % n]]
            warnings.append(f"rank shift {shift} makes ranks {bad[:8]} read data written on "
                            f"their own node; read-back may come from the page cache")
    return Placement(names, shift, cross, tuple(warnings))


@dataclass
class BandwidthResult:
    """Everything one test measured; ``failure`` set means the run FAILED (no figure)."""

    config: IOConfig
    ranks: int
    placement: Placement
    seed: int
    writes: list[PhaseTiming] = field(default_factory=list)
    reads: list[PhaseTiming] = field(default_factory=list)
    verified: bool = False
    verify_details: str = ""
    failure: str | None = None
    warnings: list[str] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    likely_cached_read: bool = False
    likely_cached_write: bool = False
    bytes_per_node: int = 0
    node_memory_bytes: int = 0
    compile_s: float = 0.0
    buffer: str = ""  # the transfer buffers every rank got (kernels.iobuf.granted_text)

    @property
    def ok(self) -> bool:
        return self.failure is None and (self.verified or not self.config.verify)


class Clock:
    """A clock common to all ranks: MPI.Wtime shifted by each rank's offset to rank 0."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.offset = 0.0
        if comm is not None and comm.Get_size() > 1:
            comm.Barrier()
            t_root = comm.bcast(time.perf_counter() if comm.Get_rank() == 0 else None, root=0)
            self.offset = time.perf_counter() - t_root

    def __call__(self) -> float:
        return time.perf_counter() - self.offset


def _errno_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "no space left on device"
    if isinstance(exc, OSError) and exc.errno == errno.EIO:
        return "I/O error (EIO)"
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    return str(exc)


def _fault_message(exc: BaseException, what: str, path: Path) -> str:
    return f"{_errno_text(exc)} while {what} {path}"


class BandwidthRun:
    """One test in one directory, split into phases so tests can act between them."""

    def __init__(self, config: IOConfig, directory: str | os.PathLike[str], comm: Any = None,
                 ops: PosixOps | None = None, label: str = "easy") -> None:
        config.validate()
        self.cfg = config
        self.backend = BACKENDS[config.api]
        if comm is None and self.backend.needs_mpi:
            from mpi4py import MPI

            comm = MPI.COMM_SELF
        self.comm = or_single(comm)
        self.ops = ops or DEFAULT_OPS
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.dir = Path(directory) / label
        seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "little")
        self.seed = self.comm.bcast(seed)
        self.placement = choose_shift(self.comm.allgather(processor_name()), config.reorder)
        self.result = BandwidthResult(config=config, ranks=self.size, placement=self.placement,
                                      seed=self.seed, warnings=list(self.placement.warnings))
        self._check_space_and_direct(Path(directory))
        if self.rank == 0:
            self.dir.mkdir(exist_ok=True)
        self.comm.Barrier()
        self.clock = Clock(comm)
        self.source = pattern.Source(config.transfer_bytes, config.buffer)
        self.rbuf = IOBuffer(config.transfer_bytes, config.buffer)
        self.read_buf = self.rbuf.array
        kinds = self.comm.allgather((self.source.kind, self.rbuf.kind))
        got = "huge" if all(k == ("huge", "huge") for k in kinds) else "pages"
        self.result.buffer = granted_text(config.buffer, got)
        if got != config.buffer:
            self.result.warnings.append(
                "huge-page transfer buffers were refused on some rank; 4 KiB pages make "
                "each O_DIRECT transfer's request shape depend on the page allocator")
        t = time.perf_counter()
        pattern.warm_up()
        self.result.compile_s = time.perf_counter() - t
        self._cache_flags()
        self.written = [0] * self.size

    # -- planning -----------------------------------------------------------------------
    def _check_space_and_direct(self, directory: Path) -> None:
        error = ""
        if self.rank == 0:
            try:
                guard_space(directory, self.cfg.planned_bytes(self.size),
                            self.cfg.planned_files(self.size) + 2, self.cfg.space_fraction)
                if self.cfg.direct:
                    _probe_direct(directory)
            except UserError as exc:
                error = str(exc)
        error = self.comm.bcast(error)
        if error:
            raise UserError(error)

    def _cache_flags(self) -> None:
        per_rank = self.cfg.block_bytes * self.cfg.segments
        per_node: dict[str, int] = {}
        for name in self.placement.nodes_of_ranks:
            per_node[name] = per_node.get(name, 0) + per_rank
        r = self.result
        r.bytes_per_node = max(per_node.values())
        r.node_memory_bytes = memory.probe().total_bytes  # all of it: the page cache can grow
        small = r.bytes_per_node < r.node_memory_bytes
        dropped = self.cfg.drop_cache and self.cfg.fsync
        r.likely_cached_read = (not self.cfg.direct and small and not dropped
                                and not self.placement.reads_cross_node)
        r.likely_cached_write = not self.cfg.direct and not self.cfg.fsync
        if r.likely_cached_read and self.cfg.read:
            r.warnings.append(
                f"read results are likely cached: {r.bytes_per_node / MIB:.0f} MiB per node is "
                f"less than the node's {r.node_memory_bytes / MIB:.0f} MiB of memory, O_DIRECT "
                f"is off, the cache is not dropped after an fsync and reads do not cross nodes")

    def path_of(self, writer: int) -> Path:
        return self.dir / (f"data.{writer:06d}" if self.cfg.layout == "fpp" else "data.shared")

    def offsets(self, writer: int) -> Iterator[int]:
        """File offsets of the writer's transfers, in IOR's segment-major order."""
        c = self.cfg
        per_block = c.block_bytes // c.transfer_bytes
        for s in range(c.segments):
            base = s * c.block_bytes if c.layout == "fpp" else (s * self.size + writer) \
                * c.block_bytes
            for t in range(per_block):
                yield base + t * c.transfer_bytes

    def iteration_seed(self, iteration: int) -> int:
        return (self.seed + iteration * 0x9E3779B9) & 0xFFFFFFFFFFFFFFFF

    # -- phases -------------------------------------------------------------------------
    def write_phase(self, iteration: int = 0) -> PhaseTiming:
        """Timed write of this rank's data; raises StorageFault (all ranks) on any fault."""
        seed = self.iteration_seed(iteration)
        path = self.path_of(self.rank)
        self.source.reset(seed, self.rank)  # the 1 MiB body, generated before the window opens
        self.comm.Barrier()
        start = self.clock()
        nbytes, count, hit, err = self._guarded_loop("write", path, self.rank, start)
        end = self.clock()
        return self._gather_phase("write", start, end, nbytes, count, hit, err)

    def read_phase(self, iteration: int = 0) -> PhaseTiming:
        """Timed read of the partner rank's data (rank shift); no checking inside the window."""
        partner = (self.rank + self.placement.rank_shift) % self.size
        path = self.path_of(partner)
        if self.cfg.drop_cache and not self.cfg.direct:
            _drop_cache(path)
        self.comm.Barrier()
        start = self.clock()
        nbytes, count, _, err = self._guarded_loop("read", path, partner, start)
        end = self.clock()
        return self._gather_phase("read", start, end, nbytes, count, False, err)

    def _guarded_loop(self, kind: str, path: Path, owner: int, start: float
                      ) -> tuple[int, int, bool, str]:
        """The transfer loop with every I/O fault turned into an error message for this rank."""
        verb = "writing" if kind == "write" else "reading"
        try:
            nbytes, count, hit = self._transfer_loop(kind, path, owner, start)
            return nbytes, count, hit, ""
        except (OSError, StorageFault) as exc:
            err = _fault_message(exc, verb, path) if isinstance(exc, OSError) else str(exc)
        except Exception as exc:
            text = self.backend.fault(exc, verb, path)
            if text is None:
                raise
            err = text
        return 0, 0, False, err

    def verify_data(self, iteration: int = 0) -> str:
        """Off the clock: re-read the partner's data and compare to the pattern.

        Returns "" when every byte matches, else a message naming file and offset;
        the result is the same on every rank.
        """
        seed = self.iteration_seed(iteration)
        partner = (self.rank + self.placement.rank_shift) % self.size
        path = self.path_of(partner)
        msg = ""
        try:
            msg = self._verify_loop(path, partner, seed)
        except (OSError, StorageFault) as exc:
            msg = _fault_message(exc, "verifying", path) if isinstance(exc, OSError) else str(exc)
        msgs = [m for m in self.comm.allgather(msg) if m]
        return msgs[0] if msgs else ""

    def remove_files(self, synchronise: bool = True) -> None:
        """Remove this test's data files (each rank its own; rank 0 the shared one)."""
        if synchronise:
            self.comm.Barrier()
        if self.cfg.layout == "fpp" or self.rank == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path_of(self.rank))
        if synchronise:
            self.comm.Barrier()

    def close(self) -> None:
        """Release the buffers (the numpy views must go before the mappings)."""
        self.source.close()
        self.read_buf = np.empty(0, dtype=np.uint8)
        self.rbuf.close()

    def run(self) -> BandwidthResult:
        """All iterations: write, read, verify, remove. Faults end the run as FAILED."""
        r = self.result
        verified_all = True
        finished = False
        try:
            for it in range(self.cfg.iterations):
                try:
                    r.writes.append(self.write_phase(it))
                    if self.cfg.read:
                        r.reads.append(self.read_phase(it))
                except StorageFault as exc:
                    r.failure = str(exc)
                    break
                if self.cfg.verify:
                    problem = self.verify_data(it)
                    if problem:
                        r.failure = f"verification failed: {problem}"
                        verified_all = False
                        break
                self.remove_files()
            finished = True
        finally:
            # Abort path (signal): no collectives, each rank removes what it wrote.
            self.remove_files(synchronise=finished)
            self.close()
        r.verified = self.cfg.verify and verified_all and r.failure is None
        if r.verified:
            total = sum(p.total_bytes for p in r.writes) + sum(p.total_bytes for p in r.reads)
            r.verify_details = (f"pattern (seed {self.seed}, rank, offset) verified off the clock "
                                f"over {total} bytes in {len(r.writes)} iteration(s)")
        elif not self.cfg.verify:
            r.verify_details = "verification disabled"
        return r

    # -- loops --------------------------------------------------------------------------
    def _gather_phase(self, op: str, start: float, end: float, nbytes: int, count: int,
                      hit: bool, err: str) -> PhaseTiming:
        rows = self.comm.allgather((start, end, nbytes, count, hit, err))
        errors = [f"rank {i}: {row[5]}" for i, row in enumerate(rows) if row[5]]
        if errors:
            raise StorageFault("; ".join(errors[:4]) + (" ..." if len(errors) > 4 else ""))
        if op == "write":
            self.written = [row[3] for row in rows]
        return PhaseTiming(op, tuple(r[0] for r in rows), tuple(r[1] for r in rows),
                           tuple(r[2] for r in rows), tuple(r[3] for r in rows),
                           any(r[4] for r in rows))

    def _transfer_loop(self, op: str, path: Path, writer: int,
                       start: float) -> tuple[int, int, bool]:
        """Every back end's timed loop: reads stop where the writer stopped, writes at the
        stonewall; a short transfer is a fault; fsync before the window closes."""
        c = self.cfg
        limit = self.written[writer] if op == "read" else None
        stop_at = start + c.stonewall_s if (c.stonewall_s and op == "write") else None
        n = c.transfer_bytes
        nbytes = count = 0
        hit = False
        f = self.backend(self, path, op)
        try:
            transfer = f.write if op == "write" else f.read
            for off in self.offsets(writer):
                if limit is not None and count >= limit:
                    break
                done = transfer(off)
                if done != n:
                    why = f.why_short(off, done) if op == "write" else ""
                    raise StorageFault(f"short {op}: {done} of {n} bytes at offset {off} "
                                       f"of {path}{why}")
                nbytes += n
                count += 1
                if stop_at is not None and self.clock() >= stop_at:
                    hit = True
                    break
            if op == "write" and c.fsync:
                f.sync()
            if not self.result.hints:
                self.result.hints = f.hints()
        finally:
            f.close()
        return nbytes, count, hit

    def _verify_loop(self, path: Path, writer: int, seed: int) -> str:
        n = self.cfg.transfer_bytes
        # Plain system calls whatever wrote the file: faults injected into ops are for timed phases.
        f = PosixBackend(self, path, "read", ops=PosixOps())
        try:
            for i, off in enumerate(self.offsets(writer)):
                if i >= self.written[writer]:
                    break
                done = f.read(off)
                if done != n:
                    return f"short read: {done} of {n} bytes at offset {off} of {path}"
                bad = pattern.first_mismatch(self.read_buf, seed, writer, off)
                if bad >= 0:
                    return (f"byte at offset {off + bad} of {path} does not match the pattern "
                            f"written by rank {writer}")
        finally:
            f.close()
        return ""


# -- back ends ------------------------------------------------------------------------------
class Backend(Protocol):
    """One I/O interface on one file for one phase; the timing loop is BandwidthRun's."""

    #: Whether it needs a real MPI communicator (a single rank then gets COMM_SELF).
    needs_mpi: ClassVar[bool]

    def __init__(self, run: BandwidthRun, path: Path, op: str) -> None: ...

    def write(self, offset: int) -> int:
        """Write the pattern's transfer for file ``offset``; the bytes written."""
        ...

    def read(self, offset: int) -> int:
        """Read one transfer at ``offset`` into the run's read buffer; the bytes read."""
        ...

    def why_short(self, offset: int, done: int) -> str:
        """Why a write at ``offset`` came up short, as ' (reason)'; '' when unknown."""
        ...

    def sync(self) -> None: ...

    def hints(self) -> dict[str, str]:
        """The hints the I/O library applied (recorded with the result), or {}."""
        ...

    def close(self) -> None: ...

    @staticmethod
    def fault(exc: Exception, verb: str, path: Path) -> str | None:
        """The message for this library's own exception type; None for any other."""
        ...


_NO_VIEW = memoryview(b"")


class PosixBackend:
    """open(2), pwrite, preadv, fsync; O_DIRECT works because both buffers are page-aligned."""

    needs_mpi = False

    def __init__(self, run: BandwidthRun, path: Path, op: str, ops: PosixOps | None = None
                 ) -> None:
        flags = (os.O_WRONLY | os.O_CREAT) if op == "write" else os.O_RDONLY
        if run.cfg.direct:
            flags |= os.O_DIRECT
        self.ops = ops or run.ops
        self.path = path
        self.source = run.source
        self.rmv = run.rbuf.view
        self.wmv = _NO_VIEW  # the last transfer written, for why_short
        self.fd = os.open(path, flags, 0o644)

    def write(self, offset: int) -> int:
        self.wmv = self.source.view(offset)
        return self.ops.pwrite(self.fd, self.wmv, offset)

    def read(self, offset: int) -> int:
        return self.ops.preadv(self.fd, [self.rmv], offset)

    def why_short(self, offset: int, done: int) -> str:
        """Write the rest once to learn why a write came up short (ENOSPC, EIO...)."""
        try:
            self.ops.pwrite(self.fd, self.wmv[done:], offset + done)
        except OSError as exc:
            return f" ({_errno_text(exc)})"
        return ""

    def sync(self) -> None:
        try:
            self.ops.fsync(self.fd)
        except OSError as exc:
            raise StorageFault("fsync failed: " + _fault_message(exc, "syncing", self.path)) \
                from None

    def hints(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        self.wmv = _NO_VIEW  # a view left alive would keep the pattern's mapping open
        os.close(self.fd)

    @staticmethod
    def fault(exc: Exception, verb: str, path: Path) -> str | None:
        return None


class MpiioBackend:
    """MPI_File_open on the run's communicator (shared file) or COMM_SELF (file per process),
    with the configured hints; collective or independent reads and writes; MPI_File_sync."""

    needs_mpi = True

    def __init__(self, run: BandwidthRun, path: Path, op: str) -> None:
        from mpi4py import MPI

        c = run.cfg
        fcomm = run.comm if c.layout == "shared" else MPI.COMM_SELF
        amode = (MPI.MODE_WRONLY | MPI.MODE_CREATE) if op == "write" else MPI.MODE_RDONLY
        info = MPI.Info.Create()
        try:
            for k, v in c.hints:
                info.Set(k, v)
            self.fh = MPI.File.Open(fcomm, str(path), amode, info)
        finally:
            info.Free()
        self.byte = MPI.BYTE
        self.status = MPI.Status()
        self.source = run.source
        self.rbuf = run.read_buf
        self._write = self.fh.Write_at_all if c.collective else self.fh.Write_at
        self._read = self.fh.Read_at_all if c.collective else self.fh.Read_at

    def write(self, offset: int) -> int:
        start, end = self.source.span(offset)
        self._write(offset, [self.source.bytes[start:end], self.byte], self.status)
        return int(self.status.Get_count(self.byte))

    def read(self, offset: int) -> int:
        self._read(offset, [self.rbuf, self.byte], self.status)
        return int(self.status.Get_count(self.byte))

    def why_short(self, offset: int, done: int) -> str:
        return ""

    def sync(self) -> None:
        self.fh.Sync()

    def hints(self) -> dict[str, str]:
        info = self.fh.Get_info()
        try:
            return {k: info.Get(k) or "" for k in info.keys()}  # noqa: SIM118
        finally:
            info.Free()

    def close(self) -> None:
        self.fh.Close()

    @staticmethod
    def fault(exc: Exception, verb: str, path: Path) -> str | None:
        from mpi4py import MPI

        if isinstance(exc, MPI.Exception):
            return f"MPI-IO error while {verb} {path}: {exc.Get_error_string()}"
        return None


#: The I/O interfaces by ``IOConfig.api`` name; another (HDF5, say) is one more entry.
BACKENDS: dict[str, type[Backend]] = {"posix": PosixBackend, "mpiio": MpiioBackend}
APIS = tuple(BACKENDS)


def processor_name() -> str:
    try:
        from mpi4py import MPI

        return str(MPI.Get_processor_name())
    except ImportError:  # pragma: no cover - mpi4py is a dependency
        import socket

        return socket.gethostname()


def _drop_cache(path: Path) -> None:
    """Ask the kernel to evict ``path``'s clean pages from this node's page cache."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _probe_direct(directory: Path) -> None:
    """UserError if the file system at ``directory`` refuses O_DIRECT (tmpfs does)."""
    probe = directory / ".direct-probe"
    mm = mmap.mmap(-1, DIRECT_ALIGN_BYTES, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
        try:
            os.pwrite(fd, memoryview(mm)[:DIRECT_ALIGN_BYTES], 0)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise UserError(f"the file system at {str(directory)!r} refuses O_DIRECT; run without "
                            f"direct I/O") from None
        raise UserError(f"cannot test O_DIRECT in {str(directory)!r}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(probe)
        mm.close()


def run_bandwidth(config: IOConfig, directory: str | os.PathLike[str], comm: Any = None,
                  ops: PosixOps | None = None, label: str = "easy") -> BandwidthResult:
    """Plan, guard and run one bandwidth test in ``directory`` (a fresh run directory)."""
    return BandwidthRun(config, directory, comm=comm, ops=ops, label=label).run()
