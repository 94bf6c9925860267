"""The ``hpcplan`` command.

Each sub-command lives in its own ``hpcplan/cmd_*.py`` module with a
``register(subparsers)`` function that adds its parser and sets ``func``.
Modules import Numba, matplotlib and the kernels inside their handlers only, so
``hpcplan --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hpcplan import __version__

COMMAND_MODULES = (
    "hpcplan.cmd_plan",
    "hpcplan.cmd_run",
    "hpcplan.cmd_report",
    "hpcplan.cmd_project",
    "hpcplan.cmd_results",
    "hpcplan.cmd_sysinfo",
    "hpcplan.cmd_slurm",
    "hpcplan.cmd_clean",
    "hpcplan.cmd_compare",
    "hpcplan.cmd_gate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpcplan",
        description="Measure what a supercomputer delivers and project whether the centre "
        "reaches its capacity goals.",
    )
    parser.add_argument("--version", action="version", version=f"hpcplan {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="site configuration (TOML); default $HPCPLAN_CONFIG, else ./hpcplan.toml, "
        "else built-in defaults",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kernels.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"hpcplan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hpcplan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
