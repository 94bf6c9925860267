"""A real two-node Slurm on this machine, for tests, CI and trying hpcplan without a cluster.

One slurmctld and two slurmd (``node1``, ``node2``) listen on 127.0.0.1 with
auth/none and cred/none, so no munge is needed; configuration, state, spool,
logs and pid files all live under one directory and the ports are picked free.
It follows the recipe in docs/REFERENCE.md and needs root (slurmd runs job steps as
the submitting user) and Debian's ``slurm-wlm``.

    python -m slurm.localcluster start [--dir DIR]   # prints: export SLURM_CONF=...
    python -m slurm.localcluster status --dir DIR
    python -m slurm.localcluster stop --dir DIR [--clean]   # --clean: remove DIR too

Finished jobs stay visible to ``scontrol show job`` for ``MinJobAge`` (one hour
here, instead of Slurm's 300 s) because the cluster has no accounting database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from slurm import SlurmError

NODE_NAMES = ("node1", "node2")
#: First line of every slurm.conf written here; ``stop --clean`` removes only such directories.
CONF_MARKER = "# Written by hpcplan's slurm.localcluster: a test cluster on one machine."
PARTITION = "debug"
#: Seconds a finished job stays in slurmctld's memory (no accounting here).
MIN_JOB_AGE_S = 3600
#: Start jobs as soon as they are submitted or resources free up, as a quiet test
#: cluster can afford (Slurm defaults to batching submissions for up to 3 s).
SCHEDULER_PARAMETERS = "batch_sched_delay=0,sched_min_interval=0"
#: Seconds between SIGTERM and SIGKILL at a time limit or cancel: short so tests are quick.
KILL_WAIT_S = 5

_CONF_TEMPLATE = """\
{marker}
ClusterName=hpcplanlocal
SlurmctldHost=localhost
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={first_slurmd_port}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd-%n.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge={min_job_age}
KillWait={kill_wait}
InactiveLimit=0
SchedulerType=sched/backfill
SchedulerParameters={sched_params}
SlurmctldDebug=info
SlurmdDebug=info
{node_line}
PartitionName={partition} Nodes={nodelist} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""


@dataclass(frozen=True)
class LocalCluster:
    """Where a local cluster lives; everything else is derived from ``root``."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    def env(self) -> dict[str, str]:
        """The process environment with ``SLURM_CONF`` pointing at this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def pid_files(self) -> list[Path]:
        run = self.root / "run"
        return [run / f"slurmd-{n}.pid" for n in NODE_NAMES] + [run / "slurmctld.pid"]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, consecutive_after: int = 0) -> list[int]:
    """``1 + count`` free ports: one for slurmctld, then ``count`` consecutive ones for slurmd.

    Slurm's ``Port=[a-b]`` needs the node daemons' ports to be a contiguous range.
    """
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count - 2)
        ports = list(range(base, base + count + 1))
        if all(_port_free(p) for p in ports):
            return ports
    raise SlurmError("no free range of local TCP ports found for the test cluster")


def _find_daemon(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists()
                                   else None)
    if path is None:
        raise SlurmError(f"{name} not found: install Slurm (Debian: apt-get install slurm-wlm)")
    return path


def _memory_mb() -> int:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 1024
    # Each node pretends to own a share of the machine: Slurm checks RealMemory <= actual.
    return max(256, int(pages / 2**20 / len(NODE_NAMES)))


