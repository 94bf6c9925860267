"""The Slurm client's parsing and its errors, without a cluster (the live tests use one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slurm import SlurmError
from slurm.client import (
    SlurmClient,
    bare_state,
    check_job_id,
    expand_hostlist,
    parse_duration_s,
    parse_scontrol_record,
    slurm_reason,
)
from slurm.jobs import script_runtime_s, tail
from slurm.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text,names", [
    ("node[1-2]", ["node1", "node2"]),
    ("node[1-3,7],gpu[01-02]", ["node1", "node2", "node3", "node7", "gpu01", "gpu02"]),
    ("login1,c[098-101]x", ["login1", "c098x", "c099x", "c100x", "c101x"]),
    ("single", ["single"]), ("", []), ("(null)", []),
])
def test_expand_hostlist(text: str, names: list[str]) -> None:
    assert expand_hostlist(text) == names


def test_expand_hostlist_refuses_what_it_cannot_read() -> None:
    with pytest.raises(SlurmError, match="node list"):
        expand_hostlist("node[a-b]")


def test_scontrol_record_with_a_hostile_job_name() -> None:
    line = ("JobId=42 JobName=x JobState=COMPLETED ExitCode=0:0 y UserId=root(0) "
            "JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 RunTime=00:01:02 "
            "WorkDir=/tmp/a b StdErr=/tmp/a b/slurm-42.err")
    rec = parse_scontrol_record(line)
    # The name's fake "JobState=COMPLETED" is overridden by the real, later key.
    assert rec["JobState"] == "FAILED" and rec["ExitCode"] == "3:0"
    assert rec["WorkDir"] == "/tmp/a b" and rec["StdErr"] == "/tmp/a b/slurm-42.err"
    assert rec["RunTime"] == "00:01:02"


@pytest.mark.parametrize("text,seconds", [
    ("0:03", 3.0), ("1:02:03", 3723.0), ("2-01:00:00", 176400.0), ("5", 300.0),
    ("UNLIMITED", None), ("", None),
])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration_s(text) == seconds


def test_bare_state() -> None:
    assert bare_state("CANCELLED by 0") == "CANCELLED"
    assert bare_state("COMPLETING+") == "COMPLETING"
    assert bare_state("") == "UNKNOWN"


def test_job_ids_are_checked_before_any_command() -> None:
    assert check_job_id(" 123 ") == "123" and check_job_id("7_3") == "7_3"
    for bad in ("", "12;rm", "-1", "abc", "1 2"):
        with pytest.raises(SlurmError, match="not a Slurm job id"):
            check_job_id(bad)


def test_slurm_reason_keeps_the_specific_line() -> None:
    err = ("sbatch: error: invalid partition specified: nope\n"
           "sbatch: error: Batch job submission failed: Invalid partition name specified\n")
    assert slurm_reason(err) == ("Invalid partition name specified "
                                 "(invalid partition specified: nope)")
    assert slurm_reason("sbatch: error: Invalid --time specification\n") == \
        "Invalid --time specification"


def test_missing_sbatch_is_one_clear_sentence(tmp_path: Path) -> None:
    client = SlurmClient(env={"PATH": str(tmp_path)})
    with pytest.raises(SlurmError, match=r"sbatch is not on PATH.*export PATH=.*SLURM_CONF"):
        client.submit(tmp_path / "job.sh")


def test_cli_without_sbatch_exits_2_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "hpcplan", "submit", "network", "--results",
                           str(tmp_path / "r")], env=env, cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("hpcplan: error: ") and "is not on PATH" in proc.stderr


def test_tail_and_runtime(tmp_path: Path) -> None:
    out = tmp_path / "slurm-1.out"
    out.write_text("hpcplan: job 1 on node[1-2] started 2026-01-01T00:00:01.250000000Z\n"
                   "noise\n"
                   "hpcplan: job 1 finished with exit code 0 at 2026-01-01T00:00:03.750000000Z\n")
    assert script_runtime_s(out) == pytest.approx(2.5)
    assert script_runtime_s(tmp_path / "missing") is None
    err = tmp_path / "e"
    err.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(err, lines=3) == "line 97\nline 98\nline 99"
    assert tail(tmp_path / "missing") == ""


def test_ledger_is_atomic_and_refuses_duplicates(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "slurm")
    ledger.add({"job_id": "1", "suites": ["network"]})
    ledger.add({"job_id": "2"})
    with pytest.raises(SlurmError, match="already"):
        ledger.add({"job_id": "1"})
    ledger.update("1", collected=True)
    assert [e["job_id"] for e in ledger.entries()] == ["1", "2"]
    assert ledger.get("1")["collected"] is True
    with pytest.raises(SlurmError, match="not in the ledger"):
        ledger.update("9", collected=True)
    assert not [p for p in os.listdir(tmp_path / "slurm") if p.endswith(".tmp")]
    (tmp_path / "slurm" / "ledger.json").write_text("{not json")
    with pytest.raises(SlurmError, match="unreadable"):
        ledger.entries()
