"""The benchmark registry: one declaration per benchmark, everything else derived from it.

After ReFrame's ``register_scheduler``/``register_launcher`` (reframe/core/backends.py):
a benchmark is a function ``fn(ctx) -> list[Record]`` in a ``bench/suite_*.py``
module, decorated with ``@benchmark(...)`` that declares what the rest of the tool
needs to know about it: the suites it belongs to, the record names it writes, a
description, its kernel version, its typed ``--param`` keys, which params are
outcomes rather than inputs, which catalogue figures its records calibrate and its
CI-tier cases. Everything that used to be a hand-kept list reads the registry:

- the suites and ``hpcplan run --help`` (``suites``, ``describe``),
- ``--param`` checking (``bench.params``: kind, unit, range, did-you-mean),
- compare's comparability rule (``outcome_params`` in ``bench.compare``),
- the CI tier (``bench/ci/test_kernels_ci.py`` generates one test per ``CICase``),
- calibration (``calibrations`` in ``models.calibration``).

So adding a benchmark is: the kernel module, one registration, its tests.

Discovery: every ``bench/suite_*.py`` module is imported on first use (they import
their kernels inside functions, so ``hpcplan --help`` stays fast), then the modules
named in ``$HPCPLAN_BENCHMARKS`` (comma-separated), for a site's own benchmarks.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kernels.errors import UserError

#: Extra modules to import for their registrations (a site's own benchmarks).
PLUGINS_ENV = "HPCPLAN_BENCHMARKS"
#: The kinds a ``--param`` value can have (parsed by ``bench.params``).
KINDS = ("int", "float", "size", "bool", "ints", "reorder", "word", "text")


@dataclass(frozen=True)
class Param:
    """One ``--param`` key: parsed by its kind, refused outside its range."""

    key: str
    kind: str
    help: str = ""
    unit: str = ""
    default: Any = None  # None: chosen at run time (the help says how)
    minimum: float | None = None  # inclusive
    maximum: float | None = None  # inclusive
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"param {self.key}: kind {self.kind!r} is not one of {KINDS}")

    def describe(self) -> str:
        """One line for help texts: key, kind or choices, unit, range, default."""
        what = "|".join(self.choices) if self.choices else self.kind
        bits = [f"{self.key}=<{what}>"]
        if self.unit:
            bits.append(self.unit)
        if self.minimum is not None or self.maximum is not None:
            lo = "" if self.minimum is None else _number(self.minimum)
            hi = "" if self.maximum is None else _number(self.maximum)
            bits.append(f"[{lo}..{hi}]")
        if self.default is not None:
            bits.append(f"default {self.default}")
        return " ".join(bits) + (f": {self.help}" if self.help else "")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


#: Read by every benchmark that repeats a timed kernel (``--repeats`` sets it too).
REPEATS = Param("repeats", "int", "timed repetitions per benchmark", minimum=2,
                maximum=1_000_000)
#: Params every suite accepts.
COMMON_PARAMS = (REPEATS,)
#: Outcome params the runner adds to every benchmark's records (measured energy).
COMMON_OUTCOMES = ("energy",)


@dataclass(frozen=True)
class Calibrates:
    """A record that replaces a catalogue figure of the measured node type."""

    attribute: str  # the catalogue attribute (models.catalogue)
    unit: str  # the unit the record must carry
    peak_column: str = ""  # the record's theoretical-peak column, "" for an absolute figure


@dataclass(frozen=True)
class CIRun:
    """What a CI case's set-up hands the CI tier: one timed round and its context.

    ``once`` returns (figure by record name, validation passed, a sentence).
    """

    once: Callable[[], tuple[dict[str, float], bool, str]]
    rounds: int
    unit: str
    params: Mapping[str, Any]
    cleanup: Callable[[], None] | None = None


@dataclass(frozen=True)
class CIEnv:
    """What the CI tier provides to a case's set-up."""

    threads: int  # one: the tier tracks the code, not the machine (bench/ci/conftest.py)
    machine: Any  # bench.sysinfo.Machine
    scratch: Any  # pathlib.Path the case may create marked run directories in