def write_conf(cluster: LocalCluster) -> None:
    """Create the directory tree and a ``slurm.conf`` with free ports."""
    for sub in ("state", "spool", "run", "log"):
        (cluster.root / sub).mkdir(parents=True, exist_ok=True)
    for node in NODE_NAMES:
        (cluster.root / "spool" / node).mkdir(exist_ok=True)
    ctld, *slurmd = free_ports(len(NODE_NAMES))
    nodelist = f"node[1-{len(NODE_NAMES)}]"
    node_line = (f"NodeName={nodelist} NodeHostname=localhost NodeAddr=127.0.0.1 "
                 f"Port=[{slurmd[0]}-{slurmd[-1]}] CPUs={os.cpu_count() or 1} "
                 f"RealMemory={_memory_mb()} State=UNKNOWN")
    text = _CONF_TEMPLATE.format(
        marker=CONF_MARKER,
        root=cluster.root,
        node_line=node_line,
        ctld_port=ctld,
        first_slurmd_port=slurmd[0],
        min_job_age=MIN_JOB_AGE_S,
        kill_wait=KILL_WAIT_S,
        nodelist=nodelist,
        sched_params=SCHEDULER_PARAMETERS,
        partition=PARTITION,
    )
    cluster.conf.write_text(text)


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _run_daemon(args: list[str], cluster: LocalCluster) -> None:
    """Start a daemon that forks itself into the background; fail with its output."""
    proc = subprocess.run(args, env=cluster.env(), capture_output=True, text=True, timeout=30,
                          check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise SlurmError(f"{Path(args[0]).name} failed to start: "
                         f"{detail[-1] if detail else 'exit ' + str(proc.returncode)} "
                         f"(logs in {cluster.root / 'log'})")


def node_states(cluster: LocalCluster) -> dict[str, str]:
    """Node name -> state as ``sinfo`` reports it (e.g. ``idle``, ``down*``)."""
    sinfo = shutil.which("sinfo") or "sinfo"
    try:
        proc = subprocess.run([sinfo, "--noheader", "-N", "-o", "%N %t"], env=cluster.env(),
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if proc.returncode != 0:
        return {}
    states: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            states[parts[0]] = parts[1]
    return states


def wait_idle(cluster: LocalCluster, timeout_s: float = 60.0) -> None:
    """Block until ``sinfo`` shows every node idle (or mixed/allocated: usable)."""
    deadline = time.monotonic() + timeout_s
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = node_states(cluster)
        if set(states) >= set(NODE_NAMES) and all(
            states[n] in ("idle", "mix", "alloc") for n in NODE_NAMES
        ):
            return
        time.sleep(0.2)
    raise SlurmError(f"local Slurm nodes not idle after {timeout_s:.0f} s (states {states}; "
                     f"logs in {cluster.root / 'log'})")


def is_running(cluster: LocalCluster) -> bool:
    return all(_read_pid(p) is not None for p in cluster.pid_files())


def start(root: Path | None = None, *, timeout_s: float = 60.0) -> LocalCluster:
    """Start (or reuse, when already running there) a local cluster under ``root``."""
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="hpcplan-slurm-"))
    cluster = LocalCluster(Path(root).resolve())
    if cluster.conf.exists() and is_running(cluster):
        wait_idle(cluster, timeout_s)
        return cluster
    stop(cluster.root)  # leftovers of a half-started cluster
    write_conf(cluster)
    try:
        _run_daemon([_find_daemon("slurmctld"), "-i"], cluster)
        for node in NODE_NAMES:
            _run_daemon([_find_daemon("slurmd"), "-N", node], cluster)
        wait_idle(cluster, timeout_s)
    except BaseException:
        stop(cluster.root)
        raise
    return cluster


def stop(root: Path, *, timeout_s: float = 15.0) -> None:
    """Stop the daemons this directory's pid files name; nothing else is touched."""
    cluster = LocalCluster(Path(root).resolve())
    pids = [pid for p in cluster.pid_files() if (pid := _read_pid(p)) is not None]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for p in cluster.pid_files():
        p.unlink(missing_ok=True)


def remove(root: Path) -> None:
    """Delete a stopped cluster's directory, but only one this module created."""
    cluster = LocalCluster(Path(root).resolve())
    try:
        ours = cluster.conf.read_text().startswith(CONF_MARKER)
    except OSError:
        ours = False
    if not ours:
        raise SlurmError(f"{cluster.root} has no slurm.conf written by slurm.localcluster; "
                         f"not removing it")
    if is_running(cluster):
        raise SlurmError(f"the cluster in {cluster.root} is still running; stop it first")
    shutil.rmtree(cluster.root)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slurm.localcluster",
                                     description="Start, inspect or stop a two-node local Slurm.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, help="cluster directory (start: default a new "
                        "temporary directory; stop/status: required unless SLURM_CONF is set)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for idle")
    parser.add_argument("--clean", action="store_true",
                        help="stop: also delete the cluster directory (logs included)")
    args = parser.parse_args(argv)
    root: Path | None = args.dir
    if root is None and args.action != "start":
        conf = os.environ.get("SLURM_CONF")
        if not conf:
            parser.error("--dir DIR is needed (or SLURM_CONF of a local cluster)")
        root = Path(conf).parent
    try:
        if args.action == "start":
            cluster = start(root, timeout_s=args.timeout)
            sys.stdout.write(f"export SLURM_CONF={cluster.conf}\n")
        elif args.action == "stop":
            assert root is not None
            stop(root)
            if args.clean:
                remove(root)
        else:
            assert root is not None
            cluster = LocalCluster(root.resolve())
            running = is_running(cluster)
            states = node_states(cluster) if running else {}
            sys.stdout.write(f"{'running' if running else 'stopped'} {cluster.conf} "
                             + " ".join(f"{k}={v}" for k, v in sorted(states.items())) + "\n")
            return 0 if running else 1
    except SlurmError as exc:
        sys.stderr.write(f"slurm.localcluster: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
