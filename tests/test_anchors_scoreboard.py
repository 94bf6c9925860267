"""The anchor scoreboard: ratio and spread, MISSING and ERROR lines, a real quick run,
the floors and the gate that applies on every machine (issue 16)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcplan.anchors.board import FLOORS, GROUPS, Line, Settings, run_group
from hpcplan.cli import main as cli


def main(argv: list[str]) -> int:
    """``hpcplan anchors ARGV``, the documented way to run the board."""
    return cli(["anchors", *argv])


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
    monkeypatch.setenv("HPCPLAN_MPIEXEC", str(tmp_path / "mpiexec"))  # and mpi4py's: absent
    settings = Settings(quick=True, directory=tmp_path, threads=1)
    lines = [*run_group("stream", settings), *run_group("storage", settings),
             *run_group("network", settings)]
    assert [x.status for x in lines] == ["MISSING"] * len(lines)
    reasons = " | ".join(x.reason for x in lines)
    assert "hpcc is not installed (Debian package hpcc)" in reasons
    assert "fio is not installed (Debian package fio)" in reasons
    assert f"$HPCPLAN_MPIEXEC ({tmp_path / 'mpiexec'}) is not an executable file" in reasons
    assert "floor >= 0.80: NOT CHECKED" in lines[0].text()
    assert all("MISSING: " in x.text() for x in lines)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("fio") is None, reason="needs fio (installed by .ci/run)")
def test_a_broken_pair_is_an_error_line_and_the_others_still_run(tmp_path: Path) -> None:
    settings = Settings(quick=True, directory=tmp_path / "absent", threads=1)
    (line,) = run_group("storage", settings)
    assert line.status == "ERROR"
    assert "does not exist" in line.reason


def test_quick_network_board_is_written(tmp_path: Path, capsys,
                                        foreign_mpiexec_first: str) -> None:
    """With a foreign mpiexec first on PATH, the board runs under mpi4py's and says so."""
    from bench.launcher import launcher

    out = tmp_path / "anchors.txt"
    rc = main(["--quick", "--only", "network", "--output", str(out)])
    text = out.read_text()
    assert rc == 0, f"first on PATH: {foreign_mpiexec_first}\n{text}"
    assert text.startswith("hpcplan anchor scoreboard, quick (small sizes) mode")
    run = launcher()
    assert f"MPI runs: mpiexec {run.path} ({run.source}) for {run.library}" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("ping-pong")]
    assert len(rows) == 6
    assert all("ratio" in r and "rounds" in r and "n=5" in r and "target <= 1.10" in r
               for r in rows)
    assert "6 lines:" in text and "0 errors" in text
    assert capsys.readouterr().out.strip() == text.strip()


