"""Suite ``network``: MPI ping-pong latency and bandwidth, allreduce bandwidth.

Needs at least two ranks (``mpiexec -n 2`` or an srun job); a single process
gets ``unavailable`` records saying so. The ping-pong pairs rank 0 with a rank
on another node when the job spans several. Headlines are medians over
repetitions; the whole message-size sweep is kept in ``params['sweep']``.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.records import Record
from bench.registry import CICase, CIEnv, CIRun, Param, benchmark
from bench.runner import Context
from kernels.errors import UserError

#: The network kernels' version (kernels/network.py), stamped on their records.
KERNEL_VERSION = "1"
TARGET = Param("net_target_s", "float", "target seconds per timed loop", unit="s",
               default=0.02, minimum=1e-4, maximum=600)
#: Loop counts adapt to the machine: an outcome, not an input.
OUTCOMES = ("iterations", "sweep", "busbw_gb_s")
#: A fixed loop length in the CI tier (the adaptive count is capped) so runs time equal work.
CI_ALLREDUCE_BYTES, CI_ALLREDUCE_LOOPS = 2**20, 40


def _ci_allreduce_self(env: CIEnv, _case: str) -> CIRun:
    """Allreduce on MPI_COMM_SELF: the kernel and the MPI library's local path, no network."""
    from mpi4py import MPI

    from kernels import network

    def once() -> tuple[dict[str, float], bool, str]:
        (r,) = network.allreduce(MPI.COMM_SELF, [CI_ALLREDUCE_BYTES], repetitions=3,
                                 target_s=10.0, warmup=2, max_iterations=CI_ALLREDUCE_LOOPS)
        return ({"network.allreduce.self": statistics.median(r.algbw_gb_s)}, r.valid,
                "sum verified" if r.valid else "the reduced array differs from the expected sum")

    return CIRun(once, rounds=20, unit="GB/s",
                 params={"size_bytes": CI_ALLREDUCE_BYTES, "iterations": CI_ALLREDUCE_LOOPS,
                         "ranks": 1, "communicator": "MPI_COMM_SELF"})


