"""``hpcplan submit``, ``jobs``, ``collect`` and ``cancel``: benchmark suites as Slurm jobs.

``submit`` writes one batch script per node count into ``<results>/slurm/<job>/``
and keeps a ledger there; the job runs ``hpcplan run`` under srun and writes
its records into its own directory. ``collect`` brings each finished job's
records into the results store, tagged with the job's id, nodes, state and
exit code, and turns a failed, timed-out or cancelled job into a record of
that outcome with the tail of its error output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hpcplan import options
from kernels.errors import UserError

#: The jobs area inside a results directory (the store reads only its top level).
JOBS_SUBDIR = "slurm"
#: Slurm states that end a job without completing it, by record status.
ABORTED_STATES = frozenset({"TIMEOUT", "CANCELLED", "PREEMPTED", "DEADLINE"})


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    options.add_results(common)  # its slurm/ sub-directory holds the jobs and their ledger

    p = sub.add_parser(
        "submit", parents=[common], help="run suites as Slurm batch jobs",
        description="Write a batch script per node count and submit it with sbatch; the job "
        "runs 'hpcplan run' under srun on every rank. Defaults come from the [slurm] table of "
        "the site configuration. The jobs and their ledger live in the slurm/ sub-directory of "
        "the results directory.")
    p.add_argument("suites", nargs="+", metavar="SUITE", help="suite(s) to run in each job")
    p.add_argument("--nodes", default="1", metavar="N[,N...]",
                   help="node counts, one job each (default: 1)")
    add_job_options(p)
    p.add_argument("--repeats", type=int, metavar="N", help="passed to 'hpcplan run'")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="passed to 'hpcplan run' (repeatable)")
    p.add_argument("--target", metavar="DIR", help="passed to 'hpcplan run' (storage suites)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the batch script(s) and submit nothing")
    p.add_argument("--wait", action="store_true", help="wait for the jobs, then collect them")
    p.set_defaults(func=submit)

    p = sub.add_parser("jobs", parents=[common], help="the Slurm jobs hpcplan submitted",
                       description="State, reason and elapsed time of every job in the ledger "
                       "(squeue and scontrol; sacct where the cluster has accounting).")
    p.set_defaults(func=jobs)

    p = sub.add_parser("collect", parents=[common], help="bring finished jobs' records home",
                       description="Ingest the records of every finished, uncollected job into "
                       "the results store, tagged with job id, node list, state and exit code.")
    p.add_argument("job_ids", nargs="*", metavar="JOB", help="only these jobs")
    p.add_argument("--wait", action="store_true", help="wait until the jobs have finished")
    p.add_argument("--timeout", type=float, default=3600.0, metavar="S",
                   help="seconds --wait waits (default: 3600)")
    p.set_defaults(func=collect)

    p = sub.add_parser("cancel", parents=[common], help="cancel Slurm jobs",
                       description="scancel the given jobs; 'hpcplan collect' then records them "
                       "as CANCELLED.")
    p.add_argument("job_ids", nargs="+", metavar="JOB")
    p.set_defaults(func=cancel)


# --- shared helpers ----------------------------------------------------------------------

def add_job_options(p: argparse.ArgumentParser) -> None:
    """The shape of a batch job, shared by 'submit' and 'plan --nodes'."""
    p.add_argument("--tasks-per-node", type=int, default=1, metavar="N",
                   help="MPI ranks per node (default: 1)")
    p.add_argument("--cpus-per-task", type=int, default=1, metavar="N",
                   help="CPUs per rank (default: 1)")
    p.add_argument("--time", metavar="LIMIT",
                   help="time limit per job, e.g. 30, 1:30:00 or 1-00:00:00")
    p.add_argument("--partition", metavar="NAME")
    p.add_argument("--account", metavar="NAME")
    p.add_argument("--qos", metavar="NAME")
    p.add_argument("--constraint", metavar="FEATURES")
    p.add_argument("--exclusive", action="store_true", help="do not share the nodes")
    p.add_argument("--mpi", metavar="PLUGIN", help="srun --mpi plugin (default: pmi2)")
    p.add_argument("--job-name", metavar="NAME")
    p.add_argument("--python", metavar="PATH",
                   help="Python inside the job (default: slurm.python of the site config, else "
                   "this interpreter)")
    p.add_argument("--timeout", type=float, default=3600.0, metavar="S",
                   help="seconds to wait for the jobs (default: 3600)")


def open_ledger(root: Path) -> Any:
    from slurm.ledger import Ledger

    return Ledger(root / JOBS_SUBDIR)


def jobs_root(args: argparse.Namespace) -> Path:
    """The results directory, absolute: the batch scripts name it from their own directory."""
    from hpcplan import config

    return options.results_dir(args, config.load(args.config)).resolve()


def _slurm_errors(func: Any) -> Any:
    """Slurm's refusals reach the user as one sentence, like every other user error."""
    def wrapper(args: argparse.Namespace) -> int:
        from slurm import SlurmError

        try:
            return int(func(args))
        except SlurmError as exc:
            raise UserError(str(exc)) from None

    wrapper.__doc__ = func.__doc__
    return wrapper


