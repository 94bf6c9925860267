"""Storage data pattern: every 4 KiB block encodes the run seed, the rank and its offset.

Why a pattern and not zeros: a read that returns another rank's block, a stale
block, a misdirected block or one flipped byte must all fail verification,
and file systems that compress or deduplicate must not shortcut the writes.

Words are 8 bytes; word ``k`` sits at file offset ``8*k``. With ``key`` mixing
seed and rank, ``x(j) = xorshift(j*G + G)`` (G odd, so x is a bijection):

- the first word of every 4 KiB block (``k % 512 == 0``) is the *stamp*
  ``x(k) ^ key ^ STAMP``: unique per offset, so a misplaced block is caught;
- every other word is the *body* ``x(k mod 2**17) ^ key``: it repeats only
  every 1 MiB, so no compressor window or dedup block sees a repeat.

So any changed byte, any block from another rank or run, any misplaced 4 KiB
block and any smaller piece moved by other than a multiple of 1 MiB fail.

Why this shape: a writer keeps one body buffer of 1 MiB plus a transfer and,
for each transfer, rewrites only the stamps (one word per 4 KiB) and hands a
slice to the write call. Generating a whole megabyte per transfer cost up to a
fifth of an O_DIRECT write's time on a busy node; a stamp per 512 bytes still
cost several percent (one cache miss per stamp), a stamp per 4 KiB does not.
"""

from __future__ import annotations

import functools
import sys

import numba
import numpy as np

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.iobuf import IOBuffer

_G = np.uint64(0x9E3779B97F4A7C15)
_STAMP = np.uint64(0xD1B54A32D192ED03)
_MASK64 = (1 << 64) - 1
SECTOR_WORDS = 512
PERIOD_WORDS = 1 << 17
PERIOD_BYTES = PERIOD_WORDS * 8
_SECTOR_MASK = np.uint64(SECTOR_WORDS - 1)
_PERIOD_MASK = np.uint64(PERIOD_WORDS - 1)
_LITTLE = sys.byteorder == "little"


