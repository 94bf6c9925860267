"""slurm/steps.py: which allocation a study runs in, and how a step that overruns ends.
The steps themselves run against the live cluster in tests/test_plan_study.py."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from slurm import SlurmError, steps


def test_allocation_from_the_environment() -> None:
    assert steps.Allocation.from_env({}) is None
    alloc = steps.Allocation.from_env({"SLURM_JOB_ID": "12", "SLURM_JOB_NUM_NODES": "4",
                                       "SLURM_JOB_NODELIST": "n[1-4]",
                                       "SLURM_JOB_PARTITION": "debug"})
    assert alloc == steps.Allocation("12", 4, "n[1-4]", "debug")
    with pytest.raises(SlurmError, match="inside step 0 of job 12"):
        steps.Allocation.from_env({"SLURM_JOB_ID": "12", "SLURM_STEP_ID": "0"})
    with pytest.raises(SlurmError, match="not a job id"):
        steps.Allocation.from_env({"SLURM_JOB_ID": "12; rm -rf /"})
    with pytest.raises(SlurmError, match="not a node count"):
        steps.Allocation.from_env({"SLURM_JOB_ID": "12", "SLURM_JOB_NUM_NODES": "0"})


def test_an_overrunning_step_is_terminated_and_says_why() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    code, reason = steps._wait(proc, 1.0)
    assert code < 0 and time.monotonic() - started < 10  # SIGTERM, not the 60 s sleep
    assert reason.startswith("step still running after 1 s (--timeout)")
