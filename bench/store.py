"""The results store: a directory of JSON files, one per run, append-only.

A write goes to a temporary file in the same directory, is fsynced, then
renamed into place, and the directory is fsynced: a reader sees a whole file
or none, even when the writer is killed. Names carry the time, host, pid and a
random part so concurrent writers (ranks, array jobs, CI shards) never collide.
A file that does not parse, is not a regular file or is too large, and each
record that breaks the schema, is reported with its path (and the record's
field) and skipped; the rest of the store still reads.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def default_root() -> Path:
    return Path(os.environ.get(ENV) or DEFAULT_DIR)


@dataclass
class Store:
    root: Path = field(default_factory=default_root)
    problems: list[str] = field(default_factory=list)

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
        return write_atomic(self.root / name, data, what="results file", replace=False,
                            mode=0o600)

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
        try:
            raw = read_regular(path, "results file", MAX_FILE_BYTES)
        except UserError as exc:
            self.problems.append(f"{exc}; skipped")
            return []
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            self.problems.append(f"{path}: unreadable ({exc.__class__.__name__}: "
                                 f"{str(exc)[:80]}); skipped")
            return []
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            self.problems.append(f"{path}: not an hpcplan results file; skipped")
            return []
        records, problems = records_of(path, payload)
        self.problems.extend(problems)
        return records

    def dataframe(self, records: Iterable[Record] | None = None) -> pandas.DataFrame:
        """One row per record, the nested machine and job fields flattened."""
        import pandas as pd

        rows = [flatten(r) for r in (self.load() if records is None else records)]
        df = pd.DataFrame(rows, columns=list(FLAT_COLUMNS) if not rows else None)
        if not df.empty:
            df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
        return df


FLAT_COLUMNS = (
    "name", "value", "unit", "direction", "status", "node_type", "run_id", "timestamp",
    "ranks", "nodes", "cpu_model", "hostname", "job_id", "node_list", "job_state",
    "peak_fp64_gflops", "peak_fp32_gflops", "peak_fp16_gflops", "peak_bf16_gflops",
    "min", "median", "max", "mean", "stdev", "kernel_version", "hpcplan_commit", "params",
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
        "params": dict(rec.params),
    }
    for prec in ("fp64", "fp32", "fp16", "bf16"):
        row[f"peak_{prec}_gflops"] = peaks.get(prec)
    for stat in ("min", "median", "max", "mean", "stdev"):
        row[stat] = rec.stats.get(stat)
    return row


def records_of(path: Path, payload: Mapping[str, Any]) -> tuple[list[Record], list[str]]:
    """The valid records of one results file, and one problem line per record skipped."""
    items = payload.get("records")
    if not isinstance(items, list):
        return [], [f"{path}: 'records' is not a list; skipped"]
    records: list[Record] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        try:
            records.append(from_dict(item))
        except RecordError as exc:
            problems.append(f"{path}: record {i}: {exc}; skipped")
    return records, problems
