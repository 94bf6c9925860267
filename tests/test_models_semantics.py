"""Model semantics a planner can defend: the whole-node rule, scoped targets and their other
readings, merit-order power shedding, uncertain sizes and correlated slips.

Every expected figure here is computed by hand in the comments beside it.
"""

import copy
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from hpcplan.anchors.models import synthetic
from models import engine, inputs, reference
from models.catalogue import load_builtin, resolve
from models.distributions import Triangular, Uniform, normal_ppf
from models.errors import ScenarioError
from models.inputs import Input, InputSpace
from models.loader import load_scenario, parse_scenario, resolve_path
from models.projection import project
from models.schema import Definitions, Provenance

ROOT = Path(__file__).resolve().parents[1]
SMALL = Path(__file__).parent / "fixtures" / "models" / "small.toml"

#: name -> (FP64 TF, FP32 TF, mixed TF, mixed basis, power W), computed by hand
HAND = {
    # built-in devices: the data sheet figures, best FP64 (vector or tensor), dense BF16/FP16
    "h100_sxm": (67.0, 67.0, 989.0, "bf16", 700.0),
    "b200": (40.0, 0.0, 2250.0, "bf16", 1000.0),
    "mi300a": (122.6, 0.0, 980.6, "bf16", 550.0),
    "matrix2000": (2.4576, 0.0, 2.4576, "fp64", 240.0),
    "mt3000": (11.6, 0.0, 11.6, "fp64", 255.5),  # 11.6 TF / 45.4 GFLOP/s per W
    "ascend910": (0.0, 0.0, 256.0, "fp16", 310.0),
    "ascend910b": (0.0, 0.0, 320.0, "fp16", 400.0),
    # guangzhou.toml
    "tianhe2a_node": (5.66, 0.0, 5.66, "fp64", 1012.0),
    # one MT-3000 (11.6 FP64) + the node's own FP32 23.2: mixed is 23.2, not 11.6 + 23.2
    "xingyi_hpc_node": (11.6, 23.2, 23.2, "fp32", 350.0),
    "ai_node": (0.0, 0.0, 8 * 320.0, "fp16", 4700.0),  # whole node: 8 x 400 W + 1500 W host
    # tests/fixtures/models/small.toml
    "cpu_node": (1.0, 2.0, 2.0, "fp32", 500.0),
    "gpu": (50.0, 0.0, 800.0, "bf16", 1000.0),
    "gpu_node": (4 * 50.0, 0.0, 4 * 800.0, "bf16", 5000.0),
}


def shipped_catalogues():
    yield "builtin", load_builtin()
    yield "guangzhou", load_scenario(resolve_path(None)).catalogue
    yield "small", load_scenario(SMALL).catalogue
    yield "synthetic", parse_scenario(synthetic(4, 5), "synthetic").catalogue


def test_every_shipped_node_type_resolves_to_hand_computed_figures():
    defs = Definitions()
    seen = set()
    for where, catalogue in shipped_catalogues():
        for name in catalogue:
            if where == "synthetic" and name == "gpu_node":
                # 4 x H100 (67 FP64 tensor, 989 BF16) and the whole node's 4800 W
                want = (268.0, 268.0, 3956.0, "bf16", 4800.0)
            else:
                assert name in HAND, f"{where}: pin {name} in HAND with hand-computed figures"
                want = HAND[name]
            f = resolve(catalogue, name, defs)
            got = (f.fp64_tf, f.fp32_tf, f.mixed_tf, f.power_w)
            assert got == pytest.approx(want[:3] + want[4:], rel=1e-12), f"{where}: {name}"
            assert f.mixed_basis == want[3], f"{where}: {name}"
            seen.add(name)
    assert set(HAND) <= seen


