"""``hpcplan compare A B``: per benchmark, the change in median, its interval and a verdict."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpcplan import options
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
    options.add_results(p)  # the store a run id is looked up in
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
    from bench.compare import compare_sides
    from hpcplan import config

    check_statistics_options(args)
    root = options.results_dir(args, config.load(args.config))
    stores: dict[Path, Any] = {}
    try:
        side_a, side_b = load_side(args.a, root, stores), load_side(args.b, root, stores)
    finally:
        close_stores(stores)
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


def load_side(spec: str, root: Path | None, stores: dict[Path, Any] | None = None) -> Any:
    """One side of a comparison (``bench.compare.load_side``); a results directory or a run
    id is read through the store's index, parsing only the latest record of each name.

    ``stores``: stores already open, by directory (the caller closes them), so two run
    ids in one store open its index once.
    """
    from dataclasses import replace

    from bench import compare, index
    from bench.store import Store
    from kernels.files import path_arg

    path = path_arg(spec, "a run to compare")
    if not index.enabled() or (path.exists() and not path.is_dir()):
        return compare.load_side(spec, root)
    if path.is_dir():
        if not (path / index.INDEX_NAME).exists() and not index.scan(path):
            return compare.load_side(spec, root)  # no results files: not a store to index
        where, label, flt = path, str(path), None
    else:
        where = root or Store().root
        if not where.is_dir():
            return compare.load_side(spec, root)  # says there is no store
        label, flt = "", None
    shared = stores is not None
    cache: dict[Path, Any] = stores if stores is not None else {}
    store = cache.get(where)
    if store is None:
        store = cache[where] = Store(where)
    try:
        if flt is None and not label:
            runs = store.run_ids(spec)
            if len(runs) != 1:
                what = "matches no run" if not runs else f"matches {len(runs)} runs"
                raise UserError(f"{spec!r} is not a file or directory and as a run id it {what} "
                                f"in {store.root}; see 'hpcplan results list'")
            label, flt = f"run {runs[0]}", index.Filter(runs=(runs[0],))
        latest = store.select(flt, latest_by=("name",))
        repeated = sum(1 for n in store.counts(flt).values() if n > 1)
    finally:
        if not shared:
            store.close()
    problems = list(store.problems)
    for notice in store.notices:  # the index's, once per store
        print(f"hpcplan: note: {notice}", file=sys.stderr)
    store.notices.clear()
    side = compare.records_side(label, latest, problems)
    if repeated:
        side = replace(side, notes=(*side.notes, f"{label}: {repeated} name(s) occur in several "
                                    "runs; the latest record of each is used"))
    return side


def close_stores(stores: dict[Path, Any]) -> None:
    for store in stores.values():
        store.close()
    stores.clear()


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