def parse_node_counts(text: str) -> list[int]:
    counts = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise UserError(f"--nodes {text!r} must be node counts of at least 1, "
                            f"separated by commas (e.g. 1,2,4)")
        counts.append(int(part))
    return sorted(set(counts))


def _pythonpath() -> Path:
    """The directory holding the hpcplan package, so the job runs this same code."""
    import hpcplan

    return Path(hpcplan.__file__).resolve().parents[1]


# --- submit ------------------------------------------------------------------------------

def suite_params(suite: str, items: list[str]) -> list[str]:
    """The ``--param`` arguments ``suite`` reads: a job running several suites hands each
    only its own keys, so every key given is read by some suite and none is refused."""
    from bench import registry

    keys = {k for name in suite.split(",") for k in registry.params(name)}
    return [arg for item in items if item.partition("=")[0].strip() in keys
            for arg in ("--param", item)]


def build_specs(args: argparse.Namespace, root: Path, *, one_step: bool = False) -> list[Any]:
    """One validated JobSpec per node count; ``one_step``: all suites in one 'hpcplan run'
    (one srun step, one MPI start per job) instead of one step per suite."""
    from hpcplan import config
    from hpcplan.cmd_run import options_from
    from slurm.jobs import new_job_dir
    from slurm.script import JobSpec

    site = config.load(args.config)
    # the job's 'hpcplan run' would refuse these (unknown suite, a key none of the job's
    # suites reads, a value out of range); refuse them here first
    options_from(args, list(args.suites))
    defaults = site.slurm
    python = args.python or defaults.python or sys.executable
    run_args: list[str] = []
    if args.repeats is not None:
        run_args += ["--repeats", str(args.repeats)]
    if args.target:
        run_args += ["--target", str(Path(args.target).resolve())]
    head = [python, "-m", "hpcplan"]
    if site.source != config.SiteConfig().source:
        # The job runs in its own directory: hand it the same site file, absolute.
        head += ["--config", str(Path(site.source).resolve())]
    specs = []
    label = "_".join(args.suites)
    for nodes in parse_node_counts(args.nodes):
        job_dir = new_job_dir(root / JOBS_SUBDIR, label, nodes)
        records = job_dir / "records"
        steps = [",".join(args.suites)] if one_step else list(args.suites)
        commands = [[*head, "run", "--suite", suite, "--results", str(records), "--quiet",
                     *run_args, *suite_params(suite, args.param)] for suite in steps]
        specs.append(JobSpec(
            suites=tuple(args.suites), nodes=nodes, commands=commands, job_dir=job_dir,
            pythonpath=_pythonpath(), tasks_per_node=args.tasks_per_node,
            cpus_per_task=args.cpus_per_task, time_limit=args.time or defaults.time,
            partition=args.partition or defaults.partition or None,
            account=args.account or defaults.account or None,
            qos=args.qos or defaults.qos or None,
            constraint=args.constraint or defaults.constraint or None,
            exclusive=args.exclusive, setup_lines=defaults.setup,
            mpi=args.mpi or defaults.mpi, job_name=args.job_name))
    return specs


