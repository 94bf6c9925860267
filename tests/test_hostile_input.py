"""Issue 14: hostile and corrupt input. Nothing deleted, nothing overwritten, nothing lost,
no traceback: every user mistake is one sentence and exit 2 (or the documented exit).

One test (or parametrised group) per class of the issue; ``test_fuzz_input.py`` throws
random input at the same doors. ``clean`` has its own in ``test_storage_clean.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bench import baselines, registry
from bench.records import Record, RecordError, from_dict
from bench.store import Store
from hpcplan.cli import main
from kernels.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def one_sentence(err: str) -> str:
    """The single error line of a refused command (no traceback, no second line)."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpcplan: error: "), err
    return lines[0]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _out, err = run_cli(capsys, *args)
    assert code == 2, err
    return one_sentence(err)


def subprocess_cli(*args: str, timeout: float = 60, cwd: Path = ROOT,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command in a fresh interpreter, killed (and the test failed) if it hangs."""
    return subprocess.run([sys.executable, "-m", "hpcplan", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, check=False,
                          env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)})


def good_record(**kw: Any) -> Record:
    base: dict[str, Any] = dict(name="memory.stream.triad", value=10.0, unit="GB/s",
                                samples=(9.0, 10.0, 9.5, 10.2, 9.8),
                                validation={"passed": True, "details": "ok"},
                                machine={"cpu_model": "X", "hostname": "h", "cores": 2},
                                params={"n": 1})
    base.update(kw)
    return Record(**base)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


# --- 1. one bad record makes the whole store unreadable ---------------------------------

#: The issue's examples and their kin: (field, bad value, words of the warning).
BAD_FIELDS = [
    ("samples", ["a"], "samples"),
    ("timestamp", 5, "timestamp"),
    ("timestamp", "yesterday", "timestamp"),
    ("machine", "oops", "machine"),
    ("params", [1, 2], "params"),
    ("value", "12", "value"),
    ("ranks", "2", "ranks"),
    ("ranks", True, "ranks"),
    ("stats", {"min": "a"}, "stats"),
    ("stats", [1], "stats"),
    ("per_rank", "x", "per_rank"),
    ("validation", "yes", "validation"),
    ("validation", {"passed": "yes"}, "validation.passed"),
    ("job", {"job_id": [1]}, "job.job_id"),
    ("machine", {"cpu_model": 5}, "machine.cpu_model"),
    ("machine", {"peak_gflops": [1, 2]}, "machine.peak_gflops"),
    ("params", {"theoretical_peak_gflops": "abc"}, "params.theoretical_peak_gflops"),
    ("params", {"precision": ["fp64"]}, "params.precision"),
    ("name", 7, "name"),
    ("unit", None, "unit"),
    ("kernel_version", 3, "kernel_version"),
    ("compile_s", "fast", "compile_s"),
    ("software", {"hpcplan_commit": {"a": 1}}, "software.hpcplan_commit"),
]


def write_store(root: Path, bad_items: list[Any], extra_files: dict[str, str] | None = None
                ) -> None:
    root.mkdir(parents=True, exist_ok=True)
    Store(root).write([good_record()])
    (root / "zz-bad.json").write_text(json.dumps({"format": "hpcplan-results",
                                                  "records": bad_items}))
    for name, text in (extra_files or {}).items():
        (root / name).write_text(text)


@pytest.mark.parametrize(("field", "value", "words"), BAD_FIELDS)
def test_a_record_with_a_bad_field_is_refused_naming_the_field(field: str, value: Any,
                                                               words: str) -> None:
    d = good_record().to_dict()
    d[field] = value
    with pytest.raises(RecordError, match=words.replace(".", r"\.")):
        from_dict(d)


@pytest.mark.parametrize("item", ["abc", 5, None, [1, 2], True])
def test_a_record_that_is_not_an_object_is_refused(item: Any) -> None:
    with pytest.raises(RecordError, match="not an object"):
        from_dict(item)


def test_records_that_cannot_be_stored_are_refused_when_built() -> None:
    for params in ({"x": math.nan}, {"x": [math.inf]}, {"x": {1: 2}}, {"x": object()}):
        with pytest.raises(RecordError, match="params"):
            good_record(params=params)
    with pytest.raises(RecordError, match="value"):
        good_record(status="unavailable", value=math.nan, validation={"passed": False})
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(RecordError, match="deeper"):
        good_record(machine=deep)


def test_every_reader_works_on_the_rest_of_the_store(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    store = tmp_path / "store"
    bad = []
    for field, value, _ in BAD_FIELDS:
        d = good_record().to_dict()
        d[field] = value
        bad.append(d)
    bad += ["abc", 5, None]
    write_store(store, bad, {"notalist.json": json.dumps({"format": "hpcplan-results",
                                                          "records": "abc"}),
                             "nan.json": '{"format": "hpcplan-results", "records": '
                                         '[{"schema_version": 1, "name": "a.b.c", "value": NaN,'
                                         ' "unit": "s"}]}',
                             "deep.json": "[" * 100_000 + "]" * 100_000})

    code, out, err = run_cli(capsys, "results", "list", "--results", str(store))
    assert code == 0 and "Traceback" not in err
    # the files written by hand are not in the index yet: one note says they were added
    notes = [w for w in err.strip().splitlines() if w.startswith("hpcplan: note: results index")]
    assert len(notes) == 1 and "not in it indexed" in notes[0]
    warnings = [w for w in err.strip().splitlines() if w not in notes]
    assert all(w.startswith("hpcplan: warning: ") for w in warnings)
    assert len(warnings) == len(bad) + 3
    for i, (_field, _value, words) in enumerate(BAD_FIELDS):
        assert any(f"zz-bad.json: record {i}:" in w and words in w for w in warnings), words
    assert any("notalist.json: 'records' is not a list" in w for w in warnings)
    assert any("deep.json: unreadable" in w for w in warnings)
    assert "1 " in out  # the good run is listed

    for args in (("results", "show", "--results", str(store)),
                 ("results", "show", "--json", "--results", str(store)),
                 ("results", "export", "--csv", "-", "--results", str(store))):
        code, out, err = run_cli(capsys, *args)
        assert code == 0 and "memory.stream.triad" in out and "Traceback" not in err

    other = tmp_path / "other"
    write_store(other, bad)
    code, out, err = run_cli(capsys, "compare", str(store), str(other))
    assert code == 0 and "memory.stream.triad" in out
    assert "note:" in out and "zz-bad.json: record 0" in out
    # gate on records: judged, not crashed
    code, out, err = run_cli(capsys, "gate", str(store), "--baseline", str(other))
    assert code == 0 and "gate: passed" in out

    code, out, err = run_cli(capsys, "project", "--samples", "0", "--calibrate-from",
                             str(store), str(ROOT / "tests/fixtures/models/small.toml"))
    assert code == 0, err


def test_report_reads_the_rest_of_a_damaged_store(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    bad = []
    for field, value, _ in BAD_FIELDS[:6]:
        d = good_record().to_dict()
        d[field] = value
        bad.append(d)
    write_store(store, bad)
    code, _out, err = run_cli(capsys, "report", "--results", str(store), "--samples", "0",
                             "--scenario", str(ROOT / "tests/fixtures/models/small.toml"),
                             "--out", str(tmp_path / "r" / "report.html"))
    assert code == 0, err
    assert (tmp_path / "r" / "report.html").stat().st_size > 0


# --- 2. writes only where the user pointed ------------------------------------------------

def benchmark_json(key: Any = "x-2c", data: Any = None, **bench: Any) -> dict[str, Any]:
    entry = {"name": "test_k", "fullname": "t.py::test_k",
             "stats": {"data": [1.0, 1.1, 0.9, 1.0, 1.05] if data is None else data},
             "extra_info": {"validation": {"passed": True}}, **bench}
    return {"machine_info": {"hpcplan": {"cpu_model": "X", "cores": 2, "machine_key": key}},
            "benchmarks": [entry]}


@pytest.mark.parametrize("key", ["../x/victim", "../../victim", "/tmp/victim", "a/b", "..", ".",
                                 "victim\x00", "Victim", "-rf", "x" * 300, 5, ["x"]])
def test_refresh_refuses_a_machine_key_that_is_not_a_file_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], key: Any) -> None:
    victim_dir = tmp_path / "x"
    victim_dir.mkdir()
    (victim_dir / "victim.json").write_text("the user's file")
    (tmp_path / "victim.json").write_text("another user file")
    base = tmp_path / "baselines" / "deep"
    base.mkdir(parents=True)
    current = tmp_path / "ci.json"
    current.write_text(json.dumps(benchmark_json(key)))
    before = snapshot(tmp_path)
    line = refused(capsys, "gate", "--refresh", str(current), "--baselines", str(base))
    assert "machine key" in line or "does not say which machine" in line
    assert snapshot(tmp_path) == before
    # judging reads no path built from the key either
    line = refused(capsys, "gate", str(current), "--baselines", str(base))
    assert "machine key" in line or "does not name its machine" in line


def test_refresh_writes_atomically_and_never_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("keep")
    base = tmp_path / "b"
    base.mkdir()
    os.symlink(victim, base / "x-2c.json")
    current = tmp_path / "ci.json"
    current.write_text(json.dumps(benchmark_json()))
    target = baselines.refresh(current, base)
    assert target == base / "x-2c.json" and not target.is_symlink()
    assert victim.read_text() == "keep"
    assert json.loads(target.read_text())["benchmarks"][0]["name"] == "test_k"
    assert sorted(os.listdir(base)) == ["x-2c.json"]  # no temporary file left


# --- 3. typed, checked --param ------------------------------------------------------------

@pytest.mark.parametrize(("param", "words"), [
    ("io_stonewall_s=nan", "not finite"),
    ("peak_seconds=inf", "not finite"),
    ("peak_seconds=-inf", "not finite"),
    ("stream_elements=abc", "not a whole number"),
    ("stream_elements=1.5", "not a whole number"),
    ("md_files=-1", "must not be negative"),
    ("gemm_n=-5", "must not be negative"),
    ("io_block=-1MiB", "not a size"),
    ("io_direct=maybe", "true or false"),
    ("net_sizes=8,abc", "byte counts"),
    ("repeats=1", "at least 2"),
    ("repeats=0", "at least 2"),
    ("md_flies=10", "did you mean 'md_files'"),
    ("io_stonewal_s=1", "did you mean 'io_stonewall_s'"),
    ("unknown=nan", "not a parameter of suite"),
    ("unknown=-3", "not a parameter of suite"),
    ("mxp_n=4096", "only by suite compute"),
    ("x", "not KEY=VALUE"),
    ("=1", "not KEY=VALUE"),
    ("a b=1", "not KEY=VALUE"),
    ("stream_elements=1e400", "not a whole number"),
    ("peak_seconds=1e400", "not finite"),
    ("stream_elements=99999999999999999999", "too large"),
    ("mxp_precision=", "empty"),
    ("io_api=posix\x1b[2J", "control characters"),
])
def test_bad_params_are_refused_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        param: str, words: str) -> None:
    from hpcplan import cmd_run

    def must_not_run(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the suite ran")

    monkeypatch.setattr(cmd_run, "measure", must_not_run)
    results = tmp_path / "results"
    key = param.partition("=")[0]
    # the suite that reads the key (io for keys no suite reads, and for mxp_n on purpose)
    suite = next((s for s in registry.names() if key in registry.params(s) and s != "quick"
                  and key != "mxp_n"), "io")
    line = refused(capsys, "run", "--suite", suite, "--results", str(results), "--param", param)
    assert words in line
    assert not results.exists()
    # submit --dry-run applies the same checks, so a job does not fail on the cluster
    line = refused(capsys, "submit", suite, "--dry-run", "--results", str(results),
                   "--param", param)
    assert words in line
    assert not results.exists()


def test_repeats_below_two_is_refused_however_given(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for args in (("--repeats", "1"), ("--param", "repeats=1"), ("--repeats", "-3")):
        line = refused(capsys, "run", "--results", str(tmp_path / "r"), *args)
        assert "at least 2" in line or "between 2" in line
    assert not (tmp_path / "r").exists()


def test_good_params_keep_their_types() -> None:
    from bench.params import parse

    assert parse(["stream_elements=1000", "peak_seconds=0.05", "io_block=1MiB",
                  "io_direct=true", "net_sizes=8,65536", "mxp_grid=2x2", "io_reorder=auto",
                  "mxp_max_iter=0", "repeats=3"]) == {
        "stream_elements": 1000, "peak_seconds": 0.05, "io_block": "1MiB", "io_direct": True,
        "net_sizes": "8,65536", "mxp_grid": "2x2", "io_reorder": "auto", "mxp_max_iter": 0,
        "repeats": 3}


@pytest.mark.parametrize(("items", "suite", "words"), [
    (["my_note=hello"], "quick", "not a parameter of suite quick"),
    (["md_flies=10"], "io", "did you mean 'md_files'"),
    (["mxp_n=4096"], "quick", "only by suite compute"),
    (["io_api=nfs"], "io", "not one of posix, mpiio"),
    (["mxp_mem_fraction=1.5"], "compute", "at most 1"),
    (["gemm_n=0"], "compute", "at least 1"),
])
def test_params_are_checked_against_the_suites_declarations(items: list[str], suite: str,
                                                            words: str) -> None:
    from bench.params import parse

    with pytest.raises(UserError, match=re.escape(words)):
        parse(items, [suite])


# --- 4. config always honoured --------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ("results", "list", "--results", "{tmp}"),
    ("project", "--samples", "0"),
    ("clean", "{tmp}"),
    ("compare", "{tmp}/a.json", "{tmp}/b.json", "--results", "{tmp}"),
    ("gate", "{tmp}/a.json", "--baseline", "{tmp}/b.json"),
    ("sysinfo",),
])
def test_a_named_config_that_is_missing_or_broken_stops_every_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    line = refused(capsys, "--config", str(tmp_path / "absent.toml"), *args)
    assert "absent.toml" in line and "does not exist" in line
    broken = tmp_path / "broken.toml"
    broken.write_bytes(b"[site]\nname = \"caf\xe9\"\n")  # Latin-1, not UTF-8
    line = refused(capsys, "--config", str(broken), *args)
    assert "not UTF-8" in line and "broken.toml" in line
    broken.write_text("[site]\nnmae = 'x'\n")
    line = refused(capsys, "--config", str(broken), *args)
    assert "did you mean 'name'" in line


def test_config_from_the_environment_is_honoured_too(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCPLAN_CONFIG", str(tmp_path / "absent.toml"))
    line = refused(capsys, "results", "list", "--results", str(tmp_path))
    assert "$HPCPLAN_CONFIG" in line


# --- 5. readers that cannot hang --------------------------------------------------------------

def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


class _Unblocker:
    """If a reader does block on a FIFO under ``root``, open the FIFOs for writing every few
    seconds so the test fails on its assertions instead of hanging the whole suite."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poke, daemon=True)
        self.thread.start()

    def poke(self) -> None:
        while not self.stop.wait(5):
            for p in self.root.rglob("*"):
                if p.is_fifo():
                    with contextlib.suppress(OSError):
                        os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK))

    def __enter__(self) -> _Unblocker:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()


