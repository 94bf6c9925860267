"""``hpcplan report``: one self-contained HTML report (plus Markdown and CSV) from stored results.

Reads the results store, calibrates the scenario from it, projects, and writes
the report for planners (targets, dates, probabilities, power, drivers,
assumptions) and engineers (roofline, history, scaling per machine).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hpcplan import options


def add_report_options(p: argparse.ArgumentParser) -> None:
    """Options shared with ``hpcplan plan``."""
    options.add_results(p)
    options.add_scenario(p)
    p.add_argument("--out", metavar="FILE",
                   help="HTML file to write; the .md summary and -*.csv tables go beside it "
                        "(default: RESULTS/report/report.html)")
    options.add_samples(p)
    options.add_seed(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write the HTML report (with Markdown summary and CSV tables)",
        description="Calibrate the scenario from the stored results, project it, and write one "
        "self-contained HTML report (figures embedded, no network needed to view it), a "
        "Markdown summary and CSV tables beside it. Prints the report's path.")
    add_report_options(p)
    p.set_defaults(func=run)


def make(args: argparse.Namespace, root: Path) -> Any:
    """Build and write the report; returns it and the paths written."""
    from hpcplan import report

    built = report.build(root, args.scenario, samples=args.samples, seed=args.seed)
    for notice in built.notices:  # what the results index rebuilt or caught up
        print(f"hpcplan: note: {notice}", file=sys.stderr)
    return built, report.write(built, args.out)


def run(args: argparse.Namespace) -> int:
    from hpcplan import config

    site = config.load(args.config)
    _built, written = make(args, options.results_dir(args, site))
    print(f"report: {written.html}")
    print(f"summary: {written.markdown}; {len(written.csvs)} CSV table(s) beside it")
    return 0
