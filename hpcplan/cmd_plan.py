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
from typing import Any

from kernels.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    from hpcplan import cmd_slurm
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
    p.add_argument("--nodes", metavar="N[,N...]",
                   help="the cluster form: a scaling study, one Slurm job per node count run "
                   "one after another (suites compute, memory and network, plus io with "
                   "--target), collected under one study id; the report fits the scaling model "
                   "to it. Inside an allocation (salloc, or a batch script) the node counts run "
                   "as srun steps on its nodes instead of new jobs. The job options below "
                   "apply; --suite does not")
    cmd_slurm.add_job_options(p)
    add_report_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpcplan import cmd_report, cmd_run, config, options, report, study
    from hpcplan.terminal import progress_printer
    from models import loader

    site = config.load(args.config)
    # refuse a bad --param or --repeats before anything runs (or any job is submitted)
    cmd_run.options_from(args, study.suites_for(args) if args.nodes else None)
    loader.load_scenario(loader.resolve_path(args.scenario))  # fail before measuring
    root = options.results_dir(args, site)
    report.out_path(root, args.out)
    code = 0
    say = progress_printer() if not args.quiet else (lambda _m: None)
    if args.nodes and args.skip_measure:
        raise UserError("--nodes runs a scaling study and --skip-measure measures nothing; "
                        "give one of them")
    if args.nodes:
        study_id, code = study.run(args, root, say)
        say(f"study {study_id}: collected into {root}")
    elif not args.skip_measure:
        measured = cmd_run.measure(site, args.suite, root, cmd_run.options_from(args),
                                   quiet=args.quiet)
        if not measured.is_root:
            return 0
        if measured.interrupted:
            print("hpcplan: interrupted; the records measured so far are stored, no report "
                  "written", file=sys.stderr)
            return measured.code
        code = measured.code
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
    for line in scaling_lines(built):
        print(line)
    print(f"\nreport: {written.html}")
    print(f"summary: {written.markdown}; {len(written.csvs)} CSV table(s) beside it")
    return code


def scaling_lines(built: Any) -> list[str]:
    """The fitted scaling law of each weak-scaled solve, extrapolated to the scenario's
    largest system: how far beyond what was measured, and with what band."""
    from hpcplan.report.plan import largest_system

    system = largest_system(built.scenario) if built.scenario is not None else None
    out = []
    for g in built.groups:
        for s in built.scalings.get(g.key, []):
            if s.fit is None:
                continue
            nodes = round(system[1]) if system else max(s.nodes)
            where = f" to {system[0]}" if system else ""
            study = f" (study {s.study})" if s.study else ""
            out.append(f"scaling of {s.name} on {g.label}{study}{where}: "
                       f"{s.fit.statement(nodes)}")
    return out
