"""``hpcplan compare`` on stored records: files, directories and run ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.records import Record
from bench.store import Store
from hpcplan.cli import main


def run_records(cpu: str, scale: float, run_id: str, seed: int) -> list[Record]:
    rng = np.random.default_rng(seed)
    common = {"machine": {"cpu_model": cpu}, "run_id": run_id,
              "validation": {"passed": True, "details": "checked"}}
    triad = tuple(50.0 * scale * rng.lognormal(0, 0.02, 9))
    lat = tuple(2.0 / scale * rng.lognormal(0, 0.02, 7))
    return [
        Record(name="memory.stream.triad", value=max(triad), unit="GB/s", samples=triad,
               params={"elements": 1000}, **common),
        Record(name="network.pingpong.latency", value=float(np.median(lat)), unit="us",
               direction="lower", samples=lat, params={"message_bytes": 8}, **common),
        Record(name="compute.peak.fp16", value=None, unit="GFLOP/s", status="unavailable",
               **{**common, "validation": {"passed": False, "details": "no FP16 here"}}),
    ]


def test_two_runs_in_one_store_by_run_id(tmp_path: Path, capsys) -> None:
    store = Store(tmp_path / "results")
    store.write(run_records("Xeon A", 1.0, "aaaa1111", 1))
    store.write(run_records("Xeon A", 0.7, "bbbb2222", 2))
    assert main(["compare", "--results", str(store.root), "aaaa", "bbbb"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith(("memory", "network",
                                                                           "compute"))}
    assert "slower" in rows["memory.stream.triad"]  # 50 -> 35 GB/s
    assert "slower" in rows["network.pingpong.latency"]  # 2.0 -> 2.9 us
    assert "refused" in rows["compute.peak.fp16"]
    assert "status unavailable and no figure" in rows["compute.peak.fp16"]


def test_records_from_two_cpu_models_are_refused(tmp_path: Path, capsys) -> None:
    a = Store(tmp_path / "a").write(run_records("Xeon A", 1.0, "r1", 1))
    b = Store(tmp_path / "b").write(run_records("EPYC B", 1.0, "r2", 2))
    assert main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("--force compares them anyway")
    assert "cpu_model differs ('Xeon A' vs 'EPYC B')" in err
    assert main(["compare", "--force", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "forced past: machine.cpu_model differs" in out


def test_json_output_and_a_records_file_against_benchmark_json(tmp_path: Path, capsys) -> None:
    a = Store(tmp_path / "a").write(run_records("Xeon A", 1.0, "r1", 1))
    b = Store(tmp_path / "b").write(run_records("Xeon A", 1.0, "r2", 1))
    assert main(["compare", "--json", str(a), str(b)]) == 0
    rows = json.loads(capsys.readouterr().out)
    triad = next(r for r in rows if r["key"] == "memory.stream.triad")
    assert triad["verdict"] == "no significant change" and triad["change"] == 0.0
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"machine_info": {"hpcplan": {"cpu_model": "Xeon A"}},
                                 "benchmarks": [{"name": "t", "stats": {"data": [1.0] * 5}}]}))
    assert main(["compare", str(a), str(bench)]) == 2
    assert "cannot be compared" in capsys.readouterr().err


def test_unknown_run_id_and_foreign_json(tmp_path: Path, capsys) -> None:
    Store(tmp_path / "r").write(run_records("Xeon A", 1.0, "abc123", 1))
    assert main(["compare", "--results", str(tmp_path / "r"), "abc", "zzz"]) == 2
    assert "'zzz' is not a file or directory and as a run id it matches no run" in \
        capsys.readouterr().err
    foreign = tmp_path / "x.json"
    foreign.write_text('{"hello": 1}')
    assert main(["compare", str(foreign), str(foreign)]) == 2
    assert "neither an hpcplan results file nor a pytest-benchmark JSON" in \
        capsys.readouterr().err
