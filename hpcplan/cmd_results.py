"""``hpcplan results``: list, show and export stored records."""

from __future__ import annotations

import argparse
import json
import sys

from kernels.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("results", help="list, show or export stored records",
                       description="Read the results store "
                       "(default $HPCPLAN_RESULTS or ./results).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--results", metavar="DIR", help="results directory")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    verbs.add_parser("list", help="one line per run", parents=[common])
    show = verbs.add_parser("show", help="the records of one run (default: the latest)",
                            parents=[common])
    show.add_argument("run", nargs="?", help="run id (or a unique prefix)")
    show.add_argument("--json", action="store_true", help="print the full records as JSON")
    export = verbs.add_parser("export", help="export every record as CSV", parents=[common])
    export.add_argument("--csv", metavar="FILE", required=True, help="output file, - for stdout")
    p.set_defaults(func=run)


def _store(args: argparse.Namespace):
    from bench.store import Store
    from hpcplan import config

    root = args.results or config.load(args.config).results_dir
    store = Store(root) if root else Store()
    if not store.root.is_dir():
        raise UserError(f"results directory {store.root} does not exist; run 'hpcplan run' first")
    return store


def run(args: argparse.Namespace) -> int:
    store = _store(args)
    records = store.load()
    for problem in store.problems:
        print(f"hpcplan: warning: {problem}", file=sys.stderr)
    if args.verb == "list":
        return _list(records)
    if args.verb == "show":
        return _show(records, args.run, args.json)
    return _export(store, records, args.csv)


def _runs(records: list) -> dict[str, list]:
    runs: dict[str, list] = {}
    for r in records:
        runs.setdefault(r.run_id, []).append(r)
    return runs


def _list(records: list) -> int:
    from hpcplan.terminal import table

    rows = []
    for run_id, recs in _runs(records).items():
        first = recs[0]
        failed = sum(r.status in ("failed", "aborted") for r in recs)
        rows.append([run_id, first.timestamp[:19] + "Z", first.machine.get("hostname", ""),
                     first.ranks, first.nodes, len(recs), failed, first.job.get("job_id", "")])
    if not rows:
        print("no records yet")
        return 0
    print(table(("run", "time (UTC)", "host", "ranks", "nodes", "records", "failed", "job"), rows))
    return 0


def _show(records: list, run: str | None, as_json: bool) -> int:
    from hpcplan import recordview
    from hpcplan.terminal import table

    runs = _runs(records)
    if not runs:
        raise UserError("the results store holds no records yet")
    if run is None:
        run = max(runs, key=lambda k: runs[k][0].timestamp)
    matches = [k for k in runs if k.startswith(run)]
    if len(matches) != 1:
        what = "matches no run" if not matches else f"matches {len(matches)} runs"
        raise UserError(f"run {run!r} {what}; see 'hpcplan results list'")
    recs = runs[matches[0]]
    if as_json:
        print(json.dumps([r.to_dict() for r in recs], indent=1))
    else:
        print(f"run {matches[0]} on {recs[0].machine.get('hostname')} at {recs[0].timestamp}")
        print(table(recordview.HEADERS, recordview.rows(recs)))
    return 0


def _export(store, records: list, target: str) -> int:
    df = store.dataframe(records)
    df["params"] = df["params"].map(lambda p: json.dumps(p, sort_keys=True))
    if target == "-":
        df.to_csv(sys.stdout, index=False)
        return 0
    from kernels.files import write_atomic

    write_atomic(target, df.to_csv(index=False), what="CSV file")
    print(f"{len(df)} record(s) written to {target}")
    return 0
