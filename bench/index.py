"""The results index: an embedded SQLite database beside the JSON store.

Why: every command used to parse and validate every results file, so the cost
grew with the store (3.7 s to list 2,000 runs, minutes and GiB at 20,000). The
index holds one row per stored record with the columns commands filter and
aggregate on (run, name, unit, value, status, node type, CPU model and cores,
host, ranks, nodes, job, time, precision and a hash of the parameters that
decide comparability, peaks, statistics and RAPL W per node) and one row per results file
(name, size, modification time, the problems met reading it). A command asks the index what
it needs and parses only the files it shows.

The JSON files stay the source of truth; the index is a cache that can always
be rebuilt from them:

- ``Store.write`` adds the new file's rows in one SQLite transaction after the
  file is in place; if that fails, the next reader adds them.
- Every reader first compares the directory with the index (names, sizes,
  modification times: one ``scandir`` and ``stat`` per file, about 0.1 s for
  20,000 files). A file not in the index or changed since is parsed and
  indexed, a file gone is dropped, and one line (a notice, returned, never
  printed here) says so. A missing, empty, corrupt or other-version index is
  rebuilt from the files the same way, with one line saying so.
- A bad file or record is skipped in the index as in the store: the problem
  lines are stored with the file and repeated to every reader.
- Concurrent writers serialise on SQLite's write lock (busy timeout
  ``BUSY_TIMEOUT_S``); a file's rows go in with its file row in one
  transaction, so a row is never half written and never written twice. A
  catch-up by a reader takes a lock on the directory so two readers do not
  parse the same files.

Where: ``<store>/.hpcplan-index.sqlite`` (plus SQLite's ``-wal``/``-shm``
files while it is open). When the store directory is not writable the index
lives in ``$XDG_CACHE_HOME/hpcplan/index/`` (one per store path); when no
index can be opened at all the reader builds one in memory from the JSON files
and says so. ``HPCPLAN_INDEX=off`` makes every command read the JSON files
directly, as before the index (the scale benchmark's baseline).

Engine: SQLite from the standard library, in WAL mode (readers never block the
writer and see a consistent snapshot; what ReFrame's results database uses).
On a network or parallel file system (NFS, Lustre, GPFS, BeeGFS, CIFS, ...)
WAL's shared-memory index does not work across hosts, so the rollback journal
is used there instead. Parquet (through pyarrow or DuckDB) was the other
candidate; it was not measured because pyarrow is not installed here and the
project adds no heavy dependency for this. Parquet files are immutable: each
run would add a file (a store of 20,000 tiny Parquet files reads slowly) or
rewrite a growing one (not append-only, and 50 concurrent writers would need
a lock of their own), and it has no point lookups or transactions. SQLite
gives all of these. Measured on the 2-core VM (``python -m
hpcplan.anchors.store_scale``, copies of one 21-record quick-suite run; the full
table is in ``results/README.md``): at 20,000 runs (1.27 GiB of JSON, a
207 MiB index) ``results list`` 0.33 s against 58 s for the JSON scan,
``project --calibrate-from`` 2.0 s against 61 s, ``compare`` of two run ids
0.29 s against 101 s, peak RSS 150 MiB at most against 3.5 to 4.3 GiB.

Two layout choices came from measuring at 20,000 runs: the per-run summary
table (``runs``) took ``results list`` from 1.3 s (grouping 420,000 rows) to
0.35 s, and clustering ``records`` by name (``WITHOUT ROWID``, primary key
name first) halved the calibration query (0.47 s to 0.23 s for 80,000 rows),
because one name's rows then share pages instead of costing a page each.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bench.records import STATUSES, Record
from kernels.errors import UserError

if TYPE_CHECKING:
    import pandas

INDEX_NAME = ".hpcplan-index.sqlite"
#: ``off`` (or ``0``, ``no``): read the JSON files directly, as before the index.
ENV = "HPCPLAN_INDEX"
#: ``PRAGMA user_version`` of this layout; an index with another one is rebuilt.
FORMAT_VERSION = 5
#: How long a writer or reader waits for another's write transaction.
BUSY_TIMEOUT_S = 120.0
#: Files parsed per write transaction while catching up (keeps the lock short).
BATCH_FILES = 200
SUFFIX = ".json"
#: File systems where SQLite's WAL (shared memory) is not safe across hosts.
NETWORK_FS = frozenset({
    "nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "smbfs", "ceph", "cephfs",
    "glusterfs", "fuse.glusterfs", "fuse.sshfs", "fuse.beegfs", "9p", "afs", "pvfs2",
    "orangefs", "panfs", "wekafs", "fuse.weka", "vast", "quobyte", "fuse.quobyte",
})
PRECISIONS = ("fp64", "fp32", "fp16", "bf16")
STATS = ("min", "median", "max", "mean", "stdev")
#: The record columns, in the order ``row_of`` builds them.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "TEXT"), ("name", "TEXT"), ("unit", "TEXT"), ("direction", "TEXT"),
    ("value", "REAL"), ("status", "TEXT"), ("node_type", "TEXT"), ("cpu_model", "TEXT"),
    ("cores", "INTEGER"), ("hostname", "TEXT"), ("ranks", "INTEGER"), ("nodes", "INTEGER"),
    ("job_id", "TEXT"), ("node_list", "TEXT"), ("job_state", "TEXT"),
    ("ts", "TEXT"),  # the timestamp in UTC, one fixed format: sorts and compares as text
    ("timestamp", "TEXT"),  # as recorded
    ("precision", "TEXT"), ("params_key", "TEXT"),
    *((f"peak_{p}_gflops", "REAL") for p in PRECISIONS),
    *((s, "REAL") for s in STATS),
    ("kernel_version", "TEXT"), ("hpcplan_commit", "TEXT"),
    ("node_watts", "REAL"),  # RAPL W per node (Record.node_watts); NULL: not measured
)
COLUMN_NAMES = tuple(c for c, _ in COLUMNS)
_QUOTED = ", ".join(f'"{c}"' for c in COLUMN_NAMES)
_RUN, _STATUS, _HOST, _RANKS, _NODES, _JOB, _TS = (
    COLUMN_NAMES.index(c) for c in ("run_id", "status", "hostname", "ranks", "nodes", "job_id",
                                    "ts"))
#: Stands for the file's path in stored problem lines (the store may be reached by
#: another path next time).
_PATH_TOKEN = "\x00path\x00"
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
NAME_PATTERN = re.compile(r"[a-z0-9_.*?]+")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in ("off", "0", "no", "false")


# --- rows -------------------------------------------------------------------------------


def utc_key(timestamp: str) -> str:
    """The timestamp in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (the text as given when it
    names no real time): one format, so text order is time order."""
    try:
        dt = datetime.fromisoformat(timestamp)
    except (ValueError, TypeError):
        return timestamp
    return _fmt_utc(dt)


def _fmt_utc(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    d = dt.astimezone(UTC)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond:06d}Z")


def params_key(params: Mapping[str, Any]) -> str:
    """A short hash of the parameters: records with different keys are not comparable."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _num(v: Any) -> int | float | None:
    if v is None:
        return None
    if isinstance(v, int) and -(2**63) <= v < 2**63:
        return v
    return float(v)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = v if isinstance(v, str) else str(v)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate read from JSON: SQLite stores UTF-8 only
        return s.encode("utf-8", "backslashreplace").decode("ascii")
    return s


