"""A small client over the Slurm commands: sbatch, squeue, scontrol, sacct, scancel.

Every call is a subprocess with an argument list (never a shell) and a timeout,
and its output is parsed here so the rest of hpcplan sees ``JobInfo`` objects
and ``SlurmError`` messages of one sentence. Clusters without accounting (no
``sacct``) are first-class: ``squeue --states=all`` and ``scontrol show job``
know a job until ``MinJobAge`` after it ends, and ``sacct`` is asked only when
the cluster has an accounting database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slurm import SlurmError

#: States after which a job never runs again (Slurm's "completed" family).
FINISHED_STATES = frozenset({
    "COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY",
    "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED",
})
JOB_ID_RE = re.compile(r"^\d+(?:_\d+)?$")
_SQUEUE_FIELDS = ("%i", "%T", "%r", "%M", "%l", "%D", "%P", "%N", "%j")
_SEP = "\x1f"  # unit separator: cannot appear in any squeue field we ask for but the name


@dataclass(frozen=True)
class JobInfo:
    """What Slurm says about one job; ``state`` is the bare state (``CANCELLED``)."""

    job_id: str
    state: str
    reason: str = ""
    name: str = ""
    exit_code: int | None = None
    signal: int | None = None
    node_list: str = ""
    num_nodes: int = 0
    partition: str = ""
    elapsed_s: float | None = None
    time_limit: str = ""
    std_out: str = ""
    std_err: str = ""
    source: str = "squeue"
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def nodes(self) -> list[str]:
        return expand_hostlist(self.node_list)


def check_job_id(job_id: str) -> str:
    """Refuse anything but a job id (``123`` or ``123_4``) before it reaches a command line."""
    job_id = str(job_id).strip()
    if not JOB_ID_RE.match(job_id):
        raise SlurmError(f"job id {job_id!r} is not a Slurm job id (digits, e.g. 1234)")
    return job_id


def bare_state(state: str) -> str:
    """``CANCELLED by 0`` -> ``CANCELLED``; ``COMPLETING+`` -> ``COMPLETING``."""
    return state.strip().split(" ")[0].rstrip("+").upper() if state.strip() else "UNKNOWN"


def parse_duration_s(text: str) -> float | None:
    """Slurm durations ``[D-]HH:MM:SS``, ``MM:SS`` or ``M`` -> seconds; None if not a duration."""
    text = text.strip()
    m = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)(?:\.\d+)?", text)
    if m:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
        return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
    if text.isdigit():
        return float(text) * 60.0
    return None


def _expand_range(prefix: str, body: str, suffix: str) -> list[str]:
    out: list[str] = []
    for part in body.split(","):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise SlurmError(f"node list range {body!r} is not understood")
        width = len(lo)
        for i in range(int(lo), int(hi or lo) + 1):
            out.append(f"{prefix}{i:0{width}d}{suffix}")
    return out


def expand_hostlist(text: str) -> list[str]:
    """Expand a Slurm host list (``node[1-3,7],gpu[01-02]``) into names, in order.

    Handles one bracket group per name, which is what Slurm prints for flat
    node names; ``scontrol show hostnames`` is the authority for anything else.
    """
    text = text.strip()
    if not text or text in ("(null)", "None"):
        return []
    names: list[str] = []
    depth, start = 0, 0
    items: list[str] = []
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    for item in items:
        m = re.fullmatch(r"([^\[\]]*)\[([^\[\]]+)\]([^\[\]]*)", item)
        if m:
            names.extend(_expand_range(*m.groups()))
        elif "[" in item or "]" in item:
            raise SlurmError(f"node list {text!r} is not understood")
        elif item:
            names.append(item)
    return names


def parse_scontrol_record(line: str) -> dict[str, str]:
    """One ``scontrol -o`` line -> ``{key: value}``.

    Values may hold spaces (paths, job names); a key starts after a space and
    matches Slurm's key shape. Where a value mimics ``Key=...`` the later, real
    key wins, since user-named fields (JobName) come before the state fields.
    """
    out: dict[str, str] = {}
    matches = list(re.finditer(r"(?:^|(?<=\s))([A-Za-z][A-Za-z0-9_:/]*)=", line))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        out[m.group(1)] = line[m.end():end].rstrip()
    return out


def _exit_pair(text: str) -> tuple[int | None, int | None]:
    m = re.fullmatch(r"(\d+):(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


class SlurmClient:
    """Runs Slurm's commands for hpcplan.

    ``env`` is the environment for the commands (e.g. with ``SLURM_CONF`` of a
    local cluster); ``timeout_s`` bounds each call so a hung controller gives
    an error, not a hang.
    """

    def __init__(self, env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> None:
        self.env = dict(os.environ if env is None else env)
        self.timeout_s = timeout_s
        self._accounting: bool | None = None

    # -- running commands -------------------------------------------------------------------

    def which(self, command: str) -> str | None:
        return shutil.which(command, path=self.env.get("PATH", os.defpath))

    def _exe(self, command: str) -> str:
        path = self.which(command)
        if path is None:
            raise SlurmError(
                f"{command} is not on PATH: install Slurm's client commands, or add their "
                f"directory to PATH (e.g. export PATH=/opt/slurm/bin:$PATH) and set SLURM_CONF "
                f"if the cluster's slurm.conf is not in the default place")
        return path

    def run(self, command: str, args: Sequence[str], *, cwd: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one Slurm command; a non-zero exit becomes a one-line ``SlurmError``."""
        argv = [self._exe(command), *args]
        try:
            proc = subprocess.run(argv, env=self.env, cwd=cwd, capture_output=True, text=True,
                                  timeout=self.timeout_s, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SlurmError(f"{command} did not answer within {self.timeout_s:.0f} s; "
                             f"is slurmctld running?") from None
        except OSError as exc:
            raise SlurmError(f"{command} could not be run: {exc.strerror}") from None
        if check and proc.returncode != 0:
            raise SlurmError(f"{command} failed: {slurm_reason(proc.stderr or proc.stdout)}")
        return proc

    # -- submitting and cancelling ----------------------------------------------------------

    def submit(self, script: Path, *, cwd: Path | None = None,
               extra_args: Sequence[str] = ()) -> str:
        """Submit a batch script; return its job id."""
        proc = self.run("sbatch", ["--parsable", *extra_args, str(script)], cwd=cwd, check=False)
        if proc.returncode != 0:
            raise SlurmError(f"Slurm refused the job: {slurm_reason(proc.stderr or proc.stdout)}")
        job_id = proc.stdout.strip().splitlines()[-1].split(";")[0] if proc.stdout.strip() else ""
        if not JOB_ID_RE.match(job_id):
            raise SlurmError(f"sbatch answered {proc.stdout.strip()!r} instead of a job id")
        return job_id

    def cancel(self, job_id: str) -> None:
        """scancel a pending or running job; Slurm's scancel says nothing about unknown ids."""
        job_id = check_job_id(job_id)
        info = self.show_job(job_id)
        if info is None:
            raise SlurmError(f"job {job_id} is not known to Slurm (it never existed or ended "
                             f"long ago)")
        if info.finished:
            raise SlurmError(f"job {job_id} already ended {info.state}; nothing to cancel")
        proc = self.run("scancel", [job_id], check=False)
        if proc.returncode != 0:
            raise SlurmError(f"cancelling job {job_id} failed: "
                             f"{slurm_reason(proc.stderr or proc.stdout)}")

    def update_job(self, job_id: str, **fields: str) -> None:
        """``scontrol update JobId=ID Key=Value ...`` (e.g. ``TimeLimit``)."""
        job_id = check_job_id(job_id)
        args = ["update", f"JobId={job_id}"] + [f"{k}={v}" for k, v in fields.items()]
        self.run("scontrol", args)

    # -- asking about jobs ------------------------------------------------------------------

    def queue(self, job_ids: Sequence[str] = (), *, all_users: bool = True) -> list[JobInfo]:
        """Jobs slurmctld still knows (pending, running and recently finished)."""
        fmt = _SEP.join(_SQUEUE_FIELDS)
        args = ["--noheader", "--states=all", "--format", fmt]
        if job_ids:
            args.append("--jobs=" + ",".join(check_job_id(j) for j in job_ids))
        if not all_users:
            args.append(f"--user={os.getuid()}")
        proc = self.run("squeue", args, check=False)
        if proc.returncode != 0:
            if "Invalid job id" in proc.stderr:
                return []  # every id asked for is gone from slurmctld
            raise SlurmError(f"squeue failed: {slurm_reason(proc.stderr or proc.stdout)}")
        jobs = []
        for line in proc.stdout.splitlines():
            parts = line.split(_SEP, len(_SQUEUE_FIELDS) - 1)
            if len(parts) != len(_SQUEUE_FIELDS):
                continue
            jid, state, reason, used, limit, nnodes, part, nodelist, name = parts
            jobs.append(JobInfo(
                job_id=jid.strip(), state=bare_state(state), reason=reason.strip(), name=name,
                node_list=nodelist.strip(), num_nodes=int(nnodes) if nnodes.strip().isdigit()
                else 0, partition=part.strip(), elapsed_s=parse_duration_s(used),
                time_limit=limit.strip(), source="squeue"))
        return jobs

    def show_job(self, job_id: str) -> JobInfo | None:
        """``scontrol show job`` for one job: exit code and output paths; None once forgotten."""
        job_id = check_job_id(job_id)
        proc = self.run("scontrol", ["--oneliner", "show", "job", job_id], check=False)
        if proc.returncode != 0:
            if "Invalid job id" in (proc.stderr + proc.stdout):
                return None
            raise SlurmError(f"scontrol failed: {slurm_reason(proc.stderr or proc.stdout)}")
        line = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else ""
        rec = parse_scontrol_record(line)
        if rec.get("JobId") != job_id.split("_")[0] and rec.get("JobId") != job_id:
            return None
        code, sig = _exit_pair(rec.get("ExitCode", ""))
        nnodes = rec.get("NumNodes", "0").split("-")[0]
        return JobInfo(
            job_id=job_id, state=bare_state(rec.get("JobState", "")),
            reason=rec.get("Reason", ""), name=rec.get("JobName", ""), exit_code=code,
            signal=sig, node_list=rec.get("NodeList", "").replace("(null)", ""),
            num_nodes=int(nnodes) if nnodes.isdigit() else 0,
            partition=rec.get("Partition", ""), elapsed_s=parse_duration_s(rec.get("RunTime", "")),
            time_limit=rec.get("TimeLimit", ""), std_out=rec.get("StdOut", ""),
            std_err=rec.get("StdErr", ""), source="scontrol", raw=rec)

    def accounting_available(self) -> bool:
        """Whether ``sacct`` can answer: the command exists and accounting storage is set."""
        if self._accounting is None:
            self._accounting = False
            if self.which("sacct") is not None:
                try:
                    conf = self.run("scontrol", ["show", "config"], check=False).stdout
                except SlurmError:
                    conf = ""
                m = re.search(r"^AccountingStorageType\s*=\s*(\S+)", conf, re.M)
                self._accounting = bool(m) and m.group(1) != "accounting_storage/none"
        return self._accounting

    def sacct_job(self, job_id: str) -> JobInfo | None:
        """The accounting database's view of a job (only where accounting exists)."""
        job_id = check_job_id(job_id)
        if not self.accounting_available():
            return None
        fields = ("JobID", "State", "ExitCode", "NodeList", "NNodes", "Partition", "ElapsedRaw",
                  "Timelimit", "JobName")
        proc = self.run("sacct", ["--jobs", job_id, "--allocations", "--noheader",
                                  "--parsable2", "--format", ",".join(fields)], check=False)
        if proc.returncode != 0:
            return None
        for line in proc.stdout.splitlines():
            parts = line.split("|", len(fields) - 1)
            if len(parts) == len(fields) and parts[0] == job_id:
                jid, state, exit_code, nodelist, nnodes, part, elapsed, limit, name = parts
                code, sig = _exit_pair(exit_code)
                return JobInfo(
                    job_id=jid, state=bare_state(state), name=name, exit_code=code, signal=sig,
                    node_list=nodelist.replace("None assigned", ""),
                    num_nodes=int(nnodes) if nnodes.isdigit() else 0, partition=part,
                    elapsed_s=float(elapsed) if elapsed.isdigit() else None, time_limit=limit,
                    source="sacct")
        return None

    def job(self, job_id: str) -> JobInfo | None:
        """Best knowledge of one job: scontrol while slurmctld remembers it, else sacct."""
        info = self.show_job(job_id)
        if info is None:
            info = self.sacct_job(job_id)
        return info

    # -- the cluster ------------------------------------------------------------------------

    def partitions(self) -> dict[str, dict[str, str]]:
        """Partition name -> its ``scontrol show partition`` fields."""
        proc = self.run("scontrol", ["--oneliner", "show", "partition"])
        out = {}
        for line in proc.stdout.splitlines():
            rec = parse_scontrol_record(line.strip())
            if "PartitionName" in rec:
                out[rec["PartitionName"]] = rec
        return out


def slurm_reason(text: str) -> str:
    """The most telling line of a Slurm error output, without the ``cmd: error:`` prefix."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return "no error message"
    # sbatch prints a specific line then "Batch job submission failed: <generic>"; keep both.
    cleaned = [re.sub(r"^\S+: error: ", "", ln) for ln in lines]
    if len(cleaned) > 1 and cleaned[-1].startswith("Batch job submission failed"):
        detail = cleaned[-2]
        generic = cleaned[-1].removeprefix("Batch job submission failed: ")
        return detail if generic.lower() in detail.lower() else f"{generic} ({detail})"
    return cleaned[-1].removeprefix("Batch job submission failed: ")