def check_partition(client: Any, specs: list[Any]) -> None:
    """Refuse node counts the partition cannot hold, before Slurm queues them forever."""
    parts = client.partitions()
    for spec in specs:
        name = spec.partition or next(
            (n for n, p in parts.items() if p.get("Default") == "YES"), None)
        if name is None:
            continue
        if name not in parts:
            continue  # sbatch refuses it with Slurm's own reason
        total = parts[name].get("TotalNodes", "")
        if total.isdigit() and spec.nodes > int(total):
            raise UserError(f"--nodes {spec.nodes} is more than partition {name!r} has "
                            f"({total} nodes)")


@_slurm_errors
def submit(args: argparse.Namespace) -> int:
    from slurm.script import render_script

    root = jobs_root(args)
    specs = build_specs(args, root)
    if args.dry_run:
        for i, spec in enumerate(specs):
            if i:
                print()
            print(f"# --- job script {i + 1} of {len(specs)}: {spec.nodes} node(s); "
                  f"would be written to {spec.job_dir / 'job.sh'} ---")
            sys.stdout.write(render_script(spec))
        return 0

    from slurm import jobs as slurm_jobs
    from slurm.client import SlurmClient

    client = SlurmClient()
    check_partition(client, specs)
    ledger = open_ledger(root)
    submitted = []
    for spec in specs:
        entry = slurm_jobs.submit(client, ledger, spec)
        submitted.append(entry["job_id"])
        print(f"submitted job {entry['job_id']}: {spec.label} on {spec.nodes} node(s) x "
              f"{spec.tasks_per_node} rank(s); output in {spec.job_dir}")
    if not args.wait:
        print("follow with 'hpcplan jobs'; bring the records home with 'hpcplan collect'")
        return 0
    return collect_jobs(client, ledger, root, submitted, wait=True, timeout_s=args.timeout)


# --- jobs --------------------------------------------------------------------------------

@_slurm_errors
def jobs(args: argparse.Namespace) -> int:
    from hpcplan.terminal import table
    from slurm.client import SlurmClient

    root = jobs_root(args)
    entries = open_ledger(root).entries()
    if not entries:
        print(f"no jobs submitted with results directory {root}")
        return 0
    client = SlurmClient()
    live = {j.job_id: j for j in client.queue([e["job_id"] for e in entries])}
    rows = []
    for e in entries:
        info = live.get(e["job_id"])
        if info is None and client.accounting_available():
            info = client.sacct_job(e["job_id"])
        state = info.state if info else e.get("state", "?")
        rows.append([
            e["job_id"], e.get("label", ""), e.get("nodes"), state,
            (info.reason if info and info.reason not in ("None", "") else ""),
            _elapsed(info.elapsed_s if info else None), info.node_list if info else "",
            "yes" if e.get("collected") else "no",
        ])
    print(table(("job", "suites", "nodes", "state", "reason", "elapsed", "node list",
                 "collected"), rows))
    return 0


def _elapsed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


# --- collect -----------------------------------------------------------------------------

@_slurm_errors
def collect(args: argparse.Namespace) -> int:
    from slurm.client import SlurmClient, check_job_id

    root = jobs_root(args)
    ids = [check_job_id(j) for j in args.job_ids]
    return collect_jobs(SlurmClient(), open_ledger(root), root, ids, wait=args.wait,
                    timeout_s=args.timeout)


