"""Scenario files: the default loads; every user mistake is one sentence with file and key."""

import copy
import tomllib
from pathlib import Path

import pytest

from models.distributions import Fixed, Normal, Triangular, Uniform
from models.errors import ScenarioError
from models.loader import load_scenario, parse_scenario, resolve_path

FIXTURES = Path(__file__).parent / "fixtures" / "models"
SMALL = FIXTURES / "small.toml"


def small() -> dict:
    return tomllib.loads(SMALL.read_text())


def error(data: dict) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "s.toml")
    return info.value


def test_default_scenario_loads_with_sources():
    sc = load_scenario(resolve_path(None))
    assert sc.file == "guangzhou.toml"
    assert {t.metric for t in sc.targets} == {"mixed_peak_pf", "storage_usable_pb"}
    assert [t.threshold for t in sc.targets] == [1000.0, 100.0]
    th2a = next(d for d in sc.deployments if d.system == "tianhe2a")
    assert th2a.count == 17792 and not th2a.planned
    assert th2a.provenance.kind == "sourced"
    assert sc.catalogue["tianhe2a_node"].figures["fp64"].provenance.source_date == "2018-11"
    assert all(d.planned for d in sc.deployments if d.key.startswith("phases."))
    # the budget-sized phase: 400 M CNY / 8 x ... node at 2 M CNY each
    ai_2 = next(d for d in sc.deployments if d.name == "ai_2")
    assert ai_2.count == 200 and ai_2.budget.unit == "CNY"


def test_small_fixture_loads():
    sc = load_scenario(SMALL)
    assert sc.months == 60
    assert [d.name for d in sc.deployments] == ["cpu", "gpu_1"]
    fs2 = sc.storage[1]
    assert fs2.raw_pb == pytest.approx(112.5899906842624)
    assert fs2.usable_fraction == pytest.approx(0.8 * 0.9)
    assert sc.demand.growth_per_year == Fixed(0.5)


def test_unknown_key_did_you_mean():
    data = small()
    data["systems"]["old"]["partitions"]["cpu"]["comissioned"] = "2020-01"
    e = error(data)
    assert e.key == "systems.old.partitions.cpu.comissioned"
    assert str(e) == ("s.toml: systems.old.partitions.cpu.comissioned: unknown key; did you "
                      "mean 'commissioned'?")


def test_unknown_top_level_section():
    data = small()
    data["target"] = {}
    assert "did you mean 'targets'?" in str(error(data))


def test_missing_field():
    data = small()
    del data["phases"]["gpu_1"]["node_type"]
    assert str(error(data)) == "s.toml: phases.gpu_1.node_type: is missing"


def test_negative_count():
    data = small()
    data["phases"]["gpu_1"]["count"] = -3
    assert str(error(data)) == "s.toml: phases.gpu_1.count: must not be negative, got -3"


def test_count_must_be_whole():
    data = small()
    data["phases"]["gpu_1"]["count"] = 2.5
    assert error(data).key == "phases.gpu_1.count"


def test_retirement_before_commissioning():
    data = small()
    data["systems"]["old"]["partitions"]["cpu"]["retired"] = "2019-06"
    e = error(data)
    assert e.key == "systems.old.partitions.cpu.retired"
    assert "retirement 2019-06 is not after commissioning 2020-01" in str(e)


def test_dates_out_of_order():
    data = small()
    data["scenario"]["end"] = "2025-01"
    assert error(data).key == "scenario.end"
    data = small()
    data["phases"]["gpu_1"]["date"] = "2025-06"
    assert "before the scenario start 2026-01" in str(error(data))
    data = small()
    data["facility"]["power_envelope"] = [{"from": "2026-01", "power": "2 MW"},
                                          {"from": "2026-01", "power": "3 MW"}]
    assert error(data).key == "facility.power_envelope[1].from"
    data = small()
    data["targets"]["compute"]["deadline"] = "2031-01"
    assert "outside the horizon" in str(error(data))


@pytest.mark.parametrize(("value", "ok"), [("100 PB", True), ("100 PiB", True),
                                           ("100000 TB", True), ("100 P", False),
                                           ("100", False), (100, False)])
def test_storage_units_in_scenarios(value, ok):
    data = small()
    data["storage"]["systems"]["fs"]["raw"] = value
    if ok:
        parse_scenario(data, "s.toml")
    else:
        e = error(data)
        assert e.key == "storage.systems.fs.raw"
        assert str(e).startswith("s.toml: storage.systems.fs.raw: ")


@pytest.mark.parametrize("p", [-0.1, 1.5, 2])
def test_probability_outside_unit_interval(p):
    data = small()
    data["phases"]["gpu_1"]["probability"] = p
    e = error(data)
    assert e.key == "phases.gpu_1.probability"
    assert "outside [0, 1]" in str(e)


def test_distribution_outside_range():
    data = small()
    data["efficiency"]["default"]["hpl"] = {"dist": "uniform", "low": 0.5, "high": 1.2}
    e = error(data)
    assert e.key == "efficiency.default.hpl" and "outside the allowed [0, 1]" in str(e)
    data = small()
    data["uncertainty"] = {"availability": {"dist": "normal", "mean": 0.9, "sd": 0.05}}
    assert "give the normal a low and high" in str(error(data))


