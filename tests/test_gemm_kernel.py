"""GEMM per precision: native precisions timed and checked, the others refused."""

import numpy as np
import pytest

from kernels import gemm
from kernels.errors import UserError


def test_flop_count():
    assert gemm.gemm_flops(2, 3, 4) == 48.0
    assert gemm.Gemm(8, "fp64").flops == 2 * 8**3


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_native_precisions_run_and_pass_the_check(precision):
    g = gemm.Gemm(192, precision, seed=1)
    assert g.c.dtype == np.dtype(gemm.DTYPES[precision])
    assert g.run() > 0
    ok, ratio, detail = g.check()
    assert ok and 0 <= ratio <= 1, detail
    assert np.allclose(g.c, g.a.astype(np.float64) @ g.b.astype(np.float64),
                       rtol=0, atol=1e-3 if precision == "fp32" else 1e-12)


def test_check_catches_a_wrong_product():
    g = gemm.Gemm(64, "fp32")
    g.run()
    g.c[0, 5] += 1e-2
    ok, ratio, _ = g.check()
    assert not ok and ratio > 1


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_low_precisions_are_not_native_and_refused(precision):
    ok, why = gemm.native(precision)
    assert not ok and "NumPy" in why
    with pytest.raises(UserError, match=f"precision '{precision}' is not available"):
        gemm.Gemm(16, precision)


def test_unknown_precision_and_bad_order():
    with pytest.raises(UserError, match="unknown GEMM precision 'fp8'"):
        gemm.native("fp8")
    with pytest.raises(UserError, match="n=0"):
        gemm.Gemm(0, "fp64")
