"""Measured energy from the RAPL counters in /sys/class/powercap, where readable.

Intel's RAPL (and AMD's, through the same ``intel-rapl`` powercap driver on recent
kernels) counts the energy of each package and, on servers, of its DRAM, in
microjoules that wrap at ``max_energy_range_uj``. The package counts its cores
(``core``/``uncore`` sub-zones) already and ``psys`` counts the whole platform, so only
``package-N`` and ``dram`` zones are summed. Virtual machines usually hide the
counters, and since Linux 5.10 ``energy_uj`` is readable by root only: ``open`` then
says why there is no meter rather than failing. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")
#: Top-level zones ``intel-rapl:N`` and their sub-zones ``intel-rapl:N:M``.
ZONE_RE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")

Reader = Callable[[Path], str]


def read_text(path: Path) -> str:
    return path.read_text()


@dataclass(frozen=True)
class Unavailable:
    """Why this machine gives no energy figures."""

    reason: str

    def __str__(self) -> str:
        return f"unavailable: {self.reason}"


@dataclass(frozen=True)
class Zone:
    """One summed counter: ``label`` is ``package-0`` or ``package-0/dram``."""

    label: str
    counter: Path  # its energy_uj file
    range_uj: int  # the counter wraps here

    def delta_uj(self, before: int, after: int) -> int:
        """Microjoules between two readings, across one wrap of the counter."""
        return after - before if after >= before else after + self.range_uj - before


@dataclass
class Window:
    """Energy since the window opened; ``update`` often enough to catch every wrap."""

    meter: EnergyMeter
    started: float = 0.0
    last: tuple[int, ...] = ()
    uj: list[int] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""  # set when a counter could not be read; the figures then mean nothing

    def start(self) -> None:
        self.uj = [0] * len(self.meter.zones)
        self.started = self.meter.clock()
        self.last = self._sample() or ()

    def update(self) -> None:
        """Add what each zone counted since the last reading."""
        now = self._sample()
        if now is None:
            return
        for i, zone in enumerate(self.meter.zones):
            self.uj[i] += zone.delta_uj(self.last[i], now[i])
        self.last = now
        self.seconds = self.meter.clock() - self.started

    def _sample(self) -> tuple[int, ...] | None:
        if self.error:
            return None
        try:
            return self.meter.sample()
        except (OSError, ValueError) as exc:
            where = self.meter.zones[0].counter
            self.error = _why(exc, where) if isinstance(exc, OSError) else f"{where}: {exc}"
            return None

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(z.label for z in self.meter.zones)

    @property
    def joules(self) -> float:
        return sum(self.uj) / 1e6

    @property
    def watts(self) -> float:
        """Average power over the window; 0 for a window too short to time."""
        return self.joules / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class EnergyMeter:
    """The package and DRAM counters of this node, found readable."""

    zones: tuple[Zone, ...]
    read: Reader = read_text
    clock: Callable[[], float] = time.perf_counter

    @classmethod
    def open(cls, root: Path = POWERCAP, *, read: Reader = read_text,
             clock: Callable[[], float] = time.perf_counter) -> EnergyMeter | Unavailable:
        """A meter over ``root``'s RAPL zones, or the reason there is none."""
        if not root.is_dir():
            return Unavailable(f"no {root} (no powercap driver; virtual machines usually "
                               "hide RAPL)")
        zones: list[Zone] = []
        try:
            for match, path in _rapl_dirs(root):
                zone = _zone(root, match, path, read)
                if zone is not None:
                    zones.append(zone)
            meter = cls(tuple(zones), read, clock)
            if zones:
                meter.sample()  # a counter only root may read fails here, not mid-run
        except OSError as exc:
            return Unavailable(_why(exc, root))
        except ValueError as exc:
            return Unavailable(f"a RAPL counter under {root} is not a number ({exc})")
        if not zones:
            return Unavailable(f"no RAPL package or dram zones under {root}")
        return meter

    def sample(self) -> tuple[int, ...]:
        """Each zone's counter now, in microjoules."""
        return tuple(int(self.read(z.counter)) for z in self.zones)

    @contextlib.contextmanager
    def measure(self) -> Iterator[Window]:
        """Energy and time of the ``with`` block, final when it ends."""
        window = Window(self)
        window.start()
        try:
            yield window
        finally:
            window.update()


def _rapl_dirs(root: Path) -> list[tuple[re.Match[str], Path]]:
    """``intel-rapl:N[:M]`` entries in numeric order (sysfs links sub-zones at the top)."""
    found = [(m, p) for p in root.iterdir() if (m := ZONE_RE.match(p.name))]
    return sorted(found, key=lambda mp: (int(mp[0][1]), int(mp[0][2] or -1)))


def _zone(root: Path, match: re.Match[str], path: Path, read: Reader) -> Zone | None:
    """The zone to sum, or None for one the package already counts (core, uncore, psys)."""
    name = read(path / "name").strip()
    package, sub = match[1], match[2]
    if sub is None and name.startswith("package-"):
        label = name
    elif sub is not None and name == "dram":
        label = f"{read(root / f'intel-rapl:{package}' / 'name').strip()}/{name}"
    else:
        return None
    return Zone(label, path / "energy_uj", int(read(path / "max_energy_range_uj")))


def _why(exc: OSError, where: Path) -> str:
    path = exc.filename or where
    if isinstance(exc, PermissionError):
        return (f"{Path(path).name} not readable by uid {os.getuid()} ({path}; root-only "
                "since Linux 5.10)")
    return f"{path}: {exc.strerror or exc}"
