"""The anchor scoreboard: ratio and spread, MISSING and ERROR lines, a real quick run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.anchors import GROUPS, Line, Settings, main, run_group


def test_ratio_spread_and_target_for_rates_and_times() -> None:
    rate = Line("x vs y", "GB/s", [9.0, 10.0, 11.0], [10.0, 10.0, 10.0], target=0.9)
    assert rate.ratio == pytest.approx(1.0)
    assert rate.round_ratios == pytest.approx([0.9, 1.0, 1.1])
    assert rate.met is True
    assert "rounds 0.900-1.100, n=3" in rate.text() and "target >= 0.90: MET" in rate.text()
    slow_time = Line("t vs u", "us", [1.2, 1.3, 1.25], [1.0, 1.0, 1.0], better="lower",
                     target=1.10)
    assert slow_time.met is False
    assert "target <= 1.10: NOT MET" in slow_time.text()
    assert Line("no goal", "s", [1.0], [2.0]).met is None


def test_missing_tools_are_reported_not_skipped(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without fio, hpcc or mpiexec
    settings = Settings(quick=True, directory=tmp_path, threads=1)
    lines = [*run_group("stream", settings), *run_group("storage", settings),
             *run_group("network", settings)]
    assert [x.status for x in lines] == ["MISSING"] * len(lines)
    reasons = " | ".join(x.reason for x in lines)
    assert "hpcc is not installed (Debian package hpcc)" in reasons
    assert "fio is not installed (Debian package fio)" in reasons
    assert "mpiexec is not on PATH" in reasons
    assert all("MISSING: " in x.text() for x in lines)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("fio") is None, reason="needs fio (installed by .ci/run)")
def test_a_broken_pair_is_an_error_line_and_the_others_still_run(tmp_path: Path) -> None:
    settings = Settings(quick=True, directory=tmp_path / "absent", threads=1)
    (line,) = run_group("storage", settings)
    assert line.status == "ERROR"
    assert "does not exist" in line.reason


def test_quick_network_board_is_written(tmp_path: Path, capsys) -> None:
    out = tmp_path / "anchors.txt"
    assert main(["--quick", "--only", "network", "--output", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("hpcplan anchor scoreboard, quick (small sizes) mode")
    rows = [ln for ln in text.splitlines() if ln.startswith("ping-pong")]
    assert len(rows) == 6
    assert all("ratio" in r and "rounds" in r and "n=5" in r and "target <= 1.10" in r
               for r in rows)
    assert "6 lines:" in text and "0 errors" in text
    assert capsys.readouterr().out.strip() == text.strip()


def test_unknown_group_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--only", "peak,gpu", "--output", "-"])
    assert exc.value.code == 2
    assert "unknown group(s) gpu" in capsys.readouterr().err
    assert set(GROUPS) == {"peak", "stream", "storage", "network", "mxp", "models"}
