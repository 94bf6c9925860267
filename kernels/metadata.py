"""mdtest-style metadata rates: create, stat, read and remove, timed like mdtest.

Why: capacity planning needs the operations per second a file system's
metadata service really delivers, which bandwidth tests hide. Two shapes, as in
IO500: "easy" (empty files in a directory per rank) and "hard" (3901-byte files
all in one shared directory). Rates are total operations over the window from
the first rank's start to the last rank's end. Every phase is checked off the
clock: sizes from stat, file contents (a pattern of seed, rank and file index)
and an empty directory after remove.

The timed loops are as lean as Python allows, because on a fast metadata
service Python's per-call cost is the floor: names are built before the
window, every call is relative to an open directory (``dir_fd``: no path walk,
no path objects), sizes are checked after the window closes, and file
contents come from a pattern buffer stamped once per 256 files. Reading an
empty file is open and close only, as in mdtest. Each rank also measures a
null system call loop (``os.getppid``) so a record can show that floor beside
the rate.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kernels import pattern
from kernels.comm import or_single
from kernels.errors import UserError
from kernels.storage import Clock, Placement, choose_shift, processor_name, window
from kernels.workdir import guard_space

HARD_FILE_BYTES = 3901
PHASES = ("create", "stat", "read", "remove")
MODES = ("easy", "hard")
_BLOCK = 4096
#: Files whose contents one stamping of the pattern buffer covers (1 MiB / 4 KiB).
_BATCH = 256
#: System calls one operation makes, by phase and whether files hold data.
CALLS_PER_OP = {("create", False): 2, ("create", True): 3, ("stat", False): 1,
                ("stat", True): 1, ("read", False): 2, ("read", True): 3,
                ("remove", False): 1, ("remove", True): 1}


class MetadataFault(Exception):
    """A fault during a metadata phase (ENOSPC, EIO, wrong size or contents): the run failed."""


@dataclass(frozen=True)
class MDConfig:
    """One mdtest-style test; ``file_bytes`` is written at create and read back."""

    mode: str = "easy"
    files_per_rank: int = 1000
    file_bytes: int = 0
    reorder: str | int = "auto"
    verify: bool = True
    seed: int | None = None
    space_fraction: float = 0.5

    @classmethod
    def easy(cls, files_per_rank: int = 1000, **kw: Any) -> MDConfig:
        return cls(mode="easy", files_per_rank=files_per_rank, file_bytes=0, **kw)

    @classmethod
    def hard(cls, files_per_rank: int = 1000, **kw: Any) -> MDConfig:
        return cls(mode="hard", files_per_rank=files_per_rank, file_bytes=HARD_FILE_BYTES, **kw)

    def validate(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"metadata mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.files_per_rank < 1:
            raise UserError(f"files per rank must be at least 1, got {self.files_per_rank}")
        if self.file_bytes < 0:
            raise UserError(f"file size {self.file_bytes} B must not be negative")
        if not 0 < self.space_fraction <= 1:
            raise UserError(f"space fraction {self.space_fraction} must be in (0, 1]")

    def planned_files(self, ranks: int) -> int:
        return ranks * self.files_per_rank + ranks + 1

    def planned_bytes(self, ranks: int) -> int:
        """File data rounded up to 4 KiB blocks, plus a block per directory."""
        per_file = -(-self.file_bytes // _BLOCK) * _BLOCK
        return ranks * self.files_per_rank * per_file + (ranks + 1) * _BLOCK


@dataclass(frozen=True)
class MDPhase:
    """One phase: per-rank start/end (s, common clock) and operations."""

    op: str
    starts_s: tuple[float, ...]
    ends_s: tuple[float, ...]
    ops_per_rank: tuple[int, ...]

    @property
    def window_s(self) -> float:
        return window(self.starts_s, self.ends_s)

    @property
    def total_ops(self) -> int:
        return sum(self.ops_per_rank)

    @property
    def ops_s(self) -> float:
        w = self.window_s
        if w <= 0:
            raise ValueError("the timed window must be positive")
        return self.total_ops / w


@dataclass
class MDResult:
    config: MDConfig
    ranks: int
    placement: Placement
    seed: int
    phases: dict[str, MDPhase] = field(default_factory=dict)
    verified: bool = False
    verify_details: str = ""
    failure: str | None = None
    warnings: list[str] = field(default_factory=list)
    compile_s: float = 0.0
    #: Seconds per null system call through Python (os.getppid), the slowest rank's.
    null_call_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None and (self.verified or not self.config.verify)

    def floor_ops_s(self, op: str) -> float | None:
        """The rate Python's call cost alone allows for ``op`` over all ranks (None: unknown)."""
        if self.null_call_s <= 0:
            return None
        calls = CALLS_PER_OP[(op, self.config.file_bytes > 0)]
        return self.ranks / (self.null_call_s * calls)


