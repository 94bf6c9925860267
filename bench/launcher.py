"""The ``mpiexec`` of the MPI library that mpi4py loads, for every MPI sub-process.

An MPI program has to be started by its own library's launcher: Open MPI's
``mpiexec`` starts MPICH-linked ranks as separate singletons (and as root it
refuses to start at all), MPICH's Hydra does not speak Open MPI's runtime. So
the first ``mpiexec`` on PATH is the wrong choice whenever a system MPI sits
beside the one mpi4py was built against (Debian's ``hpcc`` pulls in Open MPI
next to the mpich wheel). The launcher is chosen once per process, in order:

1. ``$HPCPLAN_MPIEXEC`` (a path, or a name looked up on PATH): taken as given;
2. the ``mpiexec`` in the ``bin`` directory of the MPI library mpi4py loads
   (the mpich wheel: ``<venv>/lib/libmpi.so.12`` -> ``<venv>/bin/mpiexec``;
   a site MPI: ``<prefix>/lib[64]/...`` -> ``<prefix>/bin``);
3. the ``mpiexec`` beside mpi4py's ``mpicc`` (``mpi4py.get_config()``, for
   mpi4py built from source against a site MPI);
4. the ``mpiexec`` beside this Python (where the MPI wheels install it);
5. every ``mpiexec`` on PATH in order, and the family's own names
   (``mpiexec.hydra``/``mpiexec.mpich``, ``mpiexec.openmpi``).

Candidates 2-5 are kept only when ``mpiexec --version`` names the family of
``MPI.Get_library_version()`` (MPICH and its derivatives, or Open MPI). The
library is read in a child process with ``mpi4py.rc.initialize = False``, so
the caller's own MPI state is never touched. :func:`launcher` returns the
choice with the library and how it was found (:meth:`Launcher.describe`),
for the scoreboard, the speed scripts and the tests to print.

:func:`launcher_for` does the same for a compiled MPI program (HPCC, IOR,
mdtest): the library is the one it links (``ldd``), its version read by
loading it in a child, and ``$HPCPLAN_MPIEXEC`` does not apply (it names
mpi4py's launcher). ``Launcher.command`` and ``Launcher.env`` add what the
family needs (Open MPI: ``--oversubscribe``, and its consent variables as root).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The environment variable that names the launcher outright.
ENV = "HPCPLAN_MPIEXEC"

#: Run in a child: which MPI library mpi4py loads, without initialising MPI.
_PROBE = r"""
import json, os, sys
out = {"library": "", "libmpi": "", "mpicc": "", "error": ""}
try:
    import mpi4py
    mpi4py.rc.initialize = False
    mpi4py.rc.finalize = False
    out["mpicc"] = str(mpi4py.get_config().get("mpicc", ""))
    from mpi4py import MPI
    out["library"] = MPI.Get_library_version().strip()
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "/libmpi" in line}
        names = sorted(p for p in paths if os.path.basename(p).startswith("libmpi.so"))
        names = names or sorted(p for p in paths if ".so" in os.path.basename(p)
                                and "mpifh" not in p and "cxx" not in p)
        out["libmpi"] = names[0] if names else ""
    except OSError:
        pass
except Exception as exc:  # mpi4py missing or its MPI library not loadable
    out["error"] = f"{exc.__class__.__name__}: {exc}"
