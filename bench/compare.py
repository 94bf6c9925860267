"""Is B faster or slower than A? Medians, a bootstrap confidence interval, a verdict.

A shared CI machine is noisy, so a difference counts only when it is
significant: both sides need ``min_samples`` samples, the change in median
gets a percentile-bootstrap confidence interval (independent resampling of
each side, fixed seed, so the same inputs give the same verdict), and the
verdict is "slower" or "faster" only when the whole interval lies on one side
of no change. The gate goes further: it fails only when even the favourable
end of the interval is slower than the allowed slowdown.

Slowdowns are expressed as time factors whatever the unit: a rate that falls
from 100 to 77 GB/s is a 1.30x slowdown, like a time that grows from 1.0 to
1.3 s, so one threshold serves times and rates.

Inputs are results files or directories, run ids in the results store, or
pytest-benchmark JSON (``bench.baselines`` reads those). Records are checked
with ``bench.records.comparable``; a refusal names the field that differs.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import baselines
from bench.records import Record, comparable
from bench.store import FORMAT, Store, records_of
from kernels.errors import UserError
from kernels.files import path_arg, read_regular

#: Fewest samples per side for a verdict; fewer gives "insufficient samples".
MIN_SAMPLES = 5
CONFIDENCE = 0.95
RESAMPLES = 4000
SEED = 20240611
#: Load average per core above which a pytest-benchmark run is flagged as busy.
BUSY_LOAD_PER_CORE = 0.75

def outcome_params() -> frozenset[str]:
    """Params that record what a run measured or chose at run time rather than what was
    asked for (adaptive iteration counts, outcomes, host-specific warnings): each
    benchmark declares its own in its registration (``bench/registry.py``). They are
    left out when deciding whether two records are comparable."""
    from bench import registry

    return registry.outcome_params()


VERDICTS = ("faster", "slower", "no significant change", "insufficient samples", "refused")


@dataclass(frozen=True)
class Series:
    """One benchmark's samples on one side of a comparison.

    ``direction`` says which way is better (``lower`` for times); ``context``
    holds the fields that must match for a pytest-benchmark entry (records
    carry their own in ``record``); ``unusable`` says why there is no figure.
    """

    key: str
    samples: tuple[float, ...]
    unit: str
    direction: str
    label: str = ""
    record: Record | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    unusable: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


@dataclass(frozen=True)
class Side:
    """What one argument of ``compare`` named: its series by key, and where they came from."""

    label: str
    kind: str  # "records" or "pytest-benchmark"
    series: dict[str, Series]
    machine_key: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """B against A for one benchmark. ``slowdown`` is a time factor (>1: B is slower)."""

    key: str
    label: str
    unit: str
    direction: str
    verdict: str
    median_a: float | None = None
    median_b: float | None = None
    n_a: int = 0
    n_b: int = 0
    change: float | None = None  # median_b / median_a - 1, in the unit's own sense
    change_ci: tuple[float, float] | None = None
    slowdown: float | None = None
    slowdown_ci: tuple[float, float] | None = None
    reason: str = ""
    forced: bool = False

    @property
    def judged(self) -> bool:
        return self.slowdown_ci is not None


def parse_fraction(text: str, what: str = "--max-slowdown") -> float:
    """'10%' or '0.10' as the fraction 0.10; a bare number of 1 or more is refused as ambiguous."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(%?)\s*", str(text))
    if not m:
        raise UserError(f"{what} {text!r} is not a percentage such as 10% (or a fraction 0.10)")
    value = float(m.group(1))
    if m.group(2):
        return value / 100.0
    if value >= 1:
        raise UserError(f"{what} {text!r} is ambiguous: write {value:g}% for a percentage "
                        f"or a fraction below 1")
    return value


