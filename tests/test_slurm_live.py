"""hpcplan's Slurm commands against the live local cluster (two slurmd, no accounting).

All jobs are submitted at once by the module fixture so they run side by side;
each test then waits for its own job. The time-limit job is submitted with a
one-minute limit that is lowered with ``scontrol update TimeLimit=0`` once it
is writing, so Slurm's own time-limit enforcement (checked every 30 s) ends it
as TIMEOUT without the test waiting a full minute.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.store import Store
from hpcplan import cmd_slurm
from slurm.client import SlurmClient
from slurm.jobs import submit as submit_job
from slurm.ledger import Ledger
from slurm.script import JobSpec
from tests.slurm_cluster import REPO, Cluster, slurm_cluster  # noqa: F401

HOSTILE = "evil \"name\"; $(touch {m}) `touch {m}` 'q' %j $HOME &"
SLOW_IO = ["--param", "io_block=1MiB", "--param", "io_transfer=64KiB",
           "--param", "io_iterations=100000", "--param", "md_files=50"]


def cli(cluster: Cluster, *args: str, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpcplan", *args], cwd=REPO,
                          env=env or cluster.env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def submitted_id(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("submitted job "))
    return line.split()[2].rstrip(":")


def no_sacct_client(cluster: Cluster, tmp: Path) -> SlurmClient:
    """A client whose PATH has every Slurm command except sacct."""
    bindir = tmp / "bin-no-sacct"
    bindir.mkdir(exist_ok=True)
    for cmd in ("sbatch", "squeue", "scontrol", "scancel", "sinfo"):
        target = bindir / cmd
        if not target.exists():
            target.symlink_to(subprocess.run(["which", cmd], capture_output=True, text=True,
                                             check=True).stdout.strip())
    env = cluster.env(PATH=f"{bindir}:/nonexistent")
    client = SlurmClient(env=env)
    assert client.which("sacct") is None
    return client


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def live(slurm_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
         ) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("slurm-live")
    marker = base / "PWNED"
    hostile_name = HOSTILE.format(m=marker)
    out: dict[str, Any] = {"base": base, "marker": marker, "hostile_name": hostile_name,
                           "client": SlurmClient(env=slurm_cluster.env())}
    # A: the quick and network suites on 2 nodes, with a hostile job name and results path.
    results = base / "res dir; $(touch PWNED) 'q' %j"
    out["results"] = results
    out["two_node"] = submitted_id(cli(
        slurm_cluster, "submit", "quick", "network", "--nodes", "2", "--results", str(results),
        "--job-name", hostile_name, "--repeats", "2", "--param", "stream_elements=1000000",
        "--param", "stream_ntimes=3", "--param", "peak_seconds=0.1",
        "--param", "net_sizes=8,65536,1048576", "--param", "net_allreduce_sizes=8,65536",
        "--time", "10"))
    # C and D: a long storage run each, one to hit its time limit, one to be cancelled.
    for key in ("timeout", "cancel"):
        target = base / f"target-{key}"
        target.mkdir()
        out[f"{key}_target"] = target
        out[f"{key}_results"] = base / f"results-{key}"
        out[key] = submitted_id(cli(
            slurm_cluster, "submit", "io", "--target", str(target), "--time", "1",
            "--results", str(out[f"{key}_results"]), *SLOW_IO))
    # B: a job whose command fails with a message on stderr, through the library.
    fail_root = base / "results-fail"
    ledger = Ledger(fail_root / cmd_slurm.JOBS_SUBDIR)
    spec = JobSpec(
        suites=("shellcheck",), nodes=1, job_dir=fail_root / "slurm" / "failing",
        pythonpath=REPO, time_limit="2",
        commands=[[sys.executable, "-c",
                   "import sys; sys.stderr.write('boom: the disk is on fire\\n'); sys.exit(3)"]])
    out["fail"] = submit_job(out["client"], ledger, spec)["job_id"]
    out["fail_root"] = fail_root
    # Once the storage jobs write, end one by its time limit and cancel the other.
    _wait_writing(out, "timeout")
    out["client"].update_job(out["timeout"], TimeLimit="0")
    _wait_writing(out, "cancel")
    out["cancel_proc"] = cli(slurm_cluster, "cancel", out["cancel"], "--results",
                             str(out["cancel_results"]))
    return out


def test_two_node_job_records_carry_the_job(live: dict[str, Any], slurm_cluster: Cluster  # noqa: F811
                                            ) -> None:
    job = live["two_node"]
    proc = cli(slurm_cluster, "collect", "--wait", "--timeout", "150", "--results",
               str(live["results"]), job)
    assert proc.returncode == 0, proc.stderr
    records = Store(live["results"]).load()
    names = {r.name for r in records}
    assert {"network.pingpong.latency", "network.pingpong.bandwidth",
            "network.allreduce.bandwidth", "compute.peak.fp64",
            "memory.stream.triad"} <= names
    state = records[0].job["state"]
    for r in records:
        assert r.job["job_id"] == job
        assert r.job["node_names"] == ["node1", "node2"] and r.job["node_list"] == "node[1-2]"
        assert r.ranks == 2
        assert r.job["state"] == state
    net = [r for r in records if r.area == "network"]
    assert all(r.status == "ok" and r.value > 0 for r in net)
    assert net[0].params["peer_ranks"] == [0, 1]
    # The job exits non-zero only when a benchmark failed its validation.
    failed = [r for r in records if r.status in ("failed", "aborted")]
    assert (state == "COMPLETED") == (not failed), [(r.name, r.validation) for r in failed]
    # The hostile name reached Slurm intact and ran nothing.
    assert live["client"].show_job(job).name == live["hostile_name"]
    assert not live["marker"].exists() and not (REPO / "PWNED").exists()
    ledger = Ledger(live["results"] / "slurm")
    assert ledger.get(job)["collected"] is True


def test_failed_job_without_sacct(live: dict[str, Any], slurm_cluster: Cluster,  # noqa: F811
                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = no_sacct_client(slurm_cluster, tmp_path)
    assert client.accounting_available() is False
    root = live["fail_root"]
    assert cmd_slurm.collect_jobs(client, Ledger(root / "slurm"), root, [live["fail"]], wait=True,
                              timeout_s=120) == 0
    assert f"job {live['fail']} FAILED, exit code 3" in capsys.readouterr().out
    (rec,) = Store(root).load()
    assert rec.name == "job.slurm.shellcheck" and rec.status == "failed" and rec.value is None
    assert rec.job["state"] == "FAILED" and rec.job["exit_code"] == 3
    assert rec.job["state_source"] == "scontrol"
    assert "boom: the disk is on fire" in rec.validation["details"]
    # Collecting again finds nothing new: each job is ingested once.
    assert cmd_slurm.collect_jobs(client, Ledger(root / "slurm"), root, [], wait=False,
                              timeout_s=1) == 0
    assert len(Store(root).load()) == 1


def _wait_writing(live: dict[str, Any], key: str) -> None:
    client, job, target = live["client"], live[key], live[f"{key}_target"]
    wait_until(lambda: client.show_job(job).state == "RUNNING", 60, f"job {job} to run")
    wait_until(lambda: any(target.rglob("*")), 60, f"job {job} to write under {target}")


def test_time_limit_job_is_timeout_and_cleans_up(live: dict[str, Any],
                                                  slurm_cluster: Cluster) -> None:  # noqa: F811
    job = live["timeout"]
    proc = cli(slurm_cluster, "collect", "--wait", "--timeout", "120", "--results",
               str(live["timeout_results"]))
    assert proc.returncode == 0, proc.stderr
    records = Store(live["timeout_results"]).load()
    outcome = next(r for r in records if r.name == "job.slurm.io")
    assert outcome.status == "aborted" and outcome.job["state"] == "TIMEOUT"
    assert "TIMEOUT" in outcome.validation["details"]
    assert "DUE TO TIME LIMIT" in outcome.validation["details"]
    # The storage kernel removed everything it wrote when the time limit's SIGTERM came.
    assert list(live["timeout_target"].iterdir()) == []
    # Records the job managed to write before Slurm's repeated signals are marked aborted.
    assert all(r.status == "aborted" for r in records if r.area == "storage")
    assert all(r.job["job_id"] == job for r in records)


def test_cancelled_job(live: dict[str, Any], slurm_cluster: Cluster) -> None:  # noqa: F811
    job = live["cancel"]
    proc = live["cancel_proc"]
    assert proc.returncode == 0 and f"cancelled job {job}" in proc.stdout, proc.stderr
    proc = cli(slurm_cluster, "collect", "--wait", "--timeout", "60", "--results",
               str(live["cancel_results"]))
    assert proc.returncode == 0, proc.stderr
    records = Store(live["cancel_results"]).load()
    outcome = next(r for r in records if r.name == "job.slurm.io")
    assert outcome.status == "aborted" and outcome.job["state"] == "CANCELLED"
    assert list(live["cancel_target"].iterdir()) == []


def test_jobs_lists_state_and_reason(live: dict[str, Any], slurm_cluster: Cluster  # noqa: F811
                                     ) -> None:
    proc = cli(slurm_cluster, "jobs", "--results", str(live["results"]))
    assert proc.returncode == 0, proc.stderr
    header, _, row = proc.stdout.splitlines()[:3]
    assert header.split()[:4] == ["job", "suites", "nodes", "state"]
    assert row.split()[0] == live["two_node"] and "quick_network" in row


def test_dry_run_prints_the_exact_script(slurm_cluster: Cluster, tmp_path: Path,  # noqa: F811
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from hpcplan.cli import main

    for key, value in slurm_cluster.env().items():
        monkeypatch.setenv(key, value)
    fixed = tmp_path / "r" / "slurm" / "the-job"
    monkeypatch.setattr("slurm.jobs.new_job_dir", lambda *_a: fixed)
    args = ["submit", "network", "--results", str(tmp_path / "r"), "--time", "5"]
    before = {j.job_id for j in SlurmClient().queue()}
    assert main([*args, "--dry-run"]) == 0
    printed = capsys.readouterr().out.split("\n", 1)[1]
    assert {j.job_id for j in SlurmClient().queue()} == before  # nothing submitted
    assert not (tmp_path / "r").exists()
    assert main([*args, "--wait", "--timeout", "60"]) == 0
    assert (fixed / "job.sh").read_text() == printed
    out = capsys.readouterr().out
    assert "COMPLETED, exit code 0" in out
    recs = Store(tmp_path / "r").load()
    assert {r.status for r in recs} == {"unavailable"}  # one rank: the network suite says why


@pytest.mark.parametrize("args,message", [
    (["--partition", "nope"], "Slurm refused the job: Invalid partition name specified "
                              "(invalid partition specified: nope)"),
    (["--nodes", "3"], "--nodes 3 is more than partition 'debug' has (2 nodes)"),
    (["--time", "1h"], "time limit '1h' is not a Slurm time"),
    (["--nodes", "0"], "--nodes '0' must be node counts"),
    (["--account", "a;b"], "account 'a;b' may hold only"),
])
def test_bad_input_is_one_sentence(slurm_cluster: Cluster, tmp_path: Path,  # noqa: F811
                                   args: list[str], message: str) -> None:
    proc = cli(slurm_cluster, "submit", "network", "--results", str(tmp_path), *args)
    assert proc.returncode == 2
    assert proc.stderr == f"hpcplan: error: {message}\n" or (
        proc.stderr.startswith(f"hpcplan: error: {message}") and
        proc.stderr.count("\n") == 1), proc.stderr
    assert not (tmp_path / "slurm").exists() or not any((tmp_path / "slurm").iterdir())


def test_collect_and_cancel_refuse_unknown_jobs(slurm_cluster: Cluster,  # noqa: F811
                                                tmp_path: Path, live: dict[str, Any]) -> None:
    proc = cli(slurm_cluster, "collect", "999999", "--results", str(tmp_path))
    assert proc.returncode == 2 and "not in the ledger" in proc.stderr
    proc = cli(slurm_cluster, "cancel", "999999", "--results", str(tmp_path))
    assert proc.returncode == 2 and "job 999999 is not known to Slurm" in proc.stderr
    wait_until(lambda: live["client"].show_job(live["fail"]).finished, 60, "the failing job")
    proc = cli(slurm_cluster, "cancel", live["fail"], "--results", str(tmp_path))
    assert proc.returncode == 2 and "already ended FAILED; nothing to cancel" in proc.stderr
    proc = cli(slurm_cluster, "cancel", "12;rm", "--results", str(tmp_path))
    assert proc.returncode == 2 and "not a Slurm job id" in proc.stderr


def test_local_cluster_status(slurm_cluster: Cluster) -> None:  # noqa: F811
    proc = subprocess.run([sys.executable, "-m", "slurm.localcluster", "status"],
                          env=slurm_cluster.env(), cwd=REPO, capture_output=True, text=True,
                          check=False, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"running {slurm_cluster.conf} ") and "node1=" in proc.stdout
