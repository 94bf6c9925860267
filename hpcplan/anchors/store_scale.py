"""The results store at centre scale: commands through the index against the plain JSON scan.

    python -m hpcplan.anchors.store_scale [--runs 200,2000,20000] [--rounds N] [--template FILE]

For each N a store of N runs is generated in a temporary directory (removed
afterwards, never committed): copies of one real quick-suite run (21 records,
``data/quick_run.json``, or ``--template``) with their own run id, time (one
run every two hours), node type, host, Slurm job and values (+-5 %). Each
command then runs as ``python -m hpcplan ...`` in a fresh process, through the
index and with ``HPCPLAN_INDEX=off`` (every JSON file parsed, as before the
index), alternating, and the script prints the median wall time and the peak
RSS of each, with their ratio:

- ``results list``
- ``project --calibrate-from`` (default scenario and samples, as a planner runs it)
- ``compare A B`` (the first run and the newest of the same node type, by run id)
- ``results list --name memory.stream.triad --since ...`` (a filtered query)
- ``report`` (calibration, projection at the default samples, figures, HTML)

The first read of a new store builds the index from the files; its time is
shown once ("index build"). Targets at 20,000 runs (issue 17): results list
< 1 s, project --calibrate-from < 3 s, report < 10 s, peak RSS < 500 MiB, each at
least 10x faster than the JSON scan.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).parent / "data" / "quick_run.json"
NODE_TYPES = (("xingyi_hpc_node", "Intel(R) Xeon(R) Platinum 8480+"),
              ("ai_node", "AMD EPYC 9654 96-Core Processor"),
              ("tianhe2a_node", "Intel(R) Xeon(R) CPU E5-2692 v2 @ 2.20GHz"))
START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=2)
TARGETS_AT = 20_000
TARGET_S = {"results list": 1.0, "project --calibrate-from": 3.0, "report": 10.0}
TARGET_RSS_MIB = 500.0
TARGET_RATIO = 10.0


@dataclass
class Measured:
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.rss_mib)


def _scaled(rec: dict[str, Any], factor: float) -> None:
    if rec.get("value") is not None:
        rec["value"] = rec["value"] * factor
    rec["samples"] = [s * factor for s in rec.get("samples", [])]
    rec["stats"] = {k: (v if k == "count" else v * factor) for k, v in rec.get("stats", {}).items()}
    rec["per_rank"] = {k: v * factor for k, v in rec.get("per_rank", {}).items()}


def generate(root: Path, runs: int, template: list[dict[str, Any]], seed: int = 0) -> list[str]:
    """Write ``runs`` results files (plain writes: the store's own atomic writer would time
    the disk, not the readers); returns the run ids in time order."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(runs):
        when = START + i * STEP
        node_type, cpu = NODE_TYPES[i % len(NODE_TYPES)]
        host = f"cn{i % 128:03d}"
        run_id = f"{i:06x}{rng.getrandbits(24):06x}"
        records = []
        for k, item in enumerate(template):
            rec = copy.deepcopy(item)
            _scaled(rec, rng.uniform(0.95, 1.05))
            rec["run_id"] = run_id
            rec["timestamp"] = (when + timedelta(seconds=5 * k)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            rec["node_type"] = node_type
            rec["machine"] = {**rec.get("machine", {}), "cpu_model": cpu, "hostname": host}
            rec["job"] = {"job_id": str(700_000 + i), "node_list": host, "state": "COMPLETED"}
            records.append(rec)
        payload = {"format": "hpcplan-results", "records": records}
        name = f"{when:%Y%m%dT%H%M%S}-{host}-{4000 + i % 30000}-{secrets.token_hex(4)}.json"
        (root / name).write_text(json.dumps(payload, indent=1, sort_keys=True))
        ids.append(run_id)
    return ids


def measure(cmd: Sequence[str], *, scan: bool, into: Measured) -> None:
    """One run of ``cmd`` in a fresh process: wall time and peak RSS (from wait4)."""
    env = dict(os.environ)
    env.pop("HPCPLAN_INDEX", None)
    if scan:
        env["HPCPLAN_INDEX"] = "off"
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: "
                             f"{err.read().decode(errors='replace')[-800:]}")
    into.seconds.append(took)
    into.rss_mib.append(usage.ru_maxrss / 1024)  # KiB on Linux


