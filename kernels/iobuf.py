"""Page-aligned I/O buffers, on transparent huge pages where the kernel grants them.

Why: an O_DIRECT transfer reaches the device as one scatter-gather entry per
physically contiguous run of the user buffer. Ordinary 4 KiB pages land
wherever the page allocator puts them, so one 1 MiB transfer goes out as
anything from 1 to 256 entries (and as two requests past the device's segment
limit, 254 on virtio-blk). On a virtual disk the bandwidth follows the entry
count: the same read loop measured 1.0 or 2.5 GB/s from one process to the
next, and a whole suite run stayed on one side by allocator luck. A buffer on
a 2 MiB huge page is one entry per transfer, so every run sends the same
requests. "pages" keeps ordinary 4 KiB pages, faulted in before use as a
``malloc`` + ``memset`` buffer is (what IOR and fio do); "huge" falls back to
them where huge pages are refused, and ``kind`` says which one was granted.
"""

from __future__ import annotations

import contextlib
import mmap
from pathlib import Path

import numpy as np

KINDS = ("huge", "pages")
PAGE_BYTES = mmap.PAGESIZE
_PMD_SIZE = Path("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")


def huge_page_bytes() -> int:
    """The transparent huge page size (2 MiB on x86-64 and 4 KiB-page AArch64)."""
    try:
        return int(_PMD_SIZE.read_text().strip())
    except (OSError, ValueError):
        return 2 * 2**20


def anon_huge_bytes(address: int) -> int:
    """Bytes of the mapping holding ``address`` that sit on huge pages (0 if unknown)."""
    inside = False
    try:
        with open("/proc/self/smaps", encoding="ascii", errors="replace") as fh:
            for line in fh:
                head = line.split(maxsplit=1)[0] if line.strip() else ""
                if "-" in head and not head.endswith(":"):
                    lo, _, hi = head.partition("-")
                    try:
                        inside = int(lo, 16) <= address < int(hi, 16)
                    except ValueError:
                        inside = False
                elif inside and line.startswith("AnonHugePages:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class IOBuffer:
    """``nbytes`` of page-aligned, pre-faulted memory: ``view``, ``array`` and the ``kind`` got."""

    def __init__(self, nbytes: int, kind: str = "huge") -> None:
        if kind not in KINDS:
            raise ValueError(f"buffer kind {kind!r} is not one of {', '.join(KINDS)}")
        self.nbytes = nbytes
        size = max(nbytes, 1)
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        huge = huge_page_bytes()
        offset = 0
        advised = False
        span = -(-size // huge) * huge
        if kind == "huge" and hasattr(mmap, "MADV_HUGEPAGE"):
            self._mm = mmap.mmap(-1, span + huge, flags=flags)
            whole = np.frombuffer(self._mm, dtype=np.uint8)
            offset = -whole.ctypes.data % huge
            del whole
            try:
                self._mm.madvise(mmap.MADV_HUGEPAGE, offset, span)
                advised = True
            except OSError:
                pass
        else:
            self._mm = mmap.mmap(-1, size, flags=flags)
        self.array = np.frombuffer(self._mm, dtype=np.uint8, count=nbytes, offset=offset)
        self.array[::PAGE_BYTES] = 0  # a write fault on every page now, not in a timed window
        self.view = memoryview(self._mm)[offset:offset + nbytes]
        got = advised and anon_huge_bytes(self.array.ctypes.data) >= span
        self.kind = "huge" if got else "pages"

    def close(self) -> None:
        """Release the views and the mapping (a caller still holding a view keeps it alive)."""
        self.view.release()
        self.array = np.empty(0, dtype=np.uint8)
        with contextlib.suppress(BufferError):
            self._mm.close()


def granted_text(requested: str, granted: str) -> str:
    """What a record says about its buffers, e.g. 'huge (2 MiB pages)' or the fallback."""
    if granted == "huge":
        return f"huge ({huge_page_bytes() // 2**20} MiB transparent huge pages)"
    if requested == "huge":
        return "pages (4 KiB; huge pages were refused: transparent huge pages off or no memory)"
    return "pages (4 KiB, as malloc gives IOR and fio)"
