import numpy as np
import pytest

from kernels import flops, stream
from kernels.errors import UserError


def test_flop_count_by_hand():
    # 2 threads x 128 accumulators x 1000 iterations x 2 FLOPs per FMA
    assert flops.flop_count(2, 128, 1000) == 512_000


def test_default_variant_covers_registers():
    assert flops.default_variant(512, 8, 32).width == 8 * 16   # AVX-512 FP64: 16 zmm chains
    assert flops.default_variant(512, 4, 32).width == 16 * 16  # AVX-512 FP32
    assert flops.default_variant(256, 8, 16).width == 4 * 8    # AVX2 FP64: 8 ymm chains
    assert flops.default_variant(128, 4, 32).width == 4 * 16   # NEON FP32


def test_closed_form_by_hand():
    x0 = np.array([0.0, 2.0])
    # x1 = 0.75 x0 + 0.25; x2 = 0.75 x1 + 0.25
    assert flops.closed_form(x0, 2) == pytest.approx([0.4375, 1.5625])


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_fma_run_matches_closed_form(precision):
    run = flops.run_fma(precision, flops.Variant(8, 8), 1000, 2)
    assert run.flops == 2 * 2 * 64 * 1000
    assert run.max_rel_error <= flops.tolerance(precision)
    assert run.seconds > 0 and len(run.thread_seconds) == len(run.thread_cpu_seconds) == 2


def test_fma_rejects_unknown_precision():
    with pytest.raises(UserError, match="precision 'bf16' has no native FMA kernel"):
        flops.run_fma("bf16", flops.Variant(8, 8), 10, 1)


def test_stream_byte_counting_by_hand():
    run = stream.StreamRun(elements=1000, ntimes=3, threads=1,
                           times={"copy": (1.0, 2e-6, 4e-6), "scale": (1, 1, 1),
                                  "add": (1, 1, 1), "triad": (1.0, 3e-6, 6e-6)},
                           errors={"a": 0.0}, compile_s=0.0)
    assert run.bytes_moved("copy") == 16_000 and run.bytes_moved("triad") == 24_000
    assert run.best_gbs("copy") == pytest.approx(16_000 / 2e-6 / 1e9)  # 8 GB/s
    assert run.best_gbs("triad") == pytest.approx(24_000 / 3e-6 / 1e9)  # first excluded


def test_stream_expected_values_by_hand():
    # after a=2a: a=2, b=2, c=0; one round: c=2, b=6, c=8, a=6+24=30
    assert stream.expected_values(1) == (30.0, 6.0, 8.0)


def test_stream_small_run_validates():
    run = stream.run_stream(100_000, ntimes=3, threads=1)
    assert run.valid and run.threads == 1
    assert all(len(run.times[k]) == 3 for k in stream.KERNELS)


def test_stream_size_rules():
    assert stream.min_elements(480 * 2**20) == 4 * 480 * 2**20 // 8
    assert stream.min_elements(480 * 2**20, ranks_on_node=2) == 4 * 480 * 2**20 // 16
    with pytest.raises(UserError, match=r"at most .* elements fit"):
        stream.check_fits(10**12, 24 * 2**30)


def test_stream_per_thread_figure_by_hand():
    # two threads of 500 elements; thread 1 was delayed in repetition 2 (a busy neighbour)
    tt = {k: ((9.0, 1e-6, 2e-6), (9.0, 4e-6, 1e-6)) for k in stream.KERNELS}
    run = stream.StreamRun(elements=1000, ntimes=3, threads=2,
                           times={k: (9.0, 4e-6, 2e-6) for k in stream.KERNELS},
                           errors={"a": 0.0}, compile_s=0.0, thread_times=tt,
                           thread_elements=(500, 500))
    # the figure: all threads at once, the best repetition's slowest thread
    assert run.best_gbs("triad") == pytest.approx(24 * 1000 / 2e-6 / 1e9)
    assert run.rates_gbs("copy")[1] == pytest.approx(16 * 1000 / 4e-6 / 1e9)
    # diagnostic: each thread's bytes over its own best time (first excluded), summed
    assert run.per_thread_gbs("triad") == pytest.approx((24 * 500 / 1e-6 * 2) / 1e9)


def test_stream_shares_start_on_cache_lines():
    cuts = stream.shares(1_000_003, 3)
    assert cuts[0] == 0 and cuts[-1] == 1_000_003 and len(cuts) == 4
    assert all(c % stream.ALIGN_ELEMENTS == 0 for c in cuts[:-1])
    assert cuts == sorted(set(cuts))


def test_stream_two_threads_validate_and_time_each_share():
    run = stream.run_stream(200_003, ntimes=3, threads=2)
    assert run.valid and run.threads == 2 and sum(run.thread_elements) == 200_003
    for k in stream.KERNELS:
        assert len(run.thread_times[k]) == 2 and all(len(t) == 3 for t in run.thread_times[k])
        assert run.per_thread_gbs(k) >= run.best_gbs(k) > 0
