"""bench.baselines: machine keys, reading foreign benchmark JSON, refusing bad baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import baselines
from kernels.errors import UserError


def test_machine_key_is_a_slug_of_model_and_cores() -> None:
    assert baselines.machine_key("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 64) == \
        "intel-xeon-platinum-8375c-cpu-2-90ghz-64c"
    assert baselines.machine_key("AMD EPYC 9654 96-Core Processor", 192) == \
        "amd-epyc-9654-96-core-processor-192c"
    assert baselines.slug("(R)") == "unknown"


def test_this_machine_has_a_key() -> None:
    info = baselines.machine_info()
    assert info["machine_key"].endswith(f"-{info['cores']}c")
    assert info["cpu_model"]


def test_plain_pytest_benchmark_json_falls_back_to_py_cpuinfo_fields() -> None:
    payload = {"machine_info": {"cpu": {"brand_raw": "Ampere Altra", "count": 80}},
               "benchmarks": []}
    assert baselines.machine_of(payload)["machine_key"] == "ampere-altra-80c"
    assert baselines.machine_of({"machine_info": {}, "benchmarks": []})["machine_key"] == ""


def test_refresh_refuses_files_that_cannot_be_baselines(tmp_path: Path) -> None:
    f = tmp_path / "ci.json"
    f.write_text("{not json")
    with pytest.raises(UserError, match="is not valid JSON"):
        baselines.refresh(f, tmp_path / "b")
    f.write_text(json.dumps({"benchmarks": []}))
    with pytest.raises(UserError, match="not pytest-benchmark JSON"):
        baselines.refresh(f, tmp_path / "b")
    info = {"hpcplan": {"cpu_model": "X", "cores": 2, "machine_key": "x-2c"}}
    f.write_text(json.dumps({"machine_info": info, "benchmarks": [
        {"name": "t", "stats": {"mean": 1.0}, "extra_info": {}}]}))
    with pytest.raises(UserError, match=r"benchmark t in .* has no per-round data"):
        baselines.refresh(f, tmp_path / "b")
    f.write_text(json.dumps({"machine_info": {}, "benchmarks": [{"name": "t"}]}))
    with pytest.raises(UserError, match="does not say which machine"):
        baselines.refresh(f, tmp_path / "b")
    with pytest.raises(UserError, match="does not exist"):
        baselines.refresh(tmp_path / "absent.json", tmp_path / "b")
    assert not (tmp_path / "b").exists()