def test_xingyi_partition_is_not_counted_twice():
    # 17,000 nodes x 23.2 TF = 394.4 PF (the double count gave 34.8 TF a node, 591.6 PF)
    data = tomllib.loads((ROOT / "models" / "scenarios" / "guangzhou.toml").read_text())
    data["systems"]["tianhe_xingyi"]["partitions"]["hpc"]["count"] = 17000
    p = project(parse_scenario(data, "g.toml"), samples=0, drivers=False, world=False)
    i = p.index("2026-01")
    assert p.deterministic["mixed_peak_pf@tianhe_xingyi"][i] == pytest.approx(394.4)


def small_data() -> dict:
    return tomllib.loads(SMALL.read_text())


def error(data: dict) -> str:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data, "bad.toml")
    return str(exc.value)


@pytest.mark.parametrize("mutate, key, words", [
    # a node power below its parts' 4 x 1000 W: an "extra on top" figure, the old double count
    (lambda d: d["catalogue"]["gpu_node"].update(power="1000 W"),
     "catalogue.gpu_node.power", "less than its parts draw"),
    # a node rate above what its 4 x 800 TF of parts deliver
    (lambda d: d["catalogue"]["gpu_node"].update(bf16="4000 TF"),
     "catalogue.gpu_node.bf16", "more than its parts can deliver"),
    (lambda d: d["targets"]["compute"].update(systems=[]),
     "targets.compute.systems", "names no system"),
    (lambda d: d["targets"]["compute"].update(systems=["nwe"]),
     "targets.compute.systems", "'nwe' is not a system"),
    (lambda d: d["phases"]["gpu_1"].update(count={"dist": "uniform", "low": 150, "high": 50}),
     "phases.gpu_1.count", "low 150 is above high 50"),
    (lambda d: d["phases"]["gpu_1"].update(count={"dist": "uniform", "low": -5, "high": 50}),
     "phases.gpu_1.count", "outside the allowed"),
    (lambda d: d["facility"].update(power_policy="merit"),
     "facility.power_policy", "must be one of flag, shed, prorata"),
    (lambda d: d["uncertainty"].update(slip_correlation=1.5) if "uncertainty" in d else
     d.update(uncertainty={"slip_correlation": 1.5}),
     "uncertainty.slip_correlation", "outside [0, 1]"),
])
def test_bad_scenarios_name_file_and_key(mutate, key, words):
    data = small_data()
    mutate(data)
    msg = error(data)
    assert msg.startswith(f"bad.toml: {key}:") and words in msg, msg
    assert "\n" not in msg


