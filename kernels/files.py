"""Reading and replacing small files safely: the one place every layer goes through.

Why this module exists: a reader given a FIFO, a device or a huge file hangs
or exhausts memory, and a writer that truncates in place leaves half a file
when it is killed. ``read_regular`` opens without blocking, reads only a
regular file and only up to a size limit; ``write_atomic`` writes a temporary
file in the same directory, fsyncs it, renames it over the target and fsyncs
the directory, so a reader sees the old file or the new one, never a mix.
Every failure is a ``UserError`` naming the file. (``slurm/`` keeps its own
stdlib-only copy of the same rules.)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from kernels.errors import UserError

#: Default ceiling for a file read whole (configs, scenarios, JSON results).
MAX_BYTES = 64 * 2**20


def path_arg(text: str | os.PathLike[str], what: str) -> Path:
    """``text`` as a Path; the empty string (which would mean the current directory) is refused."""
    if not str(text).strip():
        raise UserError(f"{what} is an empty path; name a file or directory")
    return Path(text)


def read_regular(path: str | os.PathLike[str], what: str = "file",
                 limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path``; a UserError for anything else.

    The open does not block (a FIFO with no writer would hang a plain open) and
    does not give the process a controlling terminal; the type is checked on the
    open descriptor, so a name swapped after a check cannot slip through.
    """
    p = path_arg(path, what)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UserError(f"{what} {p} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {p} is a directory, not a file") from None
    except OSError as exc:
        raise UserError(f"{what} {p} cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{what} {p} is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{what} {p} is not a regular file (a pipe, device or socket is "
                            "never read)")
        if st.st_size > limit:
            raise UserError(f"{what} {p} is {st.st_size} bytes, more than the {limit} bytes "
                            "a file of this kind may hold")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UserError(f"{what} {p} grew beyond the {limit} bytes a file of this "
                                "kind may hold while it was read")
        return b"".join(chunks)
    except OSError as exc:
        raise UserError(f"{what} {p} cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], what: str = "file", limit: int = MAX_BYTES) -> str:
    """``read_regular`` decoded as UTF-8; other encodings are one clear sentence."""
    raw = read_regular(path, what, limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def write_atomic(target: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644,
                 what: str = "file", replace: bool = True) -> Path:
    """Replace ``target`` with ``data`` atomically (temporary file, fsync, rename, fsync dir).

    A symbolic link at ``target`` is replaced, never written through; a
    directory there is refused. ``replace=False`` never replaces anything: the
    temporary file is hard-linked to ``target`` (append-only stores), and an
    existing ``target`` is a UserError.
    """
    path = path_arg(target, what)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                raise UserError(f"{what} {path} is a directory; name a file to write")
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name[:40]}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise UserError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, FileExistsError):
            raise UserError(f"{what} {path} already exists and is never replaced") from None
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
        raise
    fsync_dir(parent)
    return path


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or link in ``path`` durable (best effort where directories refuse fsync)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
