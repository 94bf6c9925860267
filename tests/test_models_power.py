"""Measured W per node: one rule from a record's RAPL watts to a whole node's power.

Hand-computed case (tests/fixtures/models/small.toml, cpu_node: 1 TF FP64, 500 W):
compute.peak.fp64 on one node at 250 W RAPL and compute.hpl.fp64 on two nodes at
600 W RAPL (300 W per node). The per-kernel medians are 250 and 300 W; the
heaviest, 300 W, x the wall factor 1.2 = 360 W per node. The machine's FP64
peak (1000 GFLOP/s per node, 1 TF) matches the type's (ratio 1), so it is applied.
The 1000 cpu_nodes in service in 2026-06 then draw 1000 x 360 W = 0.36 MW of IT
power, 0.45 MW at the facility with PUE 1.25 (0.625 MW with the assumed 500 W).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench import index
from bench.records import Record
from bench.store import Store
from models import engine, inputs
from models.calibration import calibrate, load_results
from models.loader import load_scenario
from models.power import PLATFORM_FACTOR, node_power
from models.projection import project

FIXTURES = Path(__file__).parent / "fixtures" / "models"
OK = {"passed": True, "details": "checks passed"}
CPU = {"cpu_model": "Test CPU", "cores": 8, "hostname": "n01",
       "peak_gflops": {"fp64": 1000.0, "fp32": 2000.0}}  # one node's theoretical peak


def row(name: str, watts: float | None, *, nodes: int = 1, fp64: float = 1000.0,
        tag: str = "cpu_node", run: str = "r1") -> dict:
    """A calibration frame row; ``watts`` is RAPL W per node (the index's node_watts)."""
    return {"name": name, "value": 700.0 * nodes, "unit": "GFLOP/s", "status": "ok",
            "node_type": tag, "nodes": nodes, "run_id": run, "node_watts": watts,
            "peak_fp64_gflops": fp64, "peak_fp32_gflops": 2 * fp64,
            "peak_fp16_gflops": None, "peak_bf16_gflops": None}


def record(name: str, energy: dict | None, *, nodes: int = 1, run: str = "r1") -> Record:
    return Record(name=name, value=700.0 * nodes, unit="GFLOP/s", machine=CPU, nodes=nodes,
                  ranks=nodes, node_type="cpu_node", run_id=run, validation=OK,
                  params={"energy": energy} if energy else {})


HAND = [record("compute.peak.fp64", {"joules": 500.0, "seconds": 2.0, "watts": 250.0}),
        record("compute.hpl.fp64", {"joules": 1200.0, "seconds": 2.0, "watts": 600.0},
               nodes=2, run="r2")]


def test_record_node_watts_is_the_energy_block_per_node():
    assert [r.node_watts for r in HAND] == [250.0, 300.0]
    assert record("compute.peak.fp64", {"unavailable": "not root"}).node_watts is None
    assert record("compute.peak.fp64", {"watts": 0.0, "joules": 0.0, "seconds": 0.0}
                  ).node_watts is None
    assert record("compute.peak.fp64", {"watts": True}).node_watts is None
    assert record("compute.peak.fp64", None).node_watts is None


def test_rule_takes_the_heaviest_kernel_median_times_the_factor():
    power = node_power([("compute.peak.fp64", 250.0), ("compute.hpl.fp64", 300.0),
                        ("compute.hpl.fp64", 280.0), ("compute.hpl.fp64", 500.0),
                        ("memory.stream.triad", 900.0)])  # not a compute kernel: ignored
    assert power is not None
    assert (power.kernel, power.rapl_w) == ("compute.hpl.fp64", 300.0)  # median of 3
    assert power.watts == pytest.approx(300.0 * PLATFORM_FACTOR) == pytest.approx(360.0)
    text = power.statement()
    assert "RAPL 300 W per node during compute.hpl.fp64 (median of 3 record(s))" in text
    assert "x 1.2 wall factor = 360 W per node" in text and "assumption" in text
    assert node_power([("memory.stream.triad", 900.0)]) is None
    assert node_power([]) is None


@pytest.mark.parametrize("off", [False, True])
def test_index_column_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, off: bool):
    if off:
        monkeypatch.setenv(index.ENV, "off")
    Store(tmp_path).write([*HAND, record("compute.peak.fp32", {"unavailable": "not root"})])
    frame, problems = load_results(tmp_path)
    assert not problems
    got = dict(zip(frame["name"].astype(str), frame["node_watts"], strict=True))
    assert got["compute.peak.fp64"] == 250.0 and got["compute.hpl.fp64"] == 300.0
    assert pd.isna(got["compute.peak.fp32"])
    if not off:
        store = Store(tmp_path)
        try:
            assert sorted(store.frame(columns=("name", "node_watts"))["node_watts"].dropna()) \
                == [250.0, 300.0]
        finally:
            store.close()


