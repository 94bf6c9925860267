"""The io and metadata suites: records, flags, the IO500-style score and SIGTERM handling."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import runner
from bench.records import from_dict
from bench.suite_storage import io, io500_score, metadata, parse_size
from kernels.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"io_block": "4MiB", "io_transfer": "1MiB", "io_iterations": 2, "io_hard_segments": 40,
         "md_files": 50}


@pytest.fixture(scope="module")
def base_ctx() -> runner.Context:
    return runner.make_context(runner.LocalComm())


def ctx_with(base: runner.Context, **options) -> runner.Context:
    from dataclasses import replace

    return replace(base, options=dict(options))


def test_io_suite_records_and_score(base_ctx: runner.Context, tmp_path: Path) -> None:
    records = io(ctx_with(base_ctx, target=str(tmp_path), **SMALL))
    by = {r.name: r for r in records}
    assert sorted(by) == sorted(
        [f"storage.{s}.{op}" for s in ("easy", "hard") for op in ("write", "read")]
        + [f"metadata.{m}.{p}" for m in ("easy", "hard")
           for p in ("create", "stat", "read", "remove")]
        + ["storage.io500.score"])
    assert all(r.ok and r.validation["passed"] for r in records), [r.validation for r in records]
    w = by["storage.easy.write"]
    assert w.unit == "MiB/s" and len(w.samples) == 2 and w.value == max(w.samples)
    assert w.params["api"] == "posix" and w.params["block_bytes"] == 4 * 2**20
    assert w.params["fsync"] is True and w.params["likely_cached"] is False
    assert by["storage.easy.read"].params["likely_cached"] is False  # fsync + dropped cache
    assert by["storage.easy.read"].params["drop_cache"] is True
    assert "one node" in w.params["warnings"][0]
    assert w.stats["iops_max"] >= w.stats["iops_min"] > 0 and "rank_0_s" in w.per_rank
    assert by["storage.hard.write"].params["transfer_bytes"] == 47008
    assert by["metadata.hard.create"].params["file_bytes"] == 3901
    assert by["metadata.easy.stat"].unit == "ops/s"
    score = by["storage.io500.score"]
    assert score.unit == "score" and score.params["variant"] is True
    assert "not an official IO500" in score.params["label"]
    for r in records:  # records survive the store's JSON round trip
        assert from_dict(json.loads(json.dumps(r.to_dict()))) == r
    assert os.listdir(tmp_path) == []


def test_score_against_hand_computation(base_ctx: runner.Context) -> None:
    # bandwidths 1024, 2048, 512, 4096 MiB/s = 1, 2, 0.5, 4 GiB/s: geometric mean 2^(2/4)
    bw = {"storage.easy.write": 1024.0, "storage.easy.read": 2048.0,
          "storage.hard.write": 512.0, "storage.hard.read": 4096.0}
    md = {n: 8000.0 for n in ("metadata.easy.create", "metadata.easy.stat",
                              "metadata.easy.remove", "metadata.hard.create",
                              "metadata.hard.read", "metadata.hard.stat",
                              "metadata.hard.remove")}
    ok = {"passed": True, "details": "test"}
    recs = [base_ctx.record(n, v, "MiB/s", validation=ok) for n, v in bw.items()]
    recs += [base_ctx.record(n, v, "ops/s", validation=ok) for n, v in md.items()]
    score = io500_score(base_ctx, recs)
    assert score is not None
    assert score.params["bandwidth_gib_s"] == pytest.approx(math.sqrt(2))
    assert score.params["metadata_kiops"] == pytest.approx(8.0)
    assert score.value == pytest.approx(math.sqrt(math.sqrt(2) * 8.0))
    assert io500_score(base_ctx, recs[1:]) is None  # a phase did not run: no score
    failed = base_ctx.record("storage.easy.write", None, "MiB/s", status="failed",
                             validation={"passed": False, "details": "EIO"})
    bad = io500_score(base_ctx, [failed, *recs[1:]])
    assert bad is not None and bad.status == "failed" and bad.value is None


def test_failed_run_gives_failed_records(base_ctx: runner.Context, tmp_path: Path) -> None:
    from kernels import storage

    calls = {"n": 0}

    def pwrite(fd: int, buf, off: int) -> int:
        calls["n"] += 1
        return os.pwrite(fd, buf[:100], off) if calls["n"] == 3 else os.pwrite(fd, buf, off)

    saved = storage.DEFAULT_OPS
    storage.DEFAULT_OPS = storage.PosixOps(pwrite=pwrite)
    try:
        from bench.suite_storage import storage as storage_suite

        records = storage_suite(ctx_with(base_ctx, target=str(tmp_path), io_hard=False,
                                         **{k: v for k, v in SMALL.items() if k != "md_files"}))
    finally:
        storage.DEFAULT_OPS = saved
    assert [r.status for r in records] == ["failed", "failed"]
    assert all(r.value is None for r in records)
    assert "short write: 100 of 1048576 bytes" in records[0].validation["details"]
    assert os.listdir(tmp_path) == []


def test_refused_before_anything_is_written(base_ctx: runner.Context, tmp_path: Path) -> None:
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    huge = f"{free // 2**20}MiB"  # more than half the free space: refused by the guard
    with pytest.raises(UserError, match="safety fraction"):
        io(ctx_with(base_ctx, target=str(tmp_path), io_block=huge, io_transfer="1MiB"))
    assert os.listdir(tmp_path) == []
    with pytest.raises(UserError, match="does not exist"):
        io(ctx_with(base_ctx, target=str(tmp_path / "absent")))


def test_metadata_suite_in_a_temporary_target(base_ctx: runner.Context) -> None:
    import tempfile

    before = set(os.listdir(tempfile.gettempdir()))
    records = metadata(ctx_with(base_ctx, md_files=30))
    assert [r.name for r in records][:4] == [f"metadata.easy.{p}" for p in
                                             ("create", "stat", "read", "remove")]
    assert all(r.ok for r in records) and len(records) == 8
    leftovers = {n for n in set(os.listdir(tempfile.gettempdir())) - before
                 if n.startswith("hpcplan-")}
    assert leftovers == set()


@pytest.mark.parametrize("text, expected", [(47008, 47008), ("1MiB", 2**20), ("64m", 64 * 2**20),
                                            ("2 GiB", 2 * 2**30), ("4k", 4096)])
def test_sizes(text, expected) -> None:
    assert parse_size(text, "io_block") == expected


def test_bad_size_names_the_parameter() -> None:
    with pytest.raises(UserError, match="io_block '12 parsecs' is not a size"):
        parse_size("12 parsecs", "io_block")


SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from bench import runner
    from bench.suite_storage import io
    import kernels.storage as ks

    real = os.pwrite
    def slow(fd, buf, off):
        if off == 2 * 2**20:
            print("WRITING", flush=True)
        time.sleep(0.02)
        return real(fd, buf, off)
    ks.DEFAULT_OPS = ks.PosixOps(pwrite=slow)
    ctx = runner.make_context(runner.LocalComm(), options={
        "target": sys.argv[1], "io_block": "512MiB", "io_transfer": "1MiB", "io_iterations": 1})
    records = io(ctx)
    print("RECORDS " + json.dumps([r.to_dict() for r in records]), flush=True)
""")


