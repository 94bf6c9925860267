"""One probe of this node's memory, so every caller reads the same figures the same way.

/proc/meminfo is the source (its MemAvailable is the kernel's own estimate of
what can be allocated without swapping); sysconf stands in where /proc is
absent. Standard library only, so importing it costs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MEMINFO = "/proc/meminfo"


@dataclass(frozen=True)
class Memory:
    """Memory of one node in bytes: all of it, and what can be allocated now."""

    total_bytes: int
    available_bytes: int


def parse_meminfo(text: str) -> Memory | None:
    """MemTotal and MemAvailable from /proc/meminfo text; None without MemTotal.

    Kernels before 3.14 lack MemAvailable; MemFree stands in, as sysconf's
    available pages do.
    """
    kib: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("MemTotal", "MemAvailable", "MemFree") and rest.split():
            kib[key] = int(rest.split()[0])
    if "MemTotal" not in kib:
        return None
    available = kib.get("MemAvailable", kib.get("MemFree", kib["MemTotal"]))
    return Memory(total_bytes=kib["MemTotal"] * 1024, available_bytes=available * 1024)


def probe(meminfo: str | os.PathLike[str] = MEMINFO) -> Memory:
    """This node's memory from ``meminfo``, or from sysconf when that file is absent or empty."""
    try:
        with open(meminfo) as fh:
            found = parse_meminfo(fh.read())
    except OSError:
        found = None
    return found or _sysconf()


def _sysconf() -> Memory:
    page = os.sysconf("SC_PAGE_SIZE")
    total = os.sysconf("SC_PHYS_PAGES") * page
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError):  # not every system names it (macOS does not)
        available = total
    return Memory(total_bytes=total, available_bytes=available)
