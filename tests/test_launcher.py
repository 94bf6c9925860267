"""The launcher matches the MPI library mpi4py loads, whatever comes first on PATH (issue 16)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import launcher as mod
from bench.launcher import LauncherError, family_of, launcher, launcher_for, library_name

MPICH = ("MPICH Version:      5.0.2\nMPICH Release date: Fri Sep 25 2026\n"
         "MPICH ABI:          18:2:6\n")
OPEN_MPI = "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4, May 26"
INTEL = "Intel(R) MPI Library 2021.10 for Linux* OS\n"
#: Two ranks of one world print "ranks 0,1" (rank 0 only; singletons would print twice).
ONE_WORLD = ("from mpi4py import MPI; c = MPI.COMM_WORLD; r = c.gather(c.rank)\n"
             "if c.rank == 0: print('ranks', ','.join(map(str, r)))")


@pytest.fixture(autouse=True)
def fresh_choice() -> Iterator[None]:
    mod._find.cache_clear()
    mod._version_family.cache_clear()
    yield
    mod._find.cache_clear()
    mod._version_family.cache_clear()


def fake_mpiexec(directory: Path, version: str, name: str = "mpiexec") -> Path:
    """An executable that answers ``--version`` with ``version``."""
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / name
    exe.write_text(f"#!/bin/sh\necho '{version}'\n")  # a builtin: works on an empty PATH
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_names_and_families_from_library_and_launcher_texts() -> None:
    assert library_name(MPICH) == "MPICH 5.0.2"
    assert library_name(OPEN_MPI) == "Open MPI v4.1.4"
    assert library_name(INTEL) == "Intel(R) MPI Library 2021.10 for Linux* OS"
    assert library_name("") == ""
    assert family_of(MPICH) == family_of(INTEL) == "mpich"
    assert family_of(OPEN_MPI) == "openmpi"
    assert family_of("HYDRA build details:\n    Version: 5.0.2") == "mpich"
    assert family_of("mpiexec (OpenRTE) 4.1.4\n\nReport bugs to http://www.open-mpi.org/") \
        == "openmpi"
    assert family_of("prterun (PRRTE) 3.0.2") == "openmpi"
    assert family_of("foreign mpiexec") == "unknown"


def test_the_library_mpi4py_loads_picks_the_launcher_past_a_foreign_one_on_path(
        foreign_mpiexec_first: str) -> None:
    run = launcher()
    assert run.path is not None, run.describe()
    assert run.library_family in ("mpich", "openmpi"), run.library
    assert run.family == run.library_family
    assert run.path != os.environ["PATH"].split(os.pathsep)[0] + "/mpiexec"
    text = run.describe()
    assert run.path in text and run.library in text and run.source in text
    assert run.libmpi and Path(run.libmpi).exists()
    # and it really starts two ranks of one world
    out = subprocess.run(run.command(2, sys.executable, "-c", ONE_WORLD),
                         capture_output=True, text=True, env=run.env(), timeout=120)
    assert out.returncode == 0, text + out.stderr
    assert out.stdout.split() == ["ranks", "0,1"], text + out.stdout


def test_the_override_is_taken_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = fake_mpiexec(tmp_path / "bin", OPEN_MPI.replace("Open MPI", "mpiexec (OpenRTE)"))
    monkeypatch.setenv("HPCPLAN_MPIEXEC", str(mine))
    run = launcher()
    assert run.path == str(mine) and run.source == "from $HPCPLAN_MPIEXEC"
    assert run.family == "openmpi"
    if run.library_family == "mpich":
        assert "differs from the library's (mpich)" in run.describe()
    cmd = run.command(os.cpu_count() or 1)
    assert cmd[:3] == [str(mine), "-n", str(os.cpu_count() or 1)]
    assert "--oversubscribe" in run.command(1000)
    if os.geteuid() == 0:
        assert run.env({})["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] == "1"
    monkeypatch.setenv("HPCPLAN_MPIEXEC", str(tmp_path / "absent"))
    gone = launcher()
    assert gone.path is None and "is not an executable file" in gone.reason
    with pytest.raises(LauncherError, match="HPCPLAN_MPIEXEC"):
        gone.command(2)


def test_a_site_mpi_is_launched_by_the_mpiexec_in_its_own_prefix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = tmp_path / "site-openmpi"
    (prefix / "lib").mkdir(parents=True)
    libmpi = prefix / "lib" / "libmpi.so.40"
    libmpi.write_text("")
    own = fake_mpiexec(prefix / "bin", "mpiexec (OpenRTE) 4.1.6")
    fake_mpiexec(tmp_path / "path", "HYDRA build details:", "mpiexec")
    monkeypatch.setattr(mod, "_probe", lambda python: {
        "library": OPEN_MPI, "libmpi": str(libmpi), "mpicc": "", "error": ""})
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.delenv("HPCPLAN_MPIEXEC", raising=False)
    run = launcher()
    assert (run.path, run.family, run.library) == (str(own), "openmpi", "Open MPI v4.1.4")
    assert run.source == "beside mpi4py's MPI library"
    own.unlink()  # no Open MPI launcher anywhere: refused with what was seen, never guessed
    mod._find.cache_clear()
    none = launcher()
    assert none.path is None
    assert "none matches its family" in none.reason and str(tmp_path / "path") in none.reason
    assert "HPCPLAN_MPIEXEC" in none.describe()


def test_the_launcher_follows_mpi4py_to_the_system_open_mpi(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """MPI4PY_MPIABI=openmpi makes mpi4py load the system's Open MPI: its mpiexec follows."""
    monkeypatch.setenv("MPI4PY_MPIABI", "openmpi")
    monkeypatch.delenv("HPCPLAN_MPIEXEC", raising=False)
    run = launcher()
    if run.library_family != "openmpi":
        pytest.skip(f"no Open MPI library for mpi4py here: {run.library}")
    assert run.path is not None and run.family == "openmpi", run.describe()
    out = subprocess.run(run.command(2, sys.executable, "-c", ONE_WORLD),
                         capture_output=True, text=True, env=run.env(), timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["ranks", "0,1"], \
        run.describe() + out.stdout + out.stderr


def test_a_compiled_mpi_program_gets_the_launcher_of_the_library_it_links(
        foreign_mpiexec_first: str) -> None:
    """HPCC (Debian: Open MPI) and mpi4py (here: the mpich wheel) each get their own."""
    plain = launcher_for(sys.executable)
    assert plain.path is None and "links no MPI library" in plain.reason
    hpcc = shutil.which("hpcc")
    if hpcc is None:
        pytest.skip("hpcc is not installed (Debian package hpcc, installed by .ci/run)")
    run = launcher_for(hpcc)
    assert run.path is not None, run.describe()
    assert run.family == run.library_family == "openmpi", run.describe()
    assert run.command(2, "hpcc")[-2:] == ["--oversubscribe", "hpcc"]


def test_a_rank_whose_mpi_start_hangs_gives_up(tmp_path):
    """An MPI start that never returns (here a stand-in mpi4py whose import blocks) ends the
    rank after $HPCPLAN_MPI_INIT_TIMEOUT seconds with where it hung, instead of holding the
    job until its time limit; the limit's parsing falls back to the default on nonsense."""
    import time

    from bench import runner

    fake = tmp_path / "mpi4py"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "MPI.py").write_text("import time\ntime.sleep(120)\n")
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{repo}", "PMI_RANK": "0",
           runner.MPI_INIT_ENV: "1"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "from bench import runner; runner.world()"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and time.monotonic() - started < 30
    assert "Timeout (0:00:01)!" in proc.stderr and "MPI.py" in proc.stderr
    assert runner.mpi_init_timeout({}) == runner.MPI_INIT_TIMEOUT_S
    assert runner.mpi_init_timeout({runner.MPI_INIT_ENV: "0"}) == 0.0
    for bad in ("soon", "-5", "inf", "nan"):
        assert runner.mpi_init_timeout({runner.MPI_INIT_ENV: bad}) == runner.MPI_INIT_TIMEOUT_S
