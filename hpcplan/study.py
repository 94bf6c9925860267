"""A scaling study: the suites the model needs, measured at several node counts through Slurm.

``hpcplan plan --nodes 1,2,4`` runs one batch job per node count through the same path
as ``hpcplan submit`` (batch script, ledger, collect), one after another so no two of
its jobs share nodes or cores, and tags every collected record with one study id. The
MxP solve runs in weak scaling: its order comes from a fixed share of each node's memory
(``mxp_mem_fraction``), so the work per node stays the same as nodes are added. The
report then fits the scaling model (``models.scaling``) to the study's points.

Inside an allocation (a salloc shell or a batch script: ``SLURM_JOB_ID`` is set) the
node counts run as ``srun`` steps of it instead (``slurm.steps``), one after another on
its nodes, and are collected the same way.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernels.errors import UserError

#: What the model needs per node count: the MxP solve and its FP64 references, STREAM,
#: ping-pong and allreduce (storage joins with --target: it needs a shared file system).
SUITES = ("compute", "memory", "network")
STORAGE_SUITE = "io"


def new_study_id() -> str:
    return f"study-{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}"


def suites_for(args: argparse.Namespace) -> list[str]:
    return [*SUITES, *((STORAGE_SUITE,) if args.target else ())]


def job_args(args: argparse.Namespace, nodes: int, study: str) -> argparse.Namespace:
    """The 'hpcplan submit' arguments of one job of the study."""
    ns = argparse.Namespace(**vars(args))
    ns.suites = suites_for(args)
    ns.nodes = str(nodes)
    ns.job_name = args.job_name or f"hpcplan-{study}"
    return ns


#: Job options that shape a new allocation: they mean nothing to a step of one held already.
ALLOCATION_OPTIONS = ("partition", "account", "qos", "constraint")


def run(args: argparse.Namespace, root: Path, say: Callable[[str], None]) -> tuple[str, int]:
    """Measure every node count, one after another; the study id and exit status."""
    from hpcplan import cmd_run, cmd_slurm
    from slurm import SlurmError
    from slurm.steps import Allocation

    counts = cmd_slurm.parse_node_counts(args.nodes)
    cmd_run.options_from(args, suites_for(args))  # refuse a bad --param before any job
    study = new_study_id()
    root = root.resolve()

    def make(nodes: int) -> Any:
        # one srun step per job: every MPI start is a chance for the launcher to fail; each
        # call names a fresh job directory, so another attempt gets its own
        return cmd_slurm.build_specs(job_args(args, nodes, study), root, one_step=True)[0]

    try:
        alloc = Allocation.from_env()
        specs = [make(n) for n in counts]
        if alloc is None:
            return study, _as_jobs(args, root, specs, make, study, say)
        return study, _as_steps(args, root, alloc, specs, make, study, say)
    except SlurmError as exc:
        raise UserError(str(exc)) from None


#: A job or step that ended without writing a single record is launched again this often:
#: an MPI start that fails (a PMI exchange, a node's stale state) is transient on clusters,
#: while a benchmark that fails still writes its records and is not retried.
LAUNCH_RETRIES = 1


def _launched(spec: Any, make: Callable[[int], Any], launch: Callable[[Any], Any],
              say: Callable[[str], None], what: str) -> Any:
    """``launch(spec)``'s outcome, launched again with a fresh spec while it ended other than
    COMPLETED without writing any record, up to LAUNCH_RETRIES times."""
    for attempt in range(1 + LAUNCH_RETRIES):
        if attempt:
            say(f"{what} wrote no record (a launch failure?); launching it once more, its "
                "outcome is kept")
            spec = make(spec.nodes)
        outcome = launch(spec)
        records = spec.job_dir / "records"
        if outcome is None or outcome.completed or (records.is_dir() and any(records.iterdir())):
            break
    return outcome


def _failed(outcomes: list[Any]) -> int:
    """1 when a job or step did not complete: as a benchmark that failed, its outcome record
    says why."""
    return int(any(o is None or not o.completed for o in outcomes))


def _as_jobs(args: argparse.Namespace, root: Path, specs: list[Any],
             make: Callable[[int], Any], study: str, say: Callable[[str], None]) -> int:
    """One batch job per node count, each waited for before the next is submitted."""
    from hpcplan import cmd_slurm
    from slurm import jobs as slurm_jobs
    from slurm.client import SlurmClient

    client = SlurmClient()
    cmd_slurm.check_partition(client, specs)
    ledger = cmd_slurm.open_ledger(root)
    job_ids: list[str] = []

    def job(spec: Any) -> Any:
        entry = slurm_jobs.submit(client, ledger, spec, extra={"study_id": study})
        job_ids.append(entry["job_id"])
        say(f"study {study}: job {entry['job_id']} on {spec.nodes} node(s) submitted; "
            "waiting for it before the next")
        started = time.monotonic()
        slurm_jobs.wait(client, [entry["job_id"]], timeout_s=args.timeout)
        outcome = slurm_jobs.outcome(client, entry)
        say(f"study {study}: job {entry['job_id']} {outcome.state if outcome else 'finished'} "
            f"after {time.monotonic() - started:.0f} s")
        return outcome

    ended = [_launched(spec, make, job, say, f"study {study}: the job") for spec in specs]
    return cmd_slurm.collect_jobs(client, ledger, root, job_ids, wait=False,
                                  timeout_s=args.timeout) or _failed(ended)


def _as_steps(args: argparse.Namespace, root: Path, alloc: Any, specs: list[Any],
              make: Callable[[int], Any], study: str, say: Callable[[str], None]) -> int:
    """One srun step of the allocation per node count, each collected when it ends."""
    from bench.store import Store
    from hpcplan import cmd_slurm
    from hpcplan.config import load
    from slurm import steps

    given = [f"--{o}" for o in ALLOCATION_OPTIONS if getattr(args, o, None)]
    if given:
        raise UserError(f"{', '.join(given)} shape(s) a new job, but this runs inside job "
                        f"{alloc.job_id} as steps on its nodes; leave it out (or run outside "
                        "the allocation to submit jobs)")
    too_many = [s.nodes for s in specs if s.nodes > alloc.nodes]
    if too_many:
        raise UserError(f"--nodes {max(too_many)} is more than allocation {alloc.job_id} holds "
                        f"({alloc.nodes} node(s)); ask salloc/sbatch for more or drop that count")
    if load(args.config).slurm.setup:
        say(f"study {study}: the site set-up lines are not run for steps; they use this "
            "shell's environment")
    store = Store(root)

    def step(spec: Any) -> Any:
        say(f"study {study}: step on {spec.nodes} of allocation {alloc.job_id}'s "
            f"{alloc.nodes} node(s) started")
        result = steps.run_step(alloc, spec, timeout_s=args.timeout, extra={"study_id": study})
        records, problems = cmd_slurm.job_records(result)
        path = store.write(records)
        say(f"study {study}: step on {spec.nodes} node(s) {result.state} after "
            f"{result.elapsed_s:.0f} s; {len(records)} record(s) into {path.name}")
        for problem in problems:
            say(f"study {study}: warning: {problem}")
        return result

    return _failed([_launched(spec, make, step, say, f"study {study}: the step")
                    for spec in specs])
