"""A single-process stand-in for an mpi4py communicator.

Kernels and the runner take a communicator and call its collectives
unconditionally; without MPI they get this rank 0 of 1, so no code path needs
``if comm is not None`` and nothing imports MPI unless a launcher started us.
"""

from __future__ import annotations

from typing import Any


class SingleProcess:
    """Rank 0 of 1: collectives return what one rank would get from itself."""

    rank = 0
    size = 1

    def Get_rank(self) -> int:
        return 0

    def Get_size(self) -> int:
        return 1

    def Barrier(self) -> None:
        return None

    def bcast(self, value: Any, root: int = 0) -> Any:
        return value

    def gather(self, value: Any, root: int = 0) -> list[Any]:
        return [value]

    def allgather(self, value: Any) -> list[Any]:
        return [value]

    def allreduce(self, value: Any, op: Any = None) -> Any:
        return value


def or_single(comm: Any) -> Any:
    """The communicator given, or a SingleProcess when there is none."""
    return SingleProcess() if comm is None else comm
