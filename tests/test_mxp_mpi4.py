"""The distributed solve under ``mpiexec -n 4`` (oversubscribed here) matches one rank.

tests/mpi runs under two ranks (tests/test_mpi_launch.py); this adds four ranks
for the 2x2, 1x4 and 4x1 grids, on the generation and solve tests only.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_distributed_solve_under_mpiexec_n4():
    mpiexec = shutil.which("mpiexec")
    assert mpiexec, "mpiexec not on PATH: install the 'mpi' extra (pip install '.[mpi]')"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [mpiexec, "-n", "4", sys.executable, "-m", "mpi4py", "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "-k", "equals_single_rank or generates_its_blocks",
         "tests/mpi/test_mxp_dist.py"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert "9 passed" in out.stdout and " failed" not in out.stdout