@dataclass(frozen=True)
class CICase:
    """A small, fixed-size run of the kernel for the CI tier (pytest-benchmark).

    ``test`` names the pytest function (``test_<test>``) and ``ids`` its
    parametrisation: the committed baselines key on these names, so keep them.
    ``setup(env, case_id)`` builds the kernel's input and returns a ``CIRun``;
    ``skip`` says why a case cannot run in a one-process tier.
    """

    test: str
    setup: Callable[[CIEnv, str], CIRun] | None = None
    ids: tuple[str, ...] = ()
    skip: str = ""


@dataclass(frozen=True)
class Benchmark:
    """One registered benchmark; calling it runs it and stamps its kernel version."""

    name: str
    function: Callable[[Any], list[Any]]
    suites: tuple[str, ...]
    records: tuple[str, ...]  # record names it writes (fnmatch patterns allowed)
    description: str
    kernel_version: str | Mapping[str, str]  # one version, or per record-name pattern
    params: tuple[Param, ...] = ()
    outcomes: tuple[str, ...] = ()
    calibrates: Mapping[str, Calibrates] = field(default_factory=dict)
    ci: tuple[CICase, ...] = ()
    order: int = 100  # position within its suites (lower runs first)

    def __call__(self, ctx: Any) -> list[Any]:
        return [self.stamp(rec) for rec in self.function(ctx)]

    def version_of(self, record_name: str) -> str:
        if isinstance(self.kernel_version, str):
            return self.kernel_version
        for pattern, version in self.kernel_version.items():
            if fnmatch.fnmatchcase(record_name, pattern):
                return version
        raise LookupError(f"benchmark {self.name}: no kernel version for {record_name}")

    def declares(self, record_name: str) -> bool:
        return any(fnmatch.fnmatchcase(record_name, p) for p in self.records)

    def stamp(self, rec: Any) -> Any:
        """The record with the declared kernel version; an undeclared name is a bug here."""
        if not self.declares(rec.name):
            raise RuntimeError(f"benchmark {self.name} wrote record {rec.name!r}, which its "
                               f"registration does not declare ({', '.join(self.records)})")
        version = self.version_of(rec.name)
        return rec if rec.kernel_version == version else replace(rec, kernel_version=version)


_REGISTRY: dict[str, Benchmark] = {}
_SUITE_TEXT: dict[str, str] = {}
_SUITE_ORDER: dict[str, int] = {}
_loaded: set[str] = set()


