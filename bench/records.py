"""The result record: one immutable, validated measurement.

The format is versioned (``SCHEMA_VERSION``); ``results/README.md`` holds the
version history and ``from_dict`` upgrades older records so they still load.

A record is typed when it is built: every field has its type, every number is
finite, the nested blocks are plain JSON (string keys, no NaN, bounded depth)
and the nested fields that readers use (CPU model, peaks, job id, precision)
have theirs. So a record that exists can always be stored and read back, and
a damaged file in the store costs only its own bad records, each refused with
a ``RecordError`` naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kernels.errors import UserError

SCHEMA_VERSION = 1

#: The unit vocabulary of docs/DESIGN.md. A record with any other unit is refused.
UNITS = frozenset(
    {"GFLOP/s", "GB/s", "MiB/s", "ops/s", "us", "s", "ratio", "PF", "PB", "PiB", "MW", "IOPS",
     "score"}
)
DIRECTIONS = frozenset({"higher", "lower"})
#: The arithmetic precisions a compute record may be measured in, widest first.
PRECISIONS = ("fp64", "fp32", "fp16", "bf16")
#: ok: validated figure; failed: validation failed (never shown as a result);
#: aborted: interrupted (signal, time limit); unavailable: cannot run here.
#: ``suspect``: measured and validated, but beyond a physical bound (bench/bounds.py):
#: the value is kept and shown, never used as if it were ok.
STATUSES = frozenset({"ok", "failed", "aborted", "unavailable", "suspect"})

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+\.[a-z0-9_]+(?:\.[a-z0-9_]+)*$")

#: Fields that must match for two records to be compared.
COMPARABLE_FIELDS = ("name", "unit", "params", "machine.cpu_model", "ranks", "nodes")

TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")
#: How deep and how big a nested block (params, machine, ...) may be.
MAX_DEPTH = 16
MAX_ITEMS = 100_000


class RecordError(UserError, ValueError):
    """A record that breaks the schema; the message names the field."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Statistics every record carries; stdev is 0 for a single sample."""
    if not samples:
        return {}
    xs = [float(x) for x in samples]
    return {
        "min": min(xs),
        "median": statistics.median(xs),
        "max": max(xs),
        "mean": statistics.fmean(xs),
        "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0,
        "count": float(len(xs)),
    }