def job_text(rec: Record) -> str | None:
    job_id = rec.job.get("job_id")
    return None if job_id is None else str(job_id)


def row_of(rec: Record) -> tuple[Any, ...]:
    """The index columns of one record (``COLUMNS`` order)."""
    m, j = rec.machine, rec.job
    peaks = m.get("peak_gflops") or {}
    return (
        _text(rec.run_id), rec.name, rec.unit, rec.direction, _num(rec.value), rec.status,
        _text(rec.node_type), _text(m.get("cpu_model")), _num(m.get("cores")),
        _text(m.get("hostname")),
        _num(rec.ranks), _num(rec.nodes), _text(job_text(rec)), _text(j.get("node_list")),
        _text(j.get("state")), utc_key(rec.timestamp), rec.timestamp,
        _text(rec.params.get("precision")), params_key(rec.params),
        *(_num(peaks.get(p)) for p in PRECISIONS), *(_num(rec.stats.get(s)) for s in STATS),
        _text(rec.kernel_version), _text(rec.software.get("hpcplan_commit")), rec.node_watts,
    )


# --- what commands ask for ----------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """Which records a command reads; every part given must match (values within a part: any).

    ``names`` are patterns with ``*`` and ``?``; ``since`` is inclusive and ``until``
    exclusive, both from ``time_bound``; ``runs`` are whole run ids.
    """

    names: tuple[str, ...] = ()
    node_types: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    jobs: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.names:
            if not NAME_PATTERN.fullmatch(pattern):
                raise UserError(f"--name {pattern!r} may hold only lower-case letters, digits, "
                                "'_', '.' and the wildcards '*' and '?'")
        for status in self.statuses:
            if status not in STATUSES:
                raise UserError(f"--status {status!r} is not one of {', '.join(sorted(STATUSES))}")

    def sql(self) -> tuple[str, list[Any]]:
        """The WHERE clause over ``records r`` and its arguments."""
        clauses: list[str] = []
        args: list[Any] = []

        def any_of(column: str, values: Sequence[str], op: str = "=") -> None:
            if values:
                clauses.append("(" + " OR ".join(f"r.{column} {op} ?" for _ in values) + ")")
                args.extend(values)

        exact = [n for n in self.names if "*" not in n and "?" not in n]
        patterns = [n for n in self.names if n not in exact]
        if exact and patterns:
            clauses.append(f"(r.name IN ({', '.join('?' * len(exact))}) OR "
                           + " OR ".join("r.name GLOB ?" for _ in patterns) + ")")
            args.extend([*exact, *patterns])
        elif exact:  # IN uses the index on name
            clauses.append(f"r.name IN ({', '.join('?' * len(exact))})")
            args.extend(exact)
        else:
            any_of("name", patterns, "GLOB")
        any_of("node_type", self.node_types)
        any_of("job_id", self.jobs)
        any_of("status", self.statuses)
        any_of("run_id", self.runs)
        if self.since is not None:
            clauses.append("r.ts >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("r.ts < ?")
            args.append(self.until)
        return " AND ".join(clauses) or "1", args

    def matches(self, rec: Record) -> bool:
        """The same filter on a loaded record (for readers of the JSON files)."""
        from fnmatch import fnmatchcase

        ts = utc_key(rec.timestamp)
        return ((not self.names or any(fnmatchcase(rec.name, p) for p in self.names))
                and (not self.node_types or rec.node_type in self.node_types)
                and (not self.jobs or job_text(rec) in self.jobs)
                and (not self.statuses or rec.status in self.statuses)
                and (not self.runs or rec.run_id in self.runs)
                and (self.since is None or ts >= self.since)
                and (self.until is None or ts < self.until))


def time_bound(text: str, flag: str, *, end: bool = False) -> str:
    """A --since/--until value as a UTC bound (``utc_key`` format).

    A date alone means its whole day (``--until 2026-11-30`` includes that day); a
    time without a zone is UTC. ``end`` makes the bound exclusive.
    """
    t = text.strip()
    try:
        if DATE_RE.fullmatch(t):
            dt = datetime.fromisoformat(t).replace(tzinfo=UTC)
            if end:
                dt += timedelta(days=1)
        else:
            dt = datetime.fromisoformat(t)
            if end:
                dt += timedelta(microseconds=1)
    except (ValueError, OverflowError):
        raise UserError(f"{flag} {text!r} is not a date or time such as 2026-11-30 or "
                        "2026-11-30T12:00:00Z") from None
    return _fmt_utc(dt)


class Hit(NamedTuple):
    """Where one indexed record is: its file's name in the store and its position there."""

    file: str
    idx: int


