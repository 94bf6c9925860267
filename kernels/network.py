"""MPI network kernels: ping-pong latency and bandwidth, allreduce bandwidth.

Pure measurement: a communicator and message sizes in, timings out. The
ping-pong pairs rank 0 with a rank on another node when the job spans several
(processor names tell the nodes apart), so it measures the network, not shared
memory. Every payload is checked after the timed loops: both ranks send the same
byte pattern, so each must have received exactly it, and the allreduce must
produce the known sum.

Methodology follows ``python -m mpi4py.bench pingpong`` (blocking ``Send`` /
``Recv`` of preallocated NumPy byte buffers, one-way time = round trip / 2) so
the two are comparable; a repetition times a block of round trips with
``MPI.Wtime`` and the caller gets every repetition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kernels.errors import UserError

#: The default sweep: 8 B to 4 MiB in powers of 4 (the sizes the speed targets name included).
DEFAULT_SIZES_BYTES = (8, 64, 512, 4096, 32768, 262144, 1 << 20, 4 << 20)
_TAG = 17


@dataclass(frozen=True)
class PingPongResult:
    """One message size: one-way times per repetition, in seconds."""

    size_bytes: int
    one_way_s: tuple[float, ...]
    iterations: int
    ranks: tuple[int, int]
    hosts: tuple[str, str]
    valid: bool

    @property
    def latency_us(self) -> tuple[float, ...]:
        return tuple(t * 1e6 for t in self.one_way_s)

    @property
    def bandwidth_gb_s(self) -> tuple[float, ...]:
        """Bytes per second one way, in 10^9 bytes/s (mpi4py.bench prints 10^6 bytes/s)."""
        return tuple(self.size_bytes / t / 1e9 for t in self.one_way_s)


@dataclass(frozen=True)
class AllreduceResult:
    """One message size: time of the slowest rank per repetition, in seconds."""

    size_bytes: int
    time_s: tuple[float, ...]
    iterations: int
    ranks: int
    valid: bool

    @property
    def algbw_gb_s(self) -> tuple[float, ...]:
        """Message bytes per second (``algbw`` in NCCL-tests terms), 10^9 bytes/s."""
        return tuple(self.size_bytes / t / 1e9 for t in self.time_s)

    @property
    def busbw_gb_s(self) -> tuple[float, ...]:
        """algbw x 2(n-1)/n: the per-link traffic of a ring allreduce, comparable across n."""
        n = self.ranks
        return tuple(b * 2 * (n - 1) / n for b in self.algbw_gb_s)


def check_sizes(sizes_bytes: Sequence[int], *, multiple_of: int = 1) -> list[int]:
    """Message sizes must be positive whole byte counts (and whole elements for allreduce)."""
    out = []
    for s in sizes_bytes:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1:
            raise UserError(f"message size {s!r} must be a whole number of bytes of at least 1")
        if s % multiple_of:
            raise UserError(f"message size {s} B is not a multiple of {multiple_of} B")
        out.append(int(s))
    if not out:
        raise UserError("the message-size list is empty")
    return out


def pick_peer(hosts: Sequence[str]) -> int:
    """The rank rank 0 talks to: the first on another host, else rank 1."""
    if len(hosts) < 2:
        raise UserError("the ping-pong needs at least 2 MPI ranks")
    for rank, host in enumerate(hosts[1:], start=1):
        if host != hosts[0]:
            return rank
    return 1


def _pattern(nbytes: int, seed: int) -> np.ndarray:
    return ((np.arange(nbytes, dtype=np.uint32) * 131 + seed) % 251).astype(np.uint8)


def _iterations(round_trip_s: float, target_s: float, max_iterations: int) -> int:
    return int(min(max_iterations, max(1, target_s / max(round_trip_s, 1e-9))))


def _pingpong_block(comm: Any, peer: int, s_msg: list[Any], r_msg: list[Any], n: int,
                    wtime: Any) -> float:
    """n round trips; rank 0's elapsed seconds (other ranks return 0)."""
    rank = comm.Get_rank()
    if rank == 0:
        t0 = wtime()
        for _ in range(n):
            comm.Send(s_msg, peer, _TAG)
            comm.Recv(r_msg, peer, _TAG)
        return wtime() - t0
    if rank == peer:
        for _ in range(n):
            comm.Recv(r_msg, 0, _TAG)
            comm.Send(s_msg, 0, _TAG)  # the same pattern back, from its own buffer
    return 0.0