def test_a_fifo_is_never_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    write_store(store, [])
    fifo(store / "pipe.json")
    with _Unblocker(tmp_path):
        code, _out, err = run_cli(capsys, "results", "list", "--results", str(store))
        assert code == 0 and "pipe.json is not a regular file" in err
        for args in (("project", str(fifo(tmp_path / "s.toml")), "--samples", "0"),
                     ("--config", str(fifo(tmp_path / "c.toml")), "sysinfo"),
                     ("compare", str(fifo(tmp_path / "a.json")), str(store)),
                     ("gate", "--refresh", str(fifo(tmp_path / "ci.json")), "--baselines",
                      str(tmp_path / "b"))):
            assert "not a regular file" in refused(capsys, *args)


def test_a_fifo_ledger_is_refused(tmp_path: Path) -> None:
    from slurm import SlurmError
    from slurm.ledger import Ledger

    ledger = Ledger(tmp_path)
    fifo(ledger.path)
    with _Unblocker(tmp_path), pytest.raises(SlurmError, match="not a regular file"):
        ledger.entries()
    ledger.path.unlink()
    ledger.path.write_bytes(b'{"version": 1, "jobs": [{"job_id": "caf\xe9"}]}')
    with pytest.raises(SlurmError, match="not UTF-8"):
        ledger.entries()
    ledger.path.write_text('{"version": "1", "jobs": []}')
    with pytest.raises(SlurmError, match="integer version"):
        ledger.entries()


