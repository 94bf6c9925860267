"""Calibration from a fixture results directory changes exactly the inputs it claims to."""

from pathlib import Path

import pandas as pd
import pytest

from models import inputs
from models.calibration import calibrate, load_results
from models.distributions import Fixed, Triangular
from models.errors import ScenarioError
from models.loader import load_scenario
from models.projection import project
from models.schema import flatten

FIXTURES = Path(__file__).parent / "fixtures" / "models"
CLAIMS = {"efficiency.cpu_node.hpl", "efficiency.cpu_node.mxp",
          "catalogue.cpu_node.fp64_peak_fraction", "catalogue.cpu_node.stream_triad",
          "catalogue.gpu_node.mxp_speedup", "catalogue.gpu_node.storage_write"}


@pytest.fixture(scope="module")
def calibrated():
    sc = load_scenario(FIXTURES / "small.toml")
    frame, problems = load_results(FIXTURES / "results")
    new, report = calibrate(sc, frame, source="fixture", notes=problems)
    return sc, new, report


def test_report_claims(calibrated):
    _, _, report = calibrated
    assert report.keys == CLAIMS
    by_key = {c.key: c for c in report.changes}
    assert by_key["efficiency.cpu_node.hpl"].new == "triangular 0.7/0.71/0.72"
    assert "2 ok record(s)" in by_key["efficiency.cpu_node.hpl"].evidence
    notes = " | ".join(report.notes)
    assert "1 record(s) not ok" in notes  # the failed HPL run
    assert "carry no node-type tag" in notes
    assert "'laptop' is not in the scenario's catalogue" in notes
    assert "gpu_node: compute.mxp.fp32 measured" in notes and "counts bf16" in notes


def test_exactly_the_claimed_inputs_change(calibrated):
    old, new, report = calibrated
    before = {i.key: i for i in inputs.build(old).inputs}
    after = {i.key: i for i in inputs.build(new).inputs}
    assert before.keys() == after.keys()
    changed = {k for k in before if before[k].dist != after[k].dist}
    assert changed == {k for k in report.keys if k.startswith("efficiency.")}
    assert after["efficiency.cpu_node.hpl"].dist == Triangular(0.7, 0.71, 0.72)
    assert after["efficiency.cpu_node.mxp"].dist == Fixed(0.5)
    assert after["efficiency.cpu_node.hpl"].provenance.kind == "measured"
    gpu = "efficiency.gpu_node.hpl"
    assert after[gpu].provenance == before[gpu].provenance

    flat_old, flat_new = flatten(old.catalogue), flatten(new.catalogue)
    diff = {k for k in flat_old.keys() | flat_new.keys() if flat_old.get(k) != flat_new.get(k)}
    claimed = {k.removeprefix("catalogue.") for k in report.keys if k.startswith("catalogue.")}
    touched = {".".join(k.split(".")[:1] + k.split(".")[2:3]) for k in diff}
    assert touched == claimed
    assert all(".measured." in k for k in diff)
    assert new.catalogue["cpu_node"].measured["fp64_peak_fraction"].value == pytest.approx(0.95)
    rest = ("deployments", "storage", "demand", "facility", "uncertainty", "targets")
    for name in rest:
        assert getattr(old, name) == getattr(new, name)


def test_calibrated_projection_moves_only_sustained_figures(calibrated):
    old, new, report = calibrated
    a = project(old, samples=0, world=False)
    b = project(new, samples=0, world=False, calibration=report)
    i = a.index("2026-06")  # only the CPU partition is in service
    assert b.deterministic["hpl_pf"][i] == pytest.approx(1.0 * 0.71)
    assert b.deterministic["mxp_pf"][i] == pytest.approx(2.0 * 0.5)
    for name in ("fp64_peak_pf", "mixed_peak_pf", "power_mw", "storage_usable_pb"):
        assert (a.deterministic[name] == b.deterministic[name]).all()
    measured = {s.item for s in b.sources if s.kind == "measured"}
    assert "efficiency.cpu_node.hpl" in measured
    assert b.to_dict()["calibration"]["changes"]


def test_missing_columns_are_named():
    sc = load_scenario(FIXTURES / "small.toml")
    with pytest.raises(ScenarioError, match="lacks the column"):
        calibrate(sc, pd.DataFrame({"name": [], "value": []}), source="x")


def test_missing_results_directory(tmp_path):
    from kernels.errors import UserError

    with pytest.raises(UserError, match="does not exist"):
        load_results(tmp_path / "nope")


def test_hpl_above_peak_is_not_applied():
    sc = load_scenario(FIXTURES / "small.toml")
    frame = pd.DataFrame([{"name": "compute.hpl.fp64", "value": 1500.0, "unit": "GFLOP/s",
                           "status": "ok", "node_type": "cpu_node", "nodes": 1,
                           "peak_fp64_gflops": 1000.0, "peak_fp32_gflops": 2000.0,
                           "peak_fp16_gflops": None, "peak_bf16_gflops": None}])
    _, report = calibrate(sc, frame)
    assert report.keys == set()
    assert "above the theoretical FP64 peak" in report.notes[0]


def test_hpl_efficiency_prefers_the_partial_pivoting_solve():
    """LAPACK's partial-pivoting solve is the HPL method; our no-pivot LU is a variant."""
    sc = load_scenario(FIXTURES / "small.toml")
    frame, _ = load_results(FIXTURES / "results")
    hpl = frame[frame["name"] == "compute.hpl.fp64"].copy()
    solve = hpl.assign(name="compute.solve.numpy", value=hpl["value"] * 0.9)
    _, report = calibrate(sc, pd.concat([frame, solve], ignore_index=True), source="fixture")
    change = {c.key: c for c in report.changes}["efficiency.cpu_node.hpl"]
    assert "compute.solve.numpy" in change.evidence
    assert change.new == "triangular 0.63/0.639/0.648"


def test_mxp_efficiency_measured_at_several_node_counts_is_taken_to_the_deployed_scale():
    """Weak-scaled MxP runs at 1, 2 and 4 nodes: the fitted law carries the one-node
    efficiency (0.5) to the 1000 cpu_nodes the scenario deploys. By hand, with a = 0.05:
    E(1000) = 1 / (1 + 0.05 * log2 1000) = 0.667, so the efficiency there is 0.334."""
    import math

    sc = load_scenario(FIXTURES / "small.toml")
    a, r1, peak = 0.05, 1000.0, 2000.0
    rows = [{"name": "compute.mxp.fp32", "value": r1 * n / (1 + a * math.log2(n)),
             "unit": "GFLOP/s", "status": "ok", "node_type": "cpu_node", "nodes": n,
             # the machine's peaks are one node's, whatever the run's node count
             "peak_fp64_gflops": 1000.0, "peak_fp32_gflops": peak,
             "peak_fp16_gflops": None, "peak_bf16_gflops": None, "run_id": f"r{n}"}
            for n in (1, 2, 4)]
    new, report = calibrate(sc, pd.DataFrame(rows), source="study")
    change = {c.key: c for c in report.changes}["efficiency.cpu_node.mxp"]
    assert "at 1,000 nodes by the scaling law" in change.evidence
    assert "fitted on 1-4 nodes" in change.evidence
    dist = new.efficiency["cpu_node"].mxp
    assert isinstance(dist, Triangular)
    assert dist.mode == pytest.approx(0.5 / (1 + 0.05 * math.log2(1000)), rel=0.03)
    assert dist.low < dist.mode < dist.high <= 0.5