def test_sigterm_during_write_leaves_no_files_and_an_aborted_record(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(target)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "WRITING", line + proc.stderr.read() if proc.stderr else ""
    run_dirs = os.listdir(target)
    assert len(run_dirs) == 1 and os.listdir(target / run_dirs[0] / "easy")  # mid-write
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    payload = next(ln for ln in out.splitlines() if ln.startswith("RECORDS "))[8:]
    records = [from_dict(d) for d in json.loads(payload)]
    assert [(r.name, r.status) for r in records] == [("storage.easy.write", "aborted"),
                                                    ("storage.easy.read", "aborted")]
    assert "SIGTERM" in records[0].validation["details"]
    assert os.listdir(target) == []


def test_sigterm_through_the_command_stores_an_aborted_record(tmp_path: Path) -> None:
    """The real command, real O_DIRECT writes: SIGTERM once the first data file grows."""
    import time

    from kernels.storage import _probe_direct

    target, results = tmp_path / "target", tmp_path / "results"
    target.mkdir()
    try:
        _probe_direct(target)
        direct = "true"
    except UserError:  # e.g. an old kernel's tmpfs: buffered writes with fsync instead
        direct = "false"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpcplan", "run", "--suite", "io", "--target", str(target),
         "--results", str(results), "--quiet", "--param", "io_block=2GiB",
         "--param", f"io_direct={direct}", "--param", "io_iterations=1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        data = list(target.glob("hpcplan-run-*/easy/data.*"))
        if data and data[0].stat().st_size > 0:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    if proc.poll() is None:  # Slurm repeats SIGTERM at a time limit: records must survive
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    # 1: aborted records; 143 or -15: the repeat came after they were written
    assert proc.returncode in (1, 128 + signal.SIGTERM, -signal.SIGTERM), out + err
    assert os.listdir(target) == []
    from bench.store import Store

    records = Store(results).load()
    assert [(r.name, r.status) for r in records][:1] == [("storage.easy.write", "aborted")]


def test_the_run_marker_lists_only_what_the_suite_writes(base_ctx: runner.Context,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``clean`` removes only the names a run's marker lists: the suite lists its own."""
    from kernels import workdir

    seen: list[tuple[str, ...]] = []
    create = workdir.WorkDir.create.__func__  # type: ignore[attr-defined]

    def spy(cls, target, kind="io", comm=None, entries=None):
        seen.append(tuple(entries or ()))
        return create(cls, target, kind=kind, comm=comm, entries=entries)

    monkeypatch.setattr(workdir.WorkDir, "create", classmethod(spy))
    metadata(ctx_with(base_ctx, target=str(tmp_path), md_files=20))
    io(ctx_with(base_ctx, target=str(tmp_path), **{**SMALL, "io_hard": False}))
    assert seen == [("md-easy", "md-hard"), ("easy", "md-easy", "md-hard")]
    assert os.listdir(tmp_path) == []