def test_non_utf8_ledger_is_one_sentence(tmp_path: Path) -> None:
    jobs = tmp_path / "slurm"
    jobs.mkdir()
    (jobs / "ledger.json").write_bytes(b"\xff\xfe{")
    done = subprocess_cli("jobs", "--results", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "not UTF-8" in one_sentence(done.stderr)


def test_oversized_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from bench import store as store_mod
    from hpcplan import config

    store = tmp_path / "store"
    write_store(store, [])
    monkeypatch.setattr(store_mod, "MAX_FILE_BYTES", 100)
    code, _, err = run_cli(capsys, "results", "list", "--results", str(store))
    assert code == 0 and "more than the 100 bytes" in err
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 20)
    monkeypatch.setattr(config, "MAX_BYTES", 100)
    assert "more than the 100 bytes" in refused(capsys, "--config", str(big), "sysinfo")


# --- 6. crafted pytest-benchmark JSON and NaN timings --------------------------------------

CRAFTED: list[Any] = [
    {"machine_info": {}, "benchmarks": [1, "x", None]},
    {"machine_info": {"cpu": 5}, "benchmarks": [{"name": "a", "stats": "x"}]},
    {"machine_info": {"hpcplan": {"cpu_model": 5}}, "benchmarks": [{"name": 5}]},
    {"machine_info": {"hpcplan": "x"}, "benchmarks": [{"name": "a", "stats": {"data": "abc"}}]},
    {"machine_info": {}, "benchmarks": [{"name": "a", "stats": {"data": ["a", "b"]}}]},
    {"machine_info": {}, "benchmarks": [{"name": "a", "stats": {"data": [True, False]}}]},
    {"machine_info": {}, "benchmarks": [{"name": "a", "stats": {"data": [1, 2]},
                                         "extra_info": [], "params": "x"}]},
    {"machine_info": {"hpcplan": {"cpu_model": "X", "cores": "many",
                                  "load_average_start": "high", "machine_key": "x-2c"}},
     "benchmarks": [{"name": "a", "stats": {"data": [1.0] * 6},
                     "extra_info": {"validation": "passed"}}]},
    {"machine_info": {}, "benchmarks": [{"name": "a", "stats": {"data": [-1.0, 0.0, 1.0]}}]},
]


