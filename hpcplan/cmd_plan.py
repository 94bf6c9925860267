"""``hpcplan plan``: the main job, end to end, on the defaults.

Measure this machine (the ``quick`` suite), store the records, calibrate the
default scenario from everything stored, project it, write the report, and
print the report's path. The scenario is validated before anything is
measured, so a bad file costs seconds, not a suite run. Under mpiexec or srun
every rank measures and rank 0 reports.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from hpcplan.cmd_report import add_report_options
    from hpcplan.cmd_run import add_measure_options, describe_suites_on_help

    p = sub.add_parser(
        "plan", help="the main job: measure, store, calibrate, project, report",
        description="Run the whole chain: measure this machine (suite 'quick' by default), "
        "store the records, calibrate the scenario from the stored results, project it and "
        "write the HTML report; prints the report's path. Exit 1 when a benchmark failed "
        "validation (its record is kept and the report is still written).")
    add_measure_options(p)
    describe_suites_on_help(p)
    p.add_argument("--skip-measure", action="store_true",
                   help="measure nothing; report from the results already stored")
    add_report_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpcplan import cmd_report, cmd_run, config, options, report
    from hpcplan.terminal import progress_printer
    from models import loader

    site = config.load(args.config)
    cmd_run.options_from(args)  # refuse a bad --param or --repeats before anything runs
    loader.load_scenario(loader.resolve_path(args.scenario))  # fail before measuring
    root = options.results_dir(args, site)
    report.out_path(root, args.out)
    code = 0
    if not args.skip_measure:
        measured = cmd_run.measure(site, args.suite, root, cmd_run.options_from(args),
                                   quiet=args.quiet)
        if not measured.is_root:
            return 0
        if measured.interrupted:
            print("hpcplan: interrupted; the records measured so far are stored, no report "
                  "written", file=sys.stderr)
            return measured.code
        code = measured.code
    say = progress_printer() if not args.quiet else (lambda _m: None)
    say("calibrating, projecting and writing the report")
    built, written = cmd_report.make(args, root)
    from hpcplan.cmd_project import headline
    from hpcplan.report.sections import calibration_line, measurement_line

    print()
    print(headline(built.projection))
    print()
    print(measurement_line(built))
    print(calibration_line(built))
    for note in built.calibration.notes if built.calibration else ():
        print(f"  note: {note}")
    print(f"\nreport: {written.html}")
    print(f"summary: {written.markdown}; {len(written.csvs)} CSV table(s) beside it")
    return code
