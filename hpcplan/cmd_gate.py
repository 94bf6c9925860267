"""``hpcplan gate``: fail CI on a significant slowdown against this machine's baseline.

Exit 0: no benchmark is significantly slower than the allowance (or there is
no baseline for this machine yet, which is said). Exit 1: at least one is (in
every re-run given, when several CURRENT runs are given: a slowdown that a
busy shared machine caused once does not repeat on demand, a real one does).
Exit 2: nothing could be judged (baseline from another machine, no common
benchmark, too few samples) or a usage error. ``--refresh`` makes CURRENT the
baseline of its machine instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hpcplan import options
from kernels.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    from bench.baselines import DEFAULT_CURRENT, DEFAULT_DIR
    from hpcplan.cmd_compare import add_statistics_options

    p = sub.add_parser(
        "gate", help="fail on a significant slowdown against the baseline",
        description="Compare CURRENT with the baseline and exit 1 only when a benchmark is "
        "significantly slower than --max-slowdown: the whole confidence interval of its "
        "slowdown lies above the allowance. Baselines live in "
        f"{DEFAULT_DIR}/<machine key>.json; --refresh writes one from CURRENT.")
    p.add_argument("current", nargs="*", default=[str(DEFAULT_CURRENT)], metavar="CURRENT",
                   help=f"the run to judge (default {DEFAULT_CURRENT}): a pytest-benchmark JSON, "
                   "a results file or directory, or a run id; with several (re-runs), a "
                   "benchmark fails only when it is significantly slower in every one")
    p.add_argument("--baseline", metavar="FILE",
                   help=f"the reference (default: {DEFAULT_DIR}/<machine key of CURRENT>.json)")
    p.add_argument("--max-slowdown", default="10%", metavar="PCT",
                   help="allowed slowdown as a time factor, e.g. 10%% (default 10%%)")
    p.add_argument("--baselines", metavar="DIR", default=str(DEFAULT_DIR),
                   help=f"directory of per-machine baselines (default {DEFAULT_DIR})")
    p.add_argument("--refresh", action="store_true",
                   help="make CURRENT the baseline of its machine and exit")
    options.add_results(p)  # the store a run id is looked up in
    add_statistics_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench import baselines
    from bench.compare import parse_fraction
    from hpcplan import config
    from hpcplan.cmd_compare import check_statistics_options, close_stores

    check_statistics_options(args)
    if args.refresh:
        if len(args.current) != 1:
            raise UserError("--refresh takes exactly one CURRENT file")
        target = baselines.refresh(Path(args.current[0]), Path(args.baselines))
        print(f"baseline written: {target}")
        return 0
    allowance = parse_fraction(args.max_slowdown)
    root = options.results_dir(args, config.load(args.config))
    failed: set[str] | None = None
    stores: dict[Path, Any] = {}  # a results store's index opened once for every run id
    try:
        for spec in args.current:
            fails = _judge(args, spec, allowance, root, stores)
            if fails is None:
                return 0
            failed = fails if failed is None else failed & fails
    finally:
        close_stores(stores)
    assert failed is not None
    runs = len(args.current)
    if failed:
        again = " in every one of the runs" if runs > 1 else ""
        print(f"gate: FAILED: {', '.join(sorted(failed))} significantly slower than the allowed "
              f"{allowance:.0%}{again}")
        return 1
    print(f"gate: passed: no benchmark is significantly slower than the allowed {allowance:.0%}"
          + (f" in all {runs} runs" if runs > 1 else ""))
    return 0


def _judge(args: argparse.Namespace, spec: str, allowance: float, root: Path | None,
           stores: dict[Path, Any]) -> set[str] | None:
    """Gate one run; the labels of its failing benchmarks (None: no baseline, not applied)."""
    from bench import baselines
    from bench.compare import compare_sides, gate
    from hpcplan.cmd_compare import load_side, table

    current = load_side(spec, root, stores)
    if args.baseline:
        baseline = load_side(args.baseline, root, stores)
    else:
        if not current.machine_key or current.kind != "pytest-benchmark":
            raise UserError(f"{current.label} does not name its machine; give --baseline FILE")
        path = baselines.path_for(current.machine_key, Path(args.baselines))
        if not path.is_file():
            print(f"gate: not applied: no baseline for machine {current.machine_key} ({path}); "
                  f"write one with 'hpcplan gate --refresh {spec}'")
            return None
        baseline = load_side(str(path), root, stores)
    comparisons, notes = compare_sides(baseline, current, force=args.force,
                                       min_samples=args.min_samples, confidence=args.confidence)
    result = gate(comparisons, allowance)
    print(f"baseline: {baseline.label}\ncurrent:  {current.label}")
    print(table(comparisons, args.confidence))
    for note in notes:
        print(f"note: {note}")
    if not result.judged:
        reasons = "; ".join(dict.fromkeys(c.reason for c in result.not_judged)) or "none"
        raise UserError(f"the gate could not judge any benchmark of {current.label} against "
                        f"{baseline.label}: {reasons}")
    for c in result.not_judged:
        print(f"not judged: {c.label}: {c.verdict}: {c.reason}")
    for c in result.failures:
        assert c.slowdown is not None and c.slowdown_ci is not None
        print(f"FAIL {c.label}: {c.slowdown:.3f}x slower (interval {c.slowdown_ci[0]:.3f}x "
              f"to {c.slowdown_ci[1]:.3f}x), beyond the allowed {1 + allowance:.3f}x")
    print(f"{current.label}: {len(result.failures)} of {len(result.judged)} benchmark(s) "
          f"significantly slower than the allowed {allowance:.0%}\n")
    return {c.label for c in result.failures}
