"""IOR and mdtest beside the storage kernels: finding them, reading their output, MISSING."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpcplan.anchors import board as anchors
from hpcplan.anchors import storage as speed
from hpcplan.anchors.board import Line, Settings

IOR_OUT = """\
Results:

access    bw(MiB/s)  IOPS       Latency(s)  block(KiB) xfer(KiB)  open(s)    wr/rd(s)   close(s)
------    ---------  ----       ----------  ---------- ---------  --------   --------   --------
write     1943.14    1947.39    0.001027    262144     1024.00    0.001027   0.262916   0.000124
read      992.33     992.35     0.002015    262144     1024.00    0.000010   0.515945   0.000791

Summary of all tests:
Operation   Max(MiB)   Min(MiB)  Mean(MiB)     StdDev   Max(OPs)   Min(OPs)  Mean(OPs)     StdDev
write        2287.84    1882.33    2037.77     178.56    2287.84    1882.33    2037.77     178.56
read         1231.70     992.33    1141.44     106.21    1231.70     992.33    1141.44     106.21
Finished            : Tue Dec  1 07:04:54 2026
"""

MDTEST_OUT = """\
SUMMARY rate (in ops/sec): (of 3 iterations)
   Operation                     Max            Min           Mean        Std Dev
   ---------                     ---            ---           ----        -------
   File creation               36487.676      20801.365      29320.590       7930.088
   File stat                  505307.391     423367.720     471727.584      42922.779
   File read                  372231.452     218007.667     288884.328      77864.487
   File removal               167854.409     112435.017     141842.615      27865.316
   Tree creation               14074.846        248.389       8322.892       7199.889
SUMMARY time (in ops/sec): (of 3 iterations)
   File creation                   0.110          0.190          0.150          0.040
   File stat                       0.008          0.009          0.008          0.001
-- finished at 12/01/2026 07:30:57 --
"""


def test_ior_summary_gives_the_max_columns() -> None:
    assert speed.parse_ior(IOR_OUT) == {"write": 2287.84, "read": 1231.70}
    assert speed.parse_ior("ior: no summary") == {}


def test_mdtest_rates_come_from_the_rate_table_only() -> None:
    assert speed.parse_mdtest(MDTEST_OUT) == {"create": 36487.676, "stat": 505307.391,
                                              "read": 372231.452, "remove": 167854.409}


def test_tools_come_from_the_environment_then_path(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HPCPLAN_IOR", raising=False)
    assert speed.find_tool("ior") is None
    assert "ior is not installed: build it from github.com/hpc/ior" in speed.tool_missing("ior")
    tool = tmp_path / "my-ior"
    tool.write_text("#!/bin/sh\n")
    monkeypatch.setenv("HPCPLAN_IOR", str(tool))
    assert "$HPCPLAN_IOR" in speed.tool_missing("ior")  # not executable yet
    tool.chmod(0o755)
    assert speed.find_tool("ior") == str(tool) and speed.tool_missing("ior") == ""


def test_missing_ior_and_mdtest_are_missing_lines(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HPCPLAN_IOR", raising=False)
    monkeypatch.delenv("HPCPLAN_MDTEST", raising=False)
    s = Settings(quick=True, directory=tmp_path, threads=1)
    lines = [*anchors.storage_ior(s), *anchors.metadata_mdtest(s)]
    assert len(lines) == 4 + 4
    assert all(x.status == "MISSING" for x in lines)
    assert all("is not installed" in x.reason for x in lines)
    assert os.listdir(tmp_path) == []


def test_a_band_target_and_a_note_show_on_the_line() -> None:
    inside = Line("a vs b", "MiB/s", [100.0], [90.0], target=0.8, upper=1.25, note="n1")
    above = Line("a vs b", "MiB/s", [200.0], [90.0], target=0.8, upper=1.25)
    assert inside.met is True and above.met is False
    assert "target 0.80-1.25: MET; n1" in inside.text()
    assert "target 0.80-1.25: NOT MET" in above.text()


# The live IOR and mdtest rounds need tools CI cannot build (hpc/ior is fetched by hand);
# `hpcplan anchors` runs them wherever $HPCPLAN_IOR / $HPCPLAN_MDTEST are set.
