"""The building-block what-if: an untagged measured machine, scaled up to reach the targets.

Hand-computed case: one node measuring 200 GFLOP/s peak (FP32) and 100 GFLOP/s
sustained (MxP solve), against Guangzhou's 1000 PF mixed-precision target
(10^9 GFLOP/s). Peak reading: 10^9 / 200 = 5,000,000 nodes, with the assumed
350 W per node and the scenario's PUE point value 1.30: 5e6 x 350 x 1.30 / 1e6 =
2,275 MW; at the assumed USD 15,000 a node: USD 75 billion. Sustained reading: one
node count, so the scaling law's communication term is the prior a = 0.03; at its
central values 100 N / (1 + 0.03 log2 N) = 10^9 gives N = 1.721e7.
"""

from __future__ import annotations

import csv
import math
from dataclasses import replace

import pytest

from bench.store import Store
from hpcplan import report
from hpcplan.report import measured, whatif
from tests.test_report_build import FIXTURES, rec

NODE = {"cpu_model": "Test VM CPU", "cores": 4, "hostname": "vm01",
        "peak_gflops": {"fp32": 256.0, "fp16": 1024.0}}  # theoretical: not used when measured
TAGGED = {**NODE, "cpu_model": "Test Tagged CPU"}
TARGET_GFLOPS = 1000 * 1e6  # 1000 PF
PUE = 1.30  # models/scenarios/guangzhou.toml: triangular 1.20, 1.30 (point), 1.45


def node_records(run: str, day: int, machine: dict, *, energy: dict | None = None) -> list:
    extra = {"energy": energy} if energy else {}
    return [rec("compute.peak.fp32", 200.0, "GFLOP/s", machine, day, run, params=dict(extra)),
            rec("compute.peak.fp16", None, "GFLOP/s", machine, day, run, status="unavailable"),
            rec("compute.mxp.fp32", 100.0, "GFLOP/s", machine, day, run,
                params={"n": 4096, "precision": "fp32", **extra})]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("whatif") / "results"
    Store(root).write(node_records("vm", 1, NODE))
    r = report.build(root, None, samples=0, seed=1)
    return r, report.write(r, root.parent / "out" / "plan.html")


def test_hand_computed_building_block(built):
    r, _ = built
    assert not r.calibrated and r.whatif is not None
    assert r.whatif.machine == "Test VM CPU, 4 cores per node"
    peak, sustained = r.whatif.rows  # the compute target only; the plan's reading first
    assert (peak.metric, peak.declared, sustained.metric, sustained.declared) == (
        "mixed_peak_pf", True, "mxp_pf", False)
    # peak: 10^9 / 200, no scaling loss, no spread; the measured 200 beats the probe's 1024
    assert peak.gflops_per_node == 200.0
    assert peak.nodes == (5_000_000, 5_000_000, 5_000_000)
    assert peak.watts_per_node == 350.0 and peak.pue == PUE
    assert peak.mw(5_000_000) == pytest.approx(2275.0)
    assert peak.cost_usd(5_000_000) == pytest.approx(75e9)
    for text in ("measured on Test VM CPU", "measured compute.peak.fp32", "350 W, an assumption",
                 "PUE 1.30", "USD 15,000, an assumption"):
        assert text in peak.provenance, text
    # sustained: the law at its central values (a = 0.03 prior) gives 1.721e7 nodes
    low, mid, high = sustained.nodes
    assert sustained.gflops_per_node == 100.0
    assert mid == pytest.approx(1.721e7, rel=0.1)
    assert low < mid < high  # the range: at the P90 and the P10 rate
    assert "measured at 1 node(s) only" in sustained.provenance
    assert "prior, an assumption" in sustained.provenance
    # the smallest whole count whose P50 rate reaches the target
    fit = whatif._one_point_fit(measured.group(r.records)[0].records[-1])
    assert fit.predict(mid)[1] >= TARGET_GFLOPS > fit.predict(mid - 1)[1]


