"""Speed check of the projection engine against a plain per-sample Python loop.

    python -m hpcplan.anchors.models [--samples 100000] [--years 30] [--systems 20]
                                    [--anchor-samples 1000] [--rounds 3]

A synthetic scenario with ``--systems`` compute deployments (one installed,
the rest planned phases with slips and go-ahead probabilities), four planned
storage systems, uncertain efficiencies, availability, PUE and data growth,
over ``--years`` years monthly. Ours: the whole ``models.projection.project``
(sampling, trajectories, P10/P25/P50/P75/P90 bands, target dates and probabilities,
power checks, tornado drivers, world-leading check) for ``--samples`` samples.
Anchor: ``models.reference`` (the per-sample loop that defines the numbers) on
``--anchor-samples`` samples plus its percentile bands and target dates, scaled
linearly to ``--samples``. The two alternate for ``--rounds`` rounds after a
warm-up; medians and the ratio are printed. The process is pinned to one core;
peak memory is the process's peak RSS and NumPy's traced peak.
Targets: under 3 s and under 2 GB for 100,000 x 30 years x 20 systems.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from typing import Any

import numpy as np


def synthetic(systems: int = 20, years: int = 30, storage: int = 4) -> dict[str, Any]:
    """A scenario document with ``systems`` compute deployments over ``years`` years."""
    end = 2026 + years - 1
    data: dict[str, Any] = {
        "scenario": {"name": f"synthetic: {systems} systems x {years} years",
                     "start": "2026-01", "end": f"{end}-12"},
        "catalogue": {"gpu_node": {"parts": {"h100_sxm": 4},
                                   "power": {"value": "4800 W", "assumption": "synthetic"}}},
        "systems": {"base": {"partitions": {"old": {
            "node_type": "gpu_node", "count": 500, "commissioned": "2022-01",
            "retired": "2029-12"}}}},
        "phases": {},
        "storage": {"demand": {"initial": "20 PB", "growth_per_year": {
            "dist": "triangular", "low": 0.3, "mode": 0.45, "high": 0.7}},
            "phases": {}},
        "facility": {"power_envelope": "8 MW", "power_policy": "shed",
                     "pue": {"dist": "uniform", "low": 1.2, "high": 1.4}},
        "uncertainty": {
            "delivery_slip_years": {"dist": "triangular", "low": 0, "mode": 0.25, "high": 1.5},
            "availability": {"dist": "uniform", "low": 0.9, "high": 0.97},
            "slip_correlation": 0.5},
        "targets": {
            "mixed": {"metric": "mixed_peak_pf", "threshold": "2000 PF", "systems": ["new"],
                      "deadline": f"{2026 + years // 2}-12"},
            "store": {"metric": "storage_usable_pb", "threshold": "100 PB",
                      "deadline": f"{2026 + years // 2}-12"}},
    }
    for i in range(systems - 1):
        year = 2026 + (i * years) // systems
        count: Any = 200 + 10 * i
        if i % 4 == 1:  # an uncertain size
            count = {"dist": "uniform", "low": 150 + 10 * i, "high": 250 + 10 * i}
        data["phases"][f"p{i}"] = {"date": f"{year}-{i % 12 + 1:02d}", "node_type": "gpu_node",
                                   "count": count, "lifetime_years": 6,
                                   "system": "new" if i % 2 else "other",
                                   "probability": 0.9 if i % 3 == 0 else 1.0}
    for i in range(storage):
        year = 2026 + (i * years) // storage
        data["storage"]["phases"][f"s{i}"] = {
            "date": f"{year}-06", "raw": "50 PB", "protection": "8+2", "fs_overhead": 0.05,
            "fill_ceiling": 0.85, "lifetime_years": 8, "power": "500 kW"}
    return data


def anchor(comp: Any, x: np.ndarray) -> None:
    """The plain loop: per-sample trajectories, then per-month percentiles and target dates."""
    from models import engine, reference

    ref = reference.run(comp, x.tolist())
    for name in engine.BAND_METRICS:
        reference.percentile_bands(ref[name], engine.QUANTILES)
    for metric, threshold in comp.targets:
        [reference.first_above(p, threshold) for p in ref[metric]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--systems", type=int, default=20)
    ap.add_argument("--anchor-samples", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true",
                    help="print one JSON line of per-round seconds (for hpcplan anchors)")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from models import engine, inputs
    from models.loader import parse_scenario
    from models.projection import project

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    threadpool_limits(1)
    sc = parse_scenario(synthetic(args.systems, args.years), "synthetic")
    space = inputs.build(sc)
    comp = engine.compile_scenario(sc, space)
    x_anchor = space.sample(np.random.default_rng(0), args.anchor_samples)
    print(f"models speed: {args.samples:,} samples x {sc.months} months x "
          f"{len(sc.deployments)} compute systems (+{len(sc.storage)} storage), "
          f"{len(space)} uncertain inputs, pinned to 1 core")

    project(sc, args.samples, seed=99)  # warm-up: imports (SciPy), page cache
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    for r in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        p = project(sc, args.samples, seed=r)
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        anchor(comp, x_anchor)
        theirs.append(time.perf_counter() - t0)
        theirs_cpu.append(time.process_time() - c0)
        print(f"  round {r + 1}: ours {ours[-1]:.2f} s wall, {ours_cpu[-1]:.2f} s CPU "
              f"({', '.join(f'{k} {v:.2f}' for k, v in p.timings_s.items())}); anchor "
              f"{theirs[-1]:.2f} s wall, {theirs_cpu[-1]:.2f} s CPU for "
              f"{args.anchor_samples:,} samples", flush=True)

    if args.json:
        scale = args.samples / args.anchor_samples
        print(json.dumps({"ours_s": ours, "anchor_scaled_s": [t * scale for t in theirs],
                          "samples": args.samples, "anchor_samples": args.anchor_samples}))
        return 0
    tracemalloc.start()
    project(sc, args.samples, seed=123)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    mo, ma = statistics.median(ours), statistics.median(theirs)
    mo_cpu, ma_cpu = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    scale = args.samples / args.anchor_samples
    print(f"ours (vectorised project)      median {mo:7.2f} s wall, {mo_cpu:.2f} s CPU   "
          f"(wall runs {min(ours):.2f}-{max(ours):.2f})")
    print(f"anchor (plain per-sample loop) median {ma:7.2f} s wall, {ma_cpu:.2f} s CPU for "
          f"{args.anchor_samples:,} samples -> {ma * scale:,.0f} s wall scaled to "
          f"{args.samples:,}")
    print(f"ratio                          {ma * scale / mo:,.0f}x faster than the loop (wall), "
          f"{ma_cpu * scale / mo_cpu:,.0f}x (CPU)")
    print(f"memory                         peak RSS {rss_peak / 2**20:,.0f} MiB, NumPy traced "
          f"peak {traced_peak / 2**20:,.0f} MiB")
    full = (args.samples, args.years, args.systems) == (100_000, 30, 20)
    if full:
        print(f"target < 3 s: {'MET' if mo < 3 else 'NOT MET'}; target < 2 GB: "
              f"{'MET' if rss_peak < 2e9 else 'NOT MET'}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(a shared machine: other work inflates both sides)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
