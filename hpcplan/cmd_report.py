"""``hpcplan report``: one self-contained HTML report (plus Markdown and CSV) from stored results.

Reads the results store, calibrates the scenario from it, projects, and writes
the report for planners (targets, dates, probabilities, power, drivers,
assumptions) and engineers (roofline, history, scaling per machine).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_report_options(p: argparse.ArgumentParser) -> None:
    """Options shared with ``hpcplan plan``."""
    p.add_argument("--results", metavar="DIR",
                   help="results directory (default: $HPCPLAN_RESULTS, site config, ./results)")
    p.add_argument("--scenario", metavar="FILE",
                   help="scenario TOML file or a name in models/scenarios (default: guangzhou)")
    p.add_argument("--out", metavar="FILE",
                   help="HTML file to write; the .md summary and -*.csv tables go beside it "
                        "(default: RESULTS/report/report.html)")
    p.add_argument("--samples", type=int, default=10_000, metavar="N",
                   help="Monte Carlo samples (default 10000; 0: deterministic only)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")


def check_projection_options(args: argparse.Namespace) -> None:
    """--samples and --seed in range (shared with ``project`` and ``plan``)."""
    from kernels.errors import UserError

    if not 0 <= args.samples <= 10_000_000:
        raise UserError(f"--samples must be between 0 and 10000000, got {args.samples}")
    if not 0 <= args.seed < 2**63:
        raise UserError(f"--seed must be between 0 and {2**63 - 1}, got {args.seed}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write the HTML report (with Markdown summary and CSV tables)",
        description="Calibrate the scenario from the stored results, project it, and write one "
        "self-contained HTML report (figures embedded, no network needed to view it), a "
        "Markdown summary and CSV tables beside it. Prints the report's path.")
    add_report_options(p)
    p.set_defaults(func=run)


def results_dir(args: argparse.Namespace, site: Any) -> Path:
    from bench.store import default_root

    return Path(args.results or site.results_dir or default_root())


def make(args: argparse.Namespace, root: Path) -> Any:
    """Build and write the report; returns it and the paths written."""
    from hpcplan import report

    built = report.build(root, args.scenario, samples=args.samples, seed=args.seed)
    return built, report.write(built, args.out)


def run(args: argparse.Namespace) -> int:
    from hpcplan import config

    check_projection_options(args)
    site = config.load(args.config)
    _built, written = make(args, results_dir(args, site))
    print(f"report: {written.html}")
    print(f"summary: {written.markdown}; {len(written.csvs)} CSV table(s) beside it")
    return 0
