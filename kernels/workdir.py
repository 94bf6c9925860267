"""Safe scratch space for storage benchmarks inside a directory the user names.

Why this module exists: IOR users lose data and disks to benchmarks that write
into the wrong place, fill the file system silently, or leave millions of files
behind after a time limit. Here every run writes under a new, uniquely named
directory that carries a marker file; space and inodes are checked (statvfs)
before the first byte is written; the directory is removed on success, failure,
SIGINT and SIGTERM (what Slurm sends at the time limit); and ``clean`` removes
leftovers of killed runs, touching only directories that carry the marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from kernels.errors import UserError

PREFIX = "hpcplan-run-"
MARKER_NAME = ".hpcplan-run"
MAGIC = "hpcplan-workdir-v1"
DEFAULT_SPACE_FRACTION = 0.5


class Aborted(BaseException):
    """A termination signal arrived; unwinds like KeyboardInterrupt so cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"aborted by {signal.Signals(signum).name}")
        self.signum = signum


class InsufficientSpace(UserError):
    """The planned run does not fit the safety fraction of free space or inodes."""


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def check_target(target: str | os.PathLike[str]) -> Path:
    """The target as an absolute path, or a UserError saying why it cannot hold a run."""
    path = Path(target).expanduser()
    if not path.exists():
        raise UserError(f"target directory {str(path)!r} does not exist")
    if not path.is_dir():
        raise UserError(f"target {str(path)!r} is not a directory")
    try:
        vfs = os.statvfs(path)
    except OSError as exc:
        raise UserError(f"target {str(path)!r} cannot be inspected: {exc.strerror}") from None
    if vfs.f_flag & os.ST_RDONLY:
        raise UserError(f"target {str(path)!r} is on a read-only file system")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"target directory {str(path)!r} is not writable by this user")
    return path.resolve()


@dataclass(frozen=True)
class Space:
    """What statvfs says is free for an unprivileged writer."""

    free_bytes: int
    total_bytes: int
    free_inodes: int
    total_inodes: int


def space(path: str | os.PathLike[str]) -> Space:
    vfs = os.statvfs(path)
    return Space(
        free_bytes=vfs.f_bavail * vfs.f_frsize,
        total_bytes=vfs.f_blocks * vfs.f_frsize,
        free_inodes=vfs.f_favail,
        total_inodes=vfs.f_files,
    )


def guard_space(path: str | os.PathLike[str], planned_bytes: int, planned_files: int,
                fraction: float = DEFAULT_SPACE_FRACTION) -> Space:
    """Refuse (InsufficientSpace) a run that would use more than ``fraction`` of free space/inodes.

    File systems that report no size (``f_blocks == 0``, e.g. ramfs) or no inode count
    (``f_files == 0``) are not checked for that quantity.
    """
    if not 0 < fraction <= 1:
        raise UserError(f"space fraction {fraction} must be in (0, 1]")
    s = space(path)
    allowed = fraction * s.free_bytes
    if s.total_bytes > 0 and planned_bytes > allowed:
        raise InsufficientSpace(
            f"target {str(path)!r} has {_mib(s.free_bytes)} free and the run plans "
            f"{_mib(planned_bytes)}, more than the safety fraction {fraction:g} of free space; "
            f"reduce block size or segments, or raise the space fraction")
    if s.total_inodes > 0 and planned_files > fraction * s.free_inodes:
        raise InsufficientSpace(
            f"target {str(path)!r} has {s.free_inodes} free inodes and the run plans "
            f"{planned_files} files, more than the safety fraction {fraction:g}; "
            f"create fewer files or raise the space fraction")
    return s


