"""Shared pytest set-up.

tests/mpi/ holds tests that only make sense with several ranks; they are
collected only under mpiexec (the launcher sets PMI_SIZE or OMPI_COMM_WORLD_SIZE).
The single-process session runs them through tests/test_mpi_launch.py, which
starts ``mpiexec -n 2 python -m mpi4py -m pytest tests/mpi`` and checks it.
"""

import os

_UNDER_MPI = any(v in os.environ for v in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE"))
collect_ignore = [] if _UNDER_MPI else ["mpi"]
