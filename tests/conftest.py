"""Shared pytest set-up.

tests/mpi/ holds tests that only make sense with several ranks; they are
collected only under mpiexec (the launcher sets PMI_SIZE or OMPI_COMM_WORLD_SIZE).
The single-process session runs them through tests/test_mpi_launch.py, which
starts ``mpiexec -n 2 python -m mpi4py -m pytest tests/mpi`` and checks it.
"""

import os
import shutil
import stat
from pathlib import Path

import pytest

_UNDER_MPI = any(v in os.environ for v in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE"))
collect_ignore = [] if _UNDER_MPI else ["mpi"]

#: The system's Open MPI launcher (Debian's hpcc pulls it in next to the mpich wheel).
FOREIGN_MPIEXECS = ("/usr/bin/mpiexec.openmpi", "/usr/bin/mpirun.openmpi")


@pytest.fixture
def foreign_mpiexec_first(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> str:
    """Put an ``mpiexec`` that is not mpi4py's first on PATH (issue 16); returns what it is.

    The system's Open MPI where it is installed, else a stand-in that fails loudly:
    whatever launches MPI programs must look past it.
    """
    first = tmp_path_factory.mktemp("foreign-bin")
    system = next((p for p in FOREIGN_MPIEXECS if Path(p).exists()), None)
    if system:
        (first / "mpiexec").symlink_to(system)
        what = f"the system's Open MPI ({system})"
    else:
        fake = first / "mpiexec"
        fake.write_text("#!/bin/sh\necho \"foreign mpiexec $0 must not be used\" >&2\nexit 97\n")
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        what = "a stand-in that always fails"
    monkeypatch.setenv("PATH", os.pathsep.join([str(first), os.environ.get("PATH", "")]))
    monkeypatch.delenv("HPCPLAN_MPIEXEC", raising=False)
    assert shutil.which("mpiexec") == str(first / "mpiexec")
    return what