def bootstrap_ratio(a: Sequence[float], b: Sequence[float], *, confidence: float = CONFIDENCE,
                    resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float, float]:
    """median(b)/median(a) and its percentile-bootstrap interval (each side resampled)."""
    import numpy as np

    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    med_a = np.median(xa[rng.integers(0, xa.size, (resamples, xa.size))], axis=1)
    med_b = np.median(xb[rng.integers(0, xb.size, (resamples, xb.size))], axis=1)
    ratios = med_b / med_a
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(ratios, [tail, 1.0 - tail])
    return float(np.median(xb) / np.median(xa)), float(lo), float(hi)


def refusal(a: Series, b: Series) -> str:
    """Why A and B must not be compared ('' when they may)."""
    if a.record is not None and b.record is not None:
        ra, rb = _strip_outcomes(a.record), _strip_outcomes(b.record)
        ok, why = comparable(ra, rb)
        if not ok and why.startswith("params "):
            why = _param_difference(ra.params, rb.params)
        return why
    if (a.record is None) != (b.record is None):
        return "one side is a stored record, the other a pytest-benchmark timing"
    for key in sorted(set(a.context) | set(b.context)):
        va, vb = a.context.get(key), b.context.get(key)
        if va != vb:
            if key == "params" and isinstance(va, Mapping) and isinstance(vb, Mapping):
                return _param_difference(va, vb)
            return f"{key} differs ({va!r} vs {vb!r})"
    if a.unit != b.unit:
        return f"unit differs ({a.unit!r} vs {b.unit!r})"
    return ""


def _strip_outcomes(rec: Record) -> Record:
    outcomes = outcome_params()
    return rec.replace(params={k: v for k, v in rec.params.items() if k not in outcomes})


def _param_difference(pa: Mapping[str, Any], pb: Mapping[str, Any]) -> str:
    keys = sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k))
    shown = ", ".join(f"{k} ({pa.get(k)!r} vs {pb.get(k)!r})" for k in keys[:3])
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"params differ: {shown}{more}"


def compare_series(a: Series, b: Series, *, force: bool = False,
                   min_samples: int = MIN_SAMPLES, confidence: float = CONFIDENCE,
                   resamples: int = RESAMPLES, seed: int = SEED) -> Comparison:
    """The change from A to B with its interval and verdict, or the reason there is none."""
    base = {"key": a.key, "label": a.label or a.key, "unit": a.unit, "direction": a.direction,
            "median_a": a.median, "median_b": b.median, "n_a": len(a.samples),
            "n_b": len(b.samples)}
    for side, s in (("A", a), ("B", b)):
        if s.unusable:
            return Comparison(**base, verdict="refused", reason=f"{side}: {s.unusable}")
    why = refusal(a, b)
    if why and not force:
        return Comparison(**base, verdict="refused", reason=why)
    if a.direction != b.direction:
        return Comparison(**base, verdict="refused", reason="direction differs "
                          f"({a.direction!r} vs {b.direction!r})")
    if min(len(a.samples), len(b.samples)) < min_samples:
        return Comparison(**base, verdict="insufficient samples", forced=bool(why),
                          reason=f"{len(a.samples)} and {len(b.samples)} samples; a verdict "
                          f"needs at least {min_samples} on each side")
    if min(*a.samples, *b.samples) <= 0:
        return Comparison(**base, verdict="refused", reason="samples must be positive")
    ratio, lo, hi = bootstrap_ratio(a.samples, b.samples, confidence=confidence,
                                    resamples=resamples, seed=seed)
    if a.direction == "lower":
        slow, slow_ci = ratio, (lo, hi)
    else:
        slow, slow_ci = 1.0 / ratio, (1.0 / hi, 1.0 / lo)
    if slow_ci[0] > 1.0:
        verdict = "slower"
    elif slow_ci[1] < 1.0:
        verdict = "faster"
    else:
        verdict = "no significant change"
    return Comparison(**base, verdict=verdict, change=ratio - 1.0, change_ci=(lo - 1.0, hi - 1.0),
                      slowdown=slow, slowdown_ci=slow_ci, forced=bool(why),
                      reason=f"forced past: {why}" if why else "")


