"""Suites: named, ordered lists of benchmarks, each ``fn(ctx) -> list[Record]``.

Entries are "module:function" strings, imported only when the suite runs, so
listing suites (and ``hpcplan --help``) imports no kernel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from kernels.errors import UserError

SUITES: dict[str, tuple[str, ...]] = {
    "quick": (
        "bench.suite_peak:peak_fp64",
        "bench.suite_peak:peak_fp32",
        "bench.suite_peak:peak_low_precision",
        "bench.suite_memory:stream",
        "bench.suite_io:quick",
    ),
    "peak": (
        "bench.suite_peak:peak_fp64",
        "bench.suite_peak:peak_fp32",
        "bench.suite_peak:peak_low_precision",
    ),
    "memory": ("bench.suite_memory:stream",),
    "io": ("bench.suite_io:io",),
    "metadata": ("bench.suite_io:metadata",),
    "network": ("bench.suite_network:pingpong", "bench.suite_network:allreduce"),
    "compute": ("bench.suite_compute:gemm", "bench.suite_compute:mxp_solve"),
}

DESCRIPTIONS = {
    "quick": "peak FLOP/s per precision, STREAM, storage in a temporary directory (default)",
    "peak": "peak FLOP/s per precision",
    "memory": "STREAM Copy, Scale, Add, Triad",
    "io": "IOR-style easy/hard bandwidth, mdtest-style metadata, IO500-style score (--target)",
    "metadata": "mdtest-style create/stat/read/remove, easy and hard (--target)",
    "network": "MPI ping-pong latency and bandwidth sweep, allreduce bandwidth",
    "compute": "GEMM per precision, HPL-MxP-style solve, FP64 references, MxP/FP64 speed-up",
}


def names() -> list[str]:
    return sorted(SUITES)


def resolve(suite: str) -> list[Callable]:
    """The benchmark functions of a suite, or a UserError naming the known suites."""
    if suite not in SUITES:
        raise UserError(f"unknown suite {suite!r}; known suites: {', '.join(names())}")
    out = []
    for entry in SUITES[suite]:
        module, _, func = entry.partition(":")
        out.append(getattr(importlib.import_module(module), func))
    return out