def test_bad_scenario_on_the_command_line_exits_2(tmp_path):
    data = small_data()
    text = SMALL.read_text().replace('power = "5000 W"', 'power = "1000 W"')
    assert text != SMALL.read_text() and data
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    out = subprocess.run([sys.executable, "-m", "hpcplan", "project", str(bad), "--samples", "0"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2
    assert "catalogue.gpu_node.power" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_parts_graph_checks_are_linear_and_iterative():
    # a 3,000-deep chain and a 40-level diamond (2^40 paths) resolve at once, without recursion
    data = small_data()
    cat = data["catalogue"]
    cat["d0"] = {"assumption": "t", "fp64": "1 TF", "power": "1 W"}
    for i in range(1, 3000):
        cat[f"d{i}"] = {"assumption": "t", "parts": {f"d{i - 1}": 1}}
    cat["m0"] = {"assumption": "t", "fp64": "1 TF"}
    for i in range(1, 40):
        cat[f"a{i}"] = {"assumption": "t", "parts": {f"m{i - 1}": 1}}
        cat[f"b{i}"] = {"assumption": "t", "parts": {f"m{i - 1}": 1}}
        cat[f"m{i}"] = {"assumption": "t", "parts": {f"a{i}": 1, f"b{i}": 1}}
    data["systems"]["old"]["partitions"]["cpu"]["node_type"] = "d2999"
    sc = parse_scenario(data, "deep.toml")
    assert resolve(sc.catalogue, "d2999", sc.definitions).fp64_tf == 1.0
    assert project(sc, samples=0, drivers=False, world=False).sources
    assert resolve(sc.catalogue, "m39", sc.definitions).fp64_tf == 2.0**39
    cat["d0"]["parts"] = {"d2999": 1}
    assert "parts form a cycle" in error(data)


# --- scope and readings -----------------------------------------------------------------------

def scoped_small() -> dict:
    data = small_data()
    data["targets"]["compute"]["systems"] = ["new"]
    data["targets"]["compute"]["threshold"] = "321 PF"
    return data


def test_scoped_target_counts_only_its_system_and_shows_the_other_readings():
    p = project(parse_scenario(scoped_small(), "s.toml"), samples=0)
    t = p.targets[0]
    assert t.scope == ("new",)
    got = [(r.metric, r.scope, r.declared) for r in t.readings]
    assert got == [("mixed_peak_pf", ("new",), True), ("mxp_pf", ("new",), False),
                   ("mixed_peak_pf", (), False), ("mxp_pf", (), False)]
    plan, sustained, centre, centre_sustained = t.readings
    # the new system alone: 100 GPU nodes x 3200 TF = 320 PF, never above 321 PF
    assert plan.deterministic_date is None and plan.probability_by_deadline == 0.0
    assert plan.value_at_deadline_p50 == pytest.approx(320.0)
    # MxP efficiency 0.25: 80 PF
    assert sustained.value_at_deadline_p50 == pytest.approx(80.0)
    # the centre: + 1000 CPU nodes x 2 TF = 322 PF in 2027, above 321 PF until the CPUs retire
    assert centre.deterministic_date == "2027-01"
    assert centre.probability_by_year[2027] == 1.0
    assert centre_sustained.deterministic_date is None
    # the headline fields are the declared reading's
    assert (t.deterministic_date, t.probability_by_deadline) == (None, 0.0)
    i = p.index("2026-06")
    assert p.deterministic["mixed_peak_pf@new"][i] == 0.0
    assert p.deterministic["mixed_peak_pf"][i] == pytest.approx(2.0)
    # storage has no system named: it counts only centre-wide, so the storage target
    # (declared for the centre) has a single reading
    assert len(p.targets[1].readings) == 1


def test_default_json_and_terminal_carry_both_readings():
    out = subprocess.run([sys.executable, "-m", "hpcplan", "project", "--samples", "400",
                          "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    mixed = data["targets"][0]
    assert mixed["scope"] == ["tianhe_xingyi"]
    readings = mixed["readings"]
    assert readings[0]["declared"] and readings[0]["metric"] == "mixed_peak_pf"
    assert readings[0]["scope"] == ["tianhe_xingyi"]
    assert {(r["metric"], tuple(r["scope"])) for r in readings[1:]} == {
        ("mxp_pf", ("tianhe_xingyi",)), ("mixed_peak_pf", ()), ("mxp_pf", ())}
    for r in readings:
        assert 0.0 <= r["probability_by_deadline"] <= 1.0
        assert set(r) >= {"p50_date", "p90_date", "deterministic_date", "probability_by_year"}
    assert data["targets"][1]["scope"] == ["tianhe_xingyi"]
    assert any("envelope" in w for w in data["warnings"])
    assert data["shedding"][0]["deployment"] == "systems.tianhe2a.partitions.compute"
    text = subprocess.run([sys.executable, "-m", "hpcplan", "project", "--samples", "200"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT).stdout
    assert "other reading: sustained HPL-MxP-equivalent" in text
    assert "whole centre" in text and "Power shedding in merit order" in text


# --- power in merit order -----------------------------------------------------------------------

def test_merit_order_sheds_the_least_efficient_partition_first():
    data = small_data()
    data["facility"].update(power_envelope="1 MW", power_policy="shed")
    p = project(parse_scenario(data, "s.toml"), samples=0)
    d = p.deterministic
    # 2027: CPUs 1000 x 500 W + GPUs 100 x 5000 W = 1.0 MW IT x PUE 1.25 = 1.25 MW > 1 MW.
    # Merit order: CPU node 2 TF / 500 W = 4 GFLOP/s per W, GPU node 3200 TF / 5000 W = 640.
    # Switching the CPUs off leaves 0.625 MW: 320 PF (pro rata would leave 322 / 1.25 = 257.6).
    assert d["mixed_peak_pf"][p.index("2026-12")] == pytest.approx(2.0)  # 0.625 MW: no shedding
    assert d["mixed_peak_pf"][p.index("2027-01")] == pytest.approx(320.0)
    assert d["mixed_peak_pf"][p.index("2027-12")] == pytest.approx(320.0)
    assert d["hpl_pf"][p.index("2027-06")] == pytest.approx(0.5 * 100 * 0.2)  # 0.2 PF a node
    assert d["power_mw"][p.index("2027-06")] == pytest.approx(1.25)  # the installed load
    assert p.targets[0].deterministic_date == "2027-01"  # 320 > 300 PF
    (row,) = p.shedding
    assert row.deployment == "systems.old.partitions.cpu" and row.point_months == "2027-01..2027-12"
    assert row.gflops_per_w == pytest.approx(4.0)
    assert any("exceeds the power envelope in 2027-01..2027-12" in w for w in p.warnings)
    # the old policy stays as an option ("cap" is its first-release name)
    data["facility"]["power_policy"] = "cap"
    pro = project(parse_scenario(data, "s.toml"), samples=0)
    assert pro.deterministic["mixed_peak_pf"][pro.index("2027-06")] == pytest.approx(322 / 1.25)
    assert pro.targets[0].deterministic_date == "2028-01" and not pro.shedding


def test_merit_order_sheds_more_when_one_partition_is_not_enough():
    data = small_data()
    data["facility"].update(power_envelope="0.5 MW", power_policy="shed")
    p = project(parse_scenario(data, "s.toml"), samples=0)
    d = p.deterministic
    # 2026: CPUs alone draw 0.625 MW > 0.5: off. 2027: GPUs' 0.625 MW is over too: both off.
    # 2028: CPUs retired, the GPUs' 0.625 MW still over: nothing runs.
    for month in ("2026-06", "2027-06", "2028-06"):
        assert d["mixed_peak_pf"][p.index(month)] == pytest.approx(0.0, abs=1e-9)
    assert [r.deployment for r in p.shedding] == ["systems.old.partitions.cpu",
                                                  "phases.gpu_1"]


def engine_agrees_with_reference(sc, rows: int = 600, seed: int = 4) -> None:
    space = inputs.build(sc)
    comp = engine.compile_scenario(sc, space)
    x = space.sample(np.random.default_rng(seed), rows)
    res = engine.evaluate(comp, x, keep_paths=True)
    ref = reference.run(comp, x.tolist())
    scoped = {key for key, _ in comp.targets if "@" in key}
    assert scoped <= set(res.paths)
    for name, series in ref.items():
        if "@" in name and name not in scoped:
            continue  # the engine keeps only the scoped metrics a reading counts
        np.testing.assert_allclose(res.paths[name], np.array(series), rtol=1e-12, atol=1e-9,
                                   err_msg=name)
    for i, (metric, threshold) in enumerate(comp.targets):
        want = [reference.first_above(s, threshold) for s in ref[metric]]
        got = [None if m == engine.NEVER else int(m) for m in res.met_month[i]]
        assert got == want, metric


def test_engine_agrees_with_the_plain_loop_on_shedding_scope_and_sizes():
    data = scoped_small()
    data["facility"].update(power_envelope="1 MW", power_policy="shed",
                            pue={"dist": "uniform", "low": 0.9 + 0.1, "high": 1.6})
    data["phases"]["gpu_1"]["count"] = {"dist": "uniform", "low": 50, "high": 150}
    data["phases"]["gpu_1"]["slip_years"] = {"dist": "triangular", "low": 0, "mode": 0.2,
                                            "high": 1.0}
    data["storage"]["phases"]["fs2"]["system"] = "new"
    engine_agrees_with_reference(parse_scenario(data, "s.toml"))
    engine_agrees_with_reference(load_scenario(resolve_path(None)), rows=300)


# --- uncertain sizes and correlated slips -------------------------------------------------------

def test_size_range_is_sampled_and_drives_the_answer():
    data = small_data()
    data["phases"]["gpu_1"]["count"] = {"dist": "uniform", "low": 50, "high": 150}
    sc = parse_scenario(data, "s.toml")
    p = project(sc, samples=4000, seed=2)
    i = p.index("2027-06")
    # point 100 nodes: 2 + 100 x 3.2 = 322 PF; P10/P90 of uniform 50..150: 60 and 140 nodes
    assert p.deterministic["mixed_peak_pf"][i] == pytest.approx(322.0)
    band = p.bands["mixed_peak_pf"]
    assert band.p10[i] == pytest.approx(2 + 60 * 3.2, rel=0.02)
    assert band.p90[i] == pytest.approx(2 + 140 * 3.2, rel=0.02)
    # the target (300 PF) needs more than 93.1 nodes: met in about 1 - 43.1/100 of samples
    assert p.targets[0].probability_by_deadline == pytest.approx(1 - (93.125 - 50) / 100,
                                                                 abs=0.03)
    (driver,) = [d for d in p.targets[0].drivers if d.key == "phases.gpu_1.count"]
    assert (driver.low, driver.high) == pytest.approx((60.0, 140.0))
    assert (driver.date_low, driver.date_high) == (None, "2027-01")


def test_budget_range_becomes_a_node_count_range():
    sc = load_scenario(resolve_path(None))
    (ai2,) = [d for d in sc.deployments if d.name == "ai_2"]
    # 300..500 M CNY at 2 M CNY a node: 150..250 nodes, mode 200
    assert ai2.count == 200 and ai2.count_dist == Triangular(150.0, 200.0, 250.0)
    (hpc,) = [d for d in sc.deployments if d.name == "hpc"]
    # 2x..5x Tianhe-2A's 100.7 PF in 11.6 TF nodes
    assert hpc.count_dist == Uniform(17362, 43405)
    assert hpc.provenance.kind == "sourced" and hpc.provenance.assumption


def test_correlated_slips_keep_their_marginals_and_share_a_cause():
    prov = Provenance(assumption="t")
    dists = [Triangular(0.0, 0.25, 1.5), Uniform(0.0, 2.0), Triangular(0.0, 0.5, 2.0)]
    cols = tuple(Input(f"s{i}", "slip", d, "years", prov) for i, d in enumerate(dists))
    n = 20000
    for rho in (0.0, 0.6):
        x = InputSpace(cols, (0, 1, 2), rho).sample(np.random.default_rng(7), n)
        for j, d in enumerate(dists):
            for q in (0.1, 0.5, 0.9):
                assert np.quantile(x[:, j], q) == pytest.approx(d.quantile(q), abs=0.03)
        ranks = np.argsort(np.argsort(x, axis=0), axis=0)
        scores = normal_ppf((ranks + 0.5) / n)
        corr = np.corrcoef(scores, rowvar=False)
        assert corr[0, 1] == pytest.approx(rho, abs=0.03)
        assert corr[1, 2] == pytest.approx(rho, abs=0.03)


def test_the_default_scenario_draws_its_phases_together():
    sc = load_scenario(resolve_path(None))
    space = inputs.build(sc)
    assert space.correlation == 0.5
    assert {space.inputs[j].key for j in space.correlated} == {
        "phases.ai_1.slip_years", "phases.ai_2.slip_years", "phases.hpc_2.slip_years",
        "storage.phases.expansion_1.slip_years", "storage.phases.expansion_2.slip_years"}
    data = copy.deepcopy(tomllib.loads((ROOT / "models" / "scenarios" /
                                        "guangzhou.toml").read_text()))
    data["uncertainty"]["slip_correlation"] = 0.0
    assert inputs.build(parse_scenario(data, "g.toml")).correlation == 0.0
