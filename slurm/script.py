"""Batch scripts from ``slurm/templates/job.sh``: every value validated, then quoted.

Two quoting contexts meet in a batch script. ``#SBATCH`` lines are read by
sbatch, not by the shell: values there go inside double quotes with ``\\`` and
``"`` escaped (sbatch's own rule), and ``%`` doubled in output paths so sbatch
does not expand it as a file-name pattern. Shell lines get ``shlex.quote``. A
job name or path with quotes, spaces, ``$`` or ``;`` therefore reaches Slurm
and the program as the same characters and never runs as a command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from slurm import SlurmError

SUITE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Partition, account and QoS names: Slurm allows more, sites use these.
NAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
#: Feature expressions: names joined by & | , with [ ] ( ) and *count.
CONSTRAINT_RE = re.compile(r"^[A-Za-z0-9_.,&|*\[\]()!:=+-]{1,256}$")
MPI_RE = re.compile(r"^[a-z0-9_]{1,32}$")
#: sbatch --time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
TIME_RE = re.compile(
    r"^(?:(?P<d>\d+)-(?P<dh>\d{1,2})(?::(?P<dm>\d{1,2})(?::(?P<ds>\d{1,2}))?)?"
    r"|(?P<h>\d+):(?P<hm>\d{1,2}):(?P<hs>\d{1,2})"
    r"|(?P<m>\d+):(?P<ms>\d{1,2})"
    r"|(?P<mo>\d+))$"
)
#: Output files in the job directory; sbatch replaces %j with the job id.
STDOUT_PATTERN = "slurm-%j.out"
STDERR_PATTERN = "slurm-%j.err"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def time_limit_s(text: str) -> int:
    """Seconds in an sbatch ``--time`` value; a clear error for any other format."""
    m = TIME_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise SlurmError(f"time limit {text!r} is not a Slurm time (minutes, MM:SS, HH:MM:SS, "
                         f"D-HH, D-HH:MM or D-HH:MM:SS)")
    g = {k: int(v) for k, v in m.groupdict().items() if v is not None}
    for key in ("dm", "ds", "hm", "hs", "ms"):
        if g.get(key, 0) >= 60:
            raise SlurmError(f"time limit {text!r} has minutes or seconds of 60 or more")
    if g.get("dh", 0) >= 24:
        raise SlurmError(f"time limit {text!r} has 24 or more hours after the day count")
    seconds = (
        g.get("d", 0) * 86400 + g.get("dh", 0) * 3600 + g.get("dm", 0) * 60 + g.get("ds", 0)
        + g.get("h", 0) * 3600 + g.get("hm", 0) * 60 + g.get("hs", 0)
        + g.get("m", 0) * 60 + g.get("ms", 0) + g.get("mo", 0) * 60
    )
    if seconds <= 0:
        raise SlurmError(f"time limit {text!r} must be longer than zero")
    return seconds


def _check_text(label: str, value: str, *, max_len: int = 4096) -> str:
    if not isinstance(value, str) or not value:
        raise SlurmError(f"{label} must be a non-empty string")
    if _CONTROL_RE.search(value):
        raise SlurmError(f"{label} {value!r} contains a newline or control character")
    if len(value) > max_len:
        raise SlurmError(f"{label} is longer than {max_len} characters")
    return value


def _check_path(label: str, path: Path) -> Path:
    text = _check_text(label, str(path))
    if not Path(text).is_absolute():
        raise SlurmError(f"{label} {text!r} must be an absolute path")
    if "\\" in text:
        # sbatch treats a backslash in an output path as "expand no patterns".
        raise SlurmError(f"{label} {text!r} contains a backslash, which Slurm misreads")
    return Path(text)


def sbatch_quote(value: str) -> str:
    """Quote a value for an ``#SBATCH`` line the way sbatch unquotes it."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sbatch_path(directory: Path, pattern: str) -> str:
    """An output path for ``#SBATCH``: the directory's ``%`` doubled so only ``pattern``
    (our own ``slurm-%j.out``) is expanded by sbatch."""
    return sbatch_quote(str(directory).replace("%", "%%") + "/" + pattern)


