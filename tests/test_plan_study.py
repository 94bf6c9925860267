"""``hpcplan plan --nodes 1,2`` on the live local two-node cluster: the cluster form of the
main job measures at both node counts under one study id and reports the scaling fit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.store import Store
from tests.slurm_cluster import REPO, Cluster, slurm_cluster  # noqa: F401

#: Small sizes: two jobs one after another on a 2-core runner. The MxP order comes from
#: a fixed share of each node's memory (weak scaling), here a small one.
SMALL = ["--param", "mxp_mem_fraction=0.0004", "--param", "mxp_nb=64",
         "--param", "gemm_n=256", "--param", "stream_elements=1000000",
         "--param", "stream_ntimes=3", "--param", "net_sizes=8,65536",
         "--param", "net_allreduce_sizes=8,65536", "--repeats", "2"]


def test_plan_nodes_runs_a_study_and_reports_its_scaling(
        slurm_cluster: Cluster, tmp_path: Path) -> None:  # noqa: F811
    results = tmp_path / "results"
    out = results / "report" / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "hpcplan", "plan", "--nodes", "1,2", "--results", str(results),
         "--out", str(out), "--samples", "200", "--time", "10", "--timeout", "600", *SMALL],
        cwd=REPO, env=slurm_cluster.env(), capture_output=True, text=True, timeout=900,
        check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    outcomes = [r for r in Store(results).load() if r.area == "job"]
    assert not outcomes or all(r.job["state"] == "FAILED" for r in outcomes), \
        [(r.name, r.validation) for r in outcomes]
    assert "Traceback" not in proc.stderr
    records = Store(results).load()
    studies = {r.job.get("study_id") for r in records}
    assert len(studies) == 1 and next(iter(studies)).startswith("study-")
    solves = [r for r in records if r.name == "compute.hpl.fp64"]
    assert sorted(r.nodes for r in solves) == [1, 2], \
        [(r.name, r.validation.get("details")) for r in records if r.area == "job"]
    assert {r.job["num_nodes"] for r in records} == {1, 2}
    # the jobs ran one after another, never side by side (measured records only: a job's
    # outcome record, when it exited non-zero, is written at collection)
    by_job: dict[str, list[str]] = {}
    for r in records:
        if r.area != "job":
            by_job.setdefault(r.job["job_id"], []).append(r.timestamp)
    (first, second) = sorted(by_job.values(), key=min)
    assert max(first) < min(second)
    html = out.read_text()
    assert "Scaling" in html and "fitted on 1-2 nodes" in html
    assert f"scaling study {next(iter(studies))}" in html
    assert f"report: {out}" in proc.stdout


def test_plan_nodes_inside_an_allocation_runs_srun_steps(
        slurm_cluster: Cluster, tmp_path: Path) -> None:  # noqa: F811
    """Under salloc the node counts are steps of the one allocation, not new jobs."""
    results = tmp_path / "results"
    out = results / "report.html"
    proc = subprocess.run(
        ["salloc", "--nodes=2", "--time=15", "--immediate=300", "--",
         sys.executable, "-m", "hpcplan", "plan", "--nodes", "1,2", "--results", str(results),
         "--out", str(out), "--samples", "200", "--timeout", "600", *SMALL],
        cwd=REPO, env=slurm_cluster.env(), capture_output=True, text=True, timeout=900,
        check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "submitted" not in proc.stderr + proc.stdout  # no sbatch: steps only
    records = Store(results).load()
    assert not [r for r in records if r.area == "job"], [r.validation for r in records]
    assert len({r.job["study_id"] for r in records}) == 1
    assert len({r.job["job_id"] for r in records}) == 1  # the allocation's
    assert {r.job["num_nodes"] for r in records} == {1, 2}
    solves = sorted((r for r in records if r.name == "compute.hpl.fp64"), key=lambda r: r.nodes)
    assert [r.nodes for r in solves] == [1, 2]
    # each step's records name that step's own nodes, and the steps never overlapped
    assert solves[0].job["node_list"] in ("node1", "node2")
    assert solves[1].job["node_list"] == "node[1-2]"
    by_step: dict[str, list[str]] = {}
    for r in records:
        by_step.setdefault(r.job["step_id"], []).append(r.timestamp)
    (first, second) = sorted(by_step.values(), key=min)
    assert max(first) < min(second)
    assert "fitted on 1-2 nodes" in out.read_text()


def test_plan_nodes_inside_an_allocation_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    """Checked before any step starts: a count beyond the allocation, an option that only
    shapes new jobs, and a study started from inside a step."""
    base = [sys.executable, "-m", "hpcplan", "plan", "--results", str(tmp_path / "r")]
    env = {**os.environ, "SLURM_JOB_ID": "77", "SLURM_JOB_NUM_NODES": "2"}
    env.pop("SLURM_STEP_ID", None)
    cases = [
        (["--nodes", "1,4"], env, "--nodes 4 is more than allocation 77 holds (2 node(s))"),
        (["--nodes", "1,2", "--partition", "big"], env, "--partition shape(s) a new job"),
        (["--nodes", "1"], {**env, "SLURM_STEP_ID": "0"}, "inside step 0 of job 77"),
    ]
    for extra, environ, says in cases:
        proc = subprocess.run([*base, *extra], cwd=REPO, env=environ, capture_output=True,
                              text=True, timeout=120, check=False)
        assert proc.returncode == 2, (extra, proc.stderr)
        assert says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "r" / "slurm").exists()


def test_a_job_or_step_that_wrote_nothing_is_launched_once_more(
        slurm_cluster: Cluster, tmp_path: Path) -> None:  # noqa: F811
    """A launch failure (here a Python that does not exist inside the job) is retried once,
    as a job and as a step of an allocation; both outcomes are kept and the exit is 1."""
    args = ["-m", "hpcplan", "plan", "--nodes", "1", "--python", "/nonexistent/python3",
            "--samples", "50", "--time", "5", "--timeout", "300"]
    for how, head in (("jobs", []), ("steps", ["salloc", "--nodes=1", "--time=5",
                                              "--immediate=300", "--"])):
        results = tmp_path / how
        proc = subprocess.run([*head, sys.executable, *args, "--results", str(results),
                               "--out", str(results / "r.html")], cwd=REPO,
                              env=slurm_cluster.env(), capture_output=True, text=True,
                              timeout=600, check=False)
        assert proc.returncode == 1, (how, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        outcomes = Store(results).load()
        assert [r.name for r in outcomes] == ["job.slurm.compute_memory_network"] * 2, how
        assert all(r.status == "failed" and r.job["state"] == "FAILED" for r in outcomes)
        assert len({r.job["study_id"] for r in outcomes}) == 1
        # two jobs, or two steps of the one allocation
        assert len({r.job["job_id"] for r in outcomes}) == (2 if how == "jobs" else 1), how
        assert (results / "r.html").is_file()  # the report is still written