def test_distributions_parse():
    data = small()
    data["uncertainty"] = {
        "delivery_slip_years": {"dist": "triangular", "low": 0, "mode": 0.5, "high": 2},
        "availability": {"dist": "normal", "mean": 0.95, "sd": 0.02, "low": 0.8, "high": 1.0},
    }
    data["facility"]["pue"] = {"dist": "uniform", "low": 1.1, "high": 1.3}
    sc = parse_scenario(data, "s.toml")
    assert sc.uncertainty.delivery_slip_years == Triangular(0, 0.5, 2)
    assert sc.uncertainty.availability == Normal(0.95, 0.02, 0.8, 1.0)
    assert sc.facility.pue == Uniform(1.1, 1.3)


def test_bad_distribution_kind_and_shape():
    data = small()
    data["facility"]["pue"] = {"dist": "lognormal", "mean": 1}
    assert error(data).key == "facility.pue.dist"
    data["facility"]["pue"] = {"dist": "triangular", "low": 1.5, "mode": 1.2, "high": 1.6}
    assert "low <= mode <= high" in str(error(data))
    data["facility"]["pue"] = {"dist": "uniform", "low": 1.1}
    assert error(data).key == "facility.pue.high"


def test_unknown_node_type_did_you_mean():
    data = small()
    data["phases"]["gpu_1"]["node_type"] = "gpu_nod"
    e = error(data)
    assert e.key == "phases.gpu_1.node_type" and "did you mean 'gpu_node'?" in str(e)


def test_catalogue_figure_needs_provenance():
    data = small()
    del data["catalogue"]["cpu_node"]["assumption"]
    e = error(data)
    assert e.key == "catalogue.cpu_node.fp64"
    assert "needs a source with source_date, or an assumption" in str(e)
    data["catalogue"]["cpu_node"]["source"] = "a datasheet"
    assert error(data).key == "catalogue.cpu_node.source_date"


def test_per_figure_provenance():
    data = small()
    del data["catalogue"]["cpu_node"]["assumption"]
    data["catalogue"]["cpu_node"]["fp64"] = {"value": "1 TF", "source": "sheet",
                                             "source_date": "2024-01"}
    data["catalogue"]["cpu_node"]["fp32"] = {"value": "2 TF", "assumption": "2x"}
    data["catalogue"]["cpu_node"]["power"] = {"value": "500 W", "assumption": "guess"}
    sc = parse_scenario(data, "s.toml")
    assert sc.catalogue["cpu_node"].figures["fp64"].provenance.kind == "sourced"
    assert sc.catalogue["cpu_node"].figures["fp32"].provenance.kind == "assumption"


def test_parts_cycle_and_unknown_part():
    data = small()
    data["catalogue"]["gpu"]["parts"] = {"gpu_node": 1}
    assert "parts form a cycle" in str(error(data))
    data = small()
    data["catalogue"]["gpu_node"]["parts"] = {"gpus": 4}
    assert error(data).key == "catalogue.gpu_node.parts.gpus"


def test_budget_becomes_a_count():
    data = small()
    data["catalogue"]["gpu_node"]["cost"] = "300 kUSD"
    del data["phases"]["gpu_1"]["count"]
    data["phases"]["gpu_1"]["budget"] = "10 MUSD"
    sc = parse_scenario(data, "s.toml")
    assert sc.deployments[1].count == 33  # floor(10e6 / 300e3)
    data["phases"]["gpu_1"]["budget"] = "10 MCNY"
    assert "is in CNY but the cost of 'gpu_node' is in USD" in str(error(data))
    data["phases"]["gpu_1"]["count"] = 5
    assert "exactly one of count or budget" in str(error(data))


def test_slip_only_on_planned():
    data = small()
    data["systems"]["old"]["partitions"]["cpu"]["slip_years"] = 1
    assert error(data).key == "systems.old.partitions.cpu.slip_years"


def test_rapl_wall_factor_is_a_checked_facility_input():
    assert parse_scenario(small(), "s.toml").facility.rapl_wall_factor == 1.2  # the default
    data = small()
    data["facility"]["rapl_wall_factor"] = 1.35
    assert parse_scenario(data, "s.toml").facility.rapl_wall_factor == 1.35
    for bad in (0.8, 4, "1.2", True):
        data["facility"]["rapl_wall_factor"] = bad
        e = error(data)
        assert e.key == "facility.rapl_wall_factor", (bad, str(e))


def test_wrong_types_are_named():
    for path, value in [(("scenario", "name"), 3), (("definitions", "include_fp8"), "yes"),
                        (("facility", "power_policy"), "throttle"), (("phases", "gpu_1"), 3),
                        (("storage",), []), (("targets", "compute", "metric"), "mixed_pf")]:
        data = small()
        node = data
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = value
        e = error(data)
        assert e.key.startswith(".".join(path[:2])), (path, str(e))


def test_file_errors(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname = 1\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: is not valid TOML"):
        load_scenario(bad)
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match="is not UTF-8"):
        load_scenario(bad)


def test_mutation_does_not_touch_fixture():
    a = small()
    b = copy.deepcopy(a)
    parse_scenario(a, "s.toml")
    assert a == b