@dataclass(frozen=True)
class RunSummary:
    """One run as ``results list`` shows it (the records that matched the filter)."""

    run_id: str
    ts: str
    hostname: str
    ranks: int
    nodes: int
    records: int
    failed: int
    job_id: str
    first: Hit


# --- the database -------------------------------------------------------------------------


class IndexCorrupt(Exception):
    """The index file is damaged or not an index; it is rebuilt."""


def is_corrupt(exc: BaseException) -> bool:
    name = str(getattr(exc, "sqlite_errorname", ""))
    text = str(exc)
    return (name.startswith(_CORRUPT) or "no such table" in text or "no such column" in text
            or "malformed" in text or "not a database" in text)


def reading_rules() -> str:
    """What decides how the files read: an index built under other rules is rebuilt."""
    from bench import store
    from bench.records import SCHEMA_VERSION

    return f"records v{SCHEMA_VERSION}, files up to {store.MAX_FILE_BYTES} bytes"


def fs_type(path: Path, mountinfo: str | None = None) -> str:
    """The type of the file system holding ``path`` (from /proc/self/mountinfo, or the text
    given; "" when unknown)."""
    real = os.path.realpath(path)
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
                mountinfo = fh.read()
        except OSError:
            return ""
    lines = mountinfo.splitlines()
    best, kind = "", ""
    for line in lines:
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if not sep or len(fields) < 5 or not tail:
            continue
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, tail.split()[0]
    return kind


