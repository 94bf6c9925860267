"""The storage data pattern: seed, rank and offset are all encoded; any change is caught."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import pattern


def filled(n: int, seed: int, rank: int, offset: int) -> np.ndarray:
    buf = np.zeros(n, dtype=np.uint8)
    pattern.fill(buf, seed, rank, offset)
    return buf


def test_fast_and_byte_paths_agree_at_any_offset() -> None:
    whole = filled(4096, 7, 3, 0)
    for start, length in [(0, 64), (8, 4000), (13, 100), (1, 7), (4095, 1), (5, 4088)]:
        part = filled(length, 7, 3, start)
        np.testing.assert_array_equal(part, whole[start:start + length])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 4096), st.integers(0, 1 << 40),
       st.integers(1, 600), st.data())
def test_any_flipped_byte_is_found_at_its_index(seed, rank, offset, n, data) -> None:
    buf = filled(n, seed, rank, offset)
    assert pattern.first_mismatch(buf, seed, rank, offset) == -1
    i = data.draw(st.integers(0, n - 1))
    buf[i] ^= data.draw(st.integers(1, 255))
    assert pattern.first_mismatch(buf, seed, rank, offset) == i


def test_seed_rank_and_offset_each_change_the_data() -> None:
    ref = filled(4096, 11, 2, 1 << 20)
    assert pattern.first_mismatch(ref, 12, 2, 1 << 20) >= 0  # other run
    assert pattern.first_mismatch(ref, 11, 3, 1 << 20) >= 0  # other rank
    assert pattern.first_mismatch(ref, 11, 2, (1 << 20) + 4096) >= 0  # other place
    # no two 8-byte words of one buffer repeat (no dedup or compression shortcut)
    words = ref.view(np.uint64)
    assert len(np.unique(words)) == words.size


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError):
        pattern.pattern_key(-1, 0)


@pytest.mark.parametrize("transfer", [4096, 47008, 1 << 20, 3 << 20])
def test_source_slices_equal_the_pattern(transfer: int) -> None:
    """The stamped body slices a writer hands to pwrite are the pattern at each offset."""
    src = pattern.Source(transfer)
    src.reset(99, 5)
    for i in (0, 1, 2, 7, 22, 23, 1000):
        off = i * transfer
        view = src.view(off)
        assert len(view) == transfer
        assert pattern.first_mismatch(np.frombuffer(view, dtype=np.uint8), 99, 5, off) == -1
        if transfer % 4096 == 0:  # page-aligned slices for O_DIRECT
            assert np.frombuffer(view, dtype=np.uint8).ctypes.data % 4096 == 0
        view.release()
    src.reset(99, 6)
    view = src.view(0)
    assert pattern.first_mismatch(np.frombuffer(view, dtype=np.uint8), 99, 6, 0) == -1
    view.release()
    src.close()


def test_misplaced_block_with_the_same_body_is_caught() -> None:
    """A 4 KiB block written one body period (1 MiB) away has the same body, not stamp."""
    here = filled(4096, 3, 0, 4096)
    there = filled(4096, 3, 0, 4096 + pattern.PERIOD_BYTES)
    assert (here[8:] == there[8:]).all()
    assert pattern.first_mismatch(there, 3, 0, 4096) == 0


def test_transfer_not_multiple_of_8_is_refused() -> None:
    with pytest.raises(ValueError):
        pattern.Source(1001)