def _allreduce_block(comm: Any, send: np.ndarray, recv: np.ndarray, n: int,
                     wtime: Any) -> float:
    """n allreduces after a barrier; the slowest rank's elapsed seconds, on every rank."""
    from mpi4py import MPI

    comm.Barrier()
    t0 = wtime()
    for _ in range(n):
        comm.Allreduce(send, recv, op=MPI.SUM)
    return comm.allreduce(wtime() - t0, op=MPI.MAX)


def pingpong(comm: Any, sizes_bytes: Sequence[int] = DEFAULT_SIZES_BYTES, *,
             repetitions: int = 5, target_s: float = 0.02, warmup: int = 10,
             max_iterations: int = 20000, peer: int | None = None) -> list[PingPongResult]:
    """Ping-pong between rank 0 and ``peer`` (default: a rank on another node).

    Each repetition times ``iterations`` round trips, chosen so one repetition
    lasts about ``target_s``. Other ranks only join the barriers. Every rank
    returns rank 0's results.
    """
    from mpi4py import MPI

    sizes = check_sizes(sizes_bytes)
    if repetitions < 1:
        raise UserError(f"repetitions must be at least 1, not {repetitions}")
    rank, size = comm.Get_rank(), comm.Get_size()
    hosts = comm.allgather(MPI.Get_processor_name())
    if peer is None:
        peer = pick_peer(hosts)
    if not 0 < peer < size:
        raise UserError(f"ping-pong peer rank {peer} is not between 1 and {size - 1}")
    wtime = MPI.Wtime
    results: list[PingPongResult] = []
    for nbytes in sizes:
        send = _pattern(nbytes, seed=nbytes)
        recv = np.empty(nbytes, dtype=np.uint8)
        recv.fill(0)
        s_msg = [send, nbytes, MPI.BYTE]
        r_msg = [recv, nbytes, MPI.BYTE]

        comm.Barrier()
        warm = _pingpong_block(comm, peer, s_msg, r_msg, max(1, warmup), wtime)
        iters = comm.bcast(_iterations(warm / max(1, warmup), target_s, max_iterations)
                           if rank == 0 else None, root=0)
        times = []
        for _ in range(repetitions):
            comm.Barrier()
            times.append(_pingpong_block(comm, peer, s_msg, r_msg, iters, wtime) / (2 * iters))
        valid = bool(np.array_equal(recv, send)) if rank in (0, peer) else True
        valid = bool(comm.allreduce(valid, op=MPI.LAND))
        results.append(PingPongResult(size_bytes=nbytes, one_way_s=tuple(times),
                                      iterations=iters, ranks=(0, peer),
                                      hosts=(hosts[0], hosts[peer]), valid=valid))
    return comm.bcast(results if rank == 0 else None, root=0)


def allreduce(comm: Any, sizes_bytes: Sequence[int] = DEFAULT_SIZES_BYTES[1:], *,
              repetitions: int = 5, target_s: float = 0.02, warmup: int = 3,
              max_iterations: int = 10000) -> list[AllreduceResult]:
    """Sum-allreduce of float64 arrays; a repetition's time is the slowest rank's."""
    from mpi4py import MPI

    sizes = check_sizes(sizes_bytes, multiple_of=8)
    if repetitions < 1:
        raise UserError(f"repetitions must be at least 1, not {repetitions}")
    rank, size = comm.Get_rank(), comm.Get_size()
    wtime = MPI.Wtime
    results: list[AllreduceResult] = []
    for nbytes in sizes:
        n = nbytes // 8
        base = np.arange(n, dtype=np.float64) % 1024.0
        send = base * (rank + 1)
        recv = np.zeros(n, dtype=np.float64)

        warm = _allreduce_block(comm, send, recv, max(1, warmup), wtime) / max(1, warmup)
        iters = comm.bcast(_iterations(warm, target_s, max_iterations) if rank == 0 else None,
                           root=0)
        times = tuple(_allreduce_block(comm, send, recv, iters, wtime) / iters
                      for _ in range(repetitions))
        # Exact in float64: small integers times the rank sum.
        expected = base * (size * (size + 1) // 2)
        valid = bool(comm.allreduce(bool(np.array_equal(recv, expected)), op=MPI.LAND))
        results.append(AllreduceResult(size_bytes=nbytes, time_s=times, iterations=iters,
                                       ranks=size, valid=valid))
    return results
