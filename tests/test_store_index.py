"""Issue 17: the results index beside the JSON store is always correct.

A missing, corrupt, stale or foreign index is rebuilt from the JSON files with
one notice; concurrent writers never lose a row; a reader sees whole runs while
another process writes; filters give what a scan of the JSON files gives; the
commands read through the index and answer as they did without it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest

from bench import index
from bench.index import INDEX_NAME, Filter, open_index
from bench.records import Record
from bench.store import Store
from hpcplan.cli import main

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("memory.stream.triad", "memory.stream.copy", "compute.peak.fp64", "storage.easy.write")
UNITS = {"memory": "GB/s", "compute": "GFLOP/s", "storage": "MiB/s"}


def run_records(i: int, *, node_type: str = "cpu_node", job: str | None = None,
                when: str | None = None, names: tuple[str, ...] = NAMES) -> list[Record]:
    """One run: a record per name (the last one failed when ``i`` is odd)."""
    out = []
    for k, name in enumerate(names):
        failed = i % 2 == 1 and k == len(names) - 1
        out.append(Record(
            name=name, value=None if failed else float(10 * i + k + 1),
            unit=UNITS[name.split(".")[0]], status="failed" if failed else "ok",
            validation={"passed": not failed, "details": "test"},
            samples=() if failed else (1.0, 2.0, 3.0),
            params={"n": k, "precision": "fp64"}, node_type=node_type, run_id=f"run{i:04d}",
            machine={"cpu_model": f"CPU {node_type}", "hostname": f"h{i}",
                     "peak_gflops": {"fp64": 100.0}},
            job={"job_id": job, "node_list": "n1"} if job else {},
            timestamp=when or f"2026-01-{1 + i % 28:02d}T12:00:{k:02d}.000000Z"))
    return out


def fill(root: Path, runs: int, **kw: Any) -> Store:
    store = Store(root)
    for i in range(runs):
        store.write(run_records(i, **kw))
    assert store.notices == []
    return store


def dicts(records: list[Record]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in records]


def scan_select(root: Path, flt: Filter | None = None) -> list[Record]:
    """What the plain JSON scan gives for ``flt``: the reference the index must match."""
    return [r for r in Store(root).load() if flt is None or flt.matches(r)]


def read(root: Path) -> Store:
    store = Store(root)
    store.runs()
    return store


# --- written, read, no catch-up needed ---------------------------------------------------------


def test_a_written_run_is_indexed_and_read_without_parsing(tmp_path: Path) -> None:
    fill(tmp_path, 3)
    assert (tmp_path / INDEX_NAME).is_file()
    store = read(tmp_path)
    assert store.notices == [] and store.problems == []
    runs = store.runs()
    scanned = Store(tmp_path).load()
    assert [r.run_id for r in runs] == list(dict.fromkeys(r.run_id for r in scanned))
    assert [r.records for r in runs] == [4, 4, 4]
    assert {r.run_id: r.failed for r in runs} == {"run0000": 0, "run0001": 1, "run0002": 0}
    assert dicts(store.select()) == dicts(Store(tmp_path).load())
    with sqlite3.connect(tmp_path / INDEX_NAME) as con:  # WAL on a local file system
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- always correct: missing, corrupt, stale ----------------------------------------------


def remove_index(root: Path) -> None:
    for p in root.glob(INDEX_NAME + "*"):
        p.unlink()


def test_a_deleted_index_is_rebuilt_with_one_notice(tmp_path: Path) -> None:
    fill(tmp_path, 3)
    want = dicts(Store(tmp_path).load())
    remove_index(tmp_path)
    store = read(tmp_path)
    assert len(store.notices) == 1
    assert "was missing; rebuilt from 3 results file(s)" in store.notices[0]
    assert dicts(store.select()) == want
    assert read(tmp_path).notices == []  # built once


def _garbage(p: Path) -> None:
    p.write_bytes(b"this is not a database, it was overwritten by accident\n" * 200)


def _truncated(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])


def _zeroed_pages(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[4096:] = bytes(len(data) - 4096)  # the header survives, every other page is zeros
    p.write_bytes(bytes(data))


def _other_database(p: Path) -> None:
    p.unlink()
    with sqlite3.connect(p) as con:
        con.execute("CREATE TABLE something (x)")


def _other_format(p: Path) -> None:
    with sqlite3.connect(p) as con:
        con.execute("PRAGMA user_version=999")


def _empty(p: Path) -> None:
    p.write_bytes(b"")


@pytest.mark.parametrize(("damage", "words"), [
    (_garbage, "was corrupt"), (_truncated, "was corrupt"), (_zeroed_pages, "was corrupt"),
    (_other_database, "was not a results index"), (_other_format, "of another format (999)"),
    (_empty, "was empty")])
def test_a_corrupt_index_is_rebuilt_with_one_notice(tmp_path: Path, damage: Any,
                                                    words: str) -> None:
    fill(tmp_path, 4)
    want = dicts(Store(tmp_path).load())
    for p in tmp_path.glob(INDEX_NAME + "-*"):
        p.unlink()
    damage(tmp_path / INDEX_NAME)
    store = Store(tmp_path)
    got = dicts(store.select())
    assert got == want
    assert sorted(r.run_id for r in store.runs()) == [f"run{i:04d}" for i in range(4)]
    assert len(store.notices) == 1 and words in store.notices[0]
    assert "rebuilt from 4 results file(s)" in store.notices[0]
    assert read(tmp_path).notices == []


def test_a_damaged_index_found_by_a_query_is_rebuilt(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fill(tmp_path, 2)
    store = Store(tmp_path)
    store.index()
    calls = {"n": 0}
    real = index.Index.runs

    def broken_once(self: index.Index, flt: Filter | None = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real(self, flt)

    monkeypatch.setattr(index.Index, "runs", broken_once)
    assert len(store.runs()) == 2
    assert any("was corrupt (database disk image is malformed)" in n for n in store.notices)


def test_files_written_behind_its_back_changed_or_removed_are_caught_up(tmp_path: Path) -> None:
    fill(tmp_path, 3)
    files = sorted(tmp_path.glob("*.json"))
    # a copy by hand (another run id), as rsync from another cluster would bring
    payload = json.loads(files[0].read_text())
    for item in payload["records"]:
        item["run_id"] = "handmade"
    (tmp_path / "zz-copied.json").write_text(json.dumps(payload))
    store = read(tmp_path)
    assert len(store.notices) == 1 and "1 results file(s) not in it indexed" in store.notices[0]
    assert "handmade" in {r.run_id for r in store.runs()}
    # a file changed in place (newer than the index): re-read
    payload["records"][0]["value"] = 12345.0
    changed = tmp_path / "zz-copied.json"
    changed.write_text(json.dumps(payload))
    later = time.time() + 5
    os.utime(changed, (later, later))
    store = Store(tmp_path)
    assert 12345.0 in {r.value for r in store.select(Filter(runs=("handmade",)))}
    assert "1 changed since re-indexed" in store.notices[0]
    # a file removed: its rows go
    gone_run = json.loads(files[1].read_text())["records"][0]["run_id"]
    files[1].unlink()
    store = read(tmp_path)
    assert "1 gone dropped" in store.notices[0]
    assert gone_run not in {r.run_id for r in store.runs()}
    assert dicts(store.select()) == dicts(Store(tmp_path).load())


def test_bad_files_and_records_are_skipped_in_the_index_as_in_the_store(tmp_path: Path) -> None:
    fill(tmp_path, 2)
    bad = run_records(7)[0].to_dict()
    bad["unit"] = "furlongs"
    (tmp_path / "badrec.json").write_text(json.dumps(
        {"format": "hpcplan-results", "records": [run_records(8)[0].to_dict(), bad, "x"]}))
    (tmp_path / "broken.json").write_text('{"format": "hpcplan-results", "records": [')
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "dir.json").mkdir()
    plain = Store(tmp_path)
    want = dicts(plain.load())
    store = Store(tmp_path)
    assert dicts(store.select()) == want
    assert store.problems == plain.problems and len(plain.problems) == 5
    # the stored problem lines name the file by the path the store is read through now
    moved = tmp_path.parent / "moved"
    shutil.move(str(tmp_path), moved)
    again = read(moved)
    assert again.notices == []  # moved, not changed: nothing re-read
    plain = Store(moved)
    plain.load()
    assert again.problems == plain.problems
    assert all(str(moved) in p and str(tmp_path) + "/" not in p for p in again.problems)


def test_a_writer_facing_a_corrupt_index_still_writes_and_readers_rebuild(tmp_path: Path
                                                                          ) -> None:
    fill(tmp_path, 1)
    _garbage(tmp_path / INDEX_NAME)
    store = Store(tmp_path)
    path = store.write(run_records(1))
    assert path.is_file()
    assert len(store.notices) == 1 and "not updated" in store.notices[0]
    reader = read(tmp_path)
    assert "was corrupt" in reader.notices[0]
    assert sorted(r.run_id for r in reader.runs()) == ["run0000", "run0001"]


# --- concurrency ------------------------------------------------------------------------------


def _writer(root: str, i: int, mode: str) -> None:
    if mode != "wal":
        index.journal_mode = lambda _root: mode  # type: ignore[assignment]
    store = Store(root)
    store.write(run_records(i))
    raise SystemExit(1 if store.notices else 0)


@pytest.mark.parametrize("mode", ["wal", "delete"])  # delete: what a network file system gets
def test_fifty_concurrent_writers_never_lose_an_index_row(tmp_path: Path, mode: str) -> None:
    ctx = get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), i, mode)) for i in range(50)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0, "a writer could not update the index"
    idx = open_index(tmp_path, catch_up=False)  # what the writers put there themselves
    try:
        assert idx.con.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 50
        assert idx.count() == 50 * len(NAMES)
        assert len(idx.runs()) == 50
    finally:
        idx.close()
    store = read(tmp_path)
    assert store.notices == []  # nothing to catch up
    assert sorted(r.run_id for r in store.runs()) == [f"run{i:04d}" for i in range(50)]


CONCURRENT_WRITER = textwrap.dedent("""
    import sys, time
    from bench.records import Record
    from bench.store import Store
    sys.path.insert(0, sys.argv[3])
    from tests.test_store_index import run_records
    store = Store(sys.argv[1])
    print("ready", flush=True)
    for i in range(int(sys.argv[2])):
        store.write(run_records(i, names=tuple(f"memory.stream.v{k}" for k in range(40))))
    print("done", len(store.notices), flush=True)
