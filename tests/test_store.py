import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing import get_context

import pytest

from bench.records import Record
from bench.store import Store
from kernels.errors import UserError


def rec(i: int = 0, **kw) -> Record:
    return Record(name="memory.stream.copy", value=float(i + 1), unit="GB/s",
                  validation={"passed": True}, params={"i": i}, **kw)


def test_write_then_load(tmp_path):
    store = Store(tmp_path)
    path = store.write([rec(1), rec(2)])
    assert path.parent == tmp_path and path.suffix == ".json"
    assert [r.value for r in store.load()] == [2.0, 3.0]
    assert not list(tmp_path.glob(".tmp-*"))  # the temporary file is gone


def test_corrupt_and_foreign_files_are_reported_and_skipped(tmp_path):
    store = Store(tmp_path)
    store.write([rec(1)])
    (tmp_path / "broken.json").write_text('{"format": "hpcplan-results", "records": [')
    (tmp_path / "other.json").write_text('{"hello": 1}')
    bad = rec(3).to_dict()
    bad["unit"] = "furlongs"
    (tmp_path / "badrec.json").write_text(json.dumps({"format": "hpcplan-results",
                                                      "records": [bad]}))
    records = store.load()
    assert [r.value for r in records] == [2.0]
    text = "\n".join(store.problems)
    assert "broken.json: unreadable" in text
    assert "other.json: not an hpcplan results file" in text
    assert "badrec.json: record 0:" in text and "furlongs" in text


def test_env_variable_sets_default_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCPLAN_RESULTS", str(tmp_path / "r"))
    assert Store().root == tmp_path / "r"


def test_unwritable_root_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="is not a directory"):
        Store(blocker).check_writable()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.geteuid() == 0:  # root ignores permission bits: use a path below a file
            with pytest.raises(UserError, match="not writable"):
                Store(blocker / "sub").check_writable()
        else:
            with pytest.raises(UserError, match="not writable"):
                Store(ro).check_writable()
    finally:
        ro.chmod(0o700)


def test_dataframe_flattens(tmp_path):
    store = Store(tmp_path)
    store.write([rec(1, machine={"cpu_model": "X", "peak_gflops": {"fp64": 5.0}},
                     job={"job_id": "9"})])
    df = store.dataframe()
    assert list(df["name"]) == ["memory.stream.copy"]
    assert df.loc[0, "cpu_model"] == "X" and df.loc[0, "peak_fp64_gflops"] == 5.0
    assert df.loc[0, "job_id"] == "9" and str(df["timestamp"].dtype).startswith("datetime64")
    empty = Store(tmp_path / "none").dataframe()
    assert "name" in empty.columns and empty.empty


def _writer(root: str, i: int) -> None:
    Store(root).write([rec(i)])


def test_fifty_concurrent_writers_lose_nothing(tmp_path):
    ctx = get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), i)) for i in range(50)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = Store(tmp_path)
    values = sorted(r.value for r in store.load())
    assert values == [float(i + 1) for i in range(50)]
    assert store.problems == []


KILLED_WRITER = textwrap.dedent("""
    import sys
    from bench.records import Record
    from bench.store import Store
    recs = [Record(name="memory.stream.copy", value=1.0, unit="GB/s",
                   validation={"passed": True}, params={"pad": "x" * 2000, "i": i})
            for i in range(3000)]
    store = Store(sys.argv[1])
    print("ready", flush=True)
    while True:
        store.write(recs)
""")


def test_sigkill_mid_write_leaves_no_half_record(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.001)  # wait until a write is in flight
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = Store(tmp_path)
    records = store.load()
    assert store.problems == []  # every visible file is whole
    assert len(records) % 3000 == 0
    assert list(tmp_path.glob(".tmp-*")), "the kill should have hit a write in flight"
