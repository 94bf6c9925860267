"""The distributed solve under ``mpiexec -n 4`` (oversubscribed here) matches one rank.

tests/mpi runs under two ranks (tests/test_mpi_launch.py); this adds four ranks
for the 2x2, 1x4 and 4x1 grids, on the generation and solve tests only.
"""

import subprocess
import sys
from pathlib import Path

from bench.launcher import launcher

ROOT = Path(__file__).resolve().parent.parent


def test_distributed_solve_under_mpiexec_n4():
    run = launcher()
    assert run.path, run.describe()
    env = run.env({**run.env(), "OPENBLAS_NUM_THREADS": "1"})
    out = subprocess.run(
        run.command(4, sys.executable, "-m", "mpi4py", "-m", "pytest", "-q",
                    "-p", "no:cacheprovider", "-k", "equals_single_rank or generates_its_blocks",
                    "tests/mpi/test_mxp_dist.py"),
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    used = f"launcher: {run.describe()}"
    assert out.returncode == 0, used + "\n" + out.stdout[-6000:] + out.stderr[-3000:]
    assert "9 passed" in out.stdout and " failed" not in out.stdout, used
