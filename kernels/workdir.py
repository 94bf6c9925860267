"""Safe scratch space for storage benchmarks inside a directory the user names.

Why this module exists: IOR users lose data and disks to benchmarks that write
into the wrong place, fill the file system silently, or leave millions of files
behind after a time limit. Here every run writes under a new, uniquely named
directory that carries a marker file; space and inodes are checked (statvfs)
before the first byte is written; the directory is removed on success, failure,
SIGINT and SIGTERM (what Slurm sends at the time limit); and ``clean`` removes
leftovers of killed runs.

``clean`` may run as an administrator on shared scratch, so nothing a user
can put there steers it: the marker records what the creating run wrote (a
random token also in the directory's name, host, pid, uid, start time, the
names it creates) and must agree with the directory; only names a run writes,
owned by the run's user, are removed and anything else is left and reported;
removal works on open descriptors (each name listed once, examined without
following links, sub-directories opened with O_NOFOLLOW and checked to be the
inode examined) and never leaves the target's file system.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from kernels.errors import UserError
from kernels.files import path_arg

PREFIX = "hpcplan-run-"
MARKER_NAME = ".hpcplan-run"
MAGIC = "hpcplan-workdir-v2"
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
    path = path_arg(target, "target directory").expanduser()
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


# --- what a run writes --------------------------------------------------------------

#: A directory's layout: (name pattern, what the entry is) pairs, where what it is
#: is ``None`` for a regular file or the layout of a sub-directory.
Layout = tuple[tuple[re.Pattern[str], "Layout | None"], ...]

_DATA: Layout = ((re.compile(r"data\.(?:\d{6,9}|shared)"), None),)
#: mdtest -d mdtest: [#]test-dir.<iter>-<n>/mdtest_tree.<i>[.<j>...]/ holding
#: file.mdtest.<rank>.<i> files and, one level down, more trees.
_MD_FILE = (re.compile(r"file\.mdtest\.\d+\.\d+"), None)
_MD_LEAF: Layout = (_MD_FILE,)
_MD_TREE: Layout = (_MD_FILE, (re.compile(r"mdtest_tree\.\d+(?:\.\d+)*"), _MD_LEAF))
_MDTEST: Layout = ((re.compile(r"#?test-dir\.\d+-\d+"),
                    ((re.compile(r"mdtest_tree\.\d+(?:\.\d+)*"), _MD_TREE),)),)
#: Every name a run may create directly in its directory, and what lies below it
#: (kernels.storage: <label>/data.NNNNNN or data.shared and the O_DIRECT probe;
#: kernels.metadata: md-easy/rank.NNNNNN/f.NNNNNNNN and md-hard/f.NNNNNN.NNNNNNNN;
#: hpcplan.anchors, the scoreboard and its speed scripts: fio/fio.data, IOR's
#: ior/ior.data[.NNNNNNNN] (-F: one file per rank) and mdtest's tree under mdtest/).
#: ``clean`` removes nothing else.
RUN_ENTRIES: dict[str, Layout | None] = {
    ".direct-probe": None,
    "easy": _DATA,
    "hard": _DATA,
    "md-easy": ((re.compile(r"rank\.\d{6,9}"), ((re.compile(r"f\.\d{8,12}"), None),)),),
    "md-hard": ((re.compile(r"f\.\d{6,9}\.\d{8,12}"), None),),
    "fio": ((re.compile(r"fio\.data"), None),),
    "ior": ((re.compile(r"ior\.data(?:\.\d{8})?"), None),),
    "mdtest": _MDTEST,
}
#: Deepest nesting the removal enters; deeper entries are left and reported.
MAX_DEPTH = 64
MARKER_MAX_BYTES = 4096
_KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,15}")
_TOKEN_RE = re.compile(r"[0-9a-f]{32}")
_STAMP_RE = re.compile(r"\d{8}T\d{6}")
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


@dataclass(frozen=True)
class Marker:
    """What the creating run wrote into ``.hpcplan-run``: who made the directory and what
    it may hold. ``clean`` trusts a directory only when all of it agrees with what it sees."""

    name: str
    token: str
    host: str
    pid: int
    uid: int
    started: float
    created_utc: str
    kind: str
    entries: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"magic": MAGIC, "name": self.name, "token": self.token, "host": self.host,
                "pid": self.pid, "uid": self.uid, "started": self.started,
                "created_utc": self.created_utc, "kind": self.kind,
                "entries": list(self.entries)}

    @classmethod
    def parse(cls, data: Any) -> Marker:
        """The marker in ``data``, or ValueError saying which field is wrong."""
        if not isinstance(data, dict):
            raise ValueError("its marker is not a JSON object")
        if data.get("magic") != MAGIC:
            if isinstance(data.get("magic"), str) and data["magic"].startswith("hpcplan-workdir"):
                raise ValueError(f"its marker is of another version ({data['magic']!r}) that "
                                 "does not say what the run wrote; check and remove it by hand")
            raise ValueError("no hpcplan marker file")
        checks: dict[str, tuple[type | tuple[type, ...], Any]] = {
            "name": (str, lambda v: v.startswith(PREFIX)),
            "token": (str, _TOKEN_RE.fullmatch),
            "host": (str, bool),
            "pid": (int, lambda v: 0 < v < 2**31),
            "uid": (int, lambda v: 0 <= v < 2**32),
            "started": ((int, float), lambda v: math.isfinite(v) and v > 0),
            "created_utc": (str, _STAMP_RE.fullmatch),
            "kind": (str, _KIND_RE.fullmatch),
            "entries": (list, lambda v: all(isinstance(e, str) for e in v)),
        }
        for key, (want, ok) in checks.items():
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, want) or not ok(value):
                raise ValueError(f"its marker has no valid {key!r}")
        unknown = set(data["entries"]) - set(RUN_ENTRIES)
        if unknown:
            raise ValueError(f"its marker lists entries no run writes: {sorted(unknown)[0]!r}")
        return cls(data["name"], data["token"], data["host"], data["pid"], data["uid"],
                   float(data["started"]), data["created_utc"], data["kind"],
                   tuple(data["entries"]))


def _read_marker(dfd: int, owner: int) -> Marker:
    """The marker inside the open run directory ``dfd``; ValueError with the reason if none.

    The marker must be a regular file (never a link) owned by ``owner``, the
    directory's owner.
    """
    try:
        fd = os.open(MARKER_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dfd)
    except OSError:
        raise ValueError("no hpcplan marker file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MARKER_MAX_BYTES:
            raise ValueError("no hpcplan marker file")
        if st.st_uid != owner:
            raise ValueError(f"its marker belongs to uid {st.st_uid}, the directory to uid "
                             f"{owner}")
        raw = os.read(fd, MARKER_MAX_BYTES + 1)
    except OSError:
        raise ValueError("no hpcplan marker file") from None
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("no hpcplan marker file") from None
    return Marker.parse(data)


class _Any:
    """The layout of the creating run's own clean-up: every entry is its own."""


