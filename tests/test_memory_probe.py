"""The one memory probe: /proc/meminfo parsed in bytes, sysconf where the file is absent."""

import os
from pathlib import Path

from kernels import memory

SAMPLE = """\
MemTotal:       263849984 kB
MemFree:        100000000 kB
MemAvailable:   250000000 kB
Buffers:          123456 kB
HugePages_Total:       0
"""


def test_meminfo_text_is_read_in_bytes() -> None:
    assert memory.parse_meminfo(SAMPLE) == memory.Memory(263849984 * 1024, 250000000 * 1024)


def test_old_kernel_without_memavailable_uses_memfree() -> None:
    old = "MemTotal: 2048 kB\nMemFree: 1024 kB\n"
    assert memory.parse_meminfo(old) == memory.Memory(2048 * 1024, 1024 * 1024)


def test_text_without_memtotal_is_not_a_reading() -> None:
    assert memory.parse_meminfo("") is None
    assert memory.parse_meminfo("MemAvailable: 12 kB\n") is None


def test_probe_reads_the_given_file(tmp_path: Path) -> None:
    path = tmp_path / "meminfo"
    path.write_text(SAMPLE)
    assert memory.probe(path).total_bytes == 263849984 * 1024


def test_missing_file_falls_back_to_sysconf(tmp_path: Path) -> None:
    got = memory.probe(tmp_path / "absent")
    page = os.sysconf("SC_PAGE_SIZE")
    assert got.total_bytes == os.sysconf("SC_PHYS_PAGES") * page
    assert 0 < got.available_bytes <= got.total_bytes


def test_this_node() -> None:
    got = memory.probe()
    assert 0 < got.available_bytes <= got.total_bytes
