"""Suite ``compute`` end to end on one process: records, honesty rules, bad input, CLI."""

import pytest

from bench import runner, suites
from bench.store import Store
from hpcplan.cli import main
from kernels.errors import UserError

SMALL = {"gemm_n": 128, "mxp_n": 384, "mxp_nb": 64, "repeats": 2}


def _ctx(**options):
    return runner.make_context(runner.LocalComm(), options={**SMALL, **options})


def _by_name(records):
    return {r.name: r for r in records}


def test_suite_is_registered():
    names = [b.name for b in suites.resolve("compute")]
    assert names == ["gemm", "mxp_solve"]


def test_gemm_records_per_precision():
    recs = _by_name(suites.resolve("compute")[0](_ctx()))
    assert list(recs) == ["compute.gemm.fp64", "compute.gemm.fp32", "compute.gemm.fp16",
                          "compute.gemm.bf16"]
    for p in ("fp64", "fp32"):
        r = recs[f"compute.gemm.{p}"]
        assert r.ok and r.value > 0 and r.unit == "GFLOP/s" and len(r.samples) == 2
        assert r.params["n"] == 128 and r.validation["passed"]
        assert r.params["theoretical_peak_gflops"] > 0
        assert r.params["percent_of_peak"] == pytest.approx(
            100 * r.value / r.params["theoretical_peak_gflops"], abs=0.01)
    for p in ("fp16", "bf16"):
        r = recs[f"compute.gemm.{p}"]
        assert r.status == "unavailable" and r.value is None
        assert "NumPy" in r.validation["details"]


def test_mxp_solve_records_and_speedup():
    recs = _by_name(suites.resolve("compute")[1](_ctx()))
    assert list(recs) == ["compute.solve.numpy", "compute.mxp.fp32", "compute.hpl.fp64",
                          "compute.mxp.speedup"]
    assert all(r.ok for r in recs.values()), [r.validation for r in recs.values()]
    mxp = recs["compute.mxp.fp32"]
    p = mxp.params
    assert p["n"] == 384 and p["nb"] == 64 and p["grid"] == "1x1"
    assert p["phase_precisions"]["factorisation"] == "fp32"
    assert p["phase_precisions"]["residual"] == "fp64"
    assert "diagonal" in p["generator"] and 1 <= p["iterations"] <= 50
    assert p["backward_error"] < 16 and len(p["lu_seconds"]) == 2
    assert p["lu_only_gflops_diagnostic"] > mxp.value  # LU-only is never the headline
    assert "variant" in recs["compute.hpl.fp64"].params
    assert recs["compute.hpl.fp64"].params["phase_precisions"]["factorisation"] == "fp64"
    anchor = recs["compute.solve.numpy"]
    assert "partial pivoting" in anchor.params["algorithm"]
    s = recs["compute.mxp.speedup"]
    assert s.unit == "ratio" and s.params["denominator"] == "compute.solve.numpy"
    assert s.value == pytest.approx(mxp.value / anchor.value)


def test_failed_refinement_is_failed_and_has_no_rate():
    recs = _by_name(suites.resolve("compute")[1](_ctx(mxp_max_iter=0)))
    mxp = recs["compute.mxp.fp32"]
    assert mxp.status == "failed" and mxp.value is None and not mxp.samples
    assert "after 0 refinement iterations" in mxp.validation["details"]
    assert recs["compute.mxp.speedup"].status == "failed"
    assert recs["compute.mxp.speedup"].value is None
    assert recs["compute.hpl.fp64"].ok  # FP64 factors pass without refinement


@pytest.mark.parametrize(("options", "message"), [
    ({"mxp_nb": 0}, "block size mxp_nb=0 must be positive"),
    ({"mxp_nb": 500}, "block size mxp_nb=500 must be between 1 and the matrix order mxp_n=384"),
    ({"mxp_grid": "2x2"}, "process grid 2x2 does not match the 1 MPI ranks"),
    ({"mxp_grid": "two"}, "mxp_grid='two' must look like PxQ"),
    ({"mxp_precision": "bf16"}, "precision 'bf16' is not available on this machine"),
    ({"mxp_n": 10**7}, r"mxp_n=10000000 does not fit .* the largest n that fits is \d+"),
    ({"mxp_max_iter": 60}, "mxp_max_iter=60 must be between 0 and 50"),
])
def test_bad_input_is_a_user_error(options, message):
    with pytest.raises(UserError, match=message):
        suites.resolve("compute")[1](_ctx(**options))


def test_default_size_comes_from_memory():
    from bench.suite_compute import _problem

    ctx = _ctx()
    ctx.options.pop("mxp_n")
    prob = _problem(ctx)
    assert prob["sized_from_memory"] and prob["n"] % 64 == 0 and prob["n"] >= 64
    from kernels import mxp, mxp_dist

    budget = 0.1 * ctx.machine.memory_available_bytes
    threads = ctx.threads()

    def needed(n: int) -> int:
        # the larger of the two solves that must fit: the one-node (LAPACK-style) FP64
        # solve and the distributed one on its 1x1 grid, whose panels can weigh more
        return max(mxp.bytes_needed(n, "fp64", 64, threads), mxp_dist.bytes_needed_local(
            n, 64, mxp_dist.make_grid(1), "fp64", threads))

    assert needed(prob["n"]) <= budget < needed(prob["n"] + 64)


def test_cli_runs_the_suite_and_exits_nonzero_on_failure(tmp_path, capsys):
    args = ["run", "--suite", "compute", "--quiet", "--results", str(tmp_path)]
    small = [f"--param={k}={v}" for k, v in SMALL.items() if k != "repeats"]
    assert main([*args, *small, "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    for name in ("compute.gemm.fp64", "compute.gemm.fp32", "compute.mxp.fp32",
                 "compute.hpl.fp64", "compute.solve.numpy", "compute.mxp.speedup"):
        assert name in out
    assert len(Store(tmp_path).load()) == 8
    assert main([*args, *small, "--repeats", "2", "--param", "mxp_max_iter=0"]) == 1
    assert "compute.mxp.fp32" in capsys.readouterr().err
    assert main([*args, *small, "--param", "mxp_nb=0"]) == 2
    err = capsys.readouterr().err
    assert "hpcplan: error: --param mxp_nb='0' must be at least 1" in err
    assert "Traceback" not in err
