"""The job ledger: which Slurm jobs hpcplan submitted, where they write, what was collected.

One JSON file per results directory. Writes hold an exclusive ``flock`` and
replace the file atomically (temporary file, fsync, rename), so two ``hpcplan``
processes on a shared file system never lose an entry or read a half file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slurm import SlurmError

LEDGER_VERSION = 1
LEDGER_NAME = "ledger.json"


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
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, json.JSONDecodeError) as exc:
            raise SlurmError(f"job ledger {self.path} is unreadable: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise SlurmError(f"job ledger {self.path} is not an hpcplan ledger")
        if data.get("version", 0) > LEDGER_VERSION:
            raise SlurmError(f"job ledger {self.path} is from a newer hpcplan; upgrade hpcplan")
        return [j for j in data["jobs"] if isinstance(j, dict) and "job_id" in j]

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
