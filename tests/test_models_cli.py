"""``hpcplan project``: the headline table, JSON, comparison and clean errors."""

import json
import subprocess
import sys
from pathlib import Path

from hpcplan.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "models"
ROOT = Path(__file__).resolve().parents[1]


def test_default_scenario_headline(capsys):
    assert main(["project", "--samples", "400"]) == 0
    out = capsys.readouterr().out
    assert "Guangzhou" in out
    for heading in ("Targets", "P50 date", "P90 date", "P(by deadline)", "power at P50",
                    "top drivers", "what binds each target", "World-leading check",
                    "Back-test:", "Definitions", "Sources", "Assumptions"):
        assert heading in out, heading
    assert "1000 PF mixed precision (> 1000 PF)" in out
    assert "100 PB storage (> 100 PB)" in out
    assert "catalogue.tianhe2a_node.fp64 = 5.66 TF: TOP500" in out


def test_json(capsys):
    assert main(["project", str(FIXTURES / "small.toml"), "--samples", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["targets"][0]["deterministic_date"] == "2027-01"
    assert len(data["months"]) == len(data["bands"]["mixed_peak_pf"]["p50"]) == 60
    assert data["units"]["mixed_peak_pf"] == "PF"


def test_comparison(capsys):
    small = str(FIXTURES / "small.toml")
    assert main(["project", small, "guangzhou", "--samples", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Scenario comparison")
    assert "[1] small hand-computed" in out and "[2] Guangzhou" in out


def test_calibrate_from(capsys):
    args = ["project", str(FIXTURES / "small.toml"), "--samples", "0", "--calibrate-from",
            str(FIXTURES / "results")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Calibration from" in out and "efficiency.cpu_node.hpl: 0.5 -> triangular" in out


def test_user_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((FIXTURES / "small.toml").read_text().replace('raw = "20 PB"',
                                                                  'raw = "20 P"'))
    assert main(["project", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "storage.systems.fs.raw" in err and "'P'" in err
    assert main(["project", "--samples", "-1"]) == 2
    assert main(["project", str(tmp_path / "none.toml")]) == 2


def test_no_traceback_from_the_command_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 'x'\nstart = '2026-01'\nend = '2030-12'\nfoo = 1\n")
    proc = subprocess.run([sys.executable, "-m", "hpcplan", "project", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hpcplan: error: ") and "Traceback" not in proc.stderr
    assert "scenario.foo: unknown key" in proc.stderr
