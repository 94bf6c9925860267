"""POSIX and MPI-IO (one rank) bandwidth runs on the real file system, and their arithmetic."""

import os
from pathlib import Path

import pytest

from kernels.errors import UserError
from kernels.storage import (
    HARD_TRANSFER_BYTES,
    MIB,
    BandwidthRun,
    IOConfig,
    PhaseTiming,
    bandwidth_mib_s,
    choose_shift,
    run_bandwidth,
    window,
)
from kernels.workdir import WorkDir


@pytest.fixture
def run_dir(tmp_path: Path):
    with WorkDir.create(tmp_path) as wd:
        yield wd.path
    assert os.listdir(tmp_path) == []


def test_bandwidth_against_hand_computed_timings() -> None:
    # rank 0 opens at 1.0 s and closes at 3.0 s, rank 1 opens at 1.2 s and closes at 2.5 s:
    # the IOR window is 3.0 - 1.0 = 2.0 s; 2 x 64 MiB moved -> 64 MiB/s.
    starts, ends = (1.0, 1.2), (3.0, 2.5)
    assert window(starts, ends) == pytest.approx(2.0)
    assert bandwidth_mib_s(128 * MIB, starts, ends) == pytest.approx(64.0)
    p = PhaseTiming("write", starts, ends, (64 * MIB, 64 * MIB), (64, 64))
    assert p.mib_s == pytest.approx(64.0)
    assert p.iops == pytest.approx(128 / 2.0)
    assert p.rank_times_s == pytest.approx((2.0, 1.3))
    with pytest.raises(ValueError):
        bandwidth_mib_s(1, (2.0,), (2.0,))


def test_rank_shift_checked_against_real_placement() -> None:
    block = choose_shift(["n1", "n1", "n2", "n2"], "auto")
    assert (block.rank_shift, block.reads_cross_node, block.warnings) == (2, True, ())
    # cyclic placement: IOR's "tasks per node" shift (2) would read from the same node
    cyclic = choose_shift(["n1", "n2", "n1", "n2"], "auto")
    assert cyclic.rank_shift == 1 and cyclic.reads_cross_node
    forced = choose_shift(["n1", "n2", "n1", "n2"], 2)
    assert not forced.reads_cross_node and "ranks [0, 1, 2, 3]" in forced.warnings[0]
    single = choose_shift(["n1", "n1"], "auto")
    assert single.rank_shift == 0 and not single.reads_cross_node
    assert "one node" in single.warnings[0]
    assert choose_shift(["n1", "n2"], "off").rank_shift == 0


@pytest.mark.parametrize("cfg", [
    IOConfig(block_bytes=4 * MIB, transfer_bytes=MIB, segments=2, iterations=2),
    IOConfig(block_bytes=2 * MIB, transfer_bytes=256 * 1024, direct=True),
    IOConfig(layout="shared", block_bytes=MIB, transfer_bytes=64 * 1024, fsync=False),
    IOConfig.hard(segments=20),
    IOConfig(api="mpiio", layout="shared", block_bytes=2 * MIB, transfer_bytes=MIB),
    IOConfig(api="mpiio", block_bytes=2 * MIB, transfer_bytes=MIB, collective=True),
], ids=["posix-fpp", "posix-direct", "posix-shared", "posix-hard", "mpiio-shared",
        "mpiio-fpp-collective"])
