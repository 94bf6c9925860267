"""The live Slurm cluster that tests/test_slurm_*.py run against.

If ``SLURM_CONF`` is set (``.ci/run`` starts ``python -m slurm.localcluster``
and exports it) that cluster is used; otherwise the first test that asks for
it starts a local cluster in a temporary directory and it is stopped when the
test process exits. Import the fixture into a test module with
``from tests.slurm_cluster import slurm_cluster``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from slurm import SlurmError, localcluster

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Cluster:
    conf: Path
    started_here: bool

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for Slurm commands and ``python -m hpcplan`` against this cluster."""
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        # a rank whose MPI start hangs gives up in a minute (bench/runner.py), so a study's
        # retry, not the job's time limit, handles a broken PMI exchange
        return {**os.environ, "SLURM_CONF": str(self.conf), "PYTHONPATH": path,
                "HPCPLAN_MPI_INIT_TIMEOUT": "60", **extra}


_CLUSTER: Cluster | None = None


def _usable(conf: Path) -> None:
    proc = subprocess.run(["sinfo", "--noheader", "-o", "%D %t"], capture_output=True,
                          text=True, timeout=20, check=False,
                          env={**os.environ, "SLURM_CONF": str(conf)})
    if proc.returncode != 0:
        pytest.fail(f"SLURM_CONF={conf} names no running cluster: {proc.stderr.strip()} "
                    f"(start one: eval \"$(python -m slurm.localcluster start)\")")


def get_cluster() -> Cluster:
    """The session's cluster, started once."""
    global _CLUSTER
    if _CLUSTER is not None:
        return _CLUSTER
    conf = os.environ.get("SLURM_CONF")
    if conf:
        _usable(Path(conf))
        _CLUSTER = Cluster(Path(conf), started_here=False)
        return _CLUSTER
    if shutil.which("slurmctld") is None and not Path("/usr/sbin/slurmctld").exists():
        pytest.fail("Slurm is not installed: apt-get install slurm-wlm (or run .ci/run), or "
                    "set SLURM_CONF to a running test cluster")
    if os.geteuid() != 0:
        pytest.fail("starting the local Slurm cluster needs root (slurmd runs jobs as their "
                    "user); run as root or set SLURM_CONF to a running test cluster")
    root = Path(tempfile.mkdtemp(prefix="hpcplan-test-slurm-"))
    try:
        cluster = localcluster.start(root)
    except SlurmError as exc:
        pytest.fail(f"could not start the local Slurm cluster: {exc}")

    def stop() -> None:
        localcluster.stop(root)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    _CLUSTER = Cluster(cluster.conf, started_here=True)
    return _CLUSTER


@pytest.fixture(scope="session")
def slurm_cluster() -> Cluster:
    return get_cluster()
