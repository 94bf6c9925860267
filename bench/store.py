"""The results store: a directory of JSON files, one per run, append-only, and its index.

A write goes to a temporary file in the same directory, is fsynced, then
renamed into place, and the directory is fsynced: a reader sees a whole file
or none, even when the writer is killed. Names carry the time, host, pid and a
random part so concurrent writers (ranks, array jobs, CI shards) never collide.
A file that does not parse, is not a regular file or is too large, and each
record that breaks the schema, is reported with its path (and the record's
field) and skipped; the rest of the store still reads.

Readers that need a part of a big store ask the index (``bench/index.py``):
``runs``, ``frame``, ``hits``/``records`` (full records for what is shown),
``counts`` and ``run_ids``. ``load`` and ``dataframe`` still read every file.
What the index rebuilt or caught up is in ``notices`` (one line each, for the
CLI to show); the unreadable files and records are in ``problems`` as before.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import socket
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bench import index as index_mod
from bench.index import Filter, Hit, Index, RunSummary
from bench.records import Record, RecordError, from_dict
from kernels.errors import UserError
from kernels.files import read_regular, write_atomic

if TYPE_CHECKING:
    import pandas

ENV = "HPCPLAN_RESULTS"
DEFAULT_DIR = "results"
SUFFIX = ".json"
FORMAT = "hpcplan-results"
#: A results file larger than this is reported and skipped rather than read.
MAX_FILE_BYTES = 64 * 2**20

T = TypeVar("T")


def default_root() -> Path:
    return Path(os.environ.get(ENV) or DEFAULT_DIR)


@dataclass
class Store:
    root: Path = field(default_factory=default_root)
    problems: list[str] = field(default_factory=list)
    #: What the index did that a user should hear of (rebuilt, caught up, not updated).
    notices: list[str] = field(default_factory=list)
    _index: Index | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def check_writable(self) -> None:
        """Fail early, before any kernel runs, when records could not be written."""
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"results directory {self.root} exists and is not a directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe-", dir=self.root)
        except OSError as exc:
            raise UserError(f"results directory {self.root} is not writable: "
                            f"{exc.strerror or exc}") from None
        os.close(fd)
        os.unlink(probe)

    def write(self, records: Sequence[Record]) -> Path:
        """Write one run's records atomically; returns the new file's path."""
        if not records:
            raise ValueError("nothing to write")
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        host = "".join(ch for ch in socket.gethostname() if ch.isalnum() or ch in "-_")[:32]
        name = f"{stamp}-{host}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        payload = {"format": FORMAT, "records": [r.to_dict() for r in records]}
        data = json.dumps(payload, indent=1, sort_keys=True, allow_nan=False).encode()
        # never replaces an existing file: append-only
        path = write_atomic(self.root / name, data, what="results file", replace=False,
                            mode=0o600)
        if index_mod.enabled():
            notice = index_mod.add_written(self.root, path, records)
            if notice:
                self.notices.append(notice)
        return path

    def files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob(f"*{SUFFIX}") if not p.name.startswith("."))

    def load(self) -> list[Record]:
        """Every readable record, oldest file first; unreadable files go to ``problems``."""
        self.problems = []
        out: list[Record] = []
        for path in self.files():
            out.extend(self._load_file(path))
        return out

    def _load_file(self, path: Path) -> list[Record]:
        records, problems = parse_file(path)
        self.problems.extend(problems)
        return [rec for _, rec in records]

    # --- reading through the index ---

    def index(self) -> Index:
        """The store's index, caught up with its files (opened once; ``close`` ends it).

        ``HPCPLAN_INDEX=off``: one built in memory from the JSON files each time.
        """
        if self._index is None:
            self._index = (index_mod.open_index(self.root) if index_mod.enabled()
                           else index_mod.memory_index(self.root))
            self.notices.extend(self._index.notices)
            self.problems = self._index.problems()
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def _ask(self, question: Callable[[Index], T]) -> T:
        idx = self.index()
        try:
            return question(idx)
        except sqlite3.DatabaseError as exc:
            if idx.path is None or not index_mod.is_corrupt(exc):
                raise
            self._index = None
            idx.close()
            self._index = index_mod.rebuild(self.root, idx.path, exc)
            self.notices.extend(self._index.notices)
            self.problems = self._index.problems()
            return question(self._index)

    def runs(self, flt: Filter | None = None) -> list[RunSummary]:
        """One summary per run with records matching ``flt``, oldest file first."""
        return self._ask(lambda idx: idx.runs(flt))

    def run_ids(self, prefix: str) -> list[str]:
        return self._ask(lambda idx: idx.run_ids(prefix))

    def recent_runs(self, per_machine: int) -> tuple[list[str], int]:
        """The newest runs of each machine and the store's run count (``Index.recent_runs``)."""
        return self._ask(lambda idx: idx.recent_runs(per_machine))

    def hits(self, flt: Filter | None = None, *, latest_by: Sequence[str] = ()) -> list[Hit]:
        """Where the matching records are (see ``Index.hits``); ``records`` loads them."""
        return self._ask(lambda idx: idx.hits(flt, latest_by=latest_by))

    def counts(self, flt: Filter | None = None, *, by: str = "name") -> dict[Any, int]:
        return self._ask(lambda idx: idx.counts(flt, by=by))

    def frame(self, flt: Filter | None = None,
              columns: Sequence[str] = index_mod.COLUMN_NAMES, *,
              locate: bool = True) -> pandas.DataFrame:
        """The index columns of the matching records, without parsing any results file
        (see ``Index.frame``)."""
        return self._ask(lambda idx: idx.frame(flt, columns, locate=locate))

    def select(self, flt: Filter | None = None, *,
               latest_by: Sequence[str] = ()) -> list[Record]:
        """The full matching records (only their files are read)."""
        return self.records(self.hits(flt, latest_by=latest_by))

    def records(self, hits: Iterable[Hit]) -> list[Record]:
        return [rec for chunk in self.iter_records(hits) for rec in chunk]

    def iter_records(self, hits: Iterable[Hit]) -> Iterator[list[Record]]:
        """The records at ``hits``, one list per file (so a caller can stream them)."""
        for name, group in itertools.groupby(hits, key=lambda h: h.file):
            path = self.root / name
            payload, problems = read_payload(path)
            if payload is None:
                self.problems.extend(problems)
                continue
            items = payload.get("records")
            items = items if isinstance(items, list) else []
            out: list[Record] = []
            for hit in group:
                if not 0 <= hit.idx < len(items):
                    self.problems.append(f"{path}: record {hit.idx}: gone since the file was "
                                         "indexed; skipped")
                    continue
                try:
                    out.append(from_dict(items[hit.idx]))
                except RecordError as exc:
                    self.problems.append(f"{path}: record {hit.idx}: {exc}; skipped")
            yield out

    def dataframe(self, records: Iterable[Record] | None = None) -> pandas.DataFrame:
        """One row per record, the nested machine and job fields flattened."""
        import pandas as pd

        rows = [flatten(r) for r in (self.load() if records is None else records)]
        df = pd.DataFrame(rows, columns=list(FLAT_COLUMNS) if not rows else None)
        if not df.empty:
            # ISO8601: offsets and fraction lengths vary between records; a time that
            # matches the pattern but names no real date becomes NaT instead of an error
            df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601",
                                             errors="coerce")
        return df


