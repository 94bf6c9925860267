"""Submit batch jobs, wait for them and tell how each one ended.

This is the record-free half of ``hpcplan submit/jobs/collect``: it writes the
job's directory and script, keeps the ledger, and turns Slurm's answer (or,
once Slurm has forgotten the job, the exit-code file the script leaves) into a
``JobOutcome``. Turning outcomes into result records is hpcplan's business.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slurm import SlurmError
from slurm.client import FINISHED_STATES, JobInfo, SlurmClient, expand_hostlist
from slurm.ledger import Ledger
from slurm.script import JobSpec, render_script

#: Lines and characters of a job's error output kept in an outcome.
TAIL_LINES = 20
TAIL_CHARS = 4000


def new_job_dir(jobs_root: Path, label: str, nodes: int) -> Path:
    """A fresh directory name for one job: sortable by time, unique without the job id."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(jobs_root).resolve() / f"{stamp}-{label}-{nodes}n-{secrets.token_hex(3)}"


def submit(client: SlurmClient, ledger: Ledger, spec: JobSpec,
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``spec``'s script into its job directory, submit it, record it in the ledger."""
    script = render_script(spec)
    spec.job_dir.mkdir(parents=True, exist_ok=False)
    script_path = spec.job_dir / "job.sh"
    script_path.write_text(script)
    submitted = time.time()
    try:
        job_id = client.submit(script_path, cwd=spec.job_dir)
    except SlurmError:
        # Refused: leave no directory behind that looks like a job.
        script_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            spec.job_dir.rmdir()
        raise
    entry: dict[str, Any] = {
        "job_id": job_id,
        "suites": list(spec.suites),
        "label": spec.label,
        "job_name": spec.name,
        "nodes": spec.nodes,
        "tasks_per_node": spec.tasks_per_node,
        "ranks": spec.ranks,
        "partition": spec.partition or "",
        "time_limit": spec.time_limit,
        "job_dir": str(spec.job_dir),
        "script": str(script_path),
        "stdout": str(spec.stdout_path(job_id)),
        "stderr": str(spec.stderr_path(job_id)),
        "exit_file": str(spec.exit_file),
        "submitted_unix": submitted,
        "submitted_at": datetime.fromtimestamp(submitted, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "state": "SUBMITTED",
        "collected": False,
        **(extra or {}),
    }
    ledger.add(entry)
    return entry


def tail(path: Path, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last lines of a text file, or '' when it is missing."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 4 * chars))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    text = "\n".join(data.splitlines()[-lines:])
    return text[-chars:]


@dataclass(frozen=True)
class JobOutcome:
    """How one submitted job ended, from Slurm or from what the job left behind."""

    entry: dict[str, Any]
    state: str
    exit_code: int | None
    signal: int | None
    node_list: str
    elapsed_s: float | None
    reason: str = ""
    partition: str = ""
    source: str = "scontrol"
    error_tail: str = ""
    nodes: list[str] = field(default_factory=list)

    @property
    def job_id(self) -> str:
        return str(self.entry["job_id"])

    @property
    def completed(self) -> bool:
        return self.state == "COMPLETED"

    def job_fields(self) -> dict[str, Any]:
        """The ``job`` mapping collected records carry."""
        return {
            "scheduler": "slurm",
            "job_id": self.job_id,
            "name": self.entry.get("job_name", ""),
            "suites": list(self.entry.get("suites", [])),
            # where Slurm named the nodes; otherwise (a step, a forgotten job) each record
            # keeps the node list its own environment gave it
            **({"node_list": self.node_list, "node_names": list(self.nodes)}
               if self.node_list else {}),
            "num_nodes": len(self.nodes) or self.entry.get("nodes"),
            "state": self.state,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "reason": self.reason,
            "elapsed_s": self.elapsed_s,
            "partition": self.partition or self.entry.get("partition", ""),
            "time_limit": self.entry.get("time_limit", ""),
            "submitted_at": self.entry.get("submitted_at", ""),
            "state_source": self.source,
            # the scaling study a job belongs to ('hpcplan plan --nodes'), if any
            **({"study_id": str(self.entry["study_id"])} if self.entry.get("study_id") else {}),
        }


def _exit_file_code(entry: dict[str, Any]) -> int | None:
    try:
        return int(Path(entry["exit_file"]).read_text().split()[0])
    except (OSError, ValueError, IndexError, KeyError):
        return None


def outcome(client: SlurmClient, entry: dict[str, Any]) -> JobOutcome | None:
    """How a ledger job ended; None while it is still pending or running."""
    info: JobInfo | None = client.job(entry["job_id"])
    error_tail = tail(Path(entry.get("stderr", "")))
    if info is not None:
        if not info.finished:
            return None
        return JobOutcome(entry=entry, state=info.state, exit_code=info.exit_code,
                          signal=info.signal, node_list=info.node_list,
                          elapsed_s=info.elapsed_s, reason=info.reason, source=info.source,
                          partition=info.partition,
                          error_tail=error_tail, nodes=info.nodes)
    # Slurm has forgotten the job (past MinJobAge, no accounting): trust what it left.
    code = _exit_file_code(entry)
    if code is None:
        state, reason = "UNKNOWN", "Slurm no longer knows this job and it left no exit code"
    else:
        state, reason = ("COMPLETED" if code == 0 else "FAILED"), "from the job's exit-code file"
    return JobOutcome(entry=entry, state=state, exit_code=code, signal=None, node_list="",
                      elapsed_s=None, reason=reason, source="exit-file", error_tail=error_tail)


def wait(client: SlurmClient, job_ids: Sequence[str], *, timeout_s: float = 600.0,
         poll_s: float = 0.1) -> dict[str, JobInfo | None]:
    """Poll ``squeue`` until every job has finished (or slurmctld forgot it)."""
    pending = set(job_ids)
    done: dict[str, JobInfo | None] = {}
    deadline = time.monotonic() + timeout_s
    while pending:
        known = {j.job_id: j for j in client.queue(sorted(pending))}
        for job_id in list(pending):
            info = known.get(job_id)
            if info is None or info.state in FINISHED_STATES:
                done[job_id] = info
                pending.discard(job_id)
        if not pending:
            break
        if time.monotonic() > deadline:
            raise SlurmError(f"jobs {', '.join(sorted(pending))} still not finished after "
                             f"{timeout_s:.0f} s")
        time.sleep(poll_s)
    return done


__all__ = ["JobOutcome", "expand_hostlist", "new_job_dir", "outcome", "script_runtime_s", "submit",
           "tail", "wait"]


_STAMP_RE = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z"


def script_runtime_s(stdout_path: Path) -> float | None:
    """Seconds between the batch script's own start and finish lines (None if absent).

    The template prints both with nanoseconds, so submit-to-collected time minus
    this is what the bookkeeping (sbatch, scheduling, polling, collecting) cost.
    """
    import re

    try:
        text = Path(stdout_path).read_text(errors="replace")
    except OSError:
        return None
    start = re.search(r"^hpcplan: job \S+ on \S+ started " + _STAMP_RE, text, re.M)
    end = re.search(r"^hpcplan: job \S+ finished with exit code \d+ at " + _STAMP_RE, text, re.M)
    if not (start and end):
        return None

    def parse(stamp: str) -> float:
        head, _, frac = stamp.partition(".")
        base = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
        return base + (float("0." + frac) if frac else 0.0)

    return parse(end.group(1)) - parse(start.group(1))
