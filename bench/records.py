"""The result record: one immutable, validated measurement.

The format is versioned (``SCHEMA_VERSION``); ``results/README.md`` holds the
version history and ``from_dict`` upgrades older records so they still load.
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

#: The unit vocabulary of DESIGN.md. A record with any other unit is refused.
UNITS = frozenset(
    {"GFLOP/s", "GB/s", "MiB/s", "ops/s", "us", "s", "ratio", "PF", "PB", "PiB", "MW", "IOPS",
     "score"}
)
DIRECTIONS = frozenset({"higher", "lower"})
#: ok: validated figure; failed: validation failed (never shown as a result);
#: aborted: interrupted (signal, time limit); unavailable: cannot run here.
STATUSES = frozenset({"ok", "failed", "aborted", "unavailable"})

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+\.[a-z0-9_]+(?:\.[a-z0-9_]+)*$")

#: Fields that must match for two records to be compared.
COMPARABLE_FIELDS = ("name", "unit", "params", "machine.cpu_model", "ranks", "nodes")


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
        if not self.timestamp:
            object.__setattr__(self, "timestamp", utc_now())
        if not self.run_id:
            object.__setattr__(self, "run_id", uuid.uuid4().hex[:12])
        object.__setattr__(self, "samples", tuple(float(s) for s in self.samples))
        if self.samples and not self.stats:
            object.__setattr__(self, "stats", summarize(self.samples))
        self._validate()

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
        elif self.status == "failed" and self.value is not None:
            raise RecordError(f"record {self.name}: a failed record must not carry a value")
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

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["samples"] = list(self.samples)
        return d

    def replace(self, **changes: Any) -> Record:
        return dataclasses.replace(self, **changes)


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


def from_dict(data: Mapping[str, Any]) -> Record:
    d = upgrade(data)
    unknown = set(d) - _FIELDS
    if unknown:
        raise RecordError(f"record has unknown fields: {', '.join(sorted(unknown))}")
    missing = {"name", "value", "unit"} - set(d)
    if missing:
        raise RecordError(f"record lacks fields: {', '.join(sorted(missing))}")
    d["samples"] = tuple(d.get("samples", ()))
    try:
        return Record(**d)
    except TypeError as exc:
        raise RecordError(f"record is malformed: {exc}") from None


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