def _read_marker(path: Path) -> dict[str, Any] | None:
    """The marker's contents if ``path`` is a directory that hpcplan created, else None."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return None
        marker = path / MARKER_NAME
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return None
        with open(marker, encoding="utf-8") as fh:
            data = json.loads(fh.read(4096))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("magic") != MAGIC:
        return None
    return data


def _remove_tree(path: Path) -> None:
    """Remove a marked directory's contents, the marker last, then the directory.

    The marker goes last so an interrupted removal still leaves a directory
    that ``clean`` recognises. Symbolic links are unlinked, never followed.
    """
    stack: list[tuple[Path, bool]] = [(path, False)]
    while stack:
        d, visited = stack.pop()
        if visited:
            if d != path:
                os.rmdir(d)
            continue
        stack.append((d, True))
        with os.scandir(d) as it:
            for entry in it:
                if d == path and entry.name == MARKER_NAME:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), False))
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path / MARKER_NAME)
    os.rmdir(path)


@dataclass
class WorkDir:
    """A new uniquely named directory with hpcplan's marker, removed by ``cleanup``.

    ``comm`` (an mpi4py communicator or None): rank 0 creates and removes the
    directory; every rank learns its path.
    """

    target: Path
    path: Path
    identity: tuple[int, int]
    is_root: bool = True
    removed: bool = False
    comm: Any = None

    @classmethod
    def create(cls, target: str | os.PathLike[str], kind: str = "io", comm: Any = None) -> WorkDir:
        rank = comm.Get_rank() if comm is not None else 0
        result: tuple[str, str] = ("", "")
        if rank == 0:
            try:
                root = check_target(target)
                result = (str(_make_dir(root, kind)), "")
            except UserError as exc:
                result = ("", str(exc))
        if comm is not None:
            result = comm.bcast(result, root=0)
        made, error = result
        if error:
            raise UserError(error)
        path = Path(made)
        st = os.lstat(path)
        return cls(target=path.parent, path=path, identity=(st.st_dev, st.st_ino),
                   is_root=rank == 0, comm=comm)

    def cleanup(self, synchronise: bool = True) -> None:
        """Remove the directory if it is still the one created (same device and inode).

        ``synchronise`` waits for every rank first; the abort path passes False
        so a rank that is already gone cannot hang the others.
        """
        if synchronise and self.comm is not None:
            self.comm.Barrier()
        if self.removed or not self.is_root:
            self.removed = True
            return
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            self.removed = True
            return
        if (st.st_dev, st.st_ino) != self.identity or _read_marker(self.path) is None:
            raise UserError(f"run directory {str(self.path)!r} was replaced during the run; "
                            f"it was left untouched")
        _remove_tree(self.path)
        self.removed = True

    def __enter__(self) -> WorkDir:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.cleanup(synchronise=exc_type is None)


def _make_dir(root: Path, kind: str) -> Path:
    host = socket.gethostname().split(".")[0] or "host"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for _ in range(100):
        name = f"{PREFIX}{kind}-{stamp}-{host}-{os.getpid()}-{secrets.token_hex(4)}"
        path = root / name
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            continue
        except PermissionError:
            raise UserError(f"target directory {str(root)!r} is not writable by this user") \
                from None
        except OSError as exc:
            raise UserError(f"cannot create a run directory in {str(root)!r}: {exc.strerror}") \
                from None
        marker = {"magic": MAGIC, "host": socket.gethostname(), "pid": os.getpid(),
                  "created_utc": stamp, "kind": kind}
        try:
            fd = os.open(path / MARKER_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(marker))
        except OSError as exc:
            os.rmdir(path)
            raise UserError(f"cannot write the marker file in {str(root)!r}: {exc.strerror}") \
                from None
        return path
    raise UserError(f"cannot find a free run directory name in {str(root)!r}")


@dataclass
class CleanReport:
    """What ``clean`` did: removed run directories and (path, reason) for ones left alone."""

    removed: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean(target: str | os.PathLike[str], force: bool = False, dry_run: bool = False
          ) -> CleanReport:
    """Remove leftovers of killed runs directly inside ``target``.

    Only directories named ``hpcplan-run-*`` that carry a valid marker are
    removed; a run still alive on this host is skipped unless ``force``.
    """
    path = Path(target).expanduser()
    if not path.exists():
        raise UserError(f"target directory {str(path)!r} does not exist")
    if not path.is_dir():
        raise UserError(f"target {str(path)!r} is not a directory")
    report = CleanReport()
    host = socket.gethostname()
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if not entry.name.startswith(PREFIX):
            continue
        p = Path(entry.path)
        marker = _read_marker(p)
        if marker is None:
            report.skipped.append((p, "no hpcplan marker file"))
            continue
        pid = marker.get("pid")
        if (not force and marker.get("host") == host and isinstance(pid, int)
                and pid != os.getpid() and _pid_alive(pid)):
            report.skipped.append((p, f"run still alive (pid {pid}); use --force"))
            continue
        if not dry_run:
            try:
                _remove_tree(p)
            except OSError as exc:
                report.skipped.append((p, f"removal failed: {exc.strerror}"))
                continue
        report.removed.append(p)
    return report


@contextlib.contextmanager
def abort_on_signals(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                     ) -> Iterator[list[int]]:
    """Turn SIGINT/SIGTERM into an ``Aborted`` exception so ``finally`` blocks clean up.

    Only the first signal raises; later ones (Slurm may repeat SIGTERM) are
    recorded in the yielded list and ignored so cleanup is not cut short.
    Outside the main thread signals cannot be handled and nothing is installed.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            raise Aborted(signum)

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