def _sizes(ctx: Context, key: str, default: tuple[int, ...]) -> list[int]:
    raw = ctx.options.get(key)
    if raw is None:
        return list(default)
    try:
        sizes = [int(s) for s in str(raw).replace(";", ",").split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--param {key}={raw!r} must be byte counts separated by commas") from None
    return sizes


def _options(ctx: Context) -> tuple[int, float]:
    repeats = int(ctx.options.get("repeats", 5))
    target_s = float(ctx.options.get("net_target_s", 0.02))
    if repeats < 1 or target_s <= 0:
        raise UserError("network options: repeats must be >= 1 and net_target_s > 0")
    return repeats, target_s


@benchmark(suites=("network",), records=("network.pingpong.*",), order=50,
           description="MPI ping-pong latency and bandwidth sweep", kernel_version=KERNEL_VERSION,
           params=(Param("net_sizes", "ints", "message sizes of the sweep", unit="bytes"),
                   TARGET),
           outcomes=OUTCOMES,
           ci=(CICase("network_pingpong", skip="network.pingpong: a ping-pong needs 2 MPI ranks "
                      "and the CI tier is one process; it is covered by "
                      "tests/mpi/test_network_mpi.py and compared with mpi4py.bench by "
                      "'hpcplan anchors'"),))
def pingpong(ctx: Context) -> list[Record]:
    """Latency at the smallest message and bandwidth at the largest, the sweep in params."""
    from kernels import network as net

    names = ("network.pingpong.latency", "network.pingpong.bandwidth")
    if ctx.size < 2:
        reason = "the ping-pong needs at least 2 MPI ranks (run under mpiexec or srun)"
        return [ctx.unavailable(names[0], "us", reason), ctx.unavailable(names[1], "GB/s", reason)]
    sizes = _sizes(ctx, "net_sizes", net.DEFAULT_SIZES_BYTES)
    repeats, target_s = _options(ctx)
    ctx.say(f"ping-pong: {len(sizes)} message sizes, {repeats} repetitions")
    results = net.pingpong(ctx.comm, sizes, repetitions=repeats, target_s=target_s)
    if not ctx.is_root:
        return []
    first, last = results[0], results[-1]
    sweep = [{"size_bytes": r.size_bytes, "iterations": r.iterations,
              "latency_us": statistics.median(r.latency_us),
              "bandwidth_gb_s": statistics.median(r.bandwidth_gb_s), "valid": r.valid}
             for r in results]
    common: dict[str, Any] = {
        "peer_ranks": list(first.ranks), "peer_hosts": list(first.hosts),
        "across_nodes": first.hosts[0] != first.hosts[1], "repetitions": repeats,
        "statistic": "median", "method": "blocking Send/Recv echo; one way = round trip / 2",
        "sweep": sweep,
    }
    return [
        _record(ctx, names[0], "us", "lower", first.latency_us, first.valid, first.size_bytes,
                first.iterations, common),
        _record(ctx, names[1], "GB/s", "higher", last.bandwidth_gb_s, last.valid,
                last.size_bytes, last.iterations, {**common, "gb": "10^9 bytes"}),
    ]


@benchmark(suites=("network",), records=("network.allreduce.*",), order=51,
           description="MPI allreduce bandwidth", kernel_version=KERNEL_VERSION,
           params=(Param("net_allreduce_sizes", "ints", "message sizes of the allreduce sweep",
                         unit="bytes"), TARGET),
           outcomes=OUTCOMES, ci=(CICase("network_allreduce_self", _ci_allreduce_self),))
def allreduce(ctx: Context) -> list[Record]:
    """Sum-allreduce of float64: algorithm bandwidth at the largest size, bus bandwidth too."""
    from kernels import network as net

    name = "network.allreduce.bandwidth"
    if ctx.size < 2:
        return [ctx.unavailable(name, "GB/s", "allreduce bandwidth needs at least 2 MPI ranks "
                                "(run under mpiexec or srun)")]
    sizes = _sizes(ctx, "net_allreduce_sizes", net.DEFAULT_SIZES_BYTES[1:])
    repeats, target_s = _options(ctx)
    ctx.say(f"allreduce: {len(sizes)} message sizes on {ctx.size} ranks")
    results = net.allreduce(ctx.comm, sizes, repetitions=repeats, target_s=target_s)
    if not ctx.is_root:
        return []
    last = results[-1]
    sweep = [{"size_bytes": r.size_bytes, "iterations": r.iterations,
              "time_us": statistics.median(r.time_s) * 1e6,
              "algbw_gb_s": statistics.median(r.algbw_gb_s),
              "busbw_gb_s": statistics.median(r.busbw_gb_s), "valid": r.valid}
             for r in results]
    params = {"op": "sum", "dtype": "float64", "repetitions": repeats, "statistic": "median",
              "bandwidth": "algbw = message bytes / time of the slowest rank",
              "busbw_gb_s": statistics.median(last.busbw_gb_s), "gb": "10^9 bytes",
              "sweep": sweep}
    return [_record(ctx, name, "GB/s", "higher", last.algbw_gb_s, all(r.valid for r in results),
                    last.size_bytes, last.iterations, params)]


def _record(ctx: Context, name: str, unit: str, direction: str, samples: tuple[float, ...],
            valid: bool, size_bytes: int, iterations: int, params: dict[str, Any]) -> Record:
    details = ("payloads verified after the timed loops" if valid else
               "a received payload differs from what was sent")
    return ctx.record(
        name, statistics.median(samples) if valid else None, unit, direction=direction,
        status="ok" if valid else "failed", samples=samples if valid else (),
        params={**params, "message_bytes": size_bytes, "iterations": iterations},
        validation={"passed": valid, "details": details},
    )
