"""``hpcplan gate`` and ``hpcplan compare`` end to end on real pytest-benchmark JSON.

A test double stands in for a kernel: it sleeps a fixed time, and 30% longer
when slowed. Three real pytest-benchmark runs (run at once: sleeping needs no
CPU) give a baseline, an unchanged re-run and a slowed run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import baselines
from hpcplan.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOUBLE = '''
import os, time

DELAY_S = 0.004
SLOWDOWN = float(os.environ["DOUBLE_SLOWDOWN"])


def kernel():
    time.sleep(DELAY_S * SLOWDOWN)


def test_double(benchmark):
    benchmark.pedantic(kernel, rounds=25, warmup_rounds=1, iterations=1)
    benchmark.extra_info.update({"unit": "s", "figures": {"double.sleep.time": DELAY_S},
                                 "validation": {"passed": True, "details": "a test double"},
                                 "params": {"delay_s": DELAY_S}})
'''


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("gate")
    (tmp / "test_double.py").write_text(DOUBLE)
    (tmp / "pytest.ini").write_text("[pytest]\n")
    procs = {}
    for label, slowdown in (("base", "1.0"), ("rerun", "1.0"), ("slow", "1.3")):
        out = tmp / f"{label}.json"
        cmd = [sys.executable, "-m", "pytest", str(tmp / "test_double.py"), "-q",
               "-c", str(tmp / "pytest.ini"), "--rootdir", str(tmp), "-p", "bench.ci.conftest",
               "-p", "no:cacheprovider", "-p", "no:randomly", "--benchmark-enable",
               "--benchmark-only", f"--benchmark-json={out}"]
        env = {**os.environ, "DOUBLE_SLOWDOWN": slowdown,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        procs[label] = (out, subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.STDOUT, text=True))
    for label, (_, proc) in procs.items():
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{label}: {output}"
    return {label: out for label, (out, _) in procs.items()}


def test_the_ci_conftest_names_the_machine(runs: dict[str, Path]) -> None:
    info = baselines.machine_of(json.loads(runs["base"].read_text()))
    assert info["machine_key"] == baselines.machine_key(info["cpu_model"], info["cores"])
    assert "load_average_start" in info


def test_a_slowed_kernel_fails_the_gate(runs: dict[str, Path], capsys) -> None:
    rc = main(["gate", "--baseline", str(runs["base"]), str(runs["slow"])])
    out = capsys.readouterr().out
    assert rc == 1, out
    assert "FAIL test_double" in out and "gate: FAILED" in out


def test_an_unchanged_rerun_passes_the_gate(runs: dict[str, Path], capsys) -> None:
    rc = main(["gate", "--baseline", str(runs["base"]), "--max-slowdown", "10%",
               str(runs["rerun"])])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "gate: passed" in out


def test_refresh_then_gate_by_machine_key(runs: dict[str, Path], tmp_path: Path,
                                          capsys) -> None:
    store = tmp_path / "baselines"
    assert main(["gate", "--baselines", str(store), str(runs["slow"])]) == 0
    assert "not applied: no baseline for machine" in capsys.readouterr().out
    assert main(["gate", "--refresh", "--baselines", str(store), str(runs["base"])]) == 0
    key = baselines.machine_of(json.loads(runs["base"].read_text()))["machine_key"]
    written = store / f"{key}.json"
    assert f"baseline written: {written}" in capsys.readouterr().out
    assert json.loads(written.read_text())["benchmarks"][0]["stats"]["data"]
    assert main(["gate", "--baselines", str(store), str(runs["slow"])]) == 1
    assert main(["gate", "--baselines", str(store), str(runs["rerun"])]) == 0


def test_refresh_refuses_a_run_that_failed_validation(runs: dict[str, Path], tmp_path: Path,
                                                      capsys) -> None:
    payload = json.loads(runs["base"].read_text())
    payload["benchmarks"][0]["extra_info"]["validation"] = {"passed": False,
                                                            "details": "checksum mismatch"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    assert main(["gate", "--refresh", "--baselines", str(tmp_path / "b"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "failed validation (checksum mismatch); not a baseline" in err
    assert not (tmp_path / "b").exists()


def test_a_baseline_from_another_cpu_is_refused(runs: dict[str, Path], tmp_path: Path,
                                                capsys) -> None:
    payload = json.loads(runs["base"].read_text())
    real = payload["machine_info"]["hpcplan"]["cpu_model"]
    payload["machine_info"]["hpcplan"]["cpu_model"] = "AMD EPYC 9654 96-Core Processor"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(payload))
    assert main(["gate", "--baseline", str(other), str(runs["slow"])]) == 2
    err = capsys.readouterr().err
    assert "could not judge any benchmark" in err
    assert f"machine.cpu_model differs ('AMD EPYC 9654 96-Core Processor' vs {real!r})" in err
    assert "Traceback" not in err
    assert main(["compare", str(other), str(runs["slow"])]) == 2
    assert "--force compares them anyway" in capsys.readouterr().err
    assert main(["compare", "--force", str(other), str(runs["slow"])]) == 0
    assert "slower" in capsys.readouterr().out


def test_compare_prints_change_interval_and_verdict(runs: dict[str, Path], capsys) -> None:
    assert main(["compare", str(runs["base"]), str(runs["slow"])]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("test_double"))
    assert "slower" in line and "95% interval" in out
    change = float(line.split()[4].rstrip("%"))
    assert 15 < change < 60


@pytest.mark.parametrize(("args", "message"), [
    (["gate", "--max-slowdown", "10"], "ambiguous: write 10%"),
    (["gate", "--baseline", "/nonexistent/base.json", "/nonexistent/cur.json"],
     "is not a file or directory"),
    (["compare", "--min-samples", "1", "a", "b"], "--min-samples 1 must be at least 2"),
])
def test_usage_errors_are_one_sentence(args: list[str], message: str, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_slowdown_must_repeat_in_every_rerun(runs: dict[str, Path], capsys) -> None:
    base, slow, rerun = (str(runs[k]) for k in ("base", "slow", "rerun"))
    assert main(["gate", "--baseline", base, slow, rerun]) == 0
    assert "gate: passed: no benchmark is significantly slower than the allowed 10% in all " \
        "2 runs" in capsys.readouterr().out
    assert main(["gate", "--baseline", base, slow, slow]) == 1
    assert "test_double significantly slower than the allowed 10% in every one of the runs" \
        in capsys.readouterr().out
