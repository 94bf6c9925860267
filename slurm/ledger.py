"""The job ledger: which Slurm jobs hpcplan submitted, where they write, what was collected.

One JSON file per results directory. Writes hold an exclusive ``flock`` and
replace the file atomically (temporary file, fsync, rename), so two ``hpcplan``
processes on a shared file system never lose an entry or read a half file.
The atomic replace is written here rather than taken from
``kernels.files.write_atomic`` because ``slurm`` uses only the standard library.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slurm import SlurmError

LEDGER_VERSION = 1
LEDGER_NAME = "ledger.json"
#: A ledger larger than this is refused rather than read (a ledger entry is ~1 KiB).
MAX_BYTES = 64 * 2**20


def read_regular_text(path: Path, what: str, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (never a pipe: the open does not block),
    up to ``limit`` bytes; FileNotFoundError if it is absent, SlurmError for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SlurmError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SlurmError(f"{what} {path} is not a regular file")
        if st.st_size > limit:
            raise SlurmError(f"{what} {path} is {st.st_size} bytes, more than the {limit} "
                             "bytes it may hold")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise SlurmError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise SlurmError(f"{what} {path} holds more than the {limit} bytes it may hold")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SlurmError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


class Ledger:
    """The jobs directory ``root`` holds ``ledger.json`` and one sub-directory per job."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LEDGER_NAME

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".ledger.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> list[dict[str, Any]]:
        try:
            text = read_regular_text(self.path, "job ledger")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise SlurmError(f"job ledger {self.path} is unreadable: {str(exc)[:80]}") from None
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise SlurmError(f"job ledger {self.path} is not an hpcplan ledger")
        version = data.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise SlurmError(f"job ledger {self.path} has no integer version")
        if version > LEDGER_VERSION:
            raise SlurmError(f"job ledger {self.path} is from a newer hpcplan; upgrade hpcplan")
        return [j for j in data["jobs"] if isinstance(j, dict) and isinstance(j.get("job_id"), str)]

    def _write(self, jobs: list[dict[str, Any]]) -> None:
        text = json.dumps({"version": LEDGER_VERSION, "jobs": jobs}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".ledger-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def entries(self) -> list[dict[str, Any]]:
        """All jobs, oldest first."""
        return self._read()

    def get(self, job_id: str) -> dict[str, Any] | None:
        return next((j for j in self._read() if j["job_id"] == job_id), None)

    def add(self, entry: dict[str, Any]) -> None:
        with self._locked():
            jobs = self._read()
            if any(j["job_id"] == entry["job_id"] for j in jobs):
                raise SlurmError(f"job {entry['job_id']} is already in the ledger {self.path}")
            jobs.append(dict(entry))
            self._write(jobs)

    def update(self, job_id: str, **changes: Any) -> dict[str, Any]:
        with self._locked():
            jobs = self._read()
            for job in jobs:
                if job["job_id"] == job_id:
                    job.update(changes)
                    self._write(jobs)
                    return job
        raise SlurmError(f"job {job_id} is not in the ledger {self.path}")
