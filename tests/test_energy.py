"""RAPL energy: a fake powercap tree stands in for /sys/class/powercap."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import registry, runner
from kernels.energy import EnergyMeter, Unavailable

RANGE = 262_143_328_850  # a common max_energy_range_uj


def zone(root: Path, label: str, name: str, energy: int, range_uj: int = RANGE) -> Path:
    d = root / label
    d.mkdir(parents=True)
    (d / "name").write_text(f"{name}\n")
    (d / "energy_uj").write_text(f"{energy}\n")
    (d / "max_energy_range_uj").write_text(f"{range_uj}\n")
    return d / "energy_uj"


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    """Two packages with core and dram sub-zones, plus a psys zone that is never summed."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control type: no counters
    zone(root, "intel-rapl:0", "package-0", 1_000_000)
    zone(root, "intel-rapl:0:0", "core", 500_000)
    zone(root, "intel-rapl:0:1", "dram", 2_000_000)
    zone(root, "intel-rapl:1", "package-1", 3_000_000)
    zone(root, "intel-rapl:2", "psys", 9_000_000)
    return root


def ticking(*times: float) -> Iterator[float]:
    return iter(times)


def test_meter_sums_package_and_dram_zones(sysfs: Path) -> None:
    clock = ticking(10.0, 12.0)
    meter = EnergyMeter.open(sysfs, clock=lambda: next(clock))
    assert isinstance(meter, EnergyMeter)
    with meter.measure() as m:
        (sysfs / "intel-rapl:0" / "energy_uj").write_text("51000000")  # +50 J
        (sysfs / "intel-rapl:0:0" / "energy_uj").write_text("40500000")  # core: in the package
        (sysfs / "intel-rapl:0:1" / "energy_uj").write_text("12000000")  # +10 J
        (sysfs / "intel-rapl:1" / "energy_uj").write_text("43000000")  # +40 J
        (sysfs / "intel-rapl:2" / "energy_uj").write_text("99000000")  # psys: never summed
    assert m.zones == ("package-0", "package-0/dram", "package-1")
    assert m.joules == pytest.approx(100.0)
    assert m.seconds == pytest.approx(2.0)
    assert m.watts == pytest.approx(50.0)


def test_wrap_around_is_counted_across_the_range(tmp_path: Path) -> None:
    counter = zone(tmp_path, "intel-rapl:0", "package-0", 990, range_uj=1000)
    clock = ticking(0.0, 1.0, 2.0)
    meter = EnergyMeter.open(tmp_path, clock=lambda: next(clock))
    assert isinstance(meter, EnergyMeter)
    with meter.measure() as m:
        counter.write_text("5")  # wrapped: 10 to the top, 5 after
        m.update()
        counter.write_text("600")  # +595, no wrap
    assert m.uj == [610]
    assert m.seconds == pytest.approx(2.0)


def test_read_hook_sees_every_reading(sysfs: Path) -> None:
    """The read hook lets a test (or a wrapper) feed counters without files."""
    values = {"intel-rapl:0": iter([100, 100, 300]), "intel-rapl:0:1": iter([0, 0, 50]),
              "intel-rapl:1": iter([7, 7, 7])}

    def read(path: Path) -> str:
        if path.name == "energy_uj":
            return str(next(values[path.parent.name]))
        return path.read_text()

    meter = EnergyMeter.open(sysfs, read=read)
    assert isinstance(meter, EnergyMeter)
    with meter.measure() as m:
        pass
    assert m.uj == [200, 50, 0]


def test_unreadable_counter_says_why(sysfs: Path) -> None:
    def read(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()

    meter = EnergyMeter.open(sysfs, read=read)
    assert isinstance(meter, Unavailable)
    assert f"energy_uj not readable by uid {os.getuid()}" in meter.reason
    assert str(meter).startswith("unavailable: ")


def test_no_powercap_or_no_rapl_zones(tmp_path: Path) -> None:
    missing = EnergyMeter.open(tmp_path / "absent")
    assert isinstance(missing, Unavailable) and "no powercap driver" in missing.reason
    zone(tmp_path, "intel-rapl:0", "psys", 1)
    none = EnergyMeter.open(tmp_path)
    assert isinstance(none, Unavailable) and "no RAPL package" in none.reason


def test_counter_vanishing_mid_window_gives_a_reason(tmp_path: Path) -> None:
    counter = zone(tmp_path, "intel-rapl:0", "package-0", 1)
    meter = EnergyMeter.open(tmp_path)
    assert isinstance(meter, EnergyMeter)
    with meter.measure() as m:
        counter.unlink()
    assert "energy_uj" in m.error


def test_record_carries_energy_as_an_outcome(sysfs: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ticking(0.0, 1.0, 2.0, 3.0, 4.0)
    meter = EnergyMeter.open(sysfs, clock=lambda: next(clock))
    monkeypatch.setattr(runner.EnergyMeter, "open", classmethod(lambda cls, *a, **k: meter))
    ctx = runner.make_context(runner.LocalComm())
    counter = sysfs / "intel-rapl:0" / "energy_uj"
    done = iter([21_000_000, 41_000_000, 81_000_000])  # +20 J, +20 J, +40 J

    def once() -> tuple[float, bool, str]:
        counter.write_text(str(next(done)))
        return 10.0, True, ""

    m = runner.repeat(ctx, once, 3)
    rec = runner.to_record(ctx, "compute.gemm.fp64", "GFLOP/s", m)
    energy = rec.params["energy"]
    assert energy["joules"] == pytest.approx(80.0)
    assert energy["seconds"] == pytest.approx(4.0)
    assert energy["watts"] == pytest.approx(20.0)
    assert energy["gflops_per_w"] == pytest.approx(0.5)
    assert energy["zones"] == ["package-0", "package-0/dram", "package-1"]
    assert "energy" in registry.outcome_params()


def test_record_says_why_energy_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.EnergyMeter, "open",
                        classmethod(lambda cls, *a, **k: Unavailable("no RAPL here")))
    ctx = runner.make_context(runner.LocalComm())
    m = runner.repeat(ctx, lambda: (5.0, True, ""), 2)
    rec = runner.to_record(ctx, "memory.stream.triad", "GB/s", m)
    assert rec.params["energy"] == {"unavailable": "no RAPL here"}