def test_unknown_group_is_one_sentence_and_exit_2(capsys) -> None:
    assert main(["--only", "peak,gpu", "--output", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("hpcplan: error: unknown --only group(s) gpu; choose from peak, "
                            "stream, storage, network, mxp, models\n")
    assert set(GROUPS) == {"peak", "stream", "storage", "network", "mxp", "models"}


def test_anchors_help_is_a_command_of_hpcplan() -> None:
    """``hpcplan anchors --help`` in a fresh process: listed, and fast to start."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "hpcplan", "anchors", "--help"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--quick", "--only", "--output", "--dir", "--gate"):
        assert flag in proc.stdout
    assert "peak, stream, storage, network, mxp, models" in " ".join(proc.stdout.split())
    top = subprocess.run([sys.executable, "-m", "hpcplan", "--help"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert "anchors" in top


def test_python_m_board_is_a_shortcut_for_the_command(capsys) -> None:
    from hpcplan.anchors import board

    assert board.main(["--only", "nope", "--output", "-"]) == 2
    assert "unknown --only group(s) nope" in capsys.readouterr().err


def test_an_empty_or_unwritable_output_is_one_sentence(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys) -> None:
    _, group = fake_group([("peak.fp64", [1.0], [1.0])])
    monkeypatch.setitem(GROUPS, "peak", group)
    assert main(["--only", "peak", "--output", ""]) == 2
    assert "--output is an empty path" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["--only", "peak", "--output", str(blocker / "board.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hpcplan: error: cannot write the board to {blocker / 'board.txt'}")
    assert err.count("\n") == 1


def fake_group(*rounds: list[tuple[str, list[float], list[float]]]
               ) -> tuple[list[int], object]:
    """A group that yields, call after call, the given (key, ours, anchor) lines."""
    calls = [0]

    def group(s: Settings) -> Iterator[Line]:
        batch = rounds[min(calls[0], len(rounds) - 1)]
        calls[0] += 1
        for key, ours, anchor in batch:
            yield Line(f"{key} vs anchor", "GFLOP/s", ours, anchor, key=key)

    return calls, group


def test_every_floor_belongs_to_a_group_and_is_printed_with_its_line() -> None:
    assert FLOORS == {"peak.fp64": 0.85, "peak.fp32": 0.85, "stream.triad": 0.80,
                      "mxp.fp32": 1.30}
    assert {k.split(".")[0] for k in FLOORS} <= set(GROUPS)
    # a drift between rounds moves both sides: the floor reads the median round ratio
    line = Line("stream", "GB/s", [40, 30, 41, 29, 40], [50, 30, 45, 36, 40], key="stream.triad")
    assert line.round_ratios == pytest.approx([0.8, 1.0, 41 / 45, 29 / 36, 1.0])
    assert line.floor == 0.80 and line.floor_held is True
    assert "floor >= 0.80 (median round ratio 0.911): HELD" in line.text()
    low = Line("peak", "GFLOP/s", [8, 7, 9], [10, 10, 10], key="peak.fp64")
    assert low.floor_held is False and "floor >= 0.85 (median round ratio 0.800): BELOW" \
        in low.text()
    assert Line("other", "s", [1.0], [1.0]).floor_held is None
    assert Line("x", "GB/s", status="MISSING", reason="r", key="stream.triad").floor_held \
        is False


def test_gate_passes_held_floors_and_rereruns_a_miss_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = [("peak.fp64", [10.0, 10.0, 10.0], [10.0, 11.0, 10.0]),
            ("peak.fp32", [20.0, 20.0, 20.0], [20.0, 20.0, 20.0])]
    calls, group = fake_group(good)
    monkeypatch.setitem(GROUPS, "peak", group)
    out = tmp_path / "board.txt"
    assert main(["--only", "peak", "--gate", "--output", str(out)]) == 0
    text = out.read_text()
    assert calls == [1]
    assert "2 of 2 floors held" in text
    assert text.rstrip().endswith("gate: passed: peak.fp64 1.000 >= 0.85, peak.fp32 1.000 >= 0.85")
    # below the floor once (a noisy round), then held: passes after one re-run of the group
    bad = [("peak.fp64", [5.0, 6.0, 5.0], [10.0, 10.0, 10.0]), good[1]]
    calls, group = fake_group(bad, good)
    monkeypatch.setitem(GROUPS, "peak", group)
    assert main(["--only", "peak", "--gate", "--output", str(out)]) == 0
    text = out.read_text()
    assert calls == [2]
    assert "gate: peak.fp64 vs anchor: floor >= 0.85 (median round ratio 0.500): BELOW; " \
           "re-running peak once" in text
    assert "(after re-running peak)" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("peak.")]
    assert len(rows) == 2  # the re-run's figures replace the first ones
    assert all(r.endswith("HELD; re-run") for r in rows)


def test_gate_fails_on_a_confirmed_miss_a_missing_figure_or_a_broken_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    out = tmp_path / "board.txt"
    calls, group = fake_group([("peak.fp64", [5.0, 6.0, 5.0], [10.0, 10.0, 10.0])])
    monkeypatch.setitem(GROUPS, "peak", group)
    assert main(["--only", "peak", "--gate", "--output", str(out)]) == 1
    assert calls == [2]
    last = out.read_text().rstrip().splitlines()[-1]
    assert last.startswith("gate: FAILED: peak.fp64 vs anchor: floor >= 0.85")
    assert "peak.fp32: floor >= 0.85 not checked: no line" in last
    # without --gate the same board only reports
    assert main(["--only", "peak", "--output", str(out)]) == 0
    assert "gate:" not in out.read_text()

    def missing(s: Settings) -> Iterator[Line]:
        yield Line("STREAM", "GB/s", status="MISSING", reason="hpcc is not installed",
                   key="stream.triad")

    def broken(s: Settings) -> Iterator[Line]:
        raise RuntimeError("the solver crashed")
        yield

    monkeypatch.setitem(GROUPS, "stream", missing)
    monkeypatch.setitem(GROUPS, "mxp", broken)
    assert main(["--only", "stream,mxp", "--gate", "--output", str(out)]) == 1
    last = out.read_text().rstrip().splitlines()[-1]
    assert "STREAM: floor >= 0.80: NOT CHECKED (hpcc is not installed)" in last
    assert "mxp.fp32: floor >= 1.30 not checked: the solver crashed" in last
    capsys.readouterr()