def collect_jobs(client: Any, ledger: Any, root: Path, job_ids: list[str], *, wait: bool,
             timeout_s: float) -> int:
    from bench.store import Store
    from slurm import jobs as slurm_jobs

    entries = ledger.entries()
    known = {e["job_id"] for e in entries}
    unknown = [j for j in job_ids if j not in known]
    if unknown:
        raise UserError(f"job(s) {', '.join(unknown)} are not in the ledger "
                        f"{ledger.path}; only jobs submitted by 'hpcplan submit' can be collected")
    todo = [e for e in entries if not e.get("collected") and (not job_ids or
                                                              e["job_id"] in job_ids)]
    if not todo:
        print("nothing to collect")
        return 0
    if wait:
        slurm_jobs.wait(client, [e["job_id"] for e in todo], timeout_s=timeout_s)
    store = Store(root)
    running = 0
    for entry in todo:
        result = slurm_jobs.outcome(client, entry)
        if result is None:
            running += 1
            continue
        records, problems = job_records(result)
        path = store.write(records)
        ledger.update(entry["job_id"], collected=True, state=result.state,
                      exit_code=result.exit_code, collected_records=len(records),
                      collected_file=str(path), collected_at=time.time())
        code = "" if result.exit_code is None else f", exit code {result.exit_code}"
        print(f"job {entry['job_id']} {result.state}{code}: {len(records)} record(s) "
              f"collected into {path.name}")
        for problem in problems:
            print(f"hpcplan: warning: job {entry['job_id']}: {problem}", file=sys.stderr)
    if running:
        print(f"{running} job(s) not finished yet; run 'hpcplan collect' again later "
              f"(or with --wait)")
    return 0


def job_records(result: Any) -> tuple[list[Any], list[str]]:
    """The job's own records tagged with its identity, plus an outcome record when needed."""
    from bench.records import Record
    from bench.store import Store

    entry = result.entry
    tag = result.job_fields()
    store = Store(Path(entry["job_dir"]) / "records")
    records = [r.replace(job={**r.job, **tag}) for r in store.load()]
    problems = list(store.problems)
    if result.completed and records:
        return records, problems
    if result.completed:
        status, details = "failed", "the job completed but wrote no records"
    else:
        status = "aborted" if result.state in ABORTED_STATES else "failed"
        code = "none" if result.exit_code is None else str(result.exit_code)
        details = (f"job {result.job_id} ended {result.state} (exit code {code}"
                   f"{'' if not result.signal else f', signal {result.signal}'}"
                   f"{'' if result.reason in ('', 'None') else f', reason {result.reason}'})")
        if result.error_tail:
            details += ":\n" + result.error_tail
    from hpcplan import __version__

    outcome = Record(
        name=f"job.slurm.{entry.get('label', 'unknown')}", value=None, unit="s",
        direction="lower", status=status,
        params={"suites": list(entry.get("suites", [])), "nodes": entry.get("nodes"),
                "tasks_per_node": entry.get("tasks_per_node"),
                "time_limit": entry.get("time_limit"), "elapsed_s": result.elapsed_s},
        validation={"passed": False, "details": details, "state": result.state,
                    "exit_code": result.exit_code},
        software={"hpcplan": __version__},
        ranks=max(1, int(entry.get("ranks") or 1)),
        nodes=max(1, len(result.nodes) or int(entry.get("nodes") or 1)),
        job=tag, kernel_version="1",
    )
    return [*records, outcome], problems


# --- cancel ------------------------------------------------------------------------------

@_slurm_errors
def cancel(args: argparse.Namespace) -> int:
    from slurm.client import SlurmClient, check_job_id

    client = SlurmClient()
    ids = [check_job_id(j) for j in args.job_ids]
    ledger = open_ledger(jobs_root(args))
    for job_id in ids:
        client.cancel(job_id)
        if ledger.get(job_id) is not None:
            ledger.update(job_id, state="CANCEL_REQUESTED")
            print(f"cancelled job {job_id}")
        else:
            print(f"cancelled job {job_id} (not submitted by hpcplan: nothing to collect)")
    return 0
