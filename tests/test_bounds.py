"""Physical bounds: a figure beyond what the hardware allows is stored as suspect."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bounds
from bench.records import Record, RecordError
from bench.store import Store
from hpcplan.cli import main

MACHINE = {"cpu_model": "Test CPU", "cores": 2,
           "peak_gflops": {"fp64": 100.0, "fp32": 200.0},
           "generous_peak_gflops": {"fp64": 130.0, "fp32": 260.0}}
OK = {"passed": True, "details": "checked"}


def rec(name: str, value: float, unit: str = "GFLOP/s", **kw) -> Record:
    return Record(name=name, value=value, unit=unit, machine=MACHINE, validation=OK,
                  samples=(value,), **kw)


def test_the_issue_18_speedup_is_suspect_and_an_honest_one_is_not() -> None:
    bad = bounds.checked(rec("compute.mxp.speedup", 5.56, "ratio",
                             params={"numerator": "compute.mxp.fp32"}))
    assert bad.status == "suspect" and bad.value == 5.56 and not bad.ok
    assert "above 2.50x (FP32 over FP64 peak 2.00x" in bad.validation["suspect"][0]
    # 2.03x was measured honestly against NumPy's pivoting solve on an AMD EPYC in CI
    honest = rec("compute.mxp.speedup", 2.03, "ratio", params={"numerator": "compute.mxp.fp32"})
    assert bounds.checked(honest) is honest


def test_a_rate_above_the_generous_peak_is_suspect_per_node() -> None:
    assert bounds.beyond(rec("compute.gemm.fp64", 120.0)) == []
    assert "above the generous peak 130" in bounds.beyond(rec("compute.gemm.fp64", 131.0))[0]
    assert bounds.beyond(rec("compute.gemm.fp64", 250.0, nodes=2)) == []  # 2 x 130
    assert bounds.beyond(rec("compute.mxp.fp32", 270.0, params={"precision": "fp32"}))
    assert bounds.beyond(rec("memory.stream.triad", 1e6, "GB/s")) == []  # no bound known


def test_superlinear_efficiency_is_suspect() -> None:
    assert bounds.beyond(rec("compute.mxp.fp32", 150.0, params={"parallel_efficiency": 1.3}))
    assert not bounds.beyond(rec("compute.mxp.fp32", 150.0,
                                 params={"parallel_efficiency": 1.05}))


def test_a_suspect_record_keeps_its_value_and_reason() -> None:
    with pytest.raises(RecordError, match="suspect record needs"):
        Record(name="compute.gemm.fp64", value=1.0, unit="GFLOP/s", status="suspect",
               validation=OK)


def test_suspect_records_stay_out_of_calibration_and_compare(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    from models.calibration import load_results

    store = Store(tmp_path / "r")
    for run, speedup in (("run1", 1.8), ("run2", 5.56)):
        store.write([bounds.checked(rec("compute.mxp.speedup", speedup, "ratio", run_id=run,
                                        params={"numerator": "compute.mxp.fp32"}))])
    frame, _ = load_results(store.root)
    ok = frame[frame["status"] == "ok"]
    assert list(ok["value"]) == [1.8]
    assert main(["compare", "--results", str(store.root), "run1", "run2"]) in (0, 2)
    out = capsys.readouterr().out
    assert "is suspect: SUSPECT: speed-up 5.56x" in out
