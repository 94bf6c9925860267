"""``hpcplan clean TARGET``: remove leftovers of killed storage runs, and nothing else.

Only directories directly inside TARGET named ``hpcplan-run-*`` whose marker
file agrees with them (name, token, owner) are removed, and inside them only
the names a run writes, owned by the run's user; anything else is left and
reported. A run still alive on this host is left alone unless ``--force``.
Exit 0: done; 1: a run directory could only be partly removed; 2: usage error.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clean", help="remove leftovers of killed storage runs in a directory",
                       description="Remove run directories that storage benchmarks left in "
                       "TARGET when they were killed. Only directories carrying hpcplan's "
                       "marker file are touched, and inside them only what a run writes; "
                       "anything else is left and reported.")
    p.add_argument("target", metavar="TARGET", help="the directory given as --target to runs")
    p.add_argument("--dry-run", action="store_true", help="list what would be removed")
    p.add_argument("--force", action="store_true",
                   help="also remove directories of runs that still look alive on this host")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kernels.workdir import clean

    report = clean(args.target, force=args.force, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in report.removed:
        print(f"{verb} {path}")
    for path, reason in report.skipped:
        print(f"left {path}: {reason}")
    for path, reason in report.left:
        print(f"left {path}: {reason}")
    for path, reason in report.failed:
        print(f"not removed {path}: {reason}")
    if not (report.removed or report.skipped or report.failed):
        print(f"nothing to clean in {args.target}")
    return 1 if report.failed else 0
