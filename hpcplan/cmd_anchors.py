"""``hpcplan anchors``: the anchor scoreboard, each kernel beside the tool a user would run.

A centre validating hpcplan on its own nodes runs it. The board goes to stdout
and to ``--output``; progress goes to stderr as the groups finish (a thorough
run takes long). Exit 0: the board is complete; 1: a pair broke (ERROR line) or
``--gate`` found a floor not held after one re-run; 2: a usage error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from kernels.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    from hpcplan.anchors.board import DEFAULT_OUTPUT, GROUPS  # stdlib-only module: cheap

    p = sub.add_parser(
        "anchors", help="measure each kernel beside the tool a user would otherwise run",
        description="The anchor scoreboard: peak vs NumPy BLAS, STREAM vs HPCC, storage vs "
        "fio and IOR, metadata vs mdtest, ping-pong vs mpi4py.bench, MxP vs NumPy solve, the "
        "projection vs its per-sample loop. Ours and the anchor alternate round by round; "
        "each line shows both medians and their ratio. A missing tool is a MISSING line.")
    p.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    p.add_argument("--only", default="", metavar="GROUPS",
                   help=f"comma-separated subset of {', '.join(GROUPS)}")
    p.add_argument("--output", default=str(DEFAULT_OUTPUT), metavar="FILE",
                   help=f"also write the board here (default {DEFAULT_OUTPUT}; '-' for none)")
    p.add_argument("--dir", default=tempfile.gettempdir(), metavar="DIR",
                   help="file system for the storage pairs (default: the temporary directory)")
    p.add_argument("--gate", action="store_true",
                   help="exit 1 when a floor is not held after one re-run of its group, or "
                        "cannot be checked")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpcplan.anchors import board

    names = board.select_groups(args.only)
    for flag, value in (("--output", args.output), ("--dir", args.dir)):
        if not value.strip():
            raise UserError(f"{flag} is an empty path; name a file or directory")
    out = None if args.output == "-" else Path(args.output)
    if out is not None:
        _check_output(out)  # before a run of minutes, not after it
    settings = board.settings_for(args.quick, Path(args.dir))
    result = board.run_board(names, settings, gate=args.gate, log=_progress)
    if out is not None:
        try:
            out.write_text("\n".join(result.text) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write the board to {out}: {exc.strerror or exc}") from exc
    print("\n".join(result.text))
    if args.output != "-":
        print(f"written: {args.output}", file=sys.stderr)
    return result.exit_code


def _check_output(out: Path) -> None:
    """Refuse an --output that cannot be written: a directory, or one whose folder cannot be."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write the board to {out}: its folder {out.parent} cannot be "
                        f"created ({exc.strerror or exc})") from exc
    if out.is_dir():
        raise UserError(f"cannot write the board to {out}: it is a directory")


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
