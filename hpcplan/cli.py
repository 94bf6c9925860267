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
    "hpcplan.cmd_anchors",
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


#: Options and arguments that name a file or directory: an empty string there would
#: silently mean the current directory (or the default), so it is refused.
PATH_DESTS = {"config": "--config", "results": "--results", "out": "--out",
              "scenario": "--scenario", "scenarios": "SCENARIO",
              "calibrate_from": "--calibrate-from", "baseline": "--baseline",
              "baselines": "--baselines", "csv": "--csv", "target": "--target/TARGET",
              "current": "CURRENT", "a": "A", "b": "B", "python": "--python"}


def check_paths(args: argparse.Namespace) -> None:
    from kernels.errors import UserError

    for dest, flag in PATH_DESTS.items():
        value = getattr(args, dest, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and not item.strip():
                raise UserError(f"{flag} is an empty path; name a file or directory")


def main(argv: Sequence[str] | None = None) -> int:
    from kernels.errors import UserError

    try:
        parser = build_parser()  # a site's $HPCPLAN_BENCHMARKS module may fail to import
    except UserError as exc:
        print(f"hpcplan: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        from hpcplan import config, options

        check_paths(args)
        options.check(args)  # --samples, --seed: in range for every command that takes them
        config.load(args.config)  # a named config that is missing or broken stops every command
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"hpcplan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hpcplan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
