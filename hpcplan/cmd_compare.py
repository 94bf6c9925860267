"""``hpcplan compare A B``: per benchmark, the change in median, its interval and a verdict."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kernels.errors import UserError

SPEC_HELP = ("a results file or directory, a run id in the results store, or a pytest-benchmark "
             "JSON file")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare two runs: change in median with a confidence interval",
        description="Compare B against A, benchmark by benchmark: the change in median with a "
        "bootstrap confidence interval and a verdict (faster, slower, no significant change). "
        "Benchmarks that are not comparable (different CPU model, precision or parameters) are "
        "refused with the reason unless --force is given.")
    p.add_argument("a", metavar="A", help=f"the reference: {SPEC_HELP}")
    p.add_argument("b", metavar="B", help=f"the one judged against A: {SPEC_HELP}")
    add_statistics_options(p)
    p.add_argument("--results", metavar="DIR", help="results store for run ids")
    p.add_argument("--json", action="store_true", help="print the comparisons as JSON")
    p.set_defaults(func=run)


def add_statistics_options(p: argparse.ArgumentParser) -> None:
    from bench.compare import CONFIDENCE, MIN_SAMPLES

    p.add_argument("--force", action="store_true",
                   help="compare even what is not comparable (the reason is still shown)")
    p.add_argument("--min-samples", type=int, default=MIN_SAMPLES, metavar="N",
                   help=f"fewest samples per side for a verdict (default {MIN_SAMPLES})")
    p.add_argument("--confidence", type=float, default=CONFIDENCE, metavar="P",
                   help=f"confidence of the interval (default {CONFIDENCE})")


def check_statistics_options(args: argparse.Namespace) -> None:
    if args.min_samples < 2:
        raise UserError(f"--min-samples {args.min_samples} must be at least 2")
    if not 0.5 <= args.confidence < 1:
        raise UserError(f"--confidence {args.confidence} must be at least 0.5 and below 1")


def run(args: argparse.Namespace) -> int:
    from bench.compare import compare_sides, load_side

    check_statistics_options(args)
    root = Path(args.results) if args.results else store_root(args)
    side_a, side_b = load_side(args.a, root), load_side(args.b, root)
    comparisons, notes = compare_sides(side_a, side_b, force=args.force,
                                       min_samples=args.min_samples, confidence=args.confidence)
    if not comparisons:
        raise UserError(f"{side_a.label} and {side_b.label} have no benchmark in common")
    if args.json:
        print(json.dumps([c.__dict__ for c in comparisons], indent=1, default=str))
    else:
        print(f"A: {side_a.label}\nB: {side_b.label}")
        print(table(comparisons, args.confidence))
        for note in notes:
            print(f"note: {note}")
    refused = [c for c in comparisons if c.verdict == "refused"]
    if len(refused) == len(comparisons):
        raise UserError(f"A and B are not comparable: {refused[0].reason}"
                        + ("" if args.force else "; --force compares them anyway"))
    return 0


def store_root(args: argparse.Namespace) -> Path | None:
    from hpcplan import config

    root = config.load(args.config).results_dir
    return Path(root) if root else None


def table(comparisons: Sequence[Any], confidence: float) -> str:
    from bench.compare import fmt_pct
    from hpcplan.terminal import table as text_table

    rows = []
    for c in comparisons:
        ci = (f"{fmt_pct(c.change_ci[0])} .. {fmt_pct(c.change_ci[1])}"
              if c.change_ci else "")
        rows.append([c.label, c.unit, c.median_a, c.median_b, fmt_pct(c.change), ci, c.verdict,
                     c.reason])
    headers = ("benchmark", "unit", "median A", "median B", "change",
               f"{confidence:.0%} interval", "verdict", "why")
    return text_table(headers, rows)
