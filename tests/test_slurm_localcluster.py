"""The local test cluster itself: start, run a 2-node step, status, stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slurm import localcluster

REPO = Path(__file__).resolve().parents[1]


def test_free_ports_are_consecutive_and_bindable() -> None:
    ctld, *slurmd = localcluster.free_ports(2)
    assert slurmd == [ctld + 1, ctld + 2]
    assert all(localcluster._port_free(p) for p in (ctld, *slurmd))


def test_start_run_status_stop(tmp_path: Path) -> None:
    root = tmp_path / "cluster"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "slurm.localcluster", "start", "--dir",
                           str(root)], env=env, capture_output=True, text=True, timeout=90,
                          check=False)
    try:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"export SLURM_CONF={root.resolve()}/slurm.conf\n"
        cluster = localcluster.LocalCluster(root.resolve())
        conf = cluster.conf.read_text()
        assert "AuthType=auth/none" in conf and f"StateSaveLocation={root.resolve()}" in conf
        assert localcluster.node_states(cluster) == {"node1": "idle", "node2": "idle"}
        step = subprocess.run(["srun", "-N", "2", "--mpi=pmi2", "printenv", "SLURMD_NODENAME"],
                              env=cluster.env(), capture_output=True, text=True, timeout=60,
                              check=False)
        assert sorted(step.stdout.split()) == ["node1", "node2"], step.stderr
        # Starting again reuses the running daemons.
        assert localcluster.start(root).conf == cluster.conf
        status = subprocess.run([sys.executable, "-m", "slurm.localcluster", "status", "--dir",
                                 str(root)], env=env, capture_output=True, text=True,
                                timeout=30, check=False)
        assert status.returncode == 0 and "node2=idle" in status.stdout
        pids = [int(p.read_text()) for p in cluster.pid_files()]
    finally:
        subprocess.run([sys.executable, "-m", "slurm.localcluster", "stop", "--dir", str(root)],
                       env=env, timeout=60, check=False)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    status = subprocess.run([sys.executable, "-m", "slurm.localcluster", "status", "--dir",
                             str(root)], env=env, capture_output=True, text=True, timeout=30,
                            check=False)
    assert status.returncode == 1 and status.stdout.startswith("stopped")
    subprocess.run([sys.executable, "-m", "slurm.localcluster", "stop", "--clean", "--dir",
                    str(root)], env=env, timeout=60, check=True)
    assert not root.exists()


def test_clean_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "slurm.conf").write_text("ClusterName=real\n")
    with pytest.raises(localcluster.SlurmError, match="not removing"):
        localcluster.remove(tmp_path)
    assert (tmp_path / "slurm.conf").exists()
