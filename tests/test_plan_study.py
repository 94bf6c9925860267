"""``hpcplan plan --nodes 1,2`` on the live local two-node cluster: the cluster form of the
main job measures at both node counts under one study id and reports the scaling fit."""

from __future__ import annotations

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
    assert sorted(r.nodes for r in solves) == [1, 2]
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
