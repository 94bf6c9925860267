"""The runner's rank reduction, checked under mpiexec -n 2."""

from mpi4py import MPI

from bench import runner


def test_launcher_detected_and_world_is_mpi():
    assert runner.launched_by_mpi()
    assert runner.world().size == MPI.COMM_WORLD.size >= 2


def test_repeat_sums_throughput_and_keeps_per_rank_spread():
    ctx = runner.make_context(MPI.COMM_WORLD)
    rank = ctx.rank
    values = iter([10.0 * (rank + 1), 20.0 * (rank + 1), 30.0 * (rank + 1)])
    m = runner.repeat(ctx, lambda: (next(values), True, ""), 3)
    if ctx.is_root:
        n = ctx.size
        total = n * (n + 1) // 2  # sum over ranks of (rank + 1)
        assert m.samples == (10.0 * total, 20.0 * total, 30.0 * total)
        assert m.per_rank == {"min": 20.0, "median": 20.0 * (n + 1) / 2, "max": 20.0 * n}
        rec = runner.to_record(ctx, "memory.stream.copy", "GB/s", m)
        assert rec.ranks == n and rec.value == 30.0 * total and rec.status == "ok"
    else:
        assert m.samples == ()


def test_one_failing_rank_fails_the_record():
    ctx = runner.make_context(MPI.COMM_WORLD)
    bad = ctx.rank == 1
    m = runner.repeat(ctx, lambda: (1.0, not bad, "checksum mismatch" if bad else ""), 2)
    if ctx.is_root:
        rec = runner.to_record(ctx, "memory.stream.copy", "GB/s", m)
        assert rec.status == "failed" and rec.value is None
        assert "rank 1: checksum mismatch" in rec.validation["details"]


def test_context_agrees_on_run_id_and_counts_nodes():
    ctx = runner.make_context(MPI.COMM_WORLD)
    ids = MPI.COMM_WORLD.allgather(ctx.run_id)
    assert len(set(ids)) == 1
    assert ctx.nodes == 1 and ctx.ranks_on_node == ctx.size  # one host here
    assert ctx.threads() >= 1
