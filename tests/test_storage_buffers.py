"""Transfer buffers: page-aligned, pre-faulted, on huge pages when granted, and recorded."""

from __future__ import annotations

import itertools
import mmap
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from kernels import pattern
from kernels.errors import UserError
from kernels.iobuf import KINDS, IOBuffer, granted_text, huge_page_bytes
from kernels.storage import MIB, IOConfig, run_bandwidth
from kernels.workdir import WorkDir

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def thp_allowed() -> bool:
    """Whether madvise'd memory may get transparent huge pages on this kernel."""
    try:
        return "[never]" not in THP.read_text()
    except OSError:
        return False


def physical_runs(array: np.ndarray) -> int | None:
    """Physically contiguous runs under ``array`` (None when PFNs are hidden: not root)."""
    page = mmap.PAGESIZE
    first = array.ctypes.data // page
    count = -(-array.size // page)
    with open("/proc/self/pagemap", "rb") as fh:
        fh.seek(first * 8)
        raw = fh.read(count * 8)
    pfns = [struct.unpack_from("<Q", raw, 8 * i)[0] & ((1 << 55) - 1) for i in range(count)]
    if not any(pfns):
        return None
    return 1 + sum(1 for a, b in itertools.pairwise(pfns) if b != a + 1)


@pytest.mark.parametrize("nbytes", [47008, MIB, 3 * MIB + 8])
@pytest.mark.parametrize("kind", KINDS)
def test_buffer_is_aligned_sized_and_says_what_it_got(nbytes: int, kind: str) -> None:
    buf = IOBuffer(nbytes, kind)
    try:
        assert buf.array.ctypes.data % mmap.PAGESIZE == 0
        assert buf.array.size == len(buf.view) == nbytes
        buf.view[:3] = b"abc"
        assert bytes(buf.array[:3]) == b"abc"  # one memory, two views
        if kind == "pages":
            assert buf.kind == "pages"
        else:
            assert buf.kind in KINDS
            if thp_allowed():
                assert buf.kind == "huge"
    finally:
        buf.close()


@pytest.mark.skipif(not thp_allowed(), reason="transparent huge pages are off here")
def test_huge_buffer_is_one_physical_run_per_huge_page() -> None:
    # The point of the buffer: a 1 MiB O_DIRECT transfer is one scatter-gather entry,
    # not up to 256 (which splits it into two requests on virtio-blk).
    buf = IOBuffer(MIB, "huge")
    try:
        runs = physical_runs(buf.array)
        if runs is None:
            pytest.skip("page frame numbers are hidden from this user")
        assert buf.kind == "huge" and runs == 1
        assert huge_page_bytes() >= MIB
    finally:
        buf.close()


def test_pattern_source_is_the_same_on_either_buffer() -> None:
    got = []
    for kind in KINDS:
        src = pattern.Source(MIB, buffer=kind)
        src.reset(7, 1)
        got.append(bytes(src.view(5 * MIB)))
        src.close()
    assert got[0] == got[1]
    assert pattern.first_mismatch(np.frombuffer(got[0], dtype=np.uint8), 7, 1, 5 * MIB) == -1


def test_unknown_buffer_kind_is_refused() -> None:
    with pytest.raises(UserError, match="buffer 'giant' is not one of huge, pages"):
        IOConfig(buffer="giant").validate()


@pytest.mark.parametrize("kind", KINDS)
def test_run_records_the_buffers_it_used(tmp_path: Path, kind: str) -> None:
    cfg = IOConfig(block_bytes=4 * MIB, transfer_bytes=MIB, buffer=kind, direct=False)
    with WorkDir.create(tmp_path) as wd:
        r = run_bandwidth(cfg, wd.path)
    assert r.ok, r.failure
    assert r.buffer.split()[0] in KINDS
    if kind == "pages":
        assert r.buffer == granted_text("pages", "pages")
    elif thp_allowed():
        assert r.buffer.startswith("huge (")
    else:
        assert "refused" in r.buffer and any("refused" in w for w in r.warnings)
    assert os.listdir(tmp_path) == []
