"""``hpcplan results``: list, show and export stored records.

Each verb reads through the store's index (``bench/index.py``): ``list`` never
parses a results file, ``show`` parses the one run it shows, ``export`` the
files holding the records it writes (streamed, a few hundred files at a time).
``HPCPLAN_INDEX=off`` reads every JSON file instead, as before the index.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hpcplan import options
from kernels.errors import UserError

#: Results files whose records are turned into one CSV chunk at a time.
EXPORT_CHUNK_FILES = 200


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("results", help="list, show or export stored records",
                       description="Read the results store (where: see --results of each "
                       "verb).")
    common = argparse.ArgumentParser(add_help=False)
    options.add_results(common)
    filters = argparse.ArgumentParser(add_help=False)
    add_filter_options(filters)
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    verbs.add_parser("list", help="one line per run", parents=[common, filters],
                     description="One line per run that has records matching the filters "
                     "(records: how many matched; failed: of those, how many failed or were "
                     "aborted).")
    show = verbs.add_parser("show", help="the records of one run (default: the latest)",
                            parents=[common])
    show.add_argument("run", nargs="?", help="run id (or a unique prefix)")
    show.add_argument("--json", action="store_true", help="print the full records as JSON")
    export = verbs.add_parser("export", help="export the records as CSV (or Parquet)",
                              parents=[common, filters],
                              description="Export every record matching the filters, one row "
                              "per record, the nested machine and job fields flattened.")
    out = export.add_mutually_exclusive_group(required=True)
    out.add_argument("--csv", metavar="FILE", help="CSV output file, - for stdout")
    out.add_argument("--parquet", metavar="FILE", help="Parquet output file (needs pyarrow)")
    p.set_defaults(func=run)


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", action="append", default=[], metavar="PATTERN",
                   help="record name, '*' and '?' as wildcards, e.g. 'memory.stream.*' "
                   "(repeat for several)")
    p.add_argument("--node-type", action="append", default=[], metavar="TAG",
                   help="node-type tag of the site config (repeat for several)")
    p.add_argument("--since", metavar="TIME",
                   help="records from this UTC date or time on, e.g. 2026-11-01")
    p.add_argument("--until", metavar="TIME",
                   help="records up to this UTC date (the whole day) or time")
    p.add_argument("--job", action="append", default=[], metavar="ID",
                   help="Slurm job id (repeat for several)")
    p.add_argument("--status", action="append", default=[], metavar="STATUS",
                   help="ok, failed, aborted or unavailable (repeat for several)")


def filter_of(args: argparse.Namespace) -> Any:
    """The ``bench.index.Filter`` the options name (a UserError for a bad value)."""
    from bench.index import Filter, time_bound

    since = time_bound(args.since, "--since") if args.since else None
    until = time_bound(args.until, "--until", end=True) if args.until else None
    if since is not None and until is not None and until <= since:
        raise UserError(f"--until {args.until} is not after --since {args.since}")
    return Filter(names=tuple(args.name), node_types=tuple(args.node_type), since=since,
                  until=until, jobs=tuple(args.job), statuses=tuple(args.status))


def open_store(args: argparse.Namespace) -> Any:
    """The results store the options name; refused when the directory is not there."""
    from bench.store import Store
    from hpcplan import config

    store = Store(options.results_dir(args, config.load(args.config)))
    if not store.root.is_dir():
        raise UserError(f"results directory {store.root} does not exist; run 'hpcplan run' first")
    return store


def say_store(store: Any) -> None:
    """The index's notices and the store's problems, on stderr, one line each."""
    for notice in store.notices:
        print(f"hpcplan: note: {notice}", file=sys.stderr)
    for problem in store.problems:
        print(f"hpcplan: warning: {problem}", file=sys.stderr)
    store.notices.clear()
    store.problems.clear()


def run(args: argparse.Namespace) -> int:
    from bench import index

    flt = filter_of(args) if args.verb in ("list", "export") else None
    if args.verb == "export" and args.parquet:
        _check_parquet()
    store = open_store(args)
    if not index.enabled():
        return _run_scan(args, store, flt)
    try:
        if args.verb == "list":
            runs = store.runs(flt)
            say_store(store)
            return _list_runs(runs)
        if args.verb == "show":
            return _show_indexed(store, args.run, args.json)
        return _export(store, store.hits(flt), args.csv, args.parquet)
    finally:
        store.close()


def _run_scan(args: argparse.Namespace, store: Any, flt: Any) -> int:
    """Every JSON file parsed, as before the index (``HPCPLAN_INDEX=off``)."""
    records = store.load()
    say_store(store)
    if flt is not None:
        records = [r for r in records if flt.matches(r)]
    if args.verb == "list":
        return _list(records)
    if args.verb == "show":
        return _show(records, args.run, args.json)
    return _write_export([records], args.csv, args.parquet)


# --- list -----------------------------------------------------------------------------------


def _runs(records: list) -> dict[str, list]:
    runs: dict[str, list] = {}
    for r in records:
        runs.setdefault(r.run_id, []).append(r)
    return runs


def _list(records: list) -> int:
    from bench.index import Hit, RunSummary, job_text, utc_key

    summaries = []
    for run_id, recs in _runs(records).items():
        first = recs[0]
        summaries.append(RunSummary(
            run_id, utc_key(first.timestamp), first.machine.get("hostname", ""), first.ranks,
            first.nodes, len(recs), sum(r.status in ("failed", "aborted") for r in recs),
            job_text(first) or "", Hit("", 0)))
    return _list_runs(summaries)


LIST_HEADERS = ("run", "time (UTC)", "host", "ranks", "nodes", "records", "failed", "job")
#: Columns of ``results list`` aligned right (numbers).
LIST_NUMERIC = (False, False, False, True, True, True, True, False)


def _list_runs(summaries: list) -> int:
    if not summaries:
        print("no records yet")
        return 0
    rows = [(s.run_id, s.ts[:19] + "Z", s.hostname, str(s.ranks), str(s.nodes), str(s.records),
             str(s.failed), s.job_id) for s in summaries]
    sys.stdout.write(text_table(LIST_HEADERS, rows, LIST_NUMERIC) + "\n")
    return 0


def text_table(headers: tuple[str, ...], rows: list[tuple[str, ...]],
               numeric: tuple[bool, ...]) -> str:
    """``hpcplan.terminal.table`` for cells that are already text (tens of thousands of rows
    in a few milliseconds)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:{'>' if num else '<'}{w}}}" for w, num in zip(widths, numeric,
                                                                        strict=True))
    out = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    out.extend(fmt.format(*r).rstrip() for r in rows)
    return "\n".join(out)