""")


def test_a_run_written_while_another_process_reads(tmp_path: Path) -> None:
    runs = 40
    writer = subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(tmp_path),
                               str(runs), str(ROOT)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    seen: list[int] = []
    while writer.poll() is None or not seen or seen[-1] < runs:
        store = Store(tmp_path)
        summaries = store.runs()
        # every run a reader sees is whole: all its 40 records, never a part
        assert all(s.records == 40 for s in summaries), [s.records for s in summaries]
        assert store.problems == []
        if summaries:  # and its records read whole from its file
            assert len(store.select(Filter(runs=(summaries[-1].run_id,)))) == 40
        store.close()
        assert not seen or len(summaries) >= seen[-1]  # never goes back
        seen.append(len(summaries))
        if writer.poll() is not None and seen[-1] == runs:
            break
    assert writer.wait(60) == 0
    out = writer.stdout.read()
    assert out.strip() == "done 0"  # the writer always updated the index itself
    assert seen[-1] == runs and len(set(seen)) > 1  # reads overlapped the writes


# --- where the index lives ----------------------------------------------------------------------


def test_a_store_that_is_not_writable_keeps_its_index_in_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "shared"
    fill(root, 2)
    remove_index(root)
    before = sorted(p.name for p in root.iterdir())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real_access = os.access
    monkeypatch.setattr(index.os, "access",
                        lambda p, mode: False if Path(p) == root else real_access(p, mode))
    store = read(root)
    assert len(store.runs()) == 2
    assert str(tmp_path / "cache" / "hpcplan" / "index") in store.notices[0]
    assert sorted(p.name for p in root.iterdir()) == before  # nothing written in the store
    assert index.cache_path(root).is_file()
    assert read(root).notices == []


def test_no_index_at_all_reads_the_json_files_in_memory(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fill(tmp_path, 2)

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(index, "_open_at", refuse)
    store = Store(tmp_path)
    assert dicts(store.select()) == dicts(Store(tmp_path).load())
    assert len(store.notices) == 1 and "unavailable" in store.notices[0]
    assert "read the JSON files directly" in store.notices[0]


MOUNTINFO = textwrap.dedent("""\
    22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
    40 22 0:40 / /lustre/home rw,relatime shared:20 - lustre 10.0.0.1@o2ib:/home rw
    41 22 0:41 / /scratch\\040space rw - nfs4 srv:/scratch rw
