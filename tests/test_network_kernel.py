"""Network kernels and suite in one process: argument checks and honest 'unavailable'."""

import pytest

from bench import runner, suite_network
from kernels import network
from kernels.errors import UserError


def test_pick_peer_prefers_another_node():
    assert network.pick_peer(["a", "a", "b", "b"]) == 2
    assert network.pick_peer(["a", "a"]) == 1
    with pytest.raises(UserError, match="at least 2"):
        network.pick_peer(["a"])


@pytest.mark.parametrize("sizes,match", [([], "empty"), ([0], "at least 1"),
                                          ([8, -1], "at least 1"), ([1.5], "whole number"),
                                          ([True], "whole number")])
def test_message_sizes_are_checked(sizes, match):
    with pytest.raises(UserError, match=match):
        network.check_sizes(sizes)


def test_allreduce_sizes_must_be_whole_doubles():
    with pytest.raises(UserError, match="multiple of 8"):
        network.check_sizes([12], multiple_of=8)


def test_pattern_is_deterministic_and_not_constant():
    a, b = network._pattern(4096, 7), network._pattern(4096, 7)
    assert (a == b).all() and len(set(a.tolist())) > 200


def test_bandwidth_and_latency_units():
    r = network.PingPongResult(size_bytes=1 << 20, one_way_s=(1e-4,), iterations=10,
                               ranks=(0, 1), hosts=("a", "b"), valid=True)
    assert r.latency_us == (100.0,)
    assert r.bandwidth_gb_s[0] == pytest.approx(10.48576)
    ar = network.AllreduceResult(size_bytes=8_000_000, time_s=(0.01,), iterations=1, ranks=4,
                                 valid=True)
    assert ar.algbw_gb_s[0] == pytest.approx(0.8)
    assert ar.busbw_gb_s[0] == pytest.approx(0.8 * 1.5)


def test_single_process_suite_says_why():
    ctx = runner.make_context(runner.LocalComm())
    records = suite_network.pingpong(ctx) + suite_network.allreduce(ctx)
    assert [r.name for r in records] == ["network.pingpong.latency",
                                         "network.pingpong.bandwidth",
                                         "network.allreduce.bandwidth"]
    for r in records:
        assert r.status == "unavailable" and r.value is None
        assert "at least 2 MPI ranks" in r.validation["details"]


def test_bad_size_parameter_is_a_user_error():
    ctx = runner.make_context(runner.LocalComm(), options={"net_sizes": "8,abc"})
    with pytest.raises(UserError, match="net_sizes"):
        suite_network._sizes(ctx, "net_sizes", (8,))
