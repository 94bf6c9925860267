"""Running a ``nogil`` kernel on several Python threads at once.

Why Python threads rather than Numba's ``parallel=True``: each thread times
its own share (per-thread CPU and wall time tell a busy neighbour from a slow
kernel), and waiting threads block in the kernel instead of spinning. On a
small shared node the OpenMP runtime's spin-waiting workers took cycles from
the very threads they waited for (STREAM fell to a fifth of HPCC's figure with
a second process on the node).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


def on_threads(work: Callable[[int], None], threads: int) -> None:
    """Run ``work(t)`` for t in 0..threads-1, released together; re-raise the first error."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(t: int) -> None:
        try:
            barrier.wait()
            work(t)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors:
        raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                   errors[0])


@dataclass(frozen=True)
class TimedRun:
    """A kernel timed on ``threads`` threads at once, and how far its results were off."""

    threads: int
    iterations: int
    flops: int  # exact, every thread together
    seconds: float  # first thread start to last thread end
    thread_seconds: tuple[float, ...]
    thread_cpu_seconds: tuple[float, ...]  # CPU time each thread had: preemption not counted
    max_rel_error: float  # against the kernel's known result

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time of the least served thread: below ~0.9 another process ran."""
        shares = [c / w for c, w in zip(self.thread_cpu_seconds, self.thread_seconds,
                                        strict=True) if w > 0]
        return min(shares, default=1.0)
