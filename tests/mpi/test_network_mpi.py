"""Network kernels and the network suite under mpiexec -n 2."""

import numpy as np
from mpi4py import MPI

from bench import runner, suite_network
from kernels import network

COMM = MPI.COMM_WORLD


def test_pingpong_sweep_is_valid_and_consistent():
    sizes = [8, 4096, 1 << 20]
    results = network.pingpong(COMM, sizes, repetitions=3, target_s=0.005)
    assert [r.size_bytes for r in results] == sizes
    for r in results:
        assert r.valid and r.ranks == (0, 1) and r.iterations >= 1
        assert len(r.one_way_s) == 3 and all(t > 0 for t in r.one_way_s)
        assert r.bandwidth_gb_s[0] == r.size_bytes / r.one_way_s[0] / 1e9
    # Every rank gets rank 0's figures.
    assert COMM.allgather(results[0].one_way_s) == [results[0].one_way_s] * COMM.size
    # A 1 MiB message takes longer than an 8 B one.
    assert min(results[2].one_way_s) > min(results[0].one_way_s)


def test_pingpong_detects_a_corrupted_payload():
    # Rank 1 sends a different pattern back for one size: validation must fail.
    orig = network._pattern

    def skewed(nbytes, seed):
        out = orig(nbytes, seed)
        if COMM.rank == 1:
            out = out.copy()
            out[-1] ^= 0xFF
        return out

    network._pattern = skewed
    try:
        (r,) = network.pingpong(COMM, [64], repetitions=1, target_s=0.001)
    finally:
        network._pattern = orig
    assert not r.valid


def test_allreduce_is_valid_and_reports_busbw():
    results = network.allreduce(COMM, [8, 65536], repetitions=2, target_s=0.005)
    for r in results:
        assert r.valid and r.ranks == COMM.size
        n = COMM.size
        assert np.isclose(r.busbw_gb_s[0], r.algbw_gb_s[0] * 2 * (n - 1) / n)


def test_suite_records():
    ctx = runner.make_context(COMM, options={"repeats": 2, "net_sizes": "8,65536",
                                             "net_allreduce_sizes": "64,65536"})
    records = suite_network.pingpong(ctx) + suite_network.allreduce(ctx)
    if not ctx.is_root:
        assert records == []
        return
    by_name = {r.name: r for r in records}
    lat = by_name["network.pingpong.latency"]
    bw = by_name["network.pingpong.bandwidth"]
    ar = by_name["network.allreduce.bandwidth"]
    assert lat.unit == "us" and lat.direction == "lower" and lat.params["message_bytes"] == 8
    assert bw.unit == "GB/s" and bw.params["message_bytes"] == 65536
    assert ar.unit == "GB/s" and ar.params["message_bytes"] == 65536
    for r in (lat, bw, ar):
        assert r.status == "ok" and r.value > 0 and r.ranks == COMM.size
        assert r.validation["passed"] and len(r.samples) == 2
    assert [s["size_bytes"] for s in lat.params["sweep"]] == [8, 65536]
