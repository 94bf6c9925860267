"""Suites: named groups of registered benchmarks, run in order.

A benchmark names its suites in its registration (``@benchmark(suites=...)`` in
``bench/registry.py``); this module only describes the suites that the built-in
benchmarks share and re-exports the lookups. A suite no description names here is
described by its benchmarks' own descriptions.
"""

from __future__ import annotations

from bench.registry import Benchmark, describe, names, resolve, suite

__all__ = ["describe", "names", "resolve", "resolve_many", "split"]


def split(text: str) -> list[str]:
    """Suite names from ``--suite a,b`` (each checked: an unknown one is a UserError)."""
    chosen = [part.strip() for part in text.split(",") if part.strip()] or [text]
    for name in chosen:
        resolve(name)
    return chosen


def resolve_many(text: str) -> list[Benchmark]:
    """The benchmarks of one or more comma-separated suites, each once, in suite order:
    one process (one MPI start) runs them all."""
    out: dict[str, Benchmark] = {}
    for name in split(text):
        out.update({b.name: b for b in resolve(name) if b.name not in out})
    return list(out.values())

suite("quick", "peak FLOP/s per precision, STREAM, storage in a temporary directory "
      "(default)", order=0)
suite("peak", "peak FLOP/s per precision", order=10)
suite("memory", "STREAM Copy, Scale, Add, Triad", order=20)
suite("compute", "GEMM per precision, HPL-MxP-style solve, FP64 references, MxP/FP64 "
      "speed-up", order=30)
suite("io", "IOR-style easy/hard bandwidth, mdtest-style metadata, IO500-style score "
      "(--target)", order=40)
suite("metadata", "mdtest-style create/stat/read/remove, easy and hard (--target)", order=41)
suite("network", "MPI ping-pong latency and bandwidth sweep, allreduce bandwidth", order=50)