def journal_mode(root: Path) -> str:
    return "delete" if fs_type(root) in NETWORK_FS else "wal"


def cache_path(root: Path) -> Path:
    """Where the index of a store that is not writable lives (one per store path)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:16]
    return base / "hpcplan" / "index" / f"{key}.sqlite"


@contextlib.contextmanager
def _dir_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the store directory (best effort: none where refused)."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _name(raw: bytes) -> str:
    """A file name as stored (bytes) back to the str the rest of Python uses."""
    return raw.decode("utf-8", "surrogateescape")


def scan(root: Path) -> dict[bytes, tuple[int, int]]:
    """Every results file name in the store (as bytes) with its (size, mtime in ns);
    (-1, -1) when it cannot be statted."""
    out: dict[bytes, tuple[int, int]] = {}
    try:
        entries = os.scandir(os.fsencode(root))
    except OSError:
        return out
    suffix = SUFFIX.encode()
    with entries as it:
        for e in it:
            name = e.name
            if name.startswith(b".") or not name.endswith(suffix):
                continue
            try:
                st = e.stat()
                out[name] = (st.st_size, st.st_mtime_ns)
            except OSError:
                out[name] = (-1, -1)
    return out


_SCHEMA = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE files (id INTEGER PRIMARY KEY, name BLOB NOT NULL UNIQUE, "
    "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, problems TEXT NOT NULL DEFAULT '')",
    # clustered by name: the rows a command reads by name (calibration, a benchmark's
    # history) lie together on disk instead of one page each
    "CREATE TABLE records (file_id INTEGER NOT NULL, idx INTEGER NOT NULL, "
    + ", ".join(f'"{c}" {t}' for c, t in COLUMNS)
    + ", PRIMARY KEY (name, file_id, idx)) WITHOUT ROWID",
    "CREATE INDEX records_file ON records (file_id, idx)",
    # one row per run per file: what ``results list`` shows without a filter
    "CREATE TABLE runs (file_id INTEGER NOT NULL, run_id TEXT NOT NULL, first_idx INTEGER, "
    "ts TEXT, hostname TEXT, ranks INTEGER, nodes INTEGER, job_id TEXT, records INTEGER, "
    "failed INTEGER, PRIMARY KEY (file_id, run_id))",
    "CREATE INDEX records_run ON records (run_id)",
    "CREATE INDEX records_ts ON records (ts)",
]
_INSERT = (f"INSERT INTO records (file_id, idx, {_QUOTED}) "
           f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))})")


class Index:
    """An open index of one store. Use ``open_index``; close it when done."""

    def __init__(self, con: sqlite3.Connection, root: Path, path: Path | None,
                 notices: list[str]) -> None:
        self.con = con
        self.root = root
        self.path = path  # None: in memory
        self.notices = notices
        self.rebuild_reason = ""  # set when the index was missing, empty, corrupt, ...

    # --- opening ---

    @classmethod
    def connect(cls, root: Path, path: Path | None, notices: list[str]) -> Index:
        """Open (creating when needed) the index at ``path``; IndexCorrupt if it is damaged."""
        existed = path is not None and path.exists()
        empty = existed and path is not None and path.stat().st_size == 0
        target = ":memory:" if path is None else str(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        idx = cls(con, root, path, notices)
        try:
            if path is not None:
                con.execute(f"PRAGMA journal_mode={journal_mode(root)}").fetchone()
                con.execute("PRAGMA synchronous=NORMAL")
            idx._check_schema(existed, empty)
        except sqlite3.DatabaseError as exc:
            con.close()
            if isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc):
                raise IndexCorrupt(_short(exc)) from None
            raise
        except BaseException:
            con.close()
            raise
        return idx

    def _check_schema(self, existed: bool, empty: bool) -> None:
        rules = reading_rules()
        if self._layout() != (FORMAT_VERSION, rules):
            with self._txn():
                version, had = self._layout()
                if (version, had) != (FORMAT_VERSION, rules):  # nobody made it meanwhile
                    tables = self.con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
                    self.rebuild_reason = (
                        "missing" if not existed else "empty" if empty or not (version or tables)
                        else "not a results index" if not version
                        else f"of another format ({version})" if version != FORMAT_VERSION
                        else f"built under other reading rules ({had})")
                    for table in ("records", "runs", "files", "meta"):
                        self.con.execute(f"DROP TABLE IF EXISTS {table}")
                    for stmt in _SCHEMA:
                        self.con.execute(stmt)
                    self.con.execute("INSERT INTO meta (key, value) VALUES ('rules', ?)", (rules,))
                    self.con.execute(f"PRAGMA user_version={FORMAT_VERSION}")
        # a damaged schema with the right version shows here
        self.con.execute("SELECT id, name, size, mtime_ns, problems FROM files LIMIT 1").fetchall()
        self.con.execute(f"SELECT {_QUOTED} FROM records LIMIT 1").fetchall()

    def _layout(self) -> tuple[int, str]:
        version = int(self.con.execute("PRAGMA user_version").fetchone()[0])
        if version != FORMAT_VERSION:
            return version, ""
        row = self.con.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
        return version, str(row[0]) if row else ""

    def close(self) -> None:
        self.con.close()

    @contextlib.contextmanager
    def _txn(self) -> Iterator[None]:
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # --- keeping up with the files ---

    def add_file(self, name: str, signature: tuple[int, int],
                 placed: Sequence[tuple[int, Record]], problems: Sequence[str]) -> bool:
        """Index one new results file (the writer's call); False when it was already there."""
        with self._txn():
            return self._insert_file(name, signature, [(i, row_of(r)) for i, r in placed],
                                     problems, replace=False)

    def _insert_file(self, name: str, signature: tuple[int, int],
                     rows: Sequence[tuple[int, tuple[Any, ...]]], problems: Sequence[str],
                     *, replace: bool) -> bool:
        key = name.encode("utf-8", "surrogateescape")
        if replace:
            old = self.con.execute("SELECT id FROM files WHERE name = ?", (key,)).fetchone()
            if old:
                self._drop_file(old[0])
        path_text = str(self.root / name)
        stored = [_text(p.replace(path_text, _PATH_TOKEN)) for p in problems]
        cur = self.con.execute(
            "INSERT OR IGNORE INTO files (name, size, mtime_ns, problems) VALUES (?, ?, ?, ?)",
            (key, signature[0], signature[1], json.dumps(stored) if stored else ""))
        if cur.rowcount != 1:
            return False
        fid = cur.lastrowid
        self.con.executemany(_INSERT, ((fid, i, *row) for i, row in rows))
        runs: dict[str, list[Any]] = {}
        for i, row in rows:
            have = runs.get(row[_RUN])
            failed = int(row[_STATUS] in ("failed", "aborted"))
            if have is None:
                runs[row[_RUN]] = [i, row[_TS], row[_HOST], row[_RANKS], row[_NODES],
                                   row[_JOB], 1, failed]
            else:
                have[6] += 1
                have[7] += failed
        self.con.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             ((fid, run, *v) for run, v in runs.items()))
        return True

    def _drop_file(self, file_id: int) -> None:
        for table in ("records", "runs"):
            self.con.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))
        self.con.execute("DELETE FROM files WHERE id = ?", (file_id,))

    def sync(self, *, quiet: bool = False) -> None:
        """Catch up with the store's files; a notice says what was rebuilt or added (unless
        ``quiet``)."""
        from bench.store import parse_file

        start = time.monotonic()
        disk, known = self._compare()
        if not self.rebuild_reason and known == disk:
            return  # the usual case: no lock taken
        with _dir_lock(self.root):  # one reader catches up; the others wait, then find it done
            disk, known = self._compare()
            new = [n for n in disk if n not in known]
            changed = [n for n, sig in disk.items() if n in known and known[n] != sig]
            gone = [n for n in known if n not in disk]
            if gone:
                with self._txn():
                    for key in gone:
                        row = self.con.execute("SELECT id FROM files WHERE name = ?",
                                               (key,)).fetchone()
                        if row:
                            self._drop_file(row[0])
            todo = sorted(new + changed)
            for at in range(0, len(todo), BATCH_FILES):
                batch = []
                for key in todo[at:at + BATCH_FILES]:
                    placed, problems = parse_file(self.root / _name(key))
                    batch.append((key, [(i, row_of(r)) for i, r in placed], problems))
                with self._txn():
                    for key, rows, problems in batch:
                        self._insert_file(_name(key), disk[key], rows, problems,
                                          replace=key in known)
        took = time.monotonic() - start
        where = "in memory" if self.path is None else str(self.path)
        if quiet:
            self.rebuild_reason = ""
        elif self.rebuild_reason:
            if disk or self.rebuild_reason.startswith(("corrupt", "of another")):
                self.notices.append(f"results index {where} was {self.rebuild_reason}; rebuilt "
                                    f"from {len(disk)} results file(s) in {took:.1f} s")
            self.rebuild_reason = ""
        elif new or changed or gone:
            parts = [f"{len(new)} results file(s) not in it indexed" if new else "",
                     f"{len(changed)} changed since re-indexed" if changed else "",
                     f"{len(gone)} gone dropped" if gone else ""]
            self.notices.append(f"results index {where} was stale: "
                                + ", ".join(p for p in parts if p) + f" in {took:.1f} s")

    def _compare(self) -> tuple[dict[bytes, tuple[int, int]], dict[bytes, tuple[int, int]]]:
        """(the files on disk, the files in the index), each name -> (size, mtime)."""
        disk = scan(self.root)
        known = {bytes(n): (s, m) for n, s, m in
                 self.con.execute("SELECT name, size, mtime_ns FROM files")}
        return disk, known

    # --- queries ---

    def problems(self) -> list[str]:
        """Every stored problem line (unreadable files and records), in file order."""
        out: list[str] = []
        for name, text in self.con.execute(
                "SELECT name, problems FROM files WHERE problems != '' ORDER BY name"):
            path = str(self.root / _name(bytes(name)))
            out.extend(p.replace(_PATH_TOKEN, path) for p in json.loads(text))
        return out

    def count(self, flt: Filter | None = None) -> int:
        where, args = (flt or Filter()).sql()
        return int(self.con.execute(f"SELECT COUNT(*) FROM records r WHERE {where}",
                                    args).fetchone()[0])

    def runs(self, flt: Filter | None = None) -> list[RunSummary]:
        """One summary per run with matching records, in store order (first file, first record)."""
        where, args = (flt or Filter()).sql()
        per: dict[str, list[Any]] = {}
        if where == "1":  # no filter: the per-file run summaries made when indexing
            query = ("SELECT u.run_id, f.name, u.first_idx, u.ts, u.hostname, u.ranks, u.nodes, "
                     "u.job_id, u.records, u.failed FROM runs u JOIN files f ON f.id = u.file_id "
                     "ORDER BY f.name, u.first_idx")
        else:
            query = ("SELECT r.run_id, f.name, MIN(r.idx), r.ts, r.hostname, r.ranks, r.nodes, "
                     "r.job_id, COUNT(*), SUM(r.status IN ('failed', 'aborted')) "
                     "FROM records r JOIN files f ON f.id = r.file_id "
                     f"WHERE {where} GROUP BY r.run_id, r.file_id ORDER BY f.name, MIN(r.idx)")
        for run, fname, idx, ts, host, ranks, nodes, job, n, failed in self.con.execute(query,
                                                                                        args):
            have = per.get(run)
            if have is None:  # rows come in store order: the first seen is the run's first
                per[run] = [(bytes(fname), idx), ts, host, ranks, nodes, job, n, failed]
            else:  # a run whose records are spread over several files
                have[6] += n
                have[7] += failed
        return [RunSummary(run, ts, host or "", ranks, nodes, n, failed, job or "",
                           Hit(_name(first[0]), first[1]))
                for run, (first, ts, host, ranks, nodes, job, n, failed) in per.items()]

    def recent_runs(self, per_machine: int) -> tuple[list[str], int]:
        """The newest ``per_machine`` runs of each machine (node type, CPU model, cores),
        and how many runs the store holds: what a report shows without reading every file."""
        rows = self.con.execute(
            "WITH per_run AS (SELECT run_id, node_type, cpu_model, cores, MAX(ts) AS ts "
            "FROM records GROUP BY run_id, node_type, cpu_model, cores), "
            "ranked AS (SELECT run_id, ROW_NUMBER() OVER (PARTITION BY node_type, cpu_model, "
            "cores ORDER BY ts DESC, run_id DESC) AS k FROM per_run) "
            "SELECT DISTINCT run_id FROM ranked WHERE k <= ?", (per_machine,)).fetchall()
        (total,) = self.con.execute("SELECT COUNT(DISTINCT run_id) FROM records").fetchone()
        return sorted(r for (r,) in rows), int(total)

    def run_ids(self, prefix: str) -> list[str]:
        """The run ids starting with ``prefix``."""
        out = []
        for (run,) in self.con.execute("SELECT DISTINCT run_id FROM records WHERE run_id >= ? "
                                       "ORDER BY run_id", (prefix,)):
            if not run.startswith(prefix):
                break
            out.append(run)
        return out

    def hits(self, flt: Filter | None = None, *, latest_by: Sequence[str] = ()) -> list[Hit]:
        """Where the matching records are, in store order; with ``latest_by`` (columns), only
        the newest record of each group (ties: the later file and position)."""
        where, args = (flt or Filter()).sql()
        if not latest_by:
            rows = self.con.execute("SELECT f.name, r.idx FROM records r JOIN files f ON "
                                    f"f.id = r.file_id WHERE {where} ORDER BY f.name, r.idx",
                                    args).fetchall()
        else:
            for column in latest_by:
                if column not in COLUMN_NAMES:
                    raise ValueError(f"unknown index column {column!r}")
            groups = ", ".join(f'r."{c}"' for c in latest_by)
            same = " AND ".join(f'r."{c}" IS ?' for c in latest_by)
            rows = []
            for *values, ts in self.con.execute(f"SELECT {groups}, MAX(r.ts) FROM records r "
                                                f"WHERE {where} GROUP BY {groups}",
                                                args).fetchall():
                rows.append(self.con.execute(
                    "SELECT f.name, r.idx FROM records r JOIN files f ON f.id = r.file_id "
                    f"WHERE {where} AND {same} AND r.ts IS ? "
                    "ORDER BY f.name DESC, r.idx DESC LIMIT 1", [*args, *values, ts]).fetchone())
            rows.sort(key=lambda row: (bytes(row[0]), row[1]))
        return [Hit(_name(bytes(name)), idx) for name, idx in rows]

    def counts(self, flt: Filter | None = None, *, by: str = "name") -> dict[Any, int]:
        """How many matching records each value of the column ``by`` has."""
        if by not in COLUMN_NAMES:
            raise ValueError(f"unknown index column {by!r}")
        where, args = (flt or Filter()).sql()
        return dict(self.con.execute(f'SELECT r."{by}", COUNT(*) FROM records r WHERE {where} '
                                     f'GROUP BY r."{by}"', args).fetchall())

    def frame(self, flt: Filter | None = None, columns: Sequence[str] = COLUMN_NAMES, *,
              locate: bool = True) -> pandas.DataFrame:
        """The matching records' index columns, one row per record (``timestamp`` as UTC
        datetimes). ``locate``: in store order, with each record's ``file`` and ``idx``;
        without, by name and then indexing order, and faster (no sort)."""
        import pandas as pd

        for column in columns:
            if column not in COLUMN_NAMES:
                raise ValueError(f"unknown index column {column!r}")
        where, args = (flt or Filter()).sql()
        cols = [c if c != "timestamp" else "ts" for c in columns]
        picked = ", ".join(f'r."{c}"' for c in cols) or "r.idx"
        if locate:
            cur = self.con.execute(f"SELECT f.name, r.idx, {picked} FROM records r JOIN files f "
                                   f"ON f.id = r.file_id WHERE {where} ORDER BY f.name, r.idx",
                                   args)
            names = ["file", "idx", *columns]
        else:
            # the primary key's order: rows come as stored, with no sort
            cur = self.con.execute(f"SELECT {picked} FROM records r WHERE {where} "
                                   "ORDER BY r.name, r.file_id, r.idx", args)
            names = list(columns) or ["idx"]
        df = pd.DataFrame.from_records(cur.fetchall(), columns=names)
        if not columns and not locate:
            df = df.drop(columns=["idx"])
        if locate:
            df["file"] = df["file"].map(lambda b: _name(bytes(b)))
        if "timestamp" in columns:
            df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce",
                                             format="%Y-%m-%dT%H:%M:%S.%fZ")
        return df


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _open_at(root: Path, path: Path, notices: list[str], *, repair: bool) -> Index:
    """The index at ``path``; a corrupt one is rebuilt when ``repair`` (IndexCorrupt if not)."""
    try:
        return Index.connect(root, path, notices)
    except IndexCorrupt as exc:
        if not repair:
            raise
        reason = f"corrupt ({exc})"
    with _dir_lock(root):
        try:  # another reader may have rebuilt it while this one waited
            return Index.connect(root, path, notices)
        except IndexCorrupt:
            _remove(path)
        idx = Index.connect(root, path, notices)
        idx.rebuild_reason = reason
        return idx


