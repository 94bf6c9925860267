"""Decision-grade answers on small hand-computed scenarios: reached and kept, what binds by
counterfactual, yes/no drivers and levers, and one defined storage-full date."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from models.errors import ScenarioError
from models.loader import parse_scenario
from models.projection import FULL_DEFINITION, project

SMALL = Path(__file__).parent / "fixtures" / "models" / "small.toml"


def small_data() -> dict:
    return tomllib.loads(SMALL.read_text())


def test_retirement_cliff_is_reached_but_not_kept():
    data = small_data()
    # GPUs in service 2027-01..2028-12 (two years), then nothing replaces them
    data["phases"]["gpu_1"]["lifetime_years"] = 2
    p = project(parse_scenario(data, "s.toml"), samples=0)
    t = p.targets[0]
    assert (t.p10_date, t.p50_date, t.p90_date) == ("2027-01", "2027-01", "2027-01")
    assert t.probability_by_deadline == 1.0
    # 2029-01: 0 PF (CPUs retired 2028-01, GPUs 2029-01): falls back, not held to 2030-12
    assert t.falls_back_p50 == "2029-01" and t.sustain_until == "2030-12"
    assert t.probability_kept == 0.0
    (warning,) = [w for w in p.warnings if w.startswith(t.name)]
    assert "falls back under 300 PF in 2029-01" in warning
    assert "phases.gpu_1 (2029-01)" in warning
    assert "systems.old.partitions.cpu" not in warning  # the GPUs came within 12 months
    by_year = {y.year: y for y in t.binding_by_year}
    assert by_year[2028].constraint == "met"
    # relaxing retirements keeps the GPUs' 320 PF and the CPUs' 2 PF in 2029 and 2030
    assert by_year[2029].constraint == "retirement"
    assert by_year[2029].gain == pytest.approx(322.0)
    # held to a sustain-until date inside the service life: kept
    data["targets"]["compute"]["sustain_until"] = "2028-12"
    assert project(parse_scenario(data, "s.toml"), samples=0).targets[0].probability_kept == 1.0


def test_a_yes_no_phase_is_a_driver_and_funding_it_is_a_lever():
    data = small_data()
    data["phases"]["gpu_1"]["probability"] = 0.8
    p = project(parse_scenario(data, "s.toml"), samples=4000, seed=3)
    t = p.targets[0]
    # 2 PF without the GPUs: never above 300 PF; with them 322 PF from 2027-01
    (d,) = [d for d in t.drivers if d.key == "phases.gpu_1.probability"]
    assert (d.date_low, d.date_high) == (None, "2027-01")
    assert t.probability_by_deadline == pytest.approx(0.8, abs=0.02)
    (fund,) = [c for c in t.levers if c.key == "builtin.fund.gpu_1"]
    # on the same rows, funding turns every "no" into "yes": + the share of "no" rows
    assert fund.probability_change == pytest.approx(0.2, abs=0.03)
    (approval,) = [c for c in t.constraints if c.key == "approval"]
    assert approval.probability_change == pytest.approx(fund.probability_change)
    assert t.drivers[0].key == "phases.gpu_1.probability"  # the largest swing first


def power_bound() -> dict:
    data = small_data()
    data["facility"].update(power_envelope="1 MW", power_policy="shed")
    data["targets"]["compute"]["threshold"] = "321 PF"
    data["levers"] = {
        "more_power": {"action": "raise_envelope", "power": "1 MW", "from": "2027-01"},
        "early_exit": {"action": "retire_early", "deployment": "systems.old.partitions.cpu",
                       "date": "2027-01"},
    }
    return data


def test_power_bound_year_is_found_by_relaxing_the_envelope():
    p = project(parse_scenario(power_bound(), "s.toml"), samples=0)
    t = p.targets[0]
    # 2027: 1.25 MW installed > 1 MW, the CPUs are switched off: 320 PF, not above 321.
    # 2028 on: the CPUs are retired, 320 PF. So never met.
    assert t.p50_date is None
    by_year = {y.year: y for y in t.binding_by_year}
    assert by_year[2026].constraint == "none"  # 0.625 MW: nothing relaxable would add
    assert by_year[2027].constraint == "power envelope"
    assert by_year[2027].gain == pytest.approx(2.0)  # the CPUs' 1000 x 2 TF come back
    # without the envelope: 322 PF from 2027-01; not met counts as the horizon end + 1
    assert by_year[2027].months == 60 - 12
    (env,) = [c for c in t.constraints if c.key == "power envelope"]
    assert env.p50_date == "2027-01" and env.probability_change == 1.0
    levers = {c.key: c for c in t.levers}
    assert set(levers) == {"levers.more_power", "levers.early_exit"}  # declared only
    assert levers["levers.more_power"].p50_date == "2027-01"
    assert levers["levers.more_power"].months_gained == 48
    assert levers["levers.early_exit"].months_gained == 0  # 320 PF either way
    year = {c.year: c for c in p.constraints}[2027]
    assert "power envelope" in year.binding or "envelope" in year.binding


def test_levers_are_validated():
    data = small_data()
    data["levers"] = {"x": {"action": "fund", "deployment": "phases.gpu_2"}}
    with pytest.raises(ScenarioError, match=r"levers.x.deployment: 'phases.gpu_2' is not"):
        parse_scenario(data, "s.toml")
    data["levers"] = {"x": {"action": "fund", "deployment": "systems.old.partitions.cpu"}}
    with pytest.raises(ScenarioError, match="is installed; fund applies to planned phases"):
        parse_scenario(data, "s.toml")
    data["levers"] = {"x": {"action": "grow"}}
    with pytest.raises(ScenarioError, match=r"levers\.x\.action: must be one of"):
        parse_scenario(data, "s.toml")


def test_one_full_date_with_its_definition():
    p = project(parse_scenario(small_data(), "s.toml"), samples=0)
    f = p.storage_fill
    # demand 10 PB x 1.5^(t/12) passes 12 PB effectively usable in 2026-07
    assert f.p50_date == "2026-07" and f.definition == FULL_DEFINITION
    assert f.probability_by_year[2026] == 1.0
    assert not any("not room for the data" in w for w in p.warnings)  # storage target not met
    data = small_data()
    data["targets"]["storage"]["threshold"] = "10 PB"  # 16 PB usable: met from the start
    p = project(parse_scenario(data, "s.toml"), samples=0)
    (w,) = [w for w in p.warnings if "not room for the data" in w]
    assert "from 2026-07" in w


def test_json_carries_the_decision_answers():
    data = small_data()
    data["phases"]["gpu_1"]["probability"] = 0.8
    d = json.loads(json.dumps(project(parse_scenario(data, "s.toml"), samples=500).to_dict(),
                              allow_nan=False))
    t = d["targets"][0]
    for key in ("p10_date", "p50_date", "p90_date", "probability_kept", "falls_back_p50",
                "sustain_until", "constraints", "binding_by_year", "levers", "drivers",
                "probability_by_year"):
        assert key in t, key
    assert {c["kind"] for c in t["constraints"]} == {"constraint"}
    assert {c["kind"] for c in t["levers"]} == {"lever"}
    assert d["storage_fill"]["definition"] and "2026" in d["storage_fill"]["probability_by_year"]
    years = [int(y) for y in t["probability_by_year"]]
    assert years == sorted(years) and np.all(np.diff(list(t["probability_by_year"].values())) >= 0)


def test_world_rank_against_the_real_lists_is_in_the_json():
    from models.loader import load_scenario, resolve_path

    d = project(load_scenario(resolve_path(None)), samples=300, drivers=False).to_dict()
    lists = d["world"]["lists"]
    assert lists["month"] == "2030-12"  # the compute target's deadline
    for kind in ("top500", "hplmxp"):
        latest, projected = lists[kind]["latest"], lists[kind]["projected"]
        assert latest["list"] == "2025-11" and latest["n_samples"] == 300
        assert projected["month"] == "2030-12" and projected["trend"]
        assert "P(#1)" in lists[kind]["latest_summary"]
    for rank in ("#1", "#10"):
        bt = lists["backtests"][rank]
        assert len(bt["windows"]) == 4 and bt["worst"]
    json.dumps(d, allow_nan=False)