@pytest.mark.parametrize("payload", CRAFTED)
def test_crafted_benchmark_json_never_crashes_compare_or_gate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: Any) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(benchmark_json()))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    before = snapshot(tmp_path)
    for args in (("compare", str(good), str(bad)), ("compare", str(bad), str(good)),
                 ("gate", str(bad), "--baseline", str(good)),
                 ("gate", "--refresh", str(bad), "--baselines", str(tmp_path / "b"))):
        code, _out, err = run_cli(capsys, *args)
        assert code in (0, 1, 2) and "Traceback" not in err
        if code == 2:
            one_sentence(err)
    assert snapshot(tmp_path) == before  # a refused refresh writes nothing


def test_nan_timings_are_never_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(benchmark_json()))
    for data in ([math.nan] * 6, [1.0, 1.0, math.nan, 1.0, 1.0, 1.0], [math.inf] * 6):
        bad = tmp_path / "nan.json"
        bad.write_text(json.dumps(benchmark_json(data=data)))  # json writes NaN, Infinity
        code, out, err = run_cli(capsys, "compare", str(good), str(bad))
        assert "no significant change" not in out
        assert code == 2 and "not comparable" in one_sentence(err)
        assert "NaN or infinite" in out
        line = refused(capsys, "gate", str(bad), "--baseline", str(good))
        assert "could not judge" in line and "NaN or infinite" in line
        with pytest.raises(UserError, match="NaN or infinite"):
            baselines.refresh(bad, tmp_path / "b")