def benchmark(*, suites: Iterable[str], records: Iterable[str], description: str,
              kernel_version: str | Mapping[str, str], name: str = "",
              params: Iterable[Param] = (), outcomes: Iterable[str] = (),
              calibrates: Mapping[str, Calibrates] | None = None,
              ci: Iterable[CICase] = (), order: int = 100
              ) -> Callable[[Callable[[Any], list[Any]]], Callable[[Any], list[Any]]]:
    """Register the decorated ``fn(ctx) -> list[Record]``; the function itself is unchanged."""

    def register(fn: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
        spec = Benchmark(name=name or fn.__name__, function=fn, suites=tuple(suites),
                         records=tuple(records), description=description,
                         kernel_version=kernel_version, params=tuple(params),
                         outcomes=tuple(outcomes), calibrates=dict(calibrates or {}),
                         ci=tuple(ci), order=order)
        _check(spec)
        _REGISTRY[spec.name] = spec
        return fn

    return register


def suite(name: str, description: str, *, order: int = 100) -> None:
    """Describe a suite (its benchmarks name it); order places it in listings."""
    _SUITE_TEXT[name] = description
    _SUITE_ORDER[name] = order


def _check(spec: Benchmark) -> None:
    """A registration that contradicts itself or another is a programming error."""
    old = _REGISTRY.get(spec.name)
    if old is not None and _origin(old.function) != _origin(spec.function):
        raise ValueError(f"benchmark {spec.name!r} is registered twice "
                         f"({_origin(old.function)} and {_origin(spec.function)})")
    if not spec.suites or not spec.records:
        raise ValueError(f"benchmark {spec.name!r} must name its suites and records")
    if not isinstance(spec.kernel_version, str):
        for rec in spec.records:
            if not any(fnmatch.fnmatchcase(rec, p) for p in spec.kernel_version):
                raise ValueError(f"benchmark {spec.name!r}: no kernel version for {rec}")
    for rec in spec.calibrates:
        if not spec.declares(rec):
            raise ValueError(f"benchmark {spec.name!r} calibrates {rec}, which it never writes")
    known = {p.key: p for b in _REGISTRY.values() if b.name != spec.name for p in b.params}
    known.update({p.key: p for p in COMMON_PARAMS})
    for p in spec.params:
        if p.key in known and known[p.key] != p:
            raise ValueError(f"benchmark {spec.name!r} declares --param {p.key} unlike "
                             f"another registration; share one Param object")


def _origin(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def load() -> None:
    """Import every bench/suite_*.py module and the ``$HPCPLAN_BENCHMARKS`` ones, once."""
    import bench

    wanted = ["bench.suites"] + [f"bench.{m.name}" for m in pkgutil.iter_modules(bench.__path__)
              if m.name.startswith("suite_")]
    plugins = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    for module in [*wanted, *plugins]:
        if module in _loaded:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            if module in plugins:
                raise UserError(f"${PLUGINS_ENV} names {module!r}, which cannot be imported "
                                f"({exc})") from None
            raise
        _loaded.add(module)


def benchmarks() -> list[Benchmark]:
    """Every registered benchmark, in run order."""
    load()
    return sorted(_REGISTRY.values(), key=lambda b: b.order)


def suites() -> dict[str, tuple[Benchmark, ...]]:
    """Suite name -> its benchmarks in run order; suites in listing order."""
    out: dict[str, list[Benchmark]] = {}
    for b in benchmarks():
        for s in b.suites:
            out.setdefault(s, []).append(b)
    names = sorted(out, key=lambda s: (_SUITE_ORDER.get(s, 100), s))
    return {s: tuple(out[s]) for s in names}


def names() -> list[str]:
    return list(suites())


def describe(suite_name: str) -> str:
    """The suite's declared description, else its benchmarks' descriptions."""
    if suite_name in _SUITE_TEXT:
        return _SUITE_TEXT[suite_name]
    return "; ".join(b.description for b in suites().get(suite_name, ()))


def resolve(suite_name: str) -> list[Benchmark]:
    """The benchmarks of a suite, or a UserError naming the known suites."""
    known = suites()
    if suite_name not in known:
        raise UserError(f"unknown suite {suite_name!r}; known suites: {', '.join(known)}")
    return list(known[suite_name])


def params(suite_name: str | None = None) -> dict[str, Param]:
    """The ``--param`` keys a suite reads (every suite's when None), by key."""
    chosen = resolve(suite_name) if suite_name is not None else benchmarks()
    out = {p.key: p for p in COMMON_PARAMS}
    for b in chosen:
        out.update({p.key: p for p in b.params})
    return out


def outcome_params() -> frozenset[str]:
    """Params that record what a run measured or chose, not what was asked for."""
    return frozenset(COMMON_OUTCOMES).union(o for b in benchmarks() for o in b.outcomes)


def calibrations() -> dict[str, Calibrates]:
    """Record name -> the catalogue figure it calibrates."""
    return {rec: c for b in benchmarks() for rec, c in b.calibrates.items()}


def ci_cases() -> list[tuple[Benchmark, CICase]]:
    """Every CI-tier case, in run order."""
    return [(b, c) for b in benchmarks() for c in b.ci]
