"""``hpcplan plan``: the main job end to end - measure, store, calibrate, project, report.

Runs the real command in a subprocess with a small real suite (STREAM on small
arrays: validated by its array check, robust on a busy machine), once as one
process and once under ``mpiexec -n 2``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.test_report_build import FIXTURES, make_results

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("--suite", "memory", "--param", "stream_elements=2000000", "--param",
         "stream_ntimes=3", "--samples", "300", "--quiet")


def hpcplan(*args: str, launcher: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HPCPLAN_RESULTS", "HPCPLAN_CONFIG")}
    return subprocess.run([*launcher, sys.executable, "-m", "hpcplan", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


def records(root: Path) -> list[dict]:
    return [r for f in sorted(root.glob("*.json")) for r in json.loads(f.read_text())["records"]]


def test_plan_measures_stores_projects_and_reports(tmp_path):
    res = tmp_path / "res"
    out = hpcplan("plan", "--results", str(res), *SMALL)
    assert out.returncode == 0, out.stderr
    report = res / "report" / "report.html"
    assert out.stdout.rstrip().splitlines()[-2] == f"report: {report}"
    assert "memory.stream.triad" in out.stdout and "P(by deadline)" in out.stdout
    assert "calibration notes say why" in out.stdout  # untagged records: nothing applied
    stored = records(res)
    assert {r["name"] for r in stored} == {f"memory.stream.{k}" for k in
                                           ("copy", "scale", "add", "triad")}
    html = report.read_text()
    assert 'id="fig-roofline-' in html  # the triad bandwidth gives this machine a roofline
    assert 'id="calibrate"' in html  # untagged records: the call to action is on top
    assert "<img" not in html and len(re.findall(r'<svg [^>]*class="chart"', html)) >= 6
    assert stored[0]["run_id"] in html and "21 stored" not in html
    assert (res / "report" / "report.md").is_file()
    assert (res / "report" / "report-measurements.csv").read_text().count("memory.stream.") == 4


def test_plan_skip_measure_reports_what_is_stored(tmp_path):
    res = make_results(tmp_path / "res")
    before = sorted(res.glob("*.json"))
    out = hpcplan("plan", "--skip-measure", "--results", str(res), "--out",
                  str(tmp_path / "p.html"), "--samples", "200", "--quiet")
    assert out.returncode == 0, out.stderr
    assert sorted(res.glob("*.json")) == before  # nothing measured, nothing written
    assert f"report: {tmp_path / 'p.html'}" in out.stdout
    assert "on 2 kind(s) of machine" in out.stdout


def test_plan_checks_the_scenario_before_measuring(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((FIXTURES / "small.toml").read_text().replace('raw = "20 PB"',
                                                                  'raw = "20 P"'))
    res = tmp_path / "res"
    out = hpcplan("plan", "--scenario", str(bad), "--results", str(res), *SMALL)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("hpcplan: error: ") and "storage.systems.fs.raw" in out.stderr
    assert not res.exists()  # nothing measured, nothing written
    out = hpcplan("plan", "--suite", "nope", "--results", str(res), "--quiet")
    assert out.returncode == 2 and "unknown suite 'nope'" in out.stderr
    out = hpcplan("plan", "--out", str(tmp_path / "report.pdf"), "--results", str(res), *SMALL)
    assert out.returncode == 2 and "must name an .html file" in out.stderr
    assert not res.exists()


def test_plan_under_mpi_every_rank_measures_rank_zero_reports(tmp_path):
    from bench.launcher import launcher

    run = launcher()  # the mpiexec of mpi4py's MPI, whatever comes first on PATH
    assert run.path, run.describe()
    res = tmp_path / "res"
    out = hpcplan("plan", "--results", str(res), *SMALL, launcher=tuple(run.command(2)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("report: ") == 1  # only rank 0 reports
    stored = records(res)
    assert len(stored) == 4 and all(r["ranks"] == 2 for r in stored)
    with (res / "report" / "report-runs.csv").open() as fh:
        runs = list(csv.DictReader(fh))
    assert [(r["ranks"], r["nodes"], r["ok"]) for r in runs] == [("2", "1", "4")]