def _size(root: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in root.glob(pattern))


def one_store(runs: int, rounds: int, template: list[dict[str, Any]]) -> list[str]:
    hp = [sys.executable, "-m", "hpcplan"]
    lines = []
    with tempfile.TemporaryDirectory(prefix="hpcplan-scale-") as tmp:
        root = Path(tmp) / "results"
        t0 = time.perf_counter()
        ids = generate(root, runs, template)
        made = time.perf_counter() - t0
        load0 = os.getloadavg()[0]
        build = Measured()
        measure([*hp, "results", "list", "--results", str(root)], scan=False, into=build)
        last = (runs - 1) // len(NODE_TYPES) * len(NODE_TYPES)  # the newest of A's node type
        since = (START + STEP * (runs // 2)).strftime("%Y-%m-%d")
        commands = {
            "results list": [*hp, "results", "list", "--results", str(root)],
            "project --calibrate-from": [*hp, "project", "--calibrate-from", str(root)],
            "compare A B": [*hp, "compare", "--results", str(root), ids[0], ids[last]],
            "results list (filtered)": [*hp, "results", "list", "--results", str(root),
                                        "--name", "memory.stream.triad", "--since", since],
            "report": [*hp, "report", "--results", str(root), "--out",
                       str(Path(tmp) / "report" / "report.html")],
        }
        results: dict[str, tuple[Measured, Measured]] = {}
        for label, cmd in commands.items():
            ours, scan = Measured(), Measured()
            for _ in range(rounds):
                measure(cmd, scan=False, into=ours)
                measure(cmd, scan=True, into=scan)
            results[label] = (ours, scan)
        load1 = os.getloadavg()[0]
        json_mib = _size(root, "*.json") / 2**20
        index_mib = _size(root, ".hpcplan-index.sqlite*") / 2**20
    lines.append(f"\n{runs:,} runs x {len(template)} records: {json_mib:,.0f} MiB of JSON, index "
                 f"{index_mib:,.0f} MiB; generated in {made:.0f} s; {rounds} round(s); load "
                 f"average {load0:.2f} at the start, {load1:.2f} at the end (2-core VM: "
                 f"{os.cpu_count()} CPUs)")
    head = (f"{'command':<28} {'index s':>8} {'JSON scan s':>12} {'ratio':>8} "
            f"{'index RSS MiB':>14} {'scan RSS MiB':>13}")
    lines += [head, "-" * len(head)]
    lines.append(f"{'index build (first read)':<28} {build.median:8.2f} {'':>12} {'':>8} "
                 f"{build.peak:14.0f} {'':>13}")
    verdicts = []
    for label, (ours, scan) in results.items():
        ratio = scan.median / ours.median
        lines.append(f"{label:<28} {ours.median:8.2f} {scan.median:12.2f} {ratio:7.1f}x "
                     f"{ours.peak:14.0f} {scan.peak:13.0f}")
        if runs >= TARGETS_AT:
            target = TARGET_S.get(label)
            ok = ((target is None or ours.median < target) and ours.peak < TARGET_RSS_MIB
                   and ratio >= TARGET_RATIO)
            goal = f"< {target:g} s, " if target else ""
            verdicts.append(f"  {label}: {goal}RSS < {TARGET_RSS_MIB:.0f} MiB, >= "
                            f"{TARGET_RATIO:.0f}x the scan: {'MET' if ok else 'NOT MET'}")
    if verdicts:
        lines += ["targets at 20,000 runs (issue 17):", *verdicts]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="200,2000,20000",
                        help="store sizes, comma-separated (default 200,2000,20000)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="alternating rounds per command (default 3, 1 from 10,000 runs)")
    parser.add_argument("--template", type=Path, default=TEMPLATE,
                        help="a results file whose records make one run (default: a quick-suite "
                        "run on the 2-core VM)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.runs.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--runs {args.runs!r} is not a comma-separated list of numbers")
    if not sizes or min(sizes) < 4:
        parser.error("--runs needs store sizes of at least 4 runs")
    template = json.loads(args.template.read_text())["records"]
    for runs in sizes:
        rounds = args.rounds or (3 if runs < 10_000 else 1)
        for line in one_store(runs, rounds, template):
            print(line, flush=True)


if __name__ == "__main__":
    main()