ANY = _Any()


def _lookup(layout: Layout | _Any, name: str) -> tuple[bool, Layout | _Any | None]:
    if isinstance(layout, _Any):
        return True, layout
    for pattern, sub in layout:
        if pattern.fullmatch(name):
            return True, sub
    return False, None


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return word
    return "a device"


@dataclass
class _Removal:
    """One descriptor-based removal: what it may remove, and what it left with the reason."""

    device: int
    uid: int | None  # entries owned by anyone else are left (None: the run's own clean-up)
    remove: bool = True  # False: only decide what would be removed (dry run)
    left: list[tuple[Path, str]] = field(default_factory=list)

    def empty(self, dfd: int, where: Path, layout: Layout | _Any, depth: int = 0) -> bool:
        """Remove what ``layout`` allows inside the open directory ``dfd``.

        Names come from one listing of the descriptor; each entry is examined
        with ``lstat`` relative to it, a sub-directory is opened relative to it
        with O_NOFOLLOW and must be the very inode examined and on the same file
        system, so a name swapped for a link or a mount during the removal is
        never followed. True when nothing but the marker is left (or would be).
        """
        try:
            names = sorted(os.listdir(dfd))
        except OSError as exc:
            self.left.append((where, f"cannot be listed ({exc.strerror})"))
            return False
        empty = True
        for name in names:
            if depth == 0 and name == MARKER_NAME:
                continue
            if not self._entry(dfd, where / name, name, layout, depth):
                empty = False
        return empty

    def _entry(self, dfd: int, path: Path, name: str, layout: Layout | _Any, depth: int) -> bool:
        """Remove one entry; True when it is gone (or would be)."""
        known, sub = _lookup(layout, name)
        if not known:
            self.left.append((path, "not a name a run writes"))
            return False
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.left.append((path, f"cannot be examined ({exc.strerror})"))
            return False
        if self.uid is not None and st.st_uid != self.uid:
            self.left.append((path, f"belongs to uid {st.st_uid}, not to the run's uid "
                                    f"{self.uid}"))
            return False
        is_dir = stat.S_ISDIR(st.st_mode)
        if isinstance(sub, _Any) and not is_dir:
            sub = None
        if sub is None:
            if is_dir or (self.uid is not None and not stat.S_ISREG(st.st_mode)):
                self.left.append((path, f"{_kind(st.st_mode)} where a run writes a regular "
                                        "file"))
                return False
            return self._unlink(dfd, path, name)
        if not is_dir:
            self.left.append((path, f"{_kind(st.st_mode)} where a run makes a directory"))
            return False
        if st.st_dev != self.device:
            self.left.append((path, "on another file system (a mount point); not entered"))
            return False
        if depth + 1 >= MAX_DEPTH:
            self.left.append((path, f"nested more than {MAX_DEPTH} levels deep; not entered"))
            return False
        try:
            cfd = os.open(name, _OPEN_DIR, dir_fd=dfd)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.left.append((path, f"changed during removal and is no longer a directory "
                                    f"({exc.strerror}); not followed"))
            return False
        try:
            cst = os.fstat(cfd)
            if (cst.st_dev, cst.st_ino) != (st.st_dev, st.st_ino):
                self.left.append((path, "was replaced during removal; not entered"))
                return False
            if not self.empty(cfd, path, sub, depth + 1):
                return False
        finally:
            os.close(cfd)
        return self._drop(os.rmdir, dfd, path, name)

    def _unlink(self, dfd: int, path: Path, name: str) -> bool:
        return self._drop(os.unlink, dfd, path, name)

    def _drop(self, op: Callable[..., None], dfd: int, path: Path, name: str) -> bool:
        """Remove one entry relative to its open parent; what cannot go is reported."""
        if not self.remove:
            return True
        try:
            op(name, dir_fd=dfd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            self.left.append((path, f"could not be removed ({exc.strerror})"))
            return False
        return True


def _open_target(target: str | os.PathLike[str]) -> tuple[Path, int]:
    """The directory the user named, opened (following a link the user gave on purpose)."""
    path = path_arg(target, "target directory").expanduser()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UserError(f"target directory {str(path)!r} does not exist") from None
    except NotADirectoryError:
        raise UserError(f"target {str(path)!r} is not a directory") from None
    except OSError as exc:
        raise UserError(f"target directory {str(path)!r} cannot be opened: "
                        f"{exc.strerror}") from None
    return path, fd


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
    token: str = ""

    @classmethod
    def create(cls, target: str | os.PathLike[str], kind: str = "io", comm: Any = None,
               entries: tuple[str, ...] | None = None) -> WorkDir:
        """``entries``: the names the run will create in the directory (default: any a
        run may, ``RUN_ENTRIES``); ``clean`` removes only those."""
        rank = comm.Get_rank() if comm is not None else 0
        result: tuple[str, str, str] = ("", "", "")
        if rank == 0:
            try:
                root = check_target(target)
                made, token = _make_dir(root, kind, tuple(RUN_ENTRIES) if entries is None
                                        else tuple(entries))
                result = (str(made), token, "")
            except UserError as exc:
                result = ("", "", str(exc))
        if comm is not None:
            result = comm.bcast(result, root=0)
        made, token, error = result
        if error:
            raise UserError(error)
        path = Path(made)
        st = os.lstat(path)
        return cls(target=path.parent, path=path, identity=(st.st_dev, st.st_ino),
                   is_root=rank == 0, comm=comm, token=token)

    def cleanup(self, synchronise: bool = True) -> None:
        """Remove the directory if it is still the one created (same device, inode and token).

        Removal goes through descriptors and never leaves the directory's file
        system. ``synchronise`` waits for every rank first; the abort path passes
        False so a rank that is already gone cannot hang the others.
        """
        if synchronise and self.comm is not None:
            self.comm.Barrier()
        if self.removed or not self.is_root:
            self.removed = True
            return
        replaced = UserError(f"run directory {str(self.path)!r} was replaced during the run; "
                             f"it was left untouched")
        try:
            pfd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            self.removed = True
            return
        try:
            try:
                dfd = os.open(self.path.name, _OPEN_DIR, dir_fd=pfd)
            except FileNotFoundError:
                self.removed = True
                return
            except OSError:
                raise replaced from None
            try:
                st = os.fstat(dfd)
                if (st.st_dev, st.st_ino) != self.identity:
                    raise replaced
                try:
                    marker = _read_marker(dfd, st.st_uid)
                except ValueError:
                    raise replaced from None
                if marker.token != self.token:
                    raise replaced
                removal = _Removal(device=st.st_dev, uid=None)
                if not removal.empty(dfd, self.path, ANY):
                    where, why = removal.left[0]
                    raise UserError(f"run directory {str(self.path)!r} was not fully removed: "
                                    f"{str(where)!r} is {why}")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(MARKER_NAME, dir_fd=dfd)
            finally:
                os.close(dfd)
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(self.path.name, dir_fd=pfd)
        finally:
            os.close(pfd)
        self.removed = True

    def __enter__(self) -> WorkDir:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.cleanup(synchronise=exc_type is None)


def _short_host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", socket.gethostname().split(".")[0])[:32] or "host"


def _make_dir(root: Path, kind: str, entries: tuple[str, ...]) -> tuple[Path, str]:
    if not _KIND_RE.fullmatch(kind):
        raise ValueError(f"run directory kind {kind!r} must be a short lower-case word")
    unknown = set(entries) - set(RUN_ENTRIES)
    if unknown:
        raise ValueError(f"entries {sorted(unknown)} are not in RUN_ENTRIES")
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for _ in range(100):
        token = secrets.token_hex(16)
        name = f"{PREFIX}{kind}-{stamp}-{_short_host()}-{os.getpid()}-{token[:8]}"
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
        marker = Marker(name=name, token=token, host=socket.gethostname(), pid=os.getpid(),
                        uid=os.geteuid(), started=time.time(), created_utc=stamp, kind=kind,
                        entries=entries)
        try:
            fd = os.open(path / MARKER_NAME,
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(marker.to_dict()))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(path / MARKER_NAME)
            os.rmdir(path)
            raise UserError(f"cannot write the marker file in {str(root)!r}: {exc.strerror}") \
                from None
        return path, token
    raise UserError(f"cannot find a free run directory name in {str(root)!r}")


@dataclass
class CleanReport:
    """What ``clean`` did.

    ``removed``: run directories removed (or that would be, in a dry run).
    ``skipped``: (path, reason) for directories that are not a removable run.
    ``failed``: (path, reason) for run directories only partly removed.
    ``left``: (path, reason) for each entry inside a run directory that was left.
    """

    removed: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    left: list[tuple[Path, str]] = field(default_factory=list)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def clean(target: str | os.PathLike[str], force: bool = False, dry_run: bool = False
          ) -> CleanReport:
    """Remove leftovers of killed runs directly inside ``target``.

    A directory is a leftover only when it is named ``hpcplan-run-*``, is a real
    directory on the target's file system, and carries a marker that names it,
    belongs to its owner and says what the run wrote. Inside, only the names a
    run writes, owned by the run's user, are removed; anything else is left and
    reported, and the directory with it. A run still alive on this host (same
    host name, pid alive) is skipped unless ``force``.
    """
    path, tfd = _open_target(target)
    report = CleanReport()
    try:
        tst = os.fstat(tfd)
        try:
            names = sorted(n for n in os.listdir(tfd) if n.startswith(PREFIX))
        except OSError as exc:
            raise UserError(f"target directory {str(path)!r} cannot be listed: "
                            f"{exc.strerror}") from None
        for name in names:
            _clean_one(tfd, tst.st_dev, path, name, force, dry_run, report)
    finally:
        os.close(tfd)
    return report


def _clean_one(tfd: int, device: int, target: Path, name: str, force: bool, dry_run: bool,
               report: CleanReport) -> None:
    p = target / name
    try:
        st = os.stat(name, dir_fd=tfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    except OSError as exc:
        report.skipped.append((p, f"cannot be examined ({exc.strerror})"))
        return
    if not stat.S_ISDIR(st.st_mode):
        report.skipped.append((p, f"{_kind(st.st_mode)}, not a run directory"))
        return
    if st.st_dev != device:
        report.skipped.append((p, "on another file system than the target (a mount point)"))
        return
    euid = os.geteuid()
    if euid != 0 and st.st_uid != euid:
        report.skipped.append((p, f"belongs to uid {st.st_uid}, not to this user"))
        return
    try:
        dfd = os.open(name, _OPEN_DIR, dir_fd=tfd)
    except OSError as exc:
        report.skipped.append((p, f"changed while it was examined ({exc.strerror})"))
        return
    try:
        dst = os.fstat(dfd)
        if (dst.st_dev, dst.st_ino) != (st.st_dev, st.st_ino):
            report.skipped.append((p, "changed while it was examined"))
            return
        try:
            marker = _read_marker(dfd, st.st_uid)
        except ValueError as exc:
            report.skipped.append((p, str(exc)))
            return
        if marker.name != name:
            report.skipped.append((p, f"its marker names another directory "
                                      f"({marker.name!r}); a copied or forged marker"))
            return
        if not name.endswith(marker.token[:8]):
            report.skipped.append((p, "its name does not carry its marker's token"))
            return
        if marker.uid != st.st_uid:
            report.skipped.append((p, f"its marker names uid {marker.uid}, the directory "
                                      f"belongs to uid {st.st_uid}"))
            return
        if (not force and marker.host == socket.gethostname() and marker.pid != os.getpid()
                and _pid_alive(marker.pid)):
            report.skipped.append((p, f"run still alive (pid {marker.pid}); use --force"))
            return
        layout: Layout = tuple((re.compile(re.escape(e)), RUN_ENTRIES[e])
                               for e in marker.entries)
        removal = _Removal(device=st.st_dev, uid=marker.uid, remove=not dry_run)
        emptied = removal.empty(dfd, p, layout)
        report.left.extend(removal.left)
        if not emptied:
            n = len(removal.left)
            verb = ("would be" if dry_run else "was" if n == 1 else "were")
            report.failed.append((p, f"{n} entr{'y' if n == 1 else 'ies'} that no run writes "
                                     f"{verb} left in place"))
            return
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(MARKER_NAME, dir_fd=dfd)
    finally:
        os.close(dfd)
    if not dry_run:
        try:
            os.rmdir(name, dir_fd=tfd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            report.failed.append((p, f"removal failed: {exc.strerror}"))
            return
    report.removed.append(p)


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
