"""Storage and metadata kernels under ``mpiexec -n 2``: MPI-IO shared files, rank shift,
faults on one rank seen by all, and the io suite's records from rank 0."""

import errno
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from mpi4py import MPI

from kernels.metadata import MDConfig, run_metadata
from kernels.storage import MIB, BandwidthRun, IOConfig, PosixOps, run_bandwidth
from kernels.workdir import WorkDir

COMM = MPI.COMM_WORLD
RANK, SIZE = COMM.Get_rank(), COMM.Get_size()


@pytest.fixture
def shared_dir():
    """One directory all ranks see (each rank's tmp_path differs)."""
    made = tempfile.mkdtemp(prefix="hpcplan-mpitest-") if RANK == 0 else None
    path = Path(COMM.bcast(made, root=0))
    with WorkDir.create(path, comm=COMM) as wd:
        yield wd.path
    COMM.Barrier()
    assert os.listdir(path) == []
    COMM.Barrier()
    if RANK == 0:
        shutil.rmtree(path)


def test_two_ranks() -> None:
    assert SIZE == 2


@pytest.mark.parametrize("cfg", [
    IOConfig(api="mpiio", layout="shared", block_bytes=2 * MIB, transfer_bytes=MIB,
             segments=2),
    IOConfig(api="mpiio", layout="shared", block_bytes=2 * MIB, transfer_bytes=MIB,
             collective=True, iterations=2),
    IOConfig.hard(segments=16, api="mpiio", collective=True),
    IOConfig(api="mpiio", layout="fpp", block_bytes=2 * MIB, transfer_bytes=MIB),
    IOConfig(layout="fpp", block_bytes=2 * MIB, transfer_bytes=MIB, reorder=1, direct=True),
    IOConfig.hard(segments=16, reorder=1),
], ids=["mpiio-shared", "mpiio-collective", "mpiio-hard", "mpiio-fpp", "posix-fpp-shift",
        "posix-hard-shift"])
def test_bandwidth_with_two_ranks(shared_dir: Path, cfg: IOConfig) -> None:
    r = run_bandwidth(cfg, shared_dir, comm=COMM)
    assert r.ok and r.verified, r.failure
    per_rank = cfg.block_bytes * cfg.segments
    for p in r.writes + r.reads:
        assert p.bytes_per_rank == (per_rank, per_rank)
        assert len(p.starts_s) == 2 and p.window_s >= max(p.rank_times_s) - 1e-9
    assert r.placement.rank_shift == (cfg.reorder if isinstance(cfg.reorder, int) else 0)
    assert not r.placement.reads_cross_node and r.placement.warnings  # one node, and it says so
    if cfg.api == "mpiio":
        assert r.hints.get("romio_filesystem_type") or r.hints


def test_corruption_in_one_ranks_region_fails_both(shared_dir: Path) -> None:
    run = BandwidthRun(IOConfig(api="mpiio", layout="shared", block_bytes=MIB,
                                transfer_bytes=MIB, segments=2), shared_dir, comm=COMM)
    run.write_phase()
    COMM.Barrier()
    if RANK == 0:  # rank 1's block of segment 1 starts at (1 * 2 + 1) MiB
        with open(run.path_of(0), "r+b") as fh:
            fh.seek(3 * MIB + 99)
            b = fh.read(1)
            fh.seek(3 * MIB + 99)
            fh.write(bytes([b[0] ^ 0xFF]))
    COMM.Barrier()
    problem = run.verify_data()
    assert f"offset {3 * MIB + 99}" in problem and "rank 1" in problem
    run.remove_files()
    run.close()


def test_fault_on_one_rank_fails_every_rank_without_hanging(shared_dir: Path) -> None:
    def pwrite(fd: int, buf, off: int) -> int:
        if RANK == 1 and off >= MIB:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.pwrite(fd, buf, off)

    r = run_bandwidth(IOConfig(block_bytes=4 * MIB, transfer_bytes=MIB), shared_dir, comm=COMM,
                      ops=PosixOps(pwrite=pwrite))
    assert not r.ok and "rank 1: no space left on device" in (r.failure or "")
    assert os.listdir(shared_dir / "easy") == []


@pytest.mark.parametrize("cfg", [MDConfig.easy(40, reorder=1), MDConfig.hard(40, reorder=1)],
                         ids=["easy", "hard"])
def test_metadata_with_two_ranks(shared_dir: Path, cfg: MDConfig) -> None:
    r = run_metadata(cfg, shared_dir, comm=COMM)
    assert r.ok and r.verified, r.failure
    assert r.phases["create"].ops_per_rank == (40, 40) and r.placement.rank_shift == 1


def test_io_suite_records_on_rank_zero(shared_dir: Path) -> None:
    from bench import runner
    from bench.suite_storage import io

    ctx = runner.make_context(COMM, options={
        "target": str(shared_dir), "io_api": "mpiio", "io_layout": "shared",
        "io_collective": True, "io_block": "2MiB", "io_transfer": "1MiB", "io_iterations": 1,
        "io_hard_segments": 8, "md_files": 20})
    records = io(ctx)
    if RANK != 0:
        assert records == []
        return
    assert all(r.ok for r in records) and len(records) == 13
    w = next(r for r in records if r.name == "storage.easy.write")
    assert (w.ranks, w.params["api"], w.params["layout"]) == (2, "mpiio", "shared")
    assert set(w.per_rank) >= {"rank_0_s", "rank_1_s"}
    assert "cb_buffer_size" in w.params["mpiio_hints"]