# --- 7. ranges and empty paths -----------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", str(2**64), str(-(2**70))])
def test_seed_is_range_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               seed: str) -> None:
    assert "--seed" in refused(capsys, "project", "--samples", "10", "--seed", seed)
    assert "--seed" in refused(capsys, "report", "--results", str(tmp_path), "--seed", seed)
    assert "--seed" in refused(capsys, "plan", "--skip-measure", "--results", str(tmp_path),
                               "--seed", seed)


@pytest.mark.parametrize("args", [
    ("results", "list", "--results", ""),
    ("project", ""),
    ("project", "--calibrate-from", ""),
    ("compare", "", "x"),
    ("compare", "x", " "),
    ("gate", "", "--baseline", "x"),
    ("gate", "--refresh", "x", "--baselines", ""),
    ("clean", ""),
    ("run", "--target", ""),
    ("report", "--out", ""),
    ("--config", "", "sysinfo"),
    ("submit", "io", "--dry-run", "--target", ""),
])
def test_an_empty_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").write_text("x")
    line = refused(capsys, *args)
    assert "empty path" in line
    assert sorted(os.listdir(tmp_path)) == ["keep"]


# --- 8. scenario parts graphs: linear, no recursion --------------------------------------------

def _parts_scenario(catalogue: str, top: str) -> str:
    return f"""[scenario]
name = "parts"
start = "2026-01"
end = "2027-12"
builtin_catalogue = false

{catalogue}
[phases.p]
system = "s"
date = "2026-06"
node_type = "{top}"
count = 1
lifetime_years = 5

[facility]
power_envelope = "1000 MW"
pue = 1.2

[targets.compute]
metric = "mixed_peak_pf"
threshold = "1 PF"
deadline = "2027-12"
"""


