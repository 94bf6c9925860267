"""Batch scripts: validation of every value and quoting that no hostile name can escape."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from slurm import SlurmError
from slurm.script import JobSpec, render, render_script, sbatch_quote, time_limit_s

HOSTILE = "a b;\"c\" 'd' $(touch /tmp/hpcplan-pwned) `id` \\ %j ${HOME} & | > <"


def spec(tmp_path: Path, **kw) -> JobSpec:
    base = dict(suites=("network",), nodes=2, commands=[["python3", "-m", "hpcplan", "run"]],
                job_dir=tmp_path / "job", pythonpath=tmp_path)
    base.update(kw)
    return JobSpec(**base)


@pytest.mark.parametrize("text,seconds", [
    ("30", 1800), ("5:30", 330), ("1:00:00", 3600), ("00:30:00", 1800), ("2-0", 172800),
    ("1-2:03", 93780), ("1-02:03:04", 93784),
])
def test_time_limit_formats(text: str, seconds: int) -> None:
    assert time_limit_s(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1h", "0", "0:00", "1:60", "1:00:60", "1-24",
                                  "-5", "1:2:3:4", "10 ", "1;rm"])
def test_bad_time_limits_are_refused(text: str) -> None:
    with pytest.raises(SlurmError, match="time limit"):
        time_limit_s(text)


@pytest.mark.parametrize("field,value,match", [
    ("nodes", 0, "nodes"), ("nodes", "2", "nodes"), ("tasks_per_node", -1, "tasks per node"),
    ("cpus_per_task", True, "cpus per task"), ("partition", "debug;rm", "partition"),
    ("account", "a b", "account"), ("qos", "$(x)", "QoS"), ("constraint", "a b", "constraint"),
    ("mpi", "pmi2 --x", "MPI plugin"), ("time_limit", "forever", "time limit"),
    ("suites", ("Quick",), "suite name"), ("suites", ("a;b",), "suite name"),
    ("job_name", "two\nlines", "newline"), ("job_dir", Path("relative/dir"), "absolute"),
    ("setup_lines", ["module load x\nrm -rf /"], "newline"), ("commands", [], "no command"),
])
def test_each_value_is_validated(tmp_path: Path, field: str, value: object, match: str) -> None:
    with pytest.raises(SlurmError, match=match):
        spec(tmp_path, **{field: value})


def test_backslash_in_path_refused(tmp_path: Path) -> None:
    with pytest.raises(SlurmError, match="backslash"):
        spec(tmp_path, job_dir=tmp_path / "a\\b")


def test_script_has_the_requested_options(tmp_path: Path) -> None:
    s = spec(tmp_path, nodes=4, tasks_per_node=2, cpus_per_task=3, time_limit="1:30:00",
             partition="batch", account="proj1", qos="normal", constraint="[ib&avx512]*2",
             exclusive=True, setup_lines=["module load mpich", "source /opt/venv/bin/activate"],
             mpi="pmix")
    text = render_script(s)
    lines = text.splitlines()
    for opt in ("--nodes=4", "--ntasks-per-node=2", "--cpus-per-task=3", "--time=1:30:00",
                "--partition=batch", "--account=proj1", "--qos=normal",
                '--constraint="[ib&avx512]*2"', "--exclusive"):
        assert f"#SBATCH {opt}" in lines
    assert "module load mpich" in lines and "source /opt/venv/bin/activate" in lines
    assert any(ln.startswith("srun --mpi=pmix --kill-on-bad-exit=1 python3 -m hpcplan run")
               for ln in lines)
    # sbatch stops reading options at the first command: all #SBATCH lines come first.
    first_command = next(i for i, ln in enumerate(lines)
                         if ln.strip() and not ln.startswith("#"))
    assert all(i < first_command for i, ln in enumerate(lines) if ln.startswith("#SBATCH"))
    assert s.ranks == 8


def test_optional_options_are_left_out(tmp_path: Path) -> None:
    text = render_script(spec(tmp_path))
    for opt in ("--partition", "--account", "--qos", "--constraint", "--exclusive"):
        assert f"#SBATCH {opt}" not in text


def test_sbatch_quote_escapes_quotes_and_backslashes() -> None:
    assert sbatch_quote('a"b\\c $x') == '"a\\"b\\\\c $x"'


def test_hostile_names_and_paths_stay_data(tmp_path: Path) -> None:
    job_dir = tmp_path / HOSTILE.replace("\\", "") / "job"
    s = spec(tmp_path, job_name=HOSTILE, job_dir=job_dir,
             commands=[["python3", "-c", "print(1)", HOSTILE, str(job_dir)]])
    text = render_script(s)
    assert f"#SBATCH --job-name={sbatch_quote(s.name)}" in text
    srun = next(ln for ln in text.splitlines() if ln.startswith("srun "))
    argv = shlex.split(srun.split(" || ")[0])
    assert argv[3:] == ["python3", "-c", "print(1)", HOSTILE, str(job_dir)]
    # The output paths double the directory's % so only our %j is a pattern.
    assert "%%j ${HOME}" in text and '/job/slurm-%j.out"' in text
    # bash parses it; running it for real happens on the live cluster (test_slurm_live).
    script = tmp_path / "job.sh"
    script.write_text(text)
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert not Path("/tmp/hpcplan-pwned").exists()


def test_template_placeholders_must_match() -> None:
    with pytest.raises(SlurmError, match="unknown placeholder"):
        render("{{nope}}", {})
    with pytest.raises(SlurmError, match="lacks placeholders"):
        render("text", {"x": "1"})
    assert render("{{a}}-{{b}}", {"a": "{{b}}", "b": "2"}) == "{{b}}-2"