def compare_sides(a: Side, b: Side, *, force: bool = False, min_samples: int = MIN_SAMPLES,
                  confidence: float = CONFIDENCE, seed: int = SEED
                  ) -> tuple[list[Comparison], list[str]]:
    """Every benchmark both sides hold, compared; plus notes on those only one side holds."""
    notes = [*a.notes, *b.notes]
    if a.kind != b.kind and not force:
        raise UserError(f"{a.label} holds {a.kind} and {b.label} holds {b.kind}; they measure "
                        "different things and cannot be compared")
    out = [compare_series(a.series[k], b.series[k], force=force, min_samples=min_samples,
                          confidence=confidence, seed=seed)
           for k in a.series if k in b.series]
    only_a = [k for k in a.series if k not in b.series]
    only_b = [k for k in b.series if k not in a.series]
    if only_a:
        notes.append(f"only in {a.label}: {', '.join(only_a)}")
    if only_b:
        notes.append(f"only in {b.label}: {', '.join(only_b)}")
    return out, notes


@dataclass(frozen=True)
class GateResult:
    """The gate's decision: ``failures`` are significant slowdowns beyond the allowance."""

    max_slowdown: float
    failures: tuple[Comparison, ...]
    judged: tuple[Comparison, ...]
    not_judged: tuple[Comparison, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def gate(comparisons: Sequence[Comparison], max_slowdown: float) -> GateResult:
    """Fail a benchmark only when its slowdown interval lies wholly above 1 + max_slowdown."""
    if not 0 <= max_slowdown < 10:
        raise UserError(f"--max-slowdown {max_slowdown:.0%} must be between 0% and 1000%")
    judged = tuple(c for c in comparisons if c.judged)
    failures = tuple(c for c in judged
                     if c.slowdown_ci is not None and c.slowdown_ci[0] > 1.0 + max_slowdown)
    return GateResult(max_slowdown, failures, judged,
                      tuple(c for c in comparisons if not c.judged))


# --- reading the arguments of ``hpcplan compare`` -----------------------------

def load_side(spec: str, results_root: Path | None = None) -> Side:
    """A results file or directory, a pytest-benchmark JSON, or a run id in the store."""
    path = path_arg(spec, "a run to compare")
    if path.exists() and not path.is_dir():
        payload = _read_json(path)
        if isinstance(payload, dict) and payload.get("format") == FORMAT:
            return records_side(str(path), *_file_records(path, payload))
        if baselines.is_benchmark_json(payload):
            return benchmark_side(str(path), payload)
        raise UserError(f"{path} is neither an hpcplan results file nor a pytest-benchmark JSON")
    if path.is_dir():
        store = Store(path)
        return records_side(str(path), store.load(), store.problems)
    store = Store(results_root) if results_root else Store()
    if not store.root.is_dir():
        raise UserError(f"{spec!r} is not a file or directory, and there is no results store at "
                        f"{store.root} to look it up as a run id")
    records = store.load()
    runs = sorted({r.run_id for r in records if r.run_id.startswith(spec)})
    if len(runs) != 1:
        what = "matches no run" if not runs else f"matches {len(runs)} runs"
        raise UserError(f"{spec!r} is not a file or directory and as a run id it {what} in "
                        f"{store.root}; see 'hpcplan results list'")
    return records_side(f"run {runs[0]}", [r for r in records if r.run_id == runs[0]],
                         store.problems)


def _read_json(path: Path) -> Any:
    raw = read_regular(path, "file", baselines.MAX_BYTES)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise UserError(f"{path} is not valid JSON ({str(exc)[:80]})") from None


def _file_records(path: Path, payload: Mapping[str, Any]) -> tuple[list[Record], list[str]]:
    return records_of(path, payload)


def records_side(label: str, records: list[Record], problems: list[str]) -> Side:
    """Latest record per name; several runs of one name are noted, not pooled."""
    if not records:
        raise UserError(f"{label} holds no readable records")
    latest: dict[str, Record] = {}
    counts: dict[str, int] = {}
    for rec in records:
        counts[rec.name] = counts.get(rec.name, 0) + 1
        if rec.name not in latest or rec.timestamp >= latest[rec.name].timestamp:
            latest[rec.name] = rec
    notes = list(problems)
    repeated = [n for n, c in counts.items() if c > 1]
    if repeated:
        notes.append(f"{label}: {len(repeated)} name(s) occur in several runs; the latest record "
                     "of each is used")
    series = {name: record_series(rec) for name, rec in latest.items()}
    keys = {rec.machine.get("cpu_model", "") for rec in latest.values()}
    return Side(label, "records", series, machine_key=" / ".join(sorted(k for k in keys if k)),
                notes=tuple(notes))


def record_series(rec: Record) -> Series:
    unusable = ""
    if rec.status == "suspect":
        unusable = f"{rec.name} is suspect: {rec.validation.get('details', '')}"
    elif not rec.ok:
        unusable = f"{rec.name} has status {rec.status} and no figure"
    return Series(key=rec.name, samples=tuple(rec.samples), unit=rec.unit,
                  direction=rec.direction, label=rec.name, record=rec, unusable=unusable)


def benchmark_side(label: str, payload: Mapping[str, Any]) -> Side:
    """Series from pytest-benchmark JSON: per-round seconds, lower is better.

    The JSON may be hand-made or damaged: an entry that is not an object, has no
    usable name, or holds non-numbers, NaN, infinities or non-positive timings
    is kept as unusable with the reason, never judged and never a crash.
    """
    info = baselines.machine_of(payload)
    series: dict[str, Series] = {}
    notes: list[str] = []
    benches = payload.get("benchmarks")
    for i, bench in enumerate(benches if isinstance(benches, list) else []):
        if not isinstance(bench, Mapping):
            notes.append(f"{label}: benchmark {i} is not a JSON object; skipped")
            continue
        names = [v for v in (bench.get("fullname"), bench.get("name"))
                 if isinstance(v, str) and v]
        if not names:
            notes.append(f"{label}: benchmark {i} has no name; skipped")
            continue
        key, name = names[0], names[-1]
        samples, unusable = baselines.samples_of(bench)
        if unusable:
            unusable = f"{name} {unusable}"
        validation = baselines.validation_of(bench)
        if validation is None:
            unusable = f"{name} has extra_info.validation that is not an object"
        elif validation and validation.get("passed", True) is not True:
            unusable = f"{name} failed validation: {validation.get('details', 'no details')!s}"
        extra = bench.get("extra_info")
        params = extra.get("params") if isinstance(extra, Mapping) else None
        if not isinstance(params, Mapping):
            params = bench.get("params")
        series[key] = Series(
            key=key, samples=tuple(samples), unit="s", direction="lower", label=name,
            context={"machine.cpu_model": info.get("cpu_model"),
                     "params": dict(params) if isinstance(params, Mapping) else {}},
            unusable=unusable)
    if not series:
        raise UserError(f"{label} holds no benchmarks")
    load = max(_finite(info.get("load_average_start")), _finite(info.get("load_average_end")))
    cores = info.get("cores") if isinstance(info.get("cores"), int) else 0
    if cores and load > BUSY_LOAD_PER_CORE * cores:
        notes.append(f"{label}: load average {load:.1f} on {cores} cores while it ran; other "
                     "work slows every timing, so rerun before trusting a slowdown")
    key = info.get("machine_key")
    return Side(label, "pytest-benchmark", series,
                machine_key=key if isinstance(key, str) else "", notes=tuple(notes))


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return float(value)


def fmt_pct(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x * 100:+.1f}%"
