"""Runs tests/mpi under a real ``mpiexec -n 2`` and fails with their output when they fail."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mpi_tests_pass_under_mpiexec_n2():
    mpiexec = shutil.which("mpiexec")
    assert mpiexec, "mpiexec not on PATH: install the 'mpi' extra (pip install '.[mpi]')"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    out = subprocess.run(
        [mpiexec, "-n", "2", sys.executable, "-m", "mpi4py", "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "tests/mpi"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in out.stdout and " failed" not in out.stdout
