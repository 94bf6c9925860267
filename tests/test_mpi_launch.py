"""Runs tests/mpi under a real ``mpiexec -n 2`` and fails with their output when they fail.

The ``mpiexec`` is the one of the MPI library mpi4py loads (``bench.launcher``), found
with a foreign ``mpiexec`` first on PATH (the system's Open MPI where it is installed).
"""

import subprocess
import sys
from pathlib import Path

from bench.launcher import launcher

ROOT = Path(__file__).resolve().parent.parent


def test_mpi_tests_pass_under_mpiexec_n2(foreign_mpiexec_first: str) -> None:
    run = launcher()
    assert run.path, run.describe()
    used = f"launcher: {run.describe()} (first on PATH: {foreign_mpiexec_first})"
    print(used)
    out = subprocess.run(
        run.command(2, sys.executable, "-m", "mpi4py", "-m", "pytest", "-q",
                    "-p", "no:cacheprovider", "tests/mpi"),
        capture_output=True, text=True, cwd=ROOT, env=run.env(), timeout=900)
    assert out.returncode == 0, used + "\n" + out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in out.stdout and " failed" not in out.stdout, used
