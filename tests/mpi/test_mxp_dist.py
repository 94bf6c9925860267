"""The block-cyclic MxP solve under mpiexec: same matrix, same answer as one rank."""

import numpy as np
import pytest
from mpi4py import MPI

from bench import runner
from kernels import matgen, mxp, mxp_dist
from kernels.errors import UserError

COMM = MPI.COMM_WORLD
GRIDS = [(p, COMM.size // p) for p in range(1, COMM.size + 1) if COMM.size % p == 0]


@pytest.mark.parametrize("grid", GRIDS)
def test_each_rank_generates_its_blocks_of_the_same_matrix(grid):
    n, nb = 131, 16
    system = mxp_dist.setup(COMM, n, nb, seed=21, grid=grid)
    try:
        pieces = COMM.gather((system.rows, system.cols, system.a64), root=0)
        if COMM.rank == 0:
            full, b = matgen.generate(n, seed=21)
            seen = np.zeros((n, n), dtype=bool)
            for rows, cols, local in pieces:
                expect = full[np.ix_(rows, cols)]
                same_diag = rows[:, None] == cols[None, :]
                assert np.array_equal(local[~same_diag], expect[~same_diag])
                assert np.allclose(local[same_diag], expect[same_diag], rtol=1e-13)
                seen[np.ix_(rows, cols)] = True
            assert seen.all()  # every block owned by exactly the grid's cyclic rule
            assert np.array_equal(system.b, b)
    finally:
        system.free()


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("precision", ["fp32", "fp64"])
def test_distributed_solve_equals_single_rank(grid, precision):
    n, nb = 300, 32
    r = mxp_dist.solve(COMM, n, nb, seed=7, precision=precision, grid=grid)
    assert r.passed, r.detail
    assert r.grid.p * r.grid.q == COMM.size
    xs = COMM.allgather(r.x)
    assert all(np.array_equal(xs[0], x) for x in xs)  # replicated, bit-identical
    assert len(set(COMM.allgather((r.passed, r.iterations)))) == 1
    a, b = matgen.generate(n, seed=7)
    single = mxp.solve(a, b, nb=nb, precision=precision)
    assert single.passed
    assert np.abs(r.x - single.x).max() <= 1e-11 * np.abs(single.x).max()
    assert np.abs(r.x - np.linalg.solve(a, b)).max() <= 1e-11 * np.abs(single.x).max()
    assert r.total_s >= r.factor_s > 0 and r.gflops > 0


def test_solve_can_repeat_on_one_generated_system():
    system = mxp_dist.setup(COMM, 200, 24, seed=3)
    try:
        first = system.solve("fp32")
        second = system.solve("fp32")
        assert first.passed and second.passed
        assert np.array_equal(first.x, second.x)
        threaded = system.solve("fp32", threads=2)  # two threads per rank
        assert threaded.passed
        assert np.abs(threaded.x - first.x).max() <= 1e-11 * np.abs(first.x).max()
    finally:
        system.free()


def test_zero_pivot_fails_on_every_rank_without_deadlock():
    r = mxp_dist.solve(COMM, 64, 8, seed=1, diag_scale=0.0)
    assert not r.passed
    assert "broke down at column 0" in r.detail
    assert COMM.allgather(r.passed) == [False] * COMM.size


def test_iteration_limit_fails_consistently():
    r = mxp_dist.solve(COMM, 512, 64, seed=2, precision="fp32", max_iter=0)
    assert COMM.allgather(r.passed) == [False] * COMM.size
    assert "after 0 refinement iterations" in r.detail


def test_bad_grid_block_size_and_memory_are_user_errors():
    with pytest.raises(UserError, match=rf"process grid 3x3 does not match the {COMM.size} MPI"):
        mxp_dist.solve(COMM, 64, 8, grid=(3, 3))
    with pytest.raises(UserError, match="block size nb=0"):
        mxp_dist.solve(COMM, 64, 0)
    with pytest.raises(UserError, match="block size nb=65"):
        mxp_dist.solve(COMM, 64, 65)
    with pytest.raises(UserError, match="precision 'fp16' is not available"):
        mxp_dist.solve(COMM, 64, 8, precision="fp16")
    with pytest.raises(UserError, match=r"n=100000 needs .* per rank .* largest n that fits"):
        mxp_dist.solve(COMM, 100_000, 256, available_bytes=10**8)
    COMM.Barrier()


def test_compute_suite_under_mpi():
    from bench import suite_compute

    ctx = runner.make_context(COMM, options={"mxp_n": 256, "mxp_nb": 32, "repeats": 2,
                                             "gemm_n": 96})
    records = suite_compute.mxp_solve(ctx)
    if COMM.rank != 0:
        assert records == []
        return
    recs = {r.name: r for r in records}
    assert set(recs) == {"compute.solve.numpy", "compute.mxp.fp32", "compute.hpl.fp64",
                         "compute.mxp.speedup"}
    assert all(r.ok for r in records), [r.validation for r in records]
    assert recs["compute.mxp.fp32"].ranks == COMM.size
    assert recs["compute.mxp.fp32"].params["grid"] == "{}x{}".format(
        *mxp_dist.make_grid(COMM.size).__dict__.values())
    assert recs["compute.solve.numpy"].params["ranks_used"] == 1
    assert recs["compute.mxp.speedup"].params["denominator"] == "compute.solve.numpy"
