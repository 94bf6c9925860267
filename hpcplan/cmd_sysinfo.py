"""``hpcplan sysinfo``: the machine probe and theoretical peaks, with every assumption."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sysinfo", help="show the machine probe and theoretical peaks",
                       description="Probe CPU, caches, memory, NUMA and software versions, and "
                       "derive the theoretical peak GFLOP/s per precision.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench import sysinfo
    from hpcplan import config

    site = config.load(args.config)
    machine = sysinfo.probe(fma_units=site.fma_units)
    info = {"machine": machine.to_dict(), "software": sysinfo.software_versions(),
            "slurm": sysinfo.slurm_environment(), "node_type": site.node_type,
            "config": site.source,
            "peaks": {p: {"gflops": round(v.gflops, 3), "generous_gflops":
                          round(v.generous_gflops, 3), "formula": v.formula,
                          "assumptions": list(v.assumptions)}
                      for p, v in machine.peaks.items()}}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    m, cpu = info["machine"], machine.cpu
    clock = f"{cpu.base_mhz:.0f} MHz base" if cpu.base_mhz else "base clock unknown"
    if cpu.max_mhz:
        clock += f", {cpu.max_mhz:.0f} MHz max"
    lines = [
        f"host        {m['hostname']} ({m['arch']})",
        f"cpu         {m['cpu_model']}: {m['sockets']} socket(s), {m['cores']} cores, "
        f"{m['threads']} threads, {clock}",
        f"isa         {', '.join(m['isa']) or 'baseline'}",
        "caches      " + ", ".join(f"L{c.level} {c.kind.lower()} {c.size_bytes // 1024} KiB"
                                   f" x {c.instances}" for c in cpu.caches),
        f"memory      {m['memory_bytes'] / 2**30:.1f} GiB, {m['numa_nodes']} NUMA node(s)",
        f"config      {site.source}; node type {site.node_type or '(not set)'}",
    ]
    lines += [f"{k:<11} {v}" for k, v in info["software"].items()]
    if info["slurm"]:
        lines.append("slurm       " + ", ".join(f"{k}={v}" for k, v in info["slurm"].items()))
    lines.append("theoretical peak (GFLOP/s):")
    for p, v in machine.peaks.items():
        lines.append(f"  {p:<5} {v.gflops:10.1f}   {v.formula}")
    if machine.peaks:
        lines.append("  assumptions: " + "; ".join(next(iter(machine.peaks.values())).assumptions))
    print("\n".join(lines))
    return 0