@dataclass(frozen=True)
class JobSpec:
    """Everything one batch job needs; ``validate`` runs on construction."""

    suites: Sequence[str]
    nodes: int
    commands: Sequence[Sequence[str]]
    job_dir: Path
    pythonpath: Path
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    time_limit: str = "00:30:00"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    exclusive: bool = False
    setup_lines: Sequence[str] = ()
    mpi: str = "pmi2"
    job_name: str | None = None
    extra_sbatch: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "suites", tuple(self.suites))
        object.__setattr__(self, "commands", tuple(tuple(c) for c in self.commands))
        object.__setattr__(self, "setup_lines", tuple(self.setup_lines))
        object.__setattr__(self, "extra_sbatch", tuple(self.extra_sbatch))
        object.__setattr__(self, "job_dir", Path(self.job_dir))
        object.__setattr__(self, "pythonpath", Path(self.pythonpath))
        self.validate()

    @property
    def label(self) -> str:
        """The suites joined by '_': names the job, its directory and its outcome record."""
        return "_".join(self.suites)

    @property
    def name(self) -> str:
        return self.job_name or f"hpcplan-{self.label}-{self.nodes}n"

    @property
    def ranks(self) -> int:
        return self.nodes * self.tasks_per_node

    def stdout_path(self, job_id: str) -> Path:
        return self.job_dir / STDOUT_PATTERN.replace("%j", job_id)

    def stderr_path(self, job_id: str) -> Path:
        return self.job_dir / STDERR_PATTERN.replace("%j", job_id)

    @property
    def exit_file(self) -> Path:
        return self.job_dir / "exit-code"

    def validate(self) -> None:
        if not self.suites:
            raise SlurmError("no suite given for the job")
        for suite in self.suites:
            if not isinstance(suite, str) or not SUITE_RE.match(suite):
                raise SlurmError(f"suite name {suite!r} must be lower-case letters, digits "
                                 f"and '_', starting with a letter")
        for label, number in (("nodes", self.nodes), ("tasks per node", self.tasks_per_node),
                              ("cpus per task", self.cpus_per_task)):
            if not isinstance(number, int) or isinstance(number, bool) or not (
                    1 <= number <= 1_000_000):
                raise SlurmError(f"{label} must be a whole number of at least 1, not {number!r}")
        time_limit_s(self.time_limit)
        for label, value in (("partition", self.partition), ("account", self.account),
                             ("QoS", self.qos)):
            if value is not None and not NAME_RE.match(value):
                raise SlurmError(f"{label} {value!r} may hold only letters, digits and . _ @ + -")
        if self.constraint is not None and not CONSTRAINT_RE.match(self.constraint):
            raise SlurmError(f"constraint {self.constraint!r} is not a Slurm feature expression")
        if not MPI_RE.match(self.mpi):
            raise SlurmError(f"MPI plugin {self.mpi!r} must be a Slurm --mpi name such as pmi2, "
                             f"pmix or none")
        _check_text("job name", self.name, max_len=200)
        _check_path("job directory", self.job_dir)
        _check_path("Python path", self.pythonpath)
        if not self.commands or not all(self.commands):
            raise SlurmError("the job has no command to launch")
        for command in self.commands:
            for word in command:
                _check_text("job command word", word)
        for line in self.setup_lines:
            _check_text("set-up line", line)
        for arg in self.extra_sbatch:
            _check_text("extra sbatch option", arg)
            if not arg.startswith("--"):
                raise SlurmError(f"extra sbatch option {arg!r} must start with '--'")

    def sbatch_lines(self) -> list[str]:
        lines = [
            f"--job-name={sbatch_quote(self.name)}",
            f"--nodes={self.nodes}",
            f"--ntasks-per-node={self.tasks_per_node}",
            f"--cpus-per-task={self.cpus_per_task}",
            f"--time={self.time_limit}",
        ]
        if self.partition:
            lines.append(f"--partition={self.partition}")
        if self.account:
            lines.append(f"--account={self.account}")
        if self.qos:
            lines.append(f"--qos={self.qos}")
        if self.constraint:
            lines.append(f"--constraint={sbatch_quote(self.constraint)}")
        if self.exclusive:
            lines.append("--exclusive")
        lines += [
            f"--chdir={sbatch_quote(str(self.job_dir))}",
            f"--output={sbatch_path(self.job_dir, STDOUT_PATTERN)}",
            f"--error={sbatch_path(self.job_dir, STDERR_PATTERN)}",
        ]
        lines += [sbatch_quote_option(arg) for arg in self.extra_sbatch]
        return ["#SBATCH " + line for line in lines]


def sbatch_quote_option(arg: str) -> str:
    """``--key=value`` with the value quoted for an ``#SBATCH`` line."""
    key, eq, value = arg.partition("=")
    return f"{key}={sbatch_quote(value)}" if eq else key


def template_text(name: str = "job.sh") -> str:
    return resources.files("slurm").joinpath("templates", name).read_text()


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{{name}}`` placeholders in one pass; an unknown or unused one is a bug."""
    used: set[str] = set()

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise SlurmError(f"batch template has unknown placeholder {{{{{key}}}}}")
        used.add(key)
        return values[key]

    text = re.sub(r"\{\{(\w+)\}\}", sub, template)
    unused = set(values) - used
    if unused:
        raise SlurmError(f"batch template lacks placeholders {sorted(unused)}")
    return text


def render_script(spec: JobSpec, template: str | None = None) -> str:
    """The batch script for ``spec``, exactly as it will be submitted."""
    setup = "\n".join(spec.setup_lines) if spec.setup_lines else "# (none configured)"
    return render(template if template is not None else template_text(), {
        "suites": ", ".join(spec.suites),
        "sbatch_lines": "\n".join(spec.sbatch_lines()),
        "setup_lines": setup,
        "pythonpath": shlex.quote(str(spec.pythonpath)),
        "launch_lines": "\n".join(
            f"srun --mpi={spec.mpi} --kill-on-bad-exit=1 {shlex.join(c)} "
            '|| { status=$?; [ "$rc" -ne 0 ] || rc=$status; }'
            for c in spec.commands),
        "exit_file": shlex.quote(str(spec.exit_file)),
    })
