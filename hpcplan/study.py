"""A scaling study: the suites the model needs, measured at several node counts through Slurm.

``hpcplan plan --nodes 1,2,4`` runs one batch job per node count through the same path
as ``hpcplan submit`` (batch script, ledger, collect), one after another so no two of
its jobs share nodes or cores, and tags every collected record with one study id. The
MxP solve runs in weak scaling: its order comes from a fixed share of each node's memory
(``mxp_mem_fraction``), so the work per node stays the same as nodes are added. The
report then fits the scaling model (``models.scaling``) to the study's points.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable
from pathlib import Path

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


def run(args: argparse.Namespace, root: Path, say: Callable[[str], None]) -> tuple[str, int]:
    """Submit, wait for and collect one job per node count; the study id and exit status."""
    from hpcplan import cmd_run, cmd_slurm
    from slurm import SlurmError
    from slurm import jobs as slurm_jobs
    from slurm.client import SlurmClient

    counts = cmd_slurm.parse_node_counts(args.nodes)
    cmd_run.options_from(args, suites_for(args))  # refuse a bad --param before any job
    study = new_study_id()
    root = root.resolve()
    try:
        client = SlurmClient()
        # one srun step per job: every MPI start is a chance for the launcher to fail
        specs = [cmd_slurm.build_specs(job_args(args, n, study), root, one_step=True)[0]
                 for n in counts]
        cmd_slurm.check_partition(client, specs)
        ledger = cmd_slurm.open_ledger(root)
        job_ids = []
        for spec in specs:
            entry = slurm_jobs.submit(client, ledger, spec, extra={"study_id": study})
            job_ids.append(entry["job_id"])
            say(f"study {study}: job {entry['job_id']} on {spec.nodes} node(s) submitted; "
                "waiting for it before the next")
            started = time.monotonic()
            slurm_jobs.wait(client, [entry["job_id"]], timeout_s=args.timeout)
            outcome = slurm_jobs.outcome(client, entry)
            state = outcome.state if outcome else "finished"
            say(f"study {study}: job {entry['job_id']} {state} after "
                f"{time.monotonic() - started:.0f} s")
        code = cmd_slurm.collect_jobs(client, ledger, root, job_ids, wait=False,
                                  timeout_s=args.timeout)
    except SlurmError as exc:
        raise UserError(str(exc)) from None
    return study, code
