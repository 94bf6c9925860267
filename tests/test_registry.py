"""The benchmark registry: one registration is everything a new benchmark needs.

A toy benchmark (tests/fixtures/plugins/toy_benchmark.py) is registered from outside
the repository's bench/ through ``$HPCPLAN_BENCHMARKS``; with no other file edited
it shows up in the suite list, ``hpcplan run --help``, ``--param`` checking, compare's
comparability rule and the CI tier.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import registry

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = Path(__file__).parent / "fixtures" / "plugins"


def toy_env() -> dict[str, str]:
    env = {**os.environ, registry.PLUGINS_ENV: "toy_benchmark",
           "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(ROOT)])}
    env.pop("HPCPLAN_RESULTS", None)
    return env


def hpcplan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpcplan", *args], cwd=cwd, env=toy_env(),
                          capture_output=True, text=True, timeout=300)


def test_toy_benchmark_is_listed_in_the_help_with_its_params(tmp_path: Path) -> None:
    out = hpcplan("run", "--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "toy: counts imaginary widgets (a registry test)" in text
    assert "toy_widgets=<int> widgets [1..1000] default 3: widgets to count" in text


def test_toy_benchmark_runs_and_compare_ignores_its_outcome(tmp_path: Path) -> None:
    results = tmp_path / "results"
    for _ in range(2):
        out = hpcplan("run", "--suite", "toy", "--param", "toy_widgets=5", "--quiet",
                      "--results", str(results), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    files = sorted(results.glob("*.json"))
    assert len(files) == 2
    recs = [json.loads(f.read_text())["records"][0] for f in files]
    assert [r["name"] for r in recs] == ["toy.widgets.count", "toy.widgets.count"]
    assert all(r["kernel_version"] == "7" and r["params"]["widgets"] == 5 for r in recs)
    assert recs[0]["params"]["toy_luck"] != recs[1]["params"]["toy_luck"]
    out = hpcplan("compare", str(files[0]), str(files[1]), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    row = next(ln for ln in out.stdout.splitlines() if ln.startswith("toy.widgets.count"))
    assert "no significant change" in row and "refused" not in row


def test_toy_params_are_typed_and_checked(tmp_path: Path) -> None:
    for param, words in (("toy_widgts=5", "did you mean 'toy_widgets'?"),
                         ("toy_widgets=0", "must be at least 1 widgets"),
                         ("toy_widgets=abc", "is not a whole number")):
        out = hpcplan("run", "--suite", "toy", "--param", param, "--results",
                      str(tmp_path / "r"), cwd=tmp_path)
        assert out.returncode == 2 and words in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_toy_benchmark_enters_the_ci_tier(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(ROOT / "bench" / "ci"), "-k", "toy_widgets",
                          "--benchmark-enable", "--benchmark-json", str(tmp_path / "ci.json")],
                         cwd=ROOT, env=toy_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:]
    entries = json.loads((tmp_path / "ci.json").read_text())["benchmarks"]
    assert [e["name"] for e in entries] == ["test_toy_widgets"]
    assert entries[0]["extra_info"]["figures"] == {"toy.widgets.count": 42.0}


def test_a_plugin_that_cannot_be_imported_is_one_sentence(tmp_path: Path) -> None:
    env = {**toy_env(), registry.PLUGINS_ENV: "no_such_module_here"}
    out = subprocess.run([sys.executable, "-m", "hpcplan", "run", "--suite", "toy"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"hpcplan: error: ${registry.PLUGINS_ENV} names 'no_such_module_here', which cannot "
        "be imported (No module named 'no_such_module_here')"]


def test_built_in_registrations_are_consistent() -> None:
    specs = registry.benchmarks()
    assert {"quick", "peak", "memory", "compute", "io", "metadata", "network"} <= set(
        registry.names())
    for spec in specs:
        assert spec.description and spec.records and spec.suites
        for case in spec.ci:
            assert case.setup is not None or case.skip
    # what the CI baselines key on stays stable
    tests = {f"test_{c.test}" for _b, c in registry.ci_cases()}
    assert {"test_peak", "test_gemm", "test_mxp_solve", "test_mxp_dist_self", "test_stream",
            "test_storage_easy", "test_metadata_easy", "test_network_allreduce_self"} <= tests
    assert registry.calibrations()["compute.peak.fp64"].peak_column == "peak_fp64_gflops"
    assert "iterations" in registry.outcome_params()


def test_a_benchmark_writing_an_undeclared_record_is_caught() -> None:
    from bench.records import Record

    def wrong(_ctx: object) -> list[Record]:
        return [Record("y.z.w", None, "s", status="failed")]

    spec = registry.Benchmark(name="x", function=wrong,
                              suites=("x",), records=("x.*",), description="x",
                              kernel_version="1")
    with pytest.raises(RuntimeError, match="does not declare"):
        spec(None)
