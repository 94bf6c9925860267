"""kernels/amx.py: the AMX BF16 peak kernel (tile products in tile registers)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bench import sysinfo
from kernels import amx
from kernels.errors import UserError

FLAGS = sysinfo.probe().cpu.flags
HAS_AMX = amx.supported(FLAGS) and amx.permit() is None


def test_tile_config_is_palette_1_with_seven_16_by_64_byte_tiles():
    cfg = amx.tile_config()
    assert cfg.nbytes == 64 and cfg[0] == 1 and cfg[1] == 0  # palette 1, start row 0
    assert list(cfg[16:48].view(np.uint16)) == [64] * 7 + [0] * 9  # bytes per row
    assert list(cfg[48:64]) == [16] * 7 + [0] * 9  # rows


def test_flops_by_hand():
    # one TDPBF16PS: 16 x 16 outputs, each 32 BF16 products added: 16 * 16 * 32 * 2
    assert amx.TILE_FLOPS == 16_384
    # 2 threads x 10 iterations x 4 accumulators x 2 products per iteration
    assert amx.flop_count(2, 10) == 2 * 10 * 8 * 16_384
    assert amx.CHECK_MAX * 64 == 2**24  # the check's sums stay exact in FP32


def test_only_linux_x86_with_amx_tiles_and_bf16():
    assert not amx.supported({"avx512f", "avx512_bf16"})
    assert not amx.supported({"amx_tile"})
    assert amx.supported({"amx_tile", "amx_bf16"}) == (
        sysinfo.probe().cpu.arch == "x86_64" and sys.platform == "linux")


def test_bad_counts_are_user_errors():
    with pytest.raises(UserError):
        amx.run_tiles(0, 1)
    with pytest.raises(UserError):
        amx.run_tiles(amx.CHECK_MAX + 1, 1, check=True)


@pytest.mark.skipif(not HAS_AMX, reason="no AMX tiles (or Linux did not lend them) here")
def test_tile_products_are_exact_and_counted():
    """The check loop leaves exactly 64n in every accumulator; the timed loop exactly 0."""
    check = amx.run_tiles(1000, 2, check=True)
    assert check.max_rel_error == 0.0 and check.flops == amx.flop_count(2, 1000)
    timed = amx.run_tiles(2001, 2)
    assert timed.max_rel_error == 0.0 and timed.gflops > 0
    peak = sysinfo.probe().peaks["bf16"]
    assert peak.flops_per_cycle == sysinfo.AMX_BF16_FLOPS_PER_CYCLE
    assert "tile matrix multiply" in peak.formula


def test_amx_peak_by_hand():
    """8 cores x 2.3 GHz (nominal) x 1024 BF16 FLOPs per cycle; generous at the 3.4 GHz max."""
    import dataclasses
    from pathlib import Path

    cpu = sysinfo.probe(root=Path(__file__).parent / "fixtures" / "sysinfo" / "x86_avx512").cpu
    tiles = dataclasses.replace(cpu, flags=frozenset(cpu.flags | {"amx_tile", "amx_bf16"}))
    assert sysinfo.native_precisions(tiles)["bf16"] == sysinfo.AMX_BF16
    bf16 = sysinfo.theoretical_peaks(tiles)["bf16"]
    assert bf16.gflops == pytest.approx(8 * 2.3 * 1024)
    assert bf16.generous_gflops == pytest.approx(8 * 3.4 * 1024)
    assert bf16.at_clock(3000) == pytest.approx(8 * 3.0 * 1024)
