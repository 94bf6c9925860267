"""The CI tier itself (bench/ci): real kernels under pytest-benchmark, figures in extra_info.

Two of its benchmarks run here so the main test run notices when the tier
breaks; .ci/run runs all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_tier_writes_figures_validation_and_machine(tmp_path: Path) -> None:
    out = tmp_path / "ci.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/ci", "-q", "-p", "no:randomly",
         "-p", "no:cacheprovider", "-k", "test_peak and fp64 or test_storage_easy",
         "--benchmark-enable", "--benchmark-only", f"--benchmark-json={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    payload = json.loads(out.read_text())
    assert payload["machine_info"]["hpcplan"]["machine_key"]
    by_name = {b["name"]: b for b in payload["benchmarks"]}
    assert set(by_name) == {"test_peak[fp64]", "test_storage_easy"}
    peak, storage = by_name["test_peak[fp64]"], by_name["test_storage_easy"]
    assert len(peak["stats"]["data"]) == 20
    assert peak["extra_info"]["unit"] == "GFLOP/s"
    assert peak["extra_info"]["figures"]["compute.peak.fp64"] > 0
    assert peak["extra_info"]["validation"]["passed"] is True
    assert peak["extra_info"]["params"]["threads"] == 1
    assert storage["extra_info"]["unit"] == "MiB/s"
    assert set(storage["extra_info"]["figures"]) == {"storage.easy.write", "storage.easy.read"}
    assert storage["extra_info"]["validation"]["passed"] is True