def _splitmix64(x: int) -> int:
    """One splitmix64 step (pure Python; used only to derive the per-run key)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@functools.lru_cache(maxsize=4096)
def pattern_key(seed: int, rank: int) -> int:
    """The 64-bit key of one writer in one run; different seeds or ranks give different keys."""
    if seed < 0 or rank < 0:
        raise ValueError("seed and rank must be non-negative")
    return _splitmix64((_splitmix64(seed & _MASK64) ^ (rank & _MASK64)) & _MASK64)


@numba.njit(cache=True, nogil=True, inline="always")
def _x(j: np.uint64) -> np.uint64:
    a = j * _G + _G
    return a ^ (a >> np.uint64(31))


@numba.njit(cache=True, nogil=True, inline="always")
def _word(k: np.uint64, key: np.uint64) -> np.uint64:
    if (k & _SECTOR_MASK) == 0:
        return _x(k) ^ key ^ _STAMP
    return _x(k & _PERIOD_MASK) ^ key


@numba.njit(cache=True, nogil=True)
def _fill_words(words: np.ndarray, k0: np.uint64, key: np.uint64) -> None:
    for i in range(words.size):
        words[i] = _word(k0 + np.uint64(i), key)


@numba.njit(cache=True, nogil=True)
def _stamp_words(words: np.ndarray, k0: np.uint64, key: np.uint64) -> None:
    """Rewrite only the sector stamps of a buffer whose body already fits offset k0."""
    first = (np.uint64(SECTOR_WORDS) - (k0 & _SECTOR_MASK)) & _SECTOR_MASK
    for i in range(int(first), words.size, SECTOR_WORDS):
        k = k0 + np.uint64(i)
        words[i] = _x(k) ^ key ^ _STAMP


@numba.njit(cache=True, nogil=True)
def _fill_bytes(buf: np.ndarray, offset: np.uint64, key: np.uint64) -> None:
    for i in range(buf.size):
        o = offset + np.uint64(i)
        w = _word(o >> np.uint64(3), key)
        buf[i] = np.uint8((w >> ((o & np.uint64(7)) * np.uint64(8))) & np.uint64(0xFF))


@numba.njit(cache=True, nogil=True)
def _check_words(words: np.ndarray, k0: np.uint64, key: np.uint64) -> int:
    """Index of the first word that differs from the pattern, or -1."""
    for i in range(words.size):
        if words[i] != _word(k0 + np.uint64(i), key):
            return i
    return -1


@numba.njit(cache=True, nogil=True)
def _check_bytes(buf: np.ndarray, offset: np.uint64, key: np.uint64) -> int:
    for i in range(buf.size):
        o = offset + np.uint64(i)
        w = _word(o >> np.uint64(3), key)
        if buf[i] != np.uint8((w >> ((o & np.uint64(7)) * np.uint64(8))) & np.uint64(0xFF)):
            return i
    return -1


def _as_bytes(buf: np.ndarray | memoryview | bytearray) -> np.ndarray:
    arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ValueError("pattern buffers must be 1-D uint8")
    return arr


def _word_aligned(arr: np.ndarray, offset: int) -> bool:
    return _LITTLE and offset % 8 == 0 and arr.size % 8 == 0 and arr.ctypes.data % 8 == 0


def fill(buf: np.ndarray | memoryview | bytearray, seed: int, rank: int, offset: int) -> None:
    """Write the pattern that belongs at file ``offset`` (bytes) into ``buf``."""
    arr = _as_bytes(buf)
    key = np.uint64(pattern_key(seed, rank))
    if _word_aligned(arr, offset):
        _fill_words(arr.view(np.uint64), np.uint64(offset // 8), key)
    else:
        _fill_bytes(arr, np.uint64(offset), key)


def first_mismatch(buf: np.ndarray | memoryview | bytearray, seed: int, rank: int,
                   offset: int) -> int:
    """Index (bytes into ``buf``) of the first byte that is not the pattern, or -1 if all match."""
    arr = _as_bytes(buf)
    key = np.uint64(pattern_key(seed, rank))
    if _word_aligned(arr, offset):
        i = int(_check_words(arr.view(np.uint64), np.uint64(offset // 8), key))
        if i < 0:
            return -1
        j = int(_check_bytes(arr[8 * i: 8 * i + 8], np.uint64(offset + 8 * i), key))
        return 8 * i + max(j, 0)
    return int(_check_bytes(arr, np.uint64(offset), key))


class Source:
    """Pattern data for one writer's transfers without regenerating each transfer.

    Holds the 1 MiB body (plus one transfer, so any phase is one contiguous
    slice) in a page-aligned buffer (``kernels.iobuf``: huge pages unless
    ``buffer="pages"``); ``view`` stamps the sectors of the slice for the
    requested offset and returns it, ready for pwrite or MPI-IO. The slice is
    page-aligned whenever the offset is (what O_DIRECT needs).
    """

    def __init__(self, transfer_bytes: int, buffer: str = "huge") -> None:
        if transfer_bytes % 8:
            raise ValueError("transfer size must be a multiple of 8 bytes")
        self.nbytes = transfer_bytes
        self._buf = IOBuffer(PERIOD_BYTES + transfer_bytes, buffer)
        self.kind = self._buf.kind
        self.bytes = self._buf.array
        self._words = self.bytes.view(np.uint64)
        self._mv = self._buf.view
        self._key = np.uint64(0)
        self._filled: tuple[int, int] | None = None

    def reset(self, seed: int, rank: int) -> None:
        """Fill the body for this writer (once per writer and iteration)."""
        if self._filled != (seed, rank):
            self._key = np.uint64(pattern_key(seed, rank))
            _fill_words(self._words, np.uint64(0), self._key)
            self._filled = (seed, rank)

    def span(self, offset: int) -> tuple[int, int]:
        """Stamp the slice for file ``offset``; its (start, end) byte positions in ``bytes``."""
        if self._filled is None:
            raise RuntimeError("reset(seed, rank) first")
        k = offset >> 3
        start = (k & (PERIOD_WORDS - 1)) * 8
        end = start + self.nbytes
        _stamp_words(self._words[start >> 3: end >> 3], np.uint64(k), self._key)
        return start, end

    def view(self, offset: int) -> memoryview:
        """The stamped bytes for file ``offset`` (a memoryview into the mapping)."""
        start, end = self.span(offset)
        return self._mv[start:end]

    def close(self) -> None:
        self.bytes = self._words = np.empty(0, dtype=np.uint8)
        self._buf.close()


def warm_up() -> None:
    """Compile (or load from cache) every specialisation before a timed window opens."""
    words = np.zeros(16, dtype=np.uint8)
    fill(words, 1, 0, 0)
    first_mismatch(words, 1, 0, 0)
    odd = np.zeros(13, dtype=np.uint8)
    fill(odd, 1, 0, 3)
    first_mismatch(odd, 1, 0, 3)
    _stamp_words(words.view(np.uint64), np.uint64(0), np.uint64(1))