sys.stdout.write(json.dumps(out))
"""


class LauncherError(RuntimeError):
    """No launcher that matches the MPI library could be found."""


@dataclass(frozen=True)
class Launcher:
    """The chosen ``mpiexec`` and the MPI library it was matched to.

    ``path`` is None when nothing fits (``reason`` says why); ``family`` is
    the launcher's own family (``mpich``, ``openmpi`` or ``unknown``);
    ``source`` says how it was found; ``note`` carries a warning (an
    override whose family differs from the library's).
    """

    path: str | None
    family: str
    library: str
    library_family: str
    libmpi: str = ""
    source: str = ""
    reason: str = ""
    note: str = ""

    def command(self, ranks: int, *argv: str) -> list[str]:
        """``mpiexec -n RANKS ARGV...``; Open MPI also gets --oversubscribe (its slots are
        physical cores as hwloc sees them, which a VM's vCPUs need not be)."""
        if self.path is None:
            raise LauncherError(self.reason)
        extra = ["--oversubscribe"] if self.family == "openmpi" else []
        return [self.path, "-n", str(ranks), *extra, *argv]

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment to run it in: Open MPI as root needs its two consent variables."""
        env = dict(os.environ if base is None else base)
        if self.family == "openmpi" and os.geteuid() == 0:
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        return env

    def short(self) -> str:
        """``PATH (library)``, or why there is none."""
        return f"{self.path} ({self.library})" if self.path else f"none: {self.reason}"

    def describe(self) -> str:
        """One line: which mpiexec, found how, for which MPI library."""
        lib = self.library or "an MPI library that could not be named"
        where = f" ({self.libmpi})" if self.libmpi else ""
        if self.path is None:
            return f"no mpiexec for {lib}{where}: {self.reason}"
        note = f"; {self.note}" if self.note else ""
        return f"mpiexec {self.path} ({self.source}) for {lib}{where}{note}"


def library_name(version: str) -> str:
    """A short name from ``MPI.Get_library_version()``: "MPICH 5.0.2", "Open MPI v4.1.4"."""
    first = version.strip().splitlines()[0] if version.strip() else ""
    return " ".join(first.replace(" Version:", " ").split(",")[0].split())


def family_of(text: str) -> str:
    """``mpich``, ``openmpi`` or ``unknown`` from a library or ``mpiexec --version`` text."""
    low = text.lower()
    if "open mpi" in low or "openrte" in low or "open-mpi" in low or "prrte" in low:
        return "openmpi"
    if any(w in low for w in ("mpich", "hydra", "intel(r) mpi", "mvapich")):
        return "mpich"
    return "unknown"


@functools.cache
def _version_family(path: str) -> str:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True,
                              timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return family_of(done.stdout + done.stderr)


def _probe(python: str) -> dict[str, str]:
    try:
        done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True,
                              timeout=60, check=False, stdin=subprocess.DEVNULL)
        return dict(json.loads(done.stdout))
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return {"library": "", "libmpi": "", "mpicc": "", "error": str(exc)}


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _names(family: str) -> tuple[str, ...]:
    own = {"mpich": ("mpiexec.hydra", "mpiexec.mpich"),
           "openmpi": ("mpiexec.openmpi", "mpirun.openmpi")}.get(family, ())
    return ("mpiexec", *own)


def _candidates(info: Mapping[str, str], family: str, path_env: str, who: str
                ) -> list[tuple[str, str]]:
    """(path, how found) in order of preference, each once."""
    found: list[tuple[str, str]] = []
    dirs: list[tuple[Path, str]] = []
    if info.get("libmpi"):
        lib_dir = Path(info["libmpi"]).resolve().parent
        for up in (lib_dir, *list(lib_dir.parents)[:2]):
            dirs.append((up / "bin", f"beside {who}'s MPI library"))
    if info.get("mpicc"):
        dirs.append((Path(info["mpicc"]).parent, "beside mpi4py's mpicc"))
    dirs.append((Path(sys.executable).parent, "beside this Python"))
    dirs.extend((Path(p), "on PATH") for p in path_env.split(os.pathsep) if p)
    for directory, how in dirs:
        for name in _names(family):
            exe = directory / name
            if _executable(exe) and str(exe) not in (p for p, _ in found):
                found.append((str(exe), how))
    return found


def _choose(info: Mapping[str, str], path_env: str, who: str, override: str = "",
            hint: str = "") -> Launcher:
    """The launcher for the library described by ``info`` (from a probe)."""
    version = info.get("library", "")
    library, lib_family = library_name(version), family_of(version)
    libmpi = info.get("libmpi", "")
    if not version:
        library = f"an MPI library {who} could not name ({info.get('error') or 'no answer'})"
    if override:
        exe = shutil.which(override, path=path_env) if os.sep not in override else override
        if exe is None or not _executable(Path(exe)):
            return Launcher(None, "unknown", library, lib_family, libmpi,
                            reason=f"${ENV} ({override}) is not an executable file")
        fam = _version_family(exe)
        note = (f"its family ({fam}) differs from the library's ({lib_family})"
                if lib_family != "unknown" and fam not in (lib_family, "unknown") else "")
        return Launcher(exe, fam, library, lib_family, libmpi, source=f"from ${ENV}", note=note)
    candidates = _candidates(info, lib_family, path_env, who)
    for exe, how in candidates:
        fam = _version_family(exe)
        if lib_family == "unknown" or fam == lib_family:
            return Launcher(exe, fam, library, lib_family, libmpi, source=how)
    seen = ", ".join(f"{p} ({_version_family(p)})" for p, _ in candidates) or "none"
    todo = "pip install mpich" if lib_family in ("mpich", "unknown") else \
        f"install the {lib_family} launcher"
    return Launcher(None, "unknown", library, lib_family, libmpi,
                    reason=f"none matches its family (found: {seen}); {hint}{todo}")


@functools.cache
def _find(override: str, path_env: str, python: str, mpi4py_env: tuple[str, ...]) -> Launcher:
    return _choose(_probe(python), path_env, "mpi4py", override, hint=f"set ${ENV} or ")


def launcher() -> Launcher:
    """The launcher for mpi4py's MPI here (cached per ``$HPCPLAN_MPIEXEC``, PATH and the
    ``MPI4PY_*`` variables that choose mpi4py's library)."""
    mpi4py_env = tuple(f"{k}={v}" for k, v in sorted(os.environ.items())
                       if k.startswith("MPI4PY_"))
    return _find(os.environ.get(ENV, "").strip(), os.environ.get("PATH", os.defpath),
                 sys.executable, mpi4py_env)


#: Run in a child: the version string of an MPI library file (callable before MPI_Init).
_PROBE_LIB = r"""
import ctypes, json, sys
out = {"library": "", "libmpi": sys.argv[1], "mpicc": "", "error": ""}
try:
    lib = ctypes.CDLL(sys.argv[1])
    buf, n = ctypes.create_string_buffer(8192), ctypes.c_int(0)
    lib.MPI_Get_library_version(buf, ctypes.byref(n))
    out["library"] = buf.value.decode(errors="replace")
except Exception as exc:
    out["error"] = f"{exc.__class__.__name__}: {exc}"
sys.stdout.write(json.dumps(out))
"""


def linked_libmpi(program: str) -> str:
    """The MPI library a dynamically linked program loads (``ldd``), or ""."""
    try:
        done = subprocess.run(["ldd", program], capture_output=True, text=True, timeout=30,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    for line in done.stdout.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if name.startswith("libmpi.so") and rest.startswith("/"):
            return rest.split(" (")[0]
    return ""


@functools.cache
def _find_for(program: str, path_env: str) -> Launcher:
    libmpi = linked_libmpi(program)
    if not libmpi:
        return Launcher(None, "unknown", f"{program}'s MPI library", "unknown",
                        reason=f"{program} links no MPI library that ldd can see")
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE_LIB, libmpi], capture_output=True,
                              text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
        info = dict(json.loads(done.stdout))
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        info = {"library": "", "libmpi": libmpi, "error": str(exc)}
    if not info.get("library"):
        return Launcher(None, "unknown", f"{program}'s MPI library", "unknown", libmpi,
                        reason=f"cannot read the version of {libmpi}: {info.get('error')}")
    return _choose(info, path_env, Path(program).name)


def launcher_for(program: str) -> Launcher:
    """The launcher for a compiled MPI program (HPCC): the ``mpiexec`` of the MPI library
    it links, found as for mpi4py's (``$HPCPLAN_MPIEXEC`` does not apply: it names mpi4py's)."""
    return _find_for(program, os.environ.get("PATH", os.defpath))