def test_hand_computed_power_calibrates_and_projects(tmp_path: Path):
    Store(tmp_path).write(HAND)
    sc = load_scenario(FIXTURES / "small.toml")
    frame, _ = load_results(tmp_path)
    new, report = calibrate(sc, frame, source="hand")
    change = {c.key: c for c in report.changes}["catalogue.cpu_node.power"]
    assert (change.old, change.new) == ("500 W", "360 W")
    for text in ("compute.hpl.fp64: 1 ok record(s), RAPL W per node 300 (runs r2)",
                 "x 1.2 wall factor = 360 W per node", "assumption"):
        assert text in change.evidence, text
    fig = new.catalogue["cpu_node"].figures["power"]
    assert (fig.value, fig.unit, fig.provenance.kind) == (pytest.approx(360.0), "W", "measured")
    assert new.catalogue["gpu_node"] == sc.catalogue["gpu_node"]

    comp = engine.compile_scenario(new, inputs.build(new))
    cpu = [d.node_type for d in new.deployments].index("cpu_node")
    assert comp.c_power_node[cpu] == pytest.approx(360.0 / 1e6)  # MW per node
    before = project(sc, samples=0, world=False)
    after = project(new, samples=0, world=False, calibration=report)
    i = after.index("2026-06")  # only the 1000 cpu_nodes are in service
    assert before.deterministic["power_mw"][i] == pytest.approx(1000 * 500 / 1e6 * 1.25)
    assert after.deterministic["power_mw"][i] == pytest.approx(1000 * 360 / 1e6 * 1.25)
    assert "catalogue.cpu_node.power = 360 W" in {s.item for s in after.sources
                                                   if s.kind == "measured"}


def test_the_scenario_sets_the_wall_factor(tmp_path: Path):
    """A site that metered its nodes at the wall: 300 W RAPL x 1.1 = 330 W, named as the
    scenario's figure rather than the assumption."""
    import dataclasses

    Store(tmp_path).write(HAND)
    sc = load_scenario(FIXTURES / "small.toml")
    sc = sc.replace(facility=dataclasses.replace(sc.facility, rapl_wall_factor=1.1))
    _, report = calibrate(sc, load_results(tmp_path)[0])
    change = {c.key: c for c in report.changes}["catalogue.cpu_node.power"]
    assert change.new == "330 W"
    assert "x 1.1 wall factor = 330 W per node" in change.evidence
    assert "the scenario's [facility] rapl_wall_factor" in change.evidence
    assert "assumption" not in change.evidence


def test_peak_out_of_range_is_not_applied():
    """A 2-socket probe of 200 GFLOP/s against a 1 TF type: the watts are not the node's."""
    sc = load_scenario(FIXTURES / "small.toml")
    new, report = calibrate(sc, pd.DataFrame([row("compute.peak.fp64", 290.0, fp64=200.0)]))
    assert "catalogue.cpu_node.power" not in report.keys
    assert new.catalogue["cpu_node"].figures["power"].text == "500 W"
    assert ("cpu_node: RAPL measured 290 W per node but the type's FP64 peak (1 TF) is 5x the "
            "measured machine's (0.2 TF): the watts cover the CPUs measured, not the whole "
            "node; catalogue power kept") in report.notes
    _, big = calibrate(sc, pd.DataFrame([row("compute.peak.fp64", 290.0, fp64=4000.0)]))
    assert any("0.25x the measured machine's" in n for n in big.notes)


def test_no_watts_keeps_the_power_with_a_note():
    sc = load_scenario(FIXTURES / "small.toml")
    frame = pd.DataFrame([row("compute.peak.fp64", None), row("memory.stream.triad", None)])
    new, report = calibrate(sc, frame)
    assert "catalogue.cpu_node.power" not in report.keys
    assert new.catalogue["cpu_node"].figures["power"].text == "500 W"
    assert any(n.startswith("cpu_node: catalogue power kept: no compute record carries RAPL "
                            "watts") for n in report.notes)
    _, no_column = calibrate(sc, frame.drop(columns=["node_watts"]))
    assert any("no compute record carries RAPL watts" in n for n in no_column.notes)


def test_power_below_the_parts_is_not_applied():
    """gpu_node: 4 GPUs of 1000 W each; a node at 2000 W RAPL x 1.2 = 2400 W is below them."""
    sc = load_scenario(FIXTURES / "small.toml")
    frame = pd.DataFrame([row("compute.mxp.fp32", 2000.0, fp64=200_000.0, tag="gpu_node")])
    new, report = calibrate(sc, frame)
    assert "catalogue.gpu_node.power" not in report.keys
    assert new.catalogue["gpu_node"].figures["power"].text == "5000 W"
    assert any("gpu_node: RAPL measured 2,000 W per node, 2,400 W with the wall factor, "
               "below what its parts draw (4,000 W)" in n for n in report.notes)
    # above the parts it is the whole node's figure
    frame = pd.DataFrame([row("compute.mxp.fp32", 5000.0, fp64=200_000.0, tag="gpu_node")])
    new, report = calibrate(sc, frame)
    fig = new.catalogue["gpu_node"].figures["power"]
    assert (fig.value, fig.text) == (pytest.approx(6000.0), "6000 W")
    assert {c.key: c.old for c in report.changes}["catalogue.gpu_node.power"] == "5000 W"


def test_report_lists_the_power_change(tmp_path: Path):
    from hpcplan import report
    from hpcplan.report import tables

    Store(tmp_path).write(HAND)
    r = report.build(tmp_path, str(FIXTURES / "small.toml"), samples=0)
    rows = {row[0]: row for row in tables.calibration(r.projection).rows}
    assert rows["catalogue.cpu_node.power"][1:3] == ["500 W", "360 W"]
    assert "x 1.2 wall factor" in rows["catalogue.cpu_node.power"][3]