def test_runs_verify_and_clean_up(run_dir: Path, cfg: IOConfig) -> None:
    r = run_bandwidth(cfg, run_dir)
    assert r.ok and r.verified and r.failure is None, r.failure
    assert len(r.writes) == len(r.reads) == cfg.iterations
    for p in r.writes + r.reads:
        assert p.total_bytes == cfg.block_bytes * cfg.segments
        assert p.transfers_per_rank == (cfg.segments * cfg.block_bytes // cfg.transfer_bytes,)
        assert p.mib_s > 0 and p.window_s > 0
    assert r.likely_cached_read is (not cfg.direct and not (cfg.drop_cache and cfg.fsync))
    assert r.likely_cached_write is (not cfg.direct and not cfg.fsync)
    assert r.placement.warnings  # one node: the shift cannot defeat the cache, and says so
    if cfg.api == "mpiio":
        assert "cb_buffer_size" in r.hints
    assert os.listdir(run_dir / "easy") == []


def test_dropping_the_cache_makes_reads_come_from_the_device(run_dir: Path) -> None:
    """After fsync + DONTNEED the read is no longer a page-cache copy (flag follows)."""
    cfg = IOConfig(block_bytes=64 * MIB, transfer_bytes=MIB, iterations=3, verify=False)
    cached = run_bandwidth(IOConfig(**{**cfg.__dict__, "drop_cache": False}), run_dir)
    dropped = run_bandwidth(cfg, run_dir)
    assert cached.likely_cached_read and not dropped.likely_cached_read
    best = max(p.mib_s for p in dropped.reads)
    assert best < min(p.mib_s for p in cached.reads), (best, [p.mib_s for p in cached.reads])


def test_files_are_laid_out_as_ior_does(run_dir: Path) -> None:
    run = BandwidthRun(IOConfig(layout="shared", block_bytes=2 * MIB, transfer_bytes=MIB,
                                segments=3), run_dir)
    assert list(run.offsets(0)) == [0, MIB, 2 * MIB, 3 * MIB, 4 * MIB, 5 * MIB]
    run.size = 2  # what rank 1 of 2 would write: its block in every segment
    assert list(run.offsets(1)) == [2 * MIB, 3 * MIB, 6 * MIB, 7 * MIB, 10 * MIB, 11 * MIB]
    run.close()


def test_corrupted_byte_is_caught_by_verification(run_dir: Path) -> None:
    run = BandwidthRun(IOConfig(block_bytes=2 * MIB, transfer_bytes=MIB), run_dir)
    run.write_phase()
    path = run.path_of(0)
    with open(path, "r+b") as fh:
        fh.seek(MIB + 12345)
        byte = fh.read(1)
        fh.seek(MIB + 12345)
        fh.write(bytes([byte[0] ^ 0x40]))
    run.read_phase()
    problem = run.verify_data()
    assert f"offset {MIB + 12345} of {path}" in problem
    run.remove_files()
    run.close()


def test_stonewall_stops_writes_and_reads_only_what_was_written(run_dir: Path) -> None:
    cfg = IOConfig(block_bytes=64 * MIB, transfer_bytes=64 * 1024, fsync=False,
                   stonewall_s=0.002)
    r = run_bandwidth(cfg, run_dir)
    assert r.ok, r.failure
    w, rd = r.writes[0], r.reads[0]
    assert w.stonewall_hit and w.total_bytes < cfg.block_bytes
    assert rd.total_bytes == w.total_bytes


@pytest.mark.parametrize("kw, words", [
    ({"block_bytes": 3 * MIB, "transfer_bytes": 2 * MIB}, "not a multiple of the transfer"),
    ({"transfer_bytes": HARD_TRANSFER_BYTES, "block_bytes": HARD_TRANSFER_BYTES,
      "direct": True}, "alignment that O_DIRECT needs"),
    ({"api": "mpiio", "direct": True}, "only available with api posix"),
    ({"api": "mpiio", "collective": True, "stonewall_s": 1.0}, "stonewall needs independent"),
    ({"api": "nfs"}, "api 'nfs'"),
    ({"block_bytes": 1001, "transfer_bytes": 1001}, "not a multiple of 8 bytes"),
    ({"segments": 0}, "segments must be at least 1"),
    ({"reorder": "sideways"}, "reorder 'sideways'"),
])
def test_bad_settings_name_the_field(kw: dict, words: str) -> None:
    with pytest.raises(UserError, match=words):
        IOConfig(**kw).validate()


def test_space_guard_refuses_before_writing(run_dir: Path) -> None:
    free = os.statvfs(run_dir).f_bavail * os.statvfs(run_dir).f_frsize
    cfg = IOConfig(block_bytes=MIB, transfer_bytes=MIB, segments=int(free * 0.6 / MIB) + 1)
    with pytest.raises(UserError, match=r"safety fraction 0\.5"):
        BandwidthRun(cfg, run_dir)
    assert not (run_dir / "easy").exists()
    tiny = IOConfig(block_bytes=MIB, transfer_bytes=MIB, space_fraction=1e-9)
    with pytest.raises(UserError, match=r"more than the safety fraction 1e-09"):
        BandwidthRun(tiny, run_dir)
