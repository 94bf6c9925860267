"""``hpcplan run``: measure this machine (or every rank of an MPI job) and store the records."""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcplan.options import add_results, results_dir
from kernels.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run a benchmark suite and store its records",
        description="Run a suite (under mpiexec or srun every rank measures and rank 0 writes).",
    )
    describe_suites_on_help(p)
    add_measure_options(p)
    add_results(p)
    p.set_defaults(func=run)


def add_measure_options(p: argparse.ArgumentParser) -> None:
    """The options of a measurement, shared by 'run' and 'plan'."""
    p.add_argument("--suite", default="quick",
                   help="suite to run, or several separated by commas run in one process "
                   "(default: quick)")
    p.add_argument("--target", metavar="DIR",
                   help="directory the storage suites write under (default: a temporary one)")
    p.add_argument("--repeats", type=int, metavar="N", help="timed repetitions per benchmark")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="kernel parameter, e.g. stream_elements=50000000 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def describe_suites_on_help(p: argparse.ArgumentParser) -> None:
    """List the suites and their ``--param`` keys in ``p``'s help, read from the registry
    only when the help is shown: importing every benchmark module would slow
    ``hpcplan --help`` and every command's start."""
    plain = p.format_help
    p.formatter_class = argparse.RawDescriptionHelpFormatter

    def format_help() -> str:
        from bench import suites

        if not p.epilog:
            lines = [*textwrap.wrap(p.description or "", 78), "", "suites:"]
            for n in suites.names():
                lines += textwrap.wrap(f"{n}: {suites.describe(n)}", 78, initial_indent="  ",
                                       subsequent_indent="      ")
            p.description = "\n".join(lines)
            p.epilog = params_help()
        return plain()

    p.format_help = format_help  # type: ignore[method-assign]


def params_help() -> str:
    """Every ``--param`` key once, with kind, unit, range, default and the suites reading it."""
    from bench import registry

    readers: dict[str, list[str]] = {}
    for suite in registry.names():
        for key in registry.params(suite):
            readers.setdefault(key, []).append(suite)
    lines = ["parameters (--param KEY=VALUE; checked against the suite's declarations):"]
    for key, param in registry.params().items():
        lines += textwrap.wrap(f"{param.describe()} [suites: {', '.join(readers[key])}]", 78,
                               initial_indent="  ", subsequent_indent="      ")
    return "\n".join(lines)


def parse_params(items: list[str], suites: list[str] | None = None) -> dict[str, Any]:
    """Typed, checked ``--param`` values for ``suites`` (see ``bench.params``)."""
    from bench import params

    return params.parse(items, suites)


def run(args: argparse.Namespace) -> int:
    from hpcplan import config

    site = config.load(args.config)
    return measure(site, args.suite, results_dir(args, site), options_from(args),
                   quiet=args.quiet).code


def options_from(args: argparse.Namespace, suites: list[str] | None = None) -> dict[str, Any]:
    """Kernel options from --param, --repeats and --target (shared with ``hpcplan plan``).

    Keys are checked against what ``suites`` read (default: ``args.suite``), so a typo
    or a key of another suite is refused before anything runs.
    """
    from bench import suites as known
    from kernels.files import path_arg

    # an unknown suite is one sentence, before the params
    chosen = [name for text in (suites if suites is not None else [args.suite])
              for name in known.split(text)]
    options = parse_params(args.param, chosen)
    if args.repeats is not None:
        if not 2 <= args.repeats <= 1_000_000:
            raise UserError(f"--repeats must be between 2 and 1000000, not {args.repeats}")
        options["repeats"] = args.repeats
    if args.target is not None:
        options["target"] = str(path_arg(args.target, "--target"))
    return options


@dataclass(frozen=True)
class Measured:
    """What one suite run left: the exit code, the store, and (on rank 0) the records."""

    code: int
    store: Any
    records: list
    is_root: bool
    interrupted: bool


def measure(site: Any, suite: str, results: Path, options: dict[str, Any], *,
            quiet: bool = False) -> Measured:
    """Run ``suite`` on every rank; rank 0 writes the records and prints their table."""
    from bench import suites
    from bench.store import Store
    from hpcplan.terminal import progress_printer

    benchmarks = suites.resolve_many(suite)
    store = Store(results)

    from bench import runner

    comm = runner.world()
    error = None
    if comm.rank == 0:
        try:
            store.check_writable()
        except UserError as exc:
            error = str(exc)
    error = comm.bcast(error)
    if error:
        raise UserError(error)
    say = progress_printer() if not quiet else (lambda _m: None)
    ctx = runner.make_context(comm, fma_units=site.fma_units, node_type=site.node_type,
                              options=options, progress=say)
    ctx.say(f"suite {suite}: {len(benchmarks)} benchmark(s), {ctx.size} rank(s) on "
            f"{ctx.nodes} node(s)")
    with runner.deferred_signals() as received:
        records = runner.run_benchmarks(ctx, benchmarks, received)
        if not ctx.is_root:
            return Measured(0, store, [], False, bool(received))
        code = report(records, store)
    if received:
        return Measured(128 + received[0], store, records, True, True)
    return Measured(code, store, records, True, False)


def report(records: list, store: Any) -> int:
    from hpcplan.report.records import HEADERS, rows
    from hpcplan.terminal import table

    if not records:
        print("no benchmark completed; nothing written", file=sys.stderr)
        return 1
    path = store.write(records)
    print(table(HEADERS, rows(records)))
    print(f"\n{len(records)} record(s) written to {path}")
    for rec in records:
        if rec.status == "suspect":
            print(f"hpcplan: warning: {rec.name} is suspect, kept out of calibration: "
                  f"{'; '.join(rec.validation['suspect'])}", file=sys.stderr)
    failed = [r.name for r in records if r.status in ("failed", "aborted", "suspect")]
    if failed:
        print(f"hpcplan: {len(failed)} benchmark(s) failed validation or are suspect: "
              f"{', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