def null_call_s(calls: int = 20000, tries: int = 5) -> float:
    """Seconds per ``os.getppid()`` from Python: the cost of any call, best of ``tries``."""
    call = os.getppid
    loop = range(calls)
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        for _ in loop:
            call()
        best = min(best, time.perf_counter() - t)
    return best / calls


class MetadataRun:
    """One metadata test in a fresh run directory, phase by phase."""

    def __init__(self, config: MDConfig, directory: str | os.PathLike[str], comm: Any = None
                 ) -> None:
        config.validate()
        self.cfg = config
        self.comm = or_single(comm)
        self.rank = comm.Get_rank() if comm is not None else 0
        self.size = comm.Get_size() if comm is not None else 1
        seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "little")
        self.seed = self.comm.bcast(seed)
        self.placement = choose_shift(self.comm.allgather(processor_name()), config.reorder)
        self.result = MDResult(config=config, ranks=self.size, placement=self.placement,
                               seed=self.seed, warnings=list(self.placement.warnings))
        base = Path(directory)
        error = ""
        if self.rank == 0:
            try:
                guard_space(base, config.planned_bytes(self.size),
                            config.planned_files(self.size), config.space_fraction)
                self.top = base / f"md-{config.mode}"
                self.top.mkdir()
            except UserError as exc:
                error = str(exc)
            except OSError as exc:
                error = f"cannot create the metadata directory in {str(base)!r}: {exc.strerror}"
        error = self.comm.bcast(error)
        if error:
            raise UserError(error)
        self.top = base / f"md-{config.mode}"
        self.clock = Clock(comm)
        self.rbuf = bytearray(config.file_bytes + 1)
        self.source: pattern.Source | None = None
        self.views: list[memoryview] = []
        if config.file_bytes:
            # Files i0..i0+255 (i0 a multiple of 256) hold the pattern at i * 4 KiB: one
            # stamped 1 MiB slice, plus room for the last file's bytes past 4 KiB.
            pad = -(-config.file_bytes // 8) * 8
            self.source = pattern.Source(_BATCH * _BLOCK + pad, buffer="pages")
            self.source.reset(self.seed, self.rank)
            whole = self.source.view(0)
            self.views = [whole[j * _BLOCK: j * _BLOCK + config.file_bytes]
                          for j in range(_BATCH)]
        t = time.perf_counter()
        pattern.warm_up()
        self.result.compile_s = time.perf_counter() - t
        self.result.null_call_s = max(self.comm.allgather(null_call_s()))
        self.created = 0
        self._names: dict[int, list[str]] = {}


    def dir_of(self, rank: int) -> Path:
        return self.top / f"rank.{rank:06d}" if self.cfg.mode == "easy" else self.top

    def name_of(self, rank: int, i: int) -> str:
        return f"f.{i:08d}" if self.cfg.mode == "easy" else f"f.{rank:06d}.{i:08d}"

    def path_of(self, rank: int, i: int) -> Path:
        return self.dir_of(rank) / self.name_of(rank, i)

    def names(self, rank: int) -> list[str]:
        """Every file name of ``rank`` (built once, before any window opens)."""
        if rank not in self._names:
            self._names[rank] = [self.name_of(rank, i) for i in range(self.cfg.files_per_rank)]
        return self._names[rank]

    def _content(self, rank: int, i: int) -> np.ndarray:
        """The bytes file ``i`` of ``rank`` holds: the pattern at offset i * 4 KiB."""
        buf = np.zeros(max(-(-self.cfg.file_bytes // 8) * 8, 8), dtype=np.uint8)
        pattern.fill(buf, self.seed, rank, i * _BLOCK)
        return buf[: self.cfg.file_bytes]

    def setup(self) -> None:
        """Untimed: the per-rank directories of the easy shape."""
        if self.cfg.mode == "easy":
            self.dir_of(self.rank).mkdir()
        self.comm.Barrier()

    def phase(self, op: str) -> MDPhase:
        """Run one timed phase on every rank; MetadataFault (all ranks) on any fault."""
        if op not in PHASES:
            raise ValueError(f"unknown metadata phase {op}")
        owner = self.rank if op in ("create", "remove") else \
            (self.rank + self.placement.rank_shift) % self.size
        names = self.names(owner)
        directory = self.dir_of(owner)
        loop = getattr(self, f"_{op}")
        self.comm.Barrier()
        start = self.clock()
        done, err, out = 0, "", None
        try:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                done, out = loop(dfd, names)
            finally:
                os.close(dfd)
        except (OSError, MetadataFault) as exc:
            err = _message(exc, op, directory)
        end = self.clock()
        if not err:
            err = self._check(op, owner, out)
        rows = self.comm.allgather((start, end, done, err))
        errors = [f"rank {i}: {r[3]}" for i, r in enumerate(rows) if r[3]]
        if errors:
            raise MetadataFault("; ".join(errors[:4]) + (" ..." if len(errors) > 4 else ""))
        return MDPhase(op, tuple(r[0] for r in rows), tuple(r[1] for r in rows),
                       tuple(r[2] for r in rows))

    def _check(self, op: str, owner: int, out: Any) -> str:
        """After the window: what the loop returned (sizes seen, bytes read) against the plan."""
        size = self.cfg.file_bytes
        if op in ("stat", "read") and out is not None:
            bad = next((i for i, got in enumerate(out) if got != size), -1)
            if bad >= 0 and op == "stat":
                return f"stat of {self.path_of(owner, bad)} shows a size other than {size} bytes"
            if bad >= 0:
                return f"read {out[bad]} bytes from {self.path_of(owner, bad)}, expected {size}"
        return ""

    # -- the timed loops: nothing but the operations themselves ----------------------------
    def _create(self, dfd: int, names: list[str]) -> tuple[int, None]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        open_, close = os.open, os.close
        i = -1
        try:
            if self.source is None:
                for i, name in enumerate(names):  # noqa: B007 (i is read in finally)
                    close(open_(name, flags, 0o644, dir_fd=dfd))
            else:
                size, views, span, write = self.cfg.file_bytes, self.views, self.source.span, \
                    os.write
                for i, name in enumerate(names):
                    j = i % _BATCH
                    if j == 0:
                        span(i * _BLOCK)  # stamp the next 256 files' 4 KiB blocks
                    fd = open_(name, flags, 0o644, dir_fd=dfd)
                    try:
                        written = write(fd, views[j])
                    finally:
                        close(fd)
                    if written != size:
                        raise MetadataFault(f"short write: {written} of {size} bytes to {name}")
        finally:
            self.created = i + 1  # the failing one may exist: teardown tolerates either
        return len(names), None

    def _stat(self, dfd: int, names: list[str]) -> tuple[int, list[int]]:
        stat = os.stat
        return len(names), [stat(name, dir_fd=dfd).st_size for name in names]

    def _read(self, dfd: int, names: list[str]) -> tuple[int, list[int] | None]:
        open_, close, rdonly = os.open, os.close, os.O_RDONLY
        if not self.cfg.file_bytes:  # an empty file: open and close, as mdtest does
            for name in names:
                close(open_(name, rdonly, dir_fd=dfd))
            return len(names), None
        readv, bufs = os.readv, [self.rbuf]
        got = []
        append = got.append
        for name in names:
            fd = open_(name, rdonly, dir_fd=dfd)
            try:
                append(readv(fd, bufs))
            finally:
                close(fd)
        return len(names), got

    def _remove(self, dfd: int, names: list[str]) -> tuple[int, None]:
        unlink = os.unlink
        for name in names:
            unlink(name, dir_fd=dfd)
        self.created = 0
        return len(names), None

    # -- checks off the clock --------------------------------------------------------------
    def verify_contents(self) -> str:
        """Re-read the partner's files and compare every byte; "" when all match."""
        owner = (self.rank + self.placement.rank_shift) % self.size
        size = self.cfg.file_bytes
        msg = ""
        try:
            for i in range(self.cfg.files_per_rank):
                path = self.path_of(owner, i)
                with open(path, "rb", buffering=0) as fh:
                    got = fh.read(size + 1)
                if len(got) != size:
                    msg = f"{path} holds {len(got)} bytes, expected {size}"
                    break
                if size and pattern.first_mismatch(bytearray(got), self.seed, owner,
                                                   i * _BLOCK) >= 0:
                    msg = f"{path} does not hold the pattern written by rank {owner}"
                    break
        except OSError as exc:
            msg = _message(exc, "verify")
        msgs = [m for m in self.comm.allgather(msg) if m]
        return msgs[0] if msgs else ""

    def verify_removed(self) -> str:
        msg = ""
        d = self.dir_of(self.rank)
        mine = [e for e in os.listdir(d) if self.cfg.mode == "easy"
                or e.startswith(f"f.{self.rank:06d}.")]
        if mine:
            msg = f"{len(mine)} files of rank {self.rank} remain in {d} after remove"
        msgs = [m for m in self.comm.allgather(msg) if m]
        return msgs[0] if msgs else ""

    def teardown(self, synchronise: bool = True) -> None:
        """Remove what this rank created (files, then its directory; rank 0 the top)."""
        if synchronise:
            self.comm.Barrier()
        for i in range(self.created):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path_of(self.rank, i))
        self.created = 0
        if self.cfg.mode == "easy":
            with contextlib.suppress(FileNotFoundError, OSError):
                os.rmdir(self.dir_of(self.rank))
        if synchronise:
            self.comm.Barrier()
        if self.rank == 0 and synchronise:
            with contextlib.suppress(FileNotFoundError, OSError):
                os.rmdir(self.top)
        self.views = []
        if self.source is not None:
            self.source.close()
            self.source = None

    def run(self, phases: Sequence[str] = PHASES) -> MDResult:
        """Create, stat, read, remove (in that order); faults end the run as FAILED."""
        r = self.result
        finished = False
        try:
            self.setup()
            for op in PHASES:
                if op not in phases and op != "create" and op != "remove":
                    continue
                try:
                    timing = self.phase(op)
                except MetadataFault as exc:
                    r.failure = str(exc)
                    break
                if op in phases:
                    r.phases[op] = timing
                if op == "create" and self.cfg.verify:
                    problem = self.verify_contents()
                    if problem:
                        r.failure = f"verification failed: {problem}"
                        break
                if op == "remove" and self.cfg.verify:
                    problem = self.verify_removed()
                    if problem:
                        r.failure = f"verification failed: {problem}"
            finished = True
        finally:
            self.teardown(synchronise=finished)
        r.verified = self.cfg.verify and r.failure is None
        if r.verified:
            total = self.size * self.cfg.files_per_rank
            r.verify_details = (f"{total} files: sizes, contents (seed {self.seed}, rank, index) "
                                f"and removal checked off the clock")
        elif not self.cfg.verify:
            r.verify_details = "verification disabled"
        return r


def _message(exc: BaseException, op: str, directory: Path | None = None) -> str:
    if isinstance(exc, OSError):
        name = exc.filename
        if name is not None and directory is not None and not os.path.isabs(str(name)):
            name = directory / str(name)
        where = f" ({name})" if name else ""
        if exc.errno == errno.ENOSPC:
            return f"no space or inodes left during {op}{where}"
        if exc.errno == errno.EIO:
            return f"I/O error (EIO) during {op}{where}"
        return f"{exc.strerror or exc} during {op}{where}"
    return str(exc)


def run_metadata(config: MDConfig, directory: str | os.PathLike[str], comm: Any = None,
                 phases: Sequence[str] = PHASES) -> MDResult:
    """Guard, set up and run one mdtest-style test in ``directory`` (a fresh run directory)."""
    return MetadataRun(config, directory, comm=comm).run(phases)