# --- show -----------------------------------------------------------------------------------


def _pick_run(run_ids: list[str], run: str) -> str:
    if len(run_ids) != 1:
        what = "matches no run" if not run_ids else f"matches {len(run_ids)} runs"
        raise UserError(f"run {run!r} {what}; see 'hpcplan results list'")
    return run_ids[0]


def _show_indexed(store: Any, run: str | None, as_json: bool) -> int:
    from bench.index import Filter

    if run is None:
        runs = store.runs()
        if not runs:
            say_store(store)
            raise UserError("the results store holds no records yet")
        run_id = max(runs, key=lambda s: s.ts).run_id  # latest (first record's time)
    else:
        run_id = _pick_run(store.run_ids(run), run)
    records = store.select(Filter(runs=(run_id,)))
    say_store(store)
    return _print_run(run_id, records, as_json)


def _show(records: list, run: str | None, as_json: bool) -> int:
    from bench.index import utc_key

    runs = _runs(records)
    if not runs:
        raise UserError("the results store holds no records yet")
    if run is None:
        run = max(runs, key=lambda k: utc_key(runs[k][0].timestamp))
    run_id = _pick_run([k for k in runs if k.startswith(run)], run)
    return _print_run(run_id, runs[run_id], as_json)


def _print_run(run_id: str, recs: list, as_json: bool) -> int:
    from hpcplan.report.records import HEADERS, rows
    from hpcplan.terminal import table

    if not recs:
        raise UserError(f"run {run_id} has no readable records left")
    if as_json:
        print(json.dumps([r.to_dict() for r in recs], indent=1))
    else:
        print(f"run {run_id} on {recs[0].machine.get('hostname')} at {recs[0].timestamp}")
        print(table(HEADERS, rows(recs)))
    return 0


# --- export ---------------------------------------------------------------------------------


def _check_parquet() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UserError("--parquet needs the pyarrow package, which is not installed; "
                        "install pyarrow or export with --csv") from None


def _export(store: Any, hits: list, csv_target: str | None, parquet_target: str | None) -> int:
    """Full records only for the hits, read a chunk of files at a time."""
    chunks = _chunks(store, hits)
    return _write_export(chunks, csv_target, parquet_target, store)


def _chunks(store: Any, hits: list) -> Iterator[list]:
    batch: list = []
    files = 0
    for recs in store.iter_records(hits):
        batch.extend(recs)
        files += 1
        if files >= EXPORT_CHUNK_FILES:
            yield batch
            batch, files = [], 0
    if batch:
        yield batch


def _frame(records: list) -> Any:
    from bench.store import Store

    df = Store().dataframe(records)
    df["params"] = df["params"].map(lambda p: json.dumps(p, sort_keys=True))
    return df


def _write_export(chunks: Iterable[list], csv_target: str | None,
                  parquet_target: str | None, store: Any = None) -> int:
    if parquet_target:
        import pandas as pd

        frames = [_frame(c) for c in chunks]
        if store is not None:
            say_store(store)
        df = pd.concat(frames, ignore_index=True) if frames else _frame([])
        with _atomic_output(parquet_target, "Parquet file") as (tmp, _fh):
            df.to_parquet(tmp, index=False)
        print(f"{len(df)} record(s) written to {parquet_target}")
        return 0
    assert csv_target is not None
    if csv_target == "-":
        total = _write_csv(chunks, sys.stdout)
        if store is not None:
            say_store(store)
        return 0
    with _atomic_output(csv_target, "CSV file") as (_tmp, fh):
        total = _write_csv(chunks, fh)
    if store is not None:
        say_store(store)
    print(f"{total} record(s) written to {csv_target}")
    return 0


def _write_csv(chunks: Iterable[list], out: IO[str]) -> int:
    total = 0
    header = True
    for records in chunks:
        df = _frame(records)
        if df.empty:
            continue
        df.to_csv(out, index=False, header=header)
        header = False
        total += len(df)
    if header:  # nothing matched: the header alone
        _frame([]).to_csv(out, index=False)
    return total


@contextlib.contextmanager
def _atomic_output(target: str, what: str) -> Iterator[tuple[str, IO[str]]]:
    """A temporary file beside ``target``, fsynced and renamed over it on success (the
    streamed form of ``kernels.files.write_atomic``)."""
    from kernels.files import fsync_dir, path_arg

    path = path_arg(target, what)
    if path.is_dir():
        raise UserError(f"{what} {path} is a directory; name a file to write")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name[:40]}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise UserError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield tmp, fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
        raise
    fsync_dir(Path(parent))