def test_report_md_and_csv_carry_the_table(built):
    _, written = built
    md = written.markdown.read_text()
    title = "## What-if: this machine as the building block (not calibration)"
    assert title in md and "| target / reading | per node | nodes needed (P50) |" in md
    assert md.index("### Calibrate") < md.index(title) < md.index("## The answer")
    assert "| 1000 PF mixed precision (> 1000 PF) by 2030-12, plan's reading: summed peak" in md
    assert "| 200 GFLOP/s | 5,000,000 | no spread (peak adds up) | 2,275 MW | USD 75.0 billion |" \
        in md
    assert "not calibration" in md and "does not use them" in md
    html = written.html.read_text()
    assert 'id="whatif"' in html and 'href="#whatif"' in html
    rows = list(csv.DictReader((written.html.parent / "plan-whatif.csv").open()))
    assert [x["metric"] for x in rows] == ["mixed_peak_pf", "mxp_pf"]
    assert float(rows[0]["nodes_p50"]) == 5e6 and float(rows[0]["mw_p50"]) == 2275.0
    assert float(rows[0]["cost_p50_usd"]) == 75e9


def test_measured_watts_replace_the_assumption(built):
    r, _ = built
    g = measured.group(node_records("rapl", 2, NODE, energy={"watts": 250.0, "joules": 500.0,
                                                             "seconds": 2.0}))[0]
    peak = whatif.rows(g, r.projection.targets, PUE)[0]
    # the projection's rule (models/power.py): RAPL 250 W x the 1.2 wall factor
    assert peak.watts_per_node == pytest.approx(300.0)
    for text in ("W per node: RAPL 250 W per node during compute.", "(median of 1 record(s))",
                 "x 1.2 wall factor = 300 W per node", "the factor is an assumption"):
        assert text in peak.provenance, text
    assert peak.mw(peak.nodes[1]) == pytest.approx(5e6 * 300 * PUE / 1e6)  # 1,950 MW
    off = measured.group(node_records("vm", 3, NODE, energy={"unavailable": "not root"}))[0]
    assert whatif.watts_per_node(off) == (350.0, "350 W, an assumption for a 1-2 socket "
                                          "server under load (RAPL unavailable: not root)")


def test_only_when_nothing_is_calibrated():
    r = report.build(FIXTURES / "results", str(FIXTURES / "small.toml"), samples=0)
    assert r.calibrated and r.whatif is None
    from hpcplan.report import sections

    assert "whatif" not in [s.ident for s in sections.sections(r)]


def test_untagged_machine_preferred_and_nodes_bisection():
    # a newer machine tagged with a type the catalogue lacks (so nothing was calibrated)
    tagged = measured.group([replace(x, node_type="not_in_catalogue")
                             for x in node_records("t", 9, TAGGED)])
    untagged = measured.group(node_records("u", 1, NODE))
    assert whatif.candidate([*tagged, *untagged]).cpu_model == "Test VM CPU"
    assert whatif.candidate([]) is None
    assert whatif.nodes_needed(lambda n: 3.0 * n, 10.0) == 4
    assert whatif.nodes_needed(lambda n: 3.0 * n, 2.0) == 1
    assert whatif.nodes_needed(lambda n: 3.0 * n, 3e9, cap=10**8) is None
    assert whatif.nodes_needed(lambda n: 100 * n / (1 + 0.03 * math.log2(n)), 1e9) == \
        pytest.approx(1.721e7, rel=1e-3)


def test_whatif_and_calibration_agree_on_the_node_power(tmp_path):
    """The same records give the what-if's W per node and the calibrated catalogue power."""
    from models.calibration import calibrate, load_results
    from models.loader import load_scenario

    machine = {**NODE, "peak_gflops": {"fp64": 1000.0, "fp32": 2000.0}}  # cpu_node's 1 TF
    records = [replace(x, node_type="cpu_node") for x in [
        *node_records("a", 1, machine, energy={"watts": 240.0, "joules": 480.0, "seconds": 2.0}),
        *node_records("b", 2, machine, energy={"watts": 260.0, "joules": 520.0, "seconds": 2.0})]]
    Store(tmp_path).write(records)
    frame, _ = load_results(tmp_path)
    new, _ = calibrate(load_scenario(FIXTURES / "small.toml"), frame)
    watts, _ = whatif.watts_per_node(measured.group(records)[0])
    assert new.catalogue["cpu_node"].figures["power"].value == pytest.approx(watts)
    assert watts == pytest.approx(250.0 * 1.2)  # the median of 240 and 260, x 1.2
