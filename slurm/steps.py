"""Job steps inside an allocation the user already holds (salloc, or a batch script).

A scaling study started inside an allocation runs each node count as one ``srun`` step
on the allocation's nodes instead of queueing new jobs: the nodes are already there,
and steps run one after another never share them. A step writes its records into its
own directory, as a batch job does, and leaves the same kind of outcome
(``JobOutcome``) so collecting it is the same code. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slurm import SlurmError
from slurm.jobs import JobOutcome, tail
from slurm.script import JobSpec

#: Seconds srun gets to end its step after SIGTERM before it is killed.
TERM_GRACE_S = 15.0


@dataclass(frozen=True)
class Allocation:
    """The allocation this process runs in (from the environment Slurm sets)."""

    job_id: str
    nodes: int
    node_list: str
    partition: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Allocation | None:
        """The allocation of a salloc shell or a batch script; None outside one.

        Inside a step (under srun) there is an allocation too, but a step cannot
        start steps of its own on other nodes: that is refused, not ignored.
        """
        env = os.environ if env is None else env
        job_id = env.get("SLURM_JOB_ID", "").strip()
        if not job_id:
            return None
        if env.get("SLURM_STEP_ID", "").strip():
            raise SlurmError(f"this runs inside step {env['SLURM_STEP_ID']} of job {job_id} "
                             "(under srun); run it from the allocation's shell or batch "
                             "script, which starts the steps itself")
        if not job_id.isdigit():
            raise SlurmError(f"SLURM_JOB_ID {job_id!r} is not a job id")
        count = env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or ""
        if not count.isdigit() or int(count) < 1:
            raise SlurmError(f"job {job_id}: SLURM_JOB_NUM_NODES {count!r} is not a node count")
        return cls(job_id, int(count), env.get("SLURM_JOB_NODELIST", ""),
                   env.get("SLURM_JOB_PARTITION", ""))


def srun_argv(srun: str, spec: JobSpec, command: list[str] | tuple[str, ...]) -> list[str]:
    """The step's srun command line: the job's shape, on ``spec.nodes`` of the allocation."""
    argv = [srun, f"--mpi={spec.mpi}", "--kill-on-bad-exit=1", f"--nodes={spec.nodes}",
            f"--ntasks={spec.ranks}", f"--ntasks-per-node={spec.tasks_per_node}",
            f"--cpus-per-task={spec.cpus_per_task}", f"--time={spec.time_limit}",
            f"--job-name={spec.name}"]
    if spec.exclusive:
        argv.append("--exclusive")
    return [*argv, *command]


def run_step(alloc: Allocation, spec: JobSpec, *, timeout_s: float,
             extra: dict[str, Any] | None = None,
             env: Mapping[str, str] | None = None) -> JobOutcome:
    """Run ``spec``'s one command as a step of ``alloc`` and wait for it; its outcome.

    The step's output goes to files in ``spec.job_dir`` (created here, never reused);
    past ``timeout_s`` srun gets SIGTERM, which ends the step, then SIGKILL.
    """
    if len(spec.commands) != 1:
        raise SlurmError("a step runs one command (build the spec with one_step)")
    environ = dict(os.environ if env is None else env)
    srun = shutil.which("srun", path=environ.get("PATH", os.defpath))
    if srun is None:
        raise SlurmError("srun is not on PATH inside this allocation")
    old = environ.get("PYTHONPATH")
    environ["PYTHONPATH"] = str(spec.pythonpath) + (f":{old}" if old else "")
    spec.job_dir.mkdir(parents=True, exist_ok=False)
    out, err = spec.job_dir / "step.out", spec.job_dir / "step.err"
    started = time.time()
    entry: dict[str, Any] = {
        "job_id": alloc.job_id, "suites": list(spec.suites), "label": spec.label,
        "job_name": spec.name, "nodes": spec.nodes, "tasks_per_node": spec.tasks_per_node,
        "ranks": spec.ranks, "partition": alloc.partition, "time_limit": spec.time_limit,
        "job_dir": str(spec.job_dir), "stdout": str(out), "stderr": str(err),
        "submitted_at": datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(extra or {}),
    }
    argv = srun_argv(srun, spec, spec.commands[0])
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(argv, env=environ, cwd=spec.job_dir, stdout=fo, stderr=fe,
                                stdin=subprocess.DEVNULL)
        code, reason = _wait(proc, timeout_s)
    elapsed = time.time() - started
    sig = -code if code < 0 else None
    state = ("TIMEOUT" if reason else "COMPLETED" if code == 0 else
             "CANCELLED" if sig else "FAILED")
    return JobOutcome(entry=entry, state=state, exit_code=None if sig else code, signal=sig,
                      node_list="", elapsed_s=elapsed, reason=reason, source="srun",
                      partition=alloc.partition, error_tail=tail(err))


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, str]:
    """srun's exit status, and why it was stopped ('' when it ended by itself)."""
    try:
        return proc.wait(timeout=timeout_s), ""
    except subprocess.TimeoutExpired:
        pass
    reason = f"step still running after {timeout_s:.0f} s (--timeout); srun was terminated"
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=TERM_GRACE_S), reason
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(), reason + " and killed"


__all__ = ["Allocation", "run_step", "srun_argv"]