@dataclass(frozen=True)
class Record:
    """One measurement, immutable once built.

    ``value`` is the headline figure in ``unit``; ``samples`` are every timed
    repetition expressed in the same unit (the headline may be their best or
    median, as the kernel's rules say, recorded in ``params['statistic']``).
    """

    name: str
    value: float | None
    unit: str
    direction: str = "higher"
    samples: tuple[float, ...] = ()
    stats: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    status: str = "ok"
    validation: Mapping[str, Any] = field(default_factory=dict)
    kernel_version: str = "0"
    compile_s: float | None = None
    machine: Mapping[str, Any] = field(default_factory=dict)
    software: Mapping[str, Any] = field(default_factory=dict)
    ranks: int = 1
    nodes: int = 1
    per_rank: Mapping[str, float] = field(default_factory=dict)
    job: Mapping[str, Any] = field(default_factory=dict)
    node_type: str = ""
    run_id: str = ""
    timestamp: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise RecordError(f"record name must be a string, not {_tname(self.name)}")
        if self.timestamp == "":
            object.__setattr__(self, "timestamp", utc_now())
        if self.run_id == "":
            object.__setattr__(self, "run_id", uuid.uuid4().hex[:12])
        if not isinstance(self.samples, (list, tuple)) or not all(
                _real(s) for s in self.samples):
            raise RecordError(f"record {self.name}: samples must be a list of numbers")
        object.__setattr__(self, "samples", tuple(float(s) for s in self.samples))
        if self.samples and not self.stats:
            object.__setattr__(self, "stats", summarize(self.samples))
        self._check_types()
        self._validate()

    def _check_types(self) -> None:
        """Every field's type, every number finite, nested blocks plain JSON."""
        name = self.name

        def fail(field: str, what: str) -> RecordError:
            return RecordError(f"record {name}: {field} {what}")

        if not _int(self.schema_version):
            raise fail("schema_version", "must be an integer")
        for key in ("unit", "direction", "status", "kernel_version", "node_type", "run_id",
                    "timestamp"):
            value = getattr(self, key)
            if not isinstance(value, str):
                raise fail(key, f"must be a string, not {_tname(value)}")
        if not TIMESTAMP_RE.fullmatch(self.timestamp):
            raise fail("timestamp", f"{self.timestamp[:40]!r} is not a UTC time such as "
                       "2026-01-31T12:00:00Z")
        if self.value is not None and (isinstance(self.value, bool)
                                       or not isinstance(self.value, (int, float))):
            raise fail("value", f"must be a number or null, not {_tname(self.value)}")
        if self.compile_s is not None and not (_real(self.compile_s) and self.compile_s >= 0):
            raise fail("compile_s", "must be a finite number of seconds or null")
        for key in ("ranks", "nodes"):
            if not _int(getattr(self, key)):
                raise fail(key, "must be an integer")
        for key in ("stats", "per_rank"):
            block = getattr(self, key)
            if not isinstance(block, Mapping) or not all(
                    isinstance(k, str) and _real(v) for k, v in block.items()):
                raise fail(key, "must map names to finite numbers")
        for key in ("params", "validation", "machine", "software", "job"):
            block = getattr(self, key)
            if not isinstance(block, Mapping):
                raise fail(key, f"must be an object, not {_tname(block)}")
            problem = json_problem(block, key)
            if problem:
                raise fail(problem[0], problem[1])
        for dotted, want, text in _NESTED:
            head, _, key = dotted.partition(".")
            value = getattr(self, head).get(key)
            if value is not None and not want(value):
                raise fail(dotted, text)

    def _validate(self) -> None:
        if not NAME_RE.match(self.name):
            raise RecordError(f"record name {self.name!r} is not '<area>.<kernel>.<variant>'")
        if self.unit not in UNITS:
            raise RecordError(f"record {self.name}: unit {self.unit!r} is not one of "
                              f"{sorted(UNITS)}")
        if self.direction not in DIRECTIONS:
            raise RecordError(f"record {self.name}: direction must be 'higher' or 'lower'")
        if self.status not in STATUSES:
            raise RecordError(f"record {self.name}: status {self.status!r} is not one of "
                              f"{sorted(STATUSES)}")
        if self.status == "ok":
            if self.value is None or not math.isfinite(self.value):
                raise RecordError(f"record {self.name}: an ok record needs a finite value")
            if not self.validation.get("passed", False):
                raise RecordError(f"record {self.name}: status ok without a passed validation")
        elif self.status == "suspect" and (self.value is None or not self.validation.get(
                "suspect")):
            raise RecordError(f"record {self.name}: a suspect record needs its value and the "
                              "reasons in validation.suspect")
        elif self.status == "failed" and self.value is not None:
            raise RecordError(f"record {self.name}: a failed record must not carry a value")
        if self.value is not None and not math.isfinite(self.value):
            raise RecordError(f"record {self.name}: value must be a finite number or null")
        if any(not math.isfinite(s) for s in self.samples):
            raise RecordError(f"record {self.name}: samples must be finite numbers")
        if self.ranks < 1 or self.nodes < 1:
            raise RecordError(f"record {self.name}: ranks and nodes must be at least 1")
        if self.schema_version != SCHEMA_VERSION:
            raise RecordError(f"record {self.name}: schema version {self.schema_version} is not "
                              f"{SCHEMA_VERSION}")

    @property
    def area(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def precision(self) -> str | None:
        """The precision a compute figure was measured in: the name's last part
        (compute.peak.fp32), else ``params['precision']``; None for other records."""
        variant = self.name.rsplit(".", 1)[-1]
        if variant in PRECISIONS:
            return variant
        given = self.params.get("precision")
        return given if given in PRECISIONS else None

    @property
    def node_watts(self) -> float | None:
        """Average RAPL power per node in W while the kernel ran (``params['energy']['watts']``
        sums the nodes the record ran on); None where nothing was measured.

        RAPL counts CPU packages and DRAM only: models/power.py turns this into a whole node.
        """
        energy = self.params.get("energy")
        watts = energy.get("watts") if isinstance(energy, Mapping) else None
        if not _real(watts) or watts <= 0:
            return None
        return float(watts) / self.nodes

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["samples"] = list(self.samples)
        return d

    def replace(self, **changes: Any) -> Record:
        return dataclasses.replace(self, **changes)


def _real(v: Any) -> bool:
    """A finite int or float (never a bool, a string or NaN)."""
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _tname(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(v),
                                                                         type(v).__name__)


def json_problem(value: Any, where: str) -> tuple[str, str] | None:
    """(field, what is wrong) when ``value`` is not plain JSON with finite numbers, else None.

    Iterative, with a depth and size bound, so a hostile file cannot exhaust the stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    seen = 0
    while stack:
        v, path, depth = stack.pop()
        seen += 1
        if seen > MAX_ITEMS:
            return where, f"holds more than {MAX_ITEMS} values"
        if v is None or isinstance(v, (bool, str)):
            continue
        if isinstance(v, (int, float)):
            if not math.isfinite(v):
                return path, "holds NaN or an infinite number, which JSON cannot store"
            continue
        if depth >= MAX_DEPTH:
            return path, f"nests deeper than {MAX_DEPTH} levels"
        if isinstance(v, Mapping):
            for k, item in v.items():
                if not isinstance(k, str):
                    return path, f"has a key {k!r} that is not a string"
                stack.append((item, f"{path}.{k}", depth + 1))
        elif isinstance(v, (list, tuple)):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(v))
        else:
            return path, f"holds a {type(v).__name__}, which JSON cannot store"
    return None


#: Nested fields the readers use, with the type they need (absent or null is fine).
_NESTED: tuple[tuple[str, Any, str], ...] = (
    ("machine.cpu_model", lambda v: isinstance(v, str), "must be a string"),
    ("machine.hostname", lambda v: isinstance(v, str), "must be a string"),
    ("machine.cores", lambda v: _int(v) and v >= 0, "must be a whole number"),
    ("machine.peak_gflops", lambda v: isinstance(v, Mapping) and all(
        x is None or _real(x) for x in v.values()), "must map precisions to numbers"),
    ("job.job_id", lambda v: isinstance(v, str) or _int(v), "must be a string"),
    ("job.node_list", lambda v: isinstance(v, str), "must be a string"),
    ("job.state", lambda v: isinstance(v, str), "must be a string"),
    ("job.study_id", lambda v: isinstance(v, str), "must be a string"),
    ("software.hpcplan_commit", lambda v: isinstance(v, str), "must be a string"),
    ("params.precision", lambda v: isinstance(v, str), "must be a string"),
    ("params.theoretical_peak_gflops", _real, "must be a finite number"),
    ("params.statistic", lambda v: isinstance(v, str), "must be a string"),
    ("validation.passed", lambda v: isinstance(v, bool), "must be true or false"),
)


_FIELDS = {f.name for f in dataclasses.fields(Record)}


def upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """Bring an older record dict to the current schema (see results/README.md)."""
    d = dict(data)
    version = d.get("schema_version")
    if not isinstance(version, int):
        raise RecordError("record has no integer schema_version")
    if version > SCHEMA_VERSION:
        raise RecordError(f"record schema version {version} is newer than this hpcplan "
                          f"({SCHEMA_VERSION}); upgrade hpcplan")
    # Version 1 is the first; later versions add their steps here.
    return d


def from_dict(data: Any) -> Record:
    """A record from its JSON form; a RecordError naming the field for anything malformed."""
    if not isinstance(data, Mapping):
        raise RecordError(f"record is {_tname(data)}, not an object")
    d = upgrade(data)
    unknown = set(d) - _FIELDS
    if unknown:
        raise RecordError(f"record has unknown fields: {', '.join(sorted(unknown))}")
    missing = {"name", "value", "unit"} - set(d)
    if missing:
        raise RecordError(f"record lacks fields: {', '.join(sorted(missing))}")
    if not isinstance(d.get("samples", ()), list):
        raise RecordError(f"record {d.get('name')!r}: samples must be a list of numbers")
    d["samples"] = tuple(d.get("samples", ()))
    try:
        return Record(**d)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"record {d.get('name')!r} is malformed: {exc}") from None


def _get(rec: Record, dotted: str) -> Any:
    head, _, rest = dotted.partition(".")
    value: Any = getattr(rec, head)
    if rest:
        value = value.get(rest) if isinstance(value, Mapping) else None
    return value


def comparable(a: Record, b: Record) -> tuple[bool, str]:
    """Whether two records measure the same thing; the reason when they do not."""
    for key in COMPARABLE_FIELDS:
        va, vb = _get(a, key), _get(b, key)
        if va != vb:
            return False, f"{key} differs ({va!r} vs {vb!r})"
    return True, ""
