"""Issue 14's fuzz suite: random and corrupt input at every door that reads user data.

Each property asserts the same three things: the command answers with its
documented exit (a refusal is exit 2 and one sentence, never a traceback), no
file outside what the command may write changes, and the good data next to the
bad is still read. Examples are kept few so the suite stays quick on a shared
machine; hypothesis' database replays any failure it finds.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import params as params_mod
from bench import registry
from bench.index import INDEX_NAME
from bench.records import Record, RecordError, from_dict
from bench.store import Store
from hpcplan.cli import main
from kernels.errors import UserError
from kernels.workdir import MARKER_NAME, RUN_ENTRIES, WorkDir

FUZZ = settings(max_examples=int(os.environ.get("HPCPLAN_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

#: Any JSON value, NaN and infinities included (Python's json reads and writes them).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hpcplan-fuzz-") as d:
        yield Path(d)


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file under ``root`` but the results index, which any reader may bring up to date."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            if n.startswith(INDEX_NAME):
                continue
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link -> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "special"
    return out


def answered(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command in-process: any exception escaping ``main`` fails the test."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hpcplan: error: "), err
    return code, out, err


def good_record(i: int = 0) -> Record:
    return Record(name="memory.stream.triad", value=10.0 + i, unit="GB/s",
                  samples=(9.0, 10.0, 9.5, 10.2, 9.8), validation={"passed": True},
                  machine={"cpu_model": "X", "hostname": "h", "cores": 2}, params={"n": 1})


FIELDS = sorted(good_record().to_dict())


# --- corrupt records and files in a store ------------------------------------------------

@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(FIELDS), json_values), min_size=1,
                        max_size=3),
       drop=st.lists(st.sampled_from(FIELDS), max_size=2))
def test_a_corrupt_record_costs_only_itself(changes: list[tuple[str, Any]],
                                            drop: list[str]) -> None:
    d = good_record(1).to_dict()
    for key, value in changes:
        d[key] = value
    for key in drop:
        d.pop(key, None)
    try:
        rec = from_dict(d)
    except RecordError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    # whatever was accepted can be stored and read back unchanged
    text = json.dumps(rec.to_dict(), allow_nan=False)
    assert from_dict(json.loads(text)) == rec


@FUZZ
@given(items=st.lists(json_values, max_size=4), payload=json_values,
       raw=st.binary(max_size=64))
def test_a_store_with_corrupt_files_still_reads(capsys: pytest.CaptureFixture[str],
                                               items: list[Any], payload: Any,
                                               raw: bytes) -> None:
    with scratch() as root:
        store = Store(root / "store")
        store.write([good_record()])
        (store.root / "a-items.json").write_text(
            json.dumps({"format": "hpcplan-results", "records": items}))
        (store.root / "b-payload.json").write_text(json.dumps(payload))
        (store.root / "c-raw.json").write_bytes(raw)
        before = snapshot(root)
        records = store.load()
        assert "memory.stream.triad" in {r.name for r in records}
        assert all(p.startswith(str(store.root)) for p in store.problems)
        for args in (("results", "list"), ("results", "show"),
                     ("results", "export", "--csv", "-")):
            code, out, err = answered(capsys, *args, "--results", str(store.root))
            assert code == 0 and out
            for line in err.strip().splitlines():
                assert line.startswith(("hpcplan: warning: ", "hpcplan: note: results index "))
        code, out, _ = answered(capsys, "compare", str(store.root), str(store.root))
        assert code == 0
        assert snapshot(root) == before


# --- random --param strings ---------------------------------------------------------------

param_keys = st.sampled_from(sorted(registry.params())) | st.text(max_size=12)
param_values = (st.text(max_size=16)
                | st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999",
                                   "-1", "0", "1", "2", "1.5", "1e3", "0x10", "1_000", " 7 ",
                                   "1MiB", "-1MiB", "true", "maybe", "8,65536", "8,,", "auto"])
                | st.floats(allow_nan=True, allow_infinity=True).map(repr)
                | st.integers(min_value=-(2**80), max_value=2**80).map(str))


@FUZZ
@given(pairs=st.lists(st.tuples(param_keys, param_values), min_size=1, max_size=3),
       raw=st.lists(st.text(max_size=20), max_size=1))
def test_random_params_are_refused_or_typed(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch,
                                            pairs: list[tuple[str, str]],
                                            raw: list[str]) -> None:
    from hpcplan import cmd_run

    items = [f"{k}={v}" for k, v in pairs] + raw
    try:
        options = params_mod.parse(items, ["quick"])  # what "hpcplan run" checks by default
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
        options = None
    if options is not None:
        # what is accepted is finite, non-negative and storable in a record
        for value in options.values():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert math.isfinite(value) and value >= 0
        json.dumps(options, allow_nan=False)
        assert options.get("repeats", 2) >= 2

    seen: list[dict[str, Any]] = []

    def fake_measure(_site: Any, _suite: str, _results: Any, opts: dict[str, Any],
                     **_kw: Any) -> Any:
        seen.append(opts)
        return cmd_run.Measured(0, None, [], True, False)

    monkeypatch.setattr(cmd_run, "measure", fake_measure)
    with scratch() as root:
        args = ["run", "--results", str(root / "r")]
        args += [f"--param={item}" for item in items]  # '=' form: a value may start with '-'
        code, _out, _err = answered(capsys, *args)
        assert (code == 0) == (options is not None)
        assert code in (0, 2) and not (root / "r").exists()
        if options is not None:
            assert seen == [options]


# --- malformed pytest-benchmark JSON --------------------------------------------------------

def _bench_entry() -> st.SearchStrategy[Any]:
    data = st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers()
                    | json_values, max_size=7)
    stats = st.fixed_dictionaries({}, optional={"data": data | json_values}) | json_values
    return st.fixed_dictionaries(
        {}, optional={"name": st.text(max_size=6) | json_values,
                      "fullname": st.text(max_size=6) | json_values,
                      "stats": stats, "params": json_values,
                      "extra_info": st.fixed_dictionaries(
                          {}, optional={"validation": json_values, "params": json_values})
                      | json_values}) | json_values


machine_info = st.fixed_dictionaries(
    {}, optional={"hpcplan": st.fixed_dictionaries(
        {}, optional={"cpu_model": st.text(max_size=6) | json_values,
                      "cores": json_values, "load_average_start": json_values,
                      "machine_key": st.sampled_from(["x-2c", "../v", "a/b", "", "..", "/t"])
                      | st.text(max_size=10) | json_values}) | json_values,
                  "cpu": json_values, "processor": json_values}) | json_values
benchmark_payloads = st.fixed_dictionaries(
    {"machine_info": machine_info, "benchmarks": st.lists(_bench_entry(), max_size=3)
     | json_values})


def _good_benchmark() -> dict[str, Any]:
    return {"machine_info": {"hpcplan": {"cpu_model": "X", "cores": 2, "machine_key": "x-2c"}},
            "benchmarks": [{"name": "k", "fullname": "t.py::k",
                            "stats": {"data": [1.0, 1.1, 0.9, 1.0, 1.05]},
                            "extra_info": {"validation": {"passed": True}}}]}


@FUZZ
@given(payload=benchmark_payloads)
def test_malformed_benchmark_json_is_one_sentence(capsys: pytest.CaptureFixture[str],
                                                  payload: Any) -> None:
    with scratch() as root:
        outside = root / "outside"
        outside.mkdir()
        (outside / "v.json").write_text("victim")
        work = root / "work"
        work.mkdir()
        good = work / "good.json"
        good.write_text(json.dumps(_good_benchmark()))
        bad = work / "bad.json"
        bad.write_text(json.dumps(payload))
        base = work / "baselines"
        before = snapshot(root)
        for args in (("compare", str(good), str(bad)), ("compare", str(bad), str(good)),
                     ("gate", str(bad), "--baseline", str(good)),
                     ("gate", str(bad), "--baselines", str(base))):
            code, _out, _err = answered(capsys, *args)
            assert code in (0, 1, 2)
        assert snapshot(root) == before
        code, _out, _err = answered(capsys, "gate", "--refresh", str(bad), "--baselines",
                                    str(base))
        after = snapshot(root)
        changed = {k for k in set(after) | set(before) if after.get(k) != before.get(k)}
        if code == 0:
            # the one file a refresh may write: <baselines>/<plain key>.json
            assert changed <= {"work/baselines", *(f"work/baselines/{n}"
                                                   for n in os.listdir(base))}
            assert len(os.listdir(base)) == 1
        else:
            assert code == 2 and changed <= {"work/baselines"}


# --- hostile trees for clean ---------------------------------------------------------------

names = st.sampled_from([*RUN_ENTRIES, "data.000000", "data.shared", "rank.000000",
                         "f.00000001", "f.000000.00000001", "fio.data", "home", "..x",
                         ".hidden", "thesis.tex", "data.0", MARKER_NAME])
tree_nodes = st.recursive(
    st.sampled_from(["file", "link-victim-dir", "link-victim-file", "fifo", "dangling"]),
    lambda inner: st.dictionaries(names, inner, max_size=4), max_leaves=10)


def _build(where: Path, spec: Any, victim: Path) -> None:
    for name, node in spec.items():
        p = where / name
        if p.exists() or p.is_symlink():
            continue
        if isinstance(node, dict):
            p.mkdir()
            _build(p, node, victim)
        elif node == "file":
            p.write_bytes(b"x")
        elif node == "link-victim-dir":
            os.symlink(victim, p)
        elif node == "link-victim-file":
            os.symlink(victim / "precious", p)
        elif node == "fifo":
            os.mkfifo(p)
        else:
            os.symlink(where / "nowhere", p)


@FUZZ
@given(tree=st.dictionaries(names, tree_nodes, max_size=5), marker_change=st.one_of(
    st.none(), st.tuples(st.sampled_from(["token", "uid", "pid", "name", "entries", "host",
                                          "magic", "started", "kind"]), json_values)),
    force=st.booleans(), dry_run=st.booleans())
def test_clean_only_removes_what_a_run_wrote(capsys: pytest.CaptureFixture[str],
                                             tree: dict[str, Any],
                                             marker_change: tuple[str, Any] | None,
                                             force: bool, dry_run: bool) -> None:
    with scratch() as root:
        victim = root / "victim"
        victim.mkdir()
        (victim / "precious").write_text("keep")
        (victim / "data.000000").write_text("keep too")
        scratch_dir = root / "scratch"
        scratch_dir.mkdir()
        (scratch_dir / "neighbour.txt").write_text("not ours")
        wd = WorkDir.create(scratch_dir)
        tree.pop(MARKER_NAME, None)
        _build(wd.path, tree, victim)
        if marker_change is not None:
            marker = json.loads((wd.path / MARKER_NAME).read_text())
            marker[marker_change[0]] = marker_change[1]
            (wd.path / MARKER_NAME).write_text(json.dumps(marker))
        before_victim = snapshot(victim)
        before_run = snapshot(wd.path)
        args = ["clean", str(scratch_dir)] + (["--force"] if force else []) + \
            (["--dry-run"] if dry_run else [])
        code, out, _err = answered(capsys, *args)
        assert code in (0, 1)
        assert snapshot(victim) == before_victim
        assert (scratch_dir / "neighbour.txt").read_text() == "not ours"
        after_run = snapshot(wd.path) if wd.path.exists() else {}
        if dry_run:
            assert after_run == before_run
        for rel in set(before_run) - set(after_run):
            # everything removed is a name a run writes at that depth, or lies below one
            assert rel.split("/")[0] in RUN_ENTRIES or (
                rel == MARKER_NAME and not wd.path.exists()), rel
        if code == 1:
            assert wd.path.exists() and "not removed" in out