FLAT_COLUMNS = (
    "name", "value", "unit", "direction", "status", "node_type", "run_id", "timestamp",
    "ranks", "nodes", "cpu_model", "hostname", "job_id", "node_list", "job_state",
    "peak_fp64_gflops", "peak_fp32_gflops", "peak_fp16_gflops", "peak_bf16_gflops",
    "min", "median", "max", "mean", "stdev", "kernel_version", "hpcplan_commit", "node_watts",
    "params",
)


def flatten(rec: Record) -> dict[str, Any]:
    peaks = rec.machine.get("peak_gflops", {}) or {}
    row: dict[str, Any] = {
        "name": rec.name, "value": rec.value, "unit": rec.unit, "direction": rec.direction,
        "status": rec.status, "node_type": rec.node_type, "run_id": rec.run_id,
        "timestamp": rec.timestamp, "ranks": rec.ranks, "nodes": rec.nodes,
        "cpu_model": rec.machine.get("cpu_model"), "hostname": rec.machine.get("hostname"),
        "job_id": rec.job.get("job_id"), "node_list": rec.job.get("node_list"),
        "job_state": rec.job.get("state"),
        "kernel_version": rec.kernel_version,
        "hpcplan_commit": rec.software.get("hpcplan_commit"),
        "node_watts": rec.node_watts,
        "params": dict(rec.params),
    }
    for prec in ("fp64", "fp32", "fp16", "bf16"):
        row[f"peak_{prec}_gflops"] = peaks.get(prec)
    for stat in ("min", "median", "max", "mean", "stdev"):
        row[stat] = rec.stats.get(stat)
    return row


def records_of(path: Path, payload: Mapping[str, Any]) -> tuple[list[Record], list[str]]:
    """The valid records of one results file, and one problem line per record skipped."""
    placed, problems = placed_records(path, payload)
    return [rec for _, rec in placed], problems


def placed_records(path: Path, payload: Mapping[str, Any]
                   ) -> tuple[list[tuple[int, Record]], list[str]]:
    """``records_of`` with each record's position in the file's ``records`` list."""
    items = payload.get("records")
    if not isinstance(items, list):
        return [], [f"{path}: 'records' is not a list; skipped"]
    records: list[tuple[int, Record]] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        try:
            records.append((i, from_dict(item)))
        except RecordError as exc:
            problems.append(f"{path}: record {i}: {exc}; skipped")
    return records, problems


def read_payload(path: Path) -> tuple[Mapping[str, Any] | None, list[str]]:
    """The parsed results file, or None and the one problem line that says why it is skipped."""
    try:
        raw = read_regular(path, "results file", MAX_FILE_BYTES)
    except UserError as exc:
        return None, [f"{exc}; skipped"]
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return None, [f"{path}: unreadable ({exc.__class__.__name__}: {str(exc)[:80]}); skipped"]
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return None, [f"{path}: not an hpcplan results file; skipped"]
    return payload, []


def parse_file(path: Path) -> tuple[list[tuple[int, Record]], list[str]]:
    """Every valid record of one results file with its position, and the problems met."""
    payload, problems = read_payload(path)
    if payload is None:
        return [], problems
    return placed_records(path, payload)