def _node(name: str, parts: dict[str, int]) -> str:
    inner = ", ".join(f"{k} = {v}" for k, v in parts.items())
    body = f"parts = {{ {inner} }}\n" if parts else 'fp64 = "1 TF"\nbf16 = "2 TF"\npower = "1 W"\n'
    return f'[catalogue.{name}]\nassumption = "test"\n{body}\n'


@pytest.mark.parametrize("shape", ["diamond", "chain"])
def test_deep_or_diamond_parts_graphs_load_quickly(tmp_path: Path, shape: str) -> None:
    if shape == "diamond":  # 4**15 (a billion) paths from top to bottom if walked blindly
        depth = 15
        cat = "".join(_node(f"n{i}", {f"{b}{i + 1}": 1 for b in "abcd"}) +
                      "".join(_node(f"{b}{i + 1}", {f"n{i + 1}": 1}) for b in "abcd")
                      for i in range(depth))
        cat += _node(f"n{depth}", {})
    else:  # deeper than Python's recursion limit
        depth = 3000
        cat = "".join(_node(f"n{i}", {f"n{i + 1}": 1}) for i in range(depth)) + \
            _node(f"n{depth}", {})
    scenario = tmp_path / "parts.toml"
    scenario.write_text(_parts_scenario(cat, "n0"))
    done = subprocess_cli("project", str(scenario), "--samples", "0", timeout=120)
    assert done.returncode in (0, 2), done.stderr
    if shape == "diamond":
        assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    if done.returncode == 2:
        one_sentence(done.stderr)