""")


def test_network_file_systems_get_the_rollback_journal(tmp_path: Path) -> None:
    assert index.fs_type(Path("/lustre/home/u/results"), MOUNTINFO) == "lustre"
    assert index.fs_type(Path("/scratch space/r"), MOUNTINFO) == "nfs4"
    assert index.fs_type(Path("/home/u"), MOUNTINFO) == "ext4"
    assert {"lustre", "nfs4", "gpfs", "beegfs"} <= index.NETWORK_FS


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("varied")
    store = Store(root)
    for i in range(12):
        store.write(run_records(i, node_type=("cpu_node", "gpu_node", "")[i % 3],
                                job=str(5000 + i % 4) if i % 2 else None,
                                when=f"2026-0{1 + i % 3}-1{i % 10}T0{i % 10}:30:00+02:00"
                                if i % 5 == 0 else None))
    return root


FILTERS = [
    Filter(),
    Filter(names=("memory.stream.triad",)),
    Filter(names=("memory.*",)),
    Filter(names=("memory.stream.copy", "compute.*.fp?4")),
    Filter(node_types=("gpu_node",)),
    Filter(node_types=("",)),
    Filter(statuses=("failed",)),
    Filter(statuses=("ok", "failed"), names=("storage.*",)),
    Filter(jobs=("5001", "5003")),
    Filter(since=index.time_bound("2026-01-10", "--since")),
    Filter(until=index.time_bound("2026-01-10", "--until", end=True)),
    Filter(since=index.time_bound("2026-01-05T00:00:00Z", "--since"),
           until=index.time_bound("2026-01-20T11:00", "--until", end=True),
           node_types=("cpu_node", "gpu_node")),
    Filter(runs=("run0003",)),
]


@pytest.mark.parametrize("flt", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_filters_give_what_the_json_scan_gives(varied: Path, flt: Filter) -> None:
    want = dicts(scan_select(varied, flt))
    store = Store(varied)
    assert dicts(store.select(flt)) == want
    assert sum(s.records for s in store.runs(flt)) == len(want)
    assert store.counts(flt) == {n: sum(1 for r in want if r["name"] == n)
                                 for n in {r["name"] for r in want}}
    frame = store.frame(flt)
    assert list(frame["name"]) == [r["name"] for r in want]
    assert list(frame["run_id"]) == [r["run_id"] for r in want]


def test_latest_per_name(varied: Path) -> None:
    store = Store(varied)
    latest = store.select(Filter(node_types=("cpu_node",)), latest_by=("name",))
    for rec in latest:
        same = [r for r in scan_select(varied, Filter(node_types=("cpu_node",)))
                if r.name == rec.name]
        assert index.utc_key(rec.timestamp) == max(index.utc_key(r.timestamp) for r in same)
    assert sorted(r.name for r in latest) == sorted(NAMES)


def test_bad_filter_values_are_one_sentence() -> None:
    from kernels.errors import UserError

    with pytest.raises(UserError, match="--name 'Memory"):
        Filter(names=("Memory[x]",))
    with pytest.raises(UserError, match="--status 'good' is not one of"):
        Filter(statuses=("good",))
    with pytest.raises(UserError, match="--since 'yesterday' is not a date"):
        index.time_bound("yesterday", "--since")
    assert index.time_bound("2026-11-30", "--until", end=True) == "2026-12-01T00:00:00.000000Z"
    assert index.time_bound("2026-11-30T12:00:00+02:00", "--since") == \
        "2026-11-30T10:00:00.000000Z"


# --- the commands -----------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize("args", [
    ("results", "list"),
    ("results", "list", "--name", "memory.*", "--status", "ok"),
    ("results", "list", "--node-type", "gpu_node", "--since", "2026-01-03", "--until",
     "2026-01-11"),
    ("results", "list", "--job", "5001", "--job", "5003"),
    ("results", "list", "--name", "nothing.at.all"),
    ("results", "show"),
    ("results", "show", "run0004", "--json"),
    ("results", "export", "--csv", "-"),
    ("results", "export", "--csv", "-", "--name", "compute.peak.fp64", "--status", "ok"),
    ("compare", "run0002", "run0008"),
    ("compare", "{root}", "{root}"),
])
def test_commands_answer_as_the_json_scan_does(varied: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch,
                                               args: tuple[str, ...]) -> None:
    argv = [a.replace("{root}", str(varied)) for a in args]
    argv += ["--results", str(varied)]
    Store(varied).runs()  # the index is current: no notes below
    indexed = cli(capsys, *argv)
    monkeypatch.setenv(index.ENV, "off")
    scanned = cli(capsys, *argv)
    assert indexed == scanned
    assert indexed[0] == 0


def test_list_filters_select_runs(varied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "results", "list", "--results", str(varied), "--status", "failed")
    assert code == 0
    listed = sorted(ln.split()[0] for ln in out.splitlines()[2:])
    assert listed == [f"run{i:04d}" for i in range(12) if i % 2]
    assert all(ln.split()[5:7] == ["1", "1"] for ln in out.splitlines()[2:])


def test_export_filters_and_writes_atomically(varied: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.csv"
    code, out, _ = cli(capsys, "results", "export", "--results", str(varied), "--csv",
                       str(target), "--name", "storage.*", "--node-type", "cpu_node")
    assert code == 0 and "4 record(s) written" in out
    lines = target.read_text().splitlines()
    assert lines[0].startswith("name,value,unit") and len(lines) == 5
    assert not list(tmp_path.glob(".tmp-*"))


def test_bad_options_are_one_sentence(varied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args, words in [(("--since", "soon"), "--since 'soon' is not a date"),
                        (("--since", "2026-02-01", "--until", "2026-01-01"), "is not after"),
                        (("--status", "fine"), "--status 'fine' is not one of"),
                        (("--name", "A.B"), "--name 'A.B' may hold only")]:
        code, _, err = cli(capsys, "results", "list", "--results", str(varied), *args)
        assert code == 2 and err.count("\n") == 1 and words in err


def test_parquet_without_pyarrow_is_one_sentence(varied: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    code, _, err = cli(capsys, "results", "export", "--results", str(varied), "--parquet",
                       str(tmp_path / "x.parquet"))
    assert code == 2 and "--parquet needs the pyarrow package" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.parquet").exists()


def test_parquet_export_holds_what_csv_holds(varied: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """pyarrow is a test dependency (and the ``parquet`` extra), so this runs in CI."""
    import pandas as pd

    pytest.importorskip("pyarrow", reason="pyarrow is installed by the test extra")
    code, out, _ = cli(capsys, "results", "export", "--results", str(varied), "--parquet",
                       str(tmp_path / "x.parquet"), "--name", "memory.stream.triad")
    assert code == 0 and "written" in out
    code, _, _ = cli(capsys, "results", "export", "--results", str(varied), "--csv",
                     str(tmp_path / "x.csv"), "--name", "memory.stream.triad")
    assert code == 0
    pq, csv = pd.read_parquet(tmp_path / "x.parquet"), pd.read_csv(tmp_path / "x.csv")
    assert len(pq) == len(csv) > 0 and set(pq["name"]) == {"memory.stream.triad"}
    assert sorted(pq["run_id"]) == sorted(csv["run_id"].astype(str))
    assert pq["value"].dropna().tolist() == pytest.approx(csv["value"].dropna().tolist())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_stale_index_is_one_note_on_stderr(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    fill(tmp_path, 2)
    remove_index(tmp_path)
    code, out, err = cli(capsys, "results", "list", "--results", str(tmp_path))
    assert code == 0 and "run0001" in out
    assert err.count("\n") == 1
    assert err.startswith("hpcplan: note: results index ") and "was missing" in err
    assert cli(capsys, "results", "list", "--results", str(tmp_path))[2] == ""


def test_calibration_reads_the_index_and_matches_the_scan(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from models.calibration import calibrate, load_results
    from models.loader import load_scenario

    fixtures = ROOT / "tests" / "fixtures" / "models"
    sc = load_scenario(fixtures / "small.toml")
    frame, problems = load_results(fixtures / "results")
    _, indexed = calibrate(sc, frame, source="x", notes=problems)
    monkeypatch.setenv(index.ENV, "off")
    frame2, problems2 = load_results(fixtures / "results")
    _, scanned = calibrate(sc, frame2, source="x", notes=problems2)
    assert indexed.to_dict() == scanned.to_dict()
    assert indexed.changes


def test_project_calibrates_through_the_index(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    fixtures = ROOT / "tests" / "fixtures" / "models"
    store = tmp_path / "results"
    shutil.copytree(fixtures / "results", store)
    remove_index(store)
    args = ("project", "--samples", "0", "--calibrate-from", str(store),
            str(fixtures / "small.toml"))
    code, out, err = cli(capsys, *args)
    assert code == 0 and "Calibration from" in out
    assert err.startswith("hpcplan: note: results index") and err.count("\n") == 1
    code, out2, err = cli(capsys, *args)
    assert code == 0 and out2 == out and err == ""