def rebuild(root: Path, path: Path, exc: BaseException) -> Index:
    """Replace the index at ``path`` that a query found damaged, rebuilt from the files."""
    notices: list[str] = []
    with _dir_lock(root):
        _remove(path)
        idx = Index.connect(root, path, notices)
    idx.rebuild_reason = f"corrupt ({_short(exc)})"
    idx.sync()
    return idx


def open_index(root: str | os.PathLike[str], *, catch_up: bool = True) -> Index:
    """The index of the store at ``root``, caught up with its files.

    Never fails for a readable store: a damaged index is rebuilt, one that cannot
    be written is replaced by one in the user's cache directory, and failing that
    by one in memory. What happened is in ``notices``.
    """
    store = Path(root)
    notices: list[str] = []
    if not store.is_dir():
        idx = Index.connect(store, None, notices)  # an empty store: nothing to index
        return idx
    primary = store / INDEX_NAME
    places = [primary]
    if not os.access(store, os.W_OK | os.X_OK) and not (
            primary.exists() and os.access(primary, os.W_OK)):
        places = [cache_path(store)]
    reasons: list[str] = []
    for place in places:
        idx = None
        try:
            idx = _open_at(store, place, notices, repair=True)
            if catch_up:
                idx.sync()
            return idx
        except (sqlite3.Error, OSError, IndexCorrupt) as exc:
            if idx is not None:
                idx.close()
            reasons.append(f"{place}: {_short(exc)}")
    idx = Index.connect(store, None, notices)
    idx.rebuild_reason = ""
    notices.append(f"results index unavailable ({'; '.join(reasons)}); read the JSON files "
                   "directly")
    if catch_up:
        idx.sync(quiet=True)
    return idx


def memory_index(root: str | os.PathLike[str]) -> Index:
    """An index built in memory from the JSON files, quietly (``HPCPLAN_INDEX=off``)."""
    store = Path(root)
    idx = Index.connect(store, None, [])
    idx.rebuild_reason = ""
    if store.is_dir():
        idx.sync(quiet=True)
    return idx


def add_written(root: Path, path: Path, records: Sequence[Record]) -> str | None:
    """Index a results file ``Store.write`` just put in place; a notice when that failed
    (the next reader then adds it), None when done."""
    target = root / INDEX_NAME
    from bench import store

    try:
        st = os.stat(path)
        placed: list[tuple[int, Record]] = list(enumerate(records))
        problems: list[str] = []
        if st.st_size > store.MAX_FILE_BYTES:  # readers skip it: so does the index
            placed, problems = store.parse_file(path)
        idx = _open_at(root, target, [], repair=False)
        try:
            idx.add_file(path.name, (st.st_size, st.st_mtime_ns), placed, problems)
        finally:
            idx.close()
    except (sqlite3.Error, OSError, IndexCorrupt) as exc:
        return (f"results index {target} not updated ({_short(exc)}); the next reader adds "
                f"{path.name}")
    return None
