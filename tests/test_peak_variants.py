"""The peak kernel's variants: the code generated per ISA, the sweep's cache, the clock."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import runner, suite_peak, sysinfo
from kernels import clock, flops, threads
from kernels.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
X86 = platform.machine() in ("x86_64", "AMD64")

#: Compiles each candidate for a named CPU in a fresh process and reports, per
#: variant, the vector registers its FMAs use and any vector access to the stack.
_ASM_PROBE = r"""
import json, re, sys
from kernels import flops
bits, registers = int(sys.argv[1]), int(sys.argv[2])
out = {}
for precision, itemsize in (("fp64", 8), ("fp32", 4)):
    for v in flops.candidates(bits, itemsize, registers):
        asm = flops.kernel_asm(precision, v).split(".Lfunc_end0")[0]
        fmas = re.findall(r"vfmadd\w+p[sd]\s+[^\n]*", asm)
        out[f"{precision} {v.label}"] = {
            "fmas": len(fmas),
            "registers": sorted(set(re.findall(r"%([xyz])mm", " ".join(fmas)))),
            "stack": re.findall(r"\n\s*v\w+\s+[^\n]*\(%rsp\)[^\n]*", asm)}
print(json.dumps(out))
"""


def _asm_for(tmp_path: Path, cpu: str, features: str, bits: int, registers: int) -> dict:
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": features,
           "NUMBA_CACHE_DIR": str(tmp_path / cpu)}  # a fresh cache: the code is compiled
    done = subprocess.run([sys.executable, "-c", _ASM_PROBE, str(bits), str(registers)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.skipif(not X86, reason="named x86 targets are compiled by the host's LLVM")
@pytest.mark.parametrize(("cpu", "features", "bits", "registers", "reg"), [
    ("znver3", "+avx2,+fma", 256, 16, "y"),               # AVX2 EPYC: 16 ymm registers
    ("skylake-avx512", "-prefer-256-bit", 512, 32, "z"),  # AVX-512 Xeon, full width
])
def test_every_candidate_is_vector_fma_without_spills(tmp_path, cpu, features, bits,
                                                      registers, reg):
    report = _asm_for(tmp_path, cpu, features, bits, registers)
    assert report, "no candidate compiled"
    for name, r in report.items():
        precision, label = name.split()
        v = flops.Variant.parse(label)
        elem_bits = 64 if precision == "fp64" else 32
        native = v.lanes * elem_bits == bits
        # The native width is used as such; LLVM may pair half-width chains into
        # full-width registers (same FLOPs), but never falls back to xmm or scalar code.
        allowed = [[reg]] if native else [["y"], ["z"]]
        assert r["registers"] in allowed, f"{cpu} {name}: FMAs on {r['registers']}"
        assert r["fmas"] >= v.width * elem_bits // bits, f"{cpu} {name}: {r['fmas']} FMAs"
        assert not r["stack"], f"{cpu} {name} spills: {r['stack'][:3]}"


def test_candidates_per_isa():
    avx2 = flops.candidates(256, 8, 16)
    assert [v.label for v in avx2] == ["4x8", "4x12"]  # chains + b + c fit 16 registers
    avx512 = {v.label for v in flops.candidates(512, 8, 32)}
    assert {"8x8", "8x24", "4x8", "4x24"} <= avx512  # 256-bit too: Zen 4 splits 512-bit ops
    assert {v.lanes for v in flops.candidates(128, 4, 32)} == {4}  # NEON FP32
    assert max(v.chains for v in flops.candidates(128, 8, 32)) == 24  # A64FX-like latency


def test_variant_labels_round_trip():
    assert flops.Variant.parse("8x12") == flops.Variant(8, 12)
    assert flops.Variant(8, 12).width == 96 and flops.Variant(8, 12).vector_bits(8) == 512
    for bad in ("8", "x12", "0x8", "8x-1", "axb"):
        with pytest.raises(UserError, match="LANESxCHAINS"):
            flops.Variant.parse(bad)


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_every_host_candidate_computes_the_closed_form(precision):
    cpu = sysinfo.probe().cpu
    itemsize = 8 if precision == "fp64" else 4
    for v in flops.candidates(sysinfo.vector_bits(cpu), itemsize, sysinfo.registers(cpu)):
        run = flops.run_fma(precision, v, 3000, 1)
        assert run.max_rel_error <= flops.tolerance(precision), v.label
        assert run.flops == 2 * v.width * 3000


def test_thread_errors_reach_the_caller():
    def work(t: int) -> None:
        if t == 1:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        threads.on_threads(work, 2)


def test_variant_cache_is_atomic_and_tolerates_damage(tmp_path):
    path = tmp_path / "sub" / "peak-variants.json"
    assert suite_peak.read_cache(path) == {}
    assert suite_peak.write_cache(path, "k1", {"variant": "8x8"})
    assert suite_peak.write_cache(path, "k2", {"variant": "4x12"})
    assert suite_peak.read_cache(path) == {"k1": {"variant": "8x8"}, "k2": {"variant": "4x12"}}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    path.write_text("{not json")
    assert suite_peak.read_cache(path) == {}
    assert suite_peak.write_cache(path, "k3", {"variant": "2x8"})
    assert json.loads(path.read_text()) == {"k3": {"variant": "2x8"}}


def test_cache_path_follows_numba_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert suite_peak.variant_cache_path() == tmp_path / suite_peak.CACHE_FILE
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert suite_peak.variant_cache_path() == tmp_path / "x" / "hpcplan" / suite_peak.CACHE_FILE


@pytest.mark.skipif(not clock.supported(), reason="no add chain for this architecture")
def test_clock_chain_counts_and_reads_a_plausible_clock():
    run = clock.run_chain(10_000, threads=2)
    assert run.correct and run.adds == clock.ADDS * 10_000 and len(run.thread_mhz) == 2
    mhz = clock.effective_mhz(threads=1, seconds=0.01)
    assert mhz is not None and 200 < mhz < 7000


def _peak(per_cycle: float = 16.0) -> sysinfo.Peak:
    return sysinfo.Peak("fp64", 2 * 2.0 * per_cycle, 999.0, "formula", (), cores=2,
                        nominal_mhz=2000.0, flops_per_cycle=per_cycle)


def test_peak_at_measured_clock_by_hand():
    assert _peak().at_clock(3000.0) == pytest.approx(2 * 3.0 * 16)
    params, notes = suite_peak.clock_notes(_peak(), 90.0, 1, [3000.0])
    assert params["peak_at_measured_clock_gflops"] == pytest.approx(96.0)
    assert params["percent_of_peak_at_measured_clock"] == pytest.approx(93.75)
    assert len(notes) == 1 and "141% of peak at nominal clock" in notes[0]  # 90 / 64


def test_rate_above_peak_at_measured_clock_is_flagged():
    _, notes = suite_peak.clock_notes(_peak(), 100.0, 1, [3000.0])  # 104% of 96
    assert notes and notes[0].startswith("ABOVE peak at measured clock")
    _, quiet = suite_peak.clock_notes(_peak(), 60.0, 1, [3000.0])
    assert quiet == []
    params, unknown = suite_peak.clock_notes(_peak(), 70.0, 1, [])
    assert params["measured_clock_mhz"] is None and "not measurable" in unknown[0]


def test_linearity_prefers_best_tries():
    """One slow try (a neighbour's time slice) does not make the ratio fail."""
    class Run:
        def __init__(self, s: float) -> None:
            self.thread_seconds = (s,)
            self.thread_cpu_seconds = (s,)

    slow = iter([1.0, 1.0, 9.0, 2.0])  # n, n, 2n (hit), 2n
    lin = suite_peak.linearity(lambda n: Run(next(slow)), 100)
    assert lin["wall"] == pytest.approx(2.0) and lin["tries"] == 2



def test_native_fp16_reads_the_target_features():
    assert flops.native_fp16("+avx512f,+avx512fp16,-prefer-256-bit")
    assert flops.native_fp16("+neon,+fullfp16")
    assert not flops.native_fp16("+avx512f,-avx512fp16,+avx512bf16")
    assert not flops.native_fp16("")


def test_fp16_and_bf16_are_refused_where_they_would_be_emulated(monkeypatch):
    """Without native FP16 code or the AMX tile state, each record says why, whatever this
    CPU is (the reason names what it has)."""
    from kernels import amx

    monkeypatch.setattr(flops, "native_fp16", lambda features=None: False)
    monkeypatch.setattr(amx, "permit", lambda: "Linux refused the AMX tile state (test)")
    with pytest.raises(UserError, match="no native vector arithmetic"):
        flops.run_fma("fp16", flops.Variant(8, 8), 10, 1)
    with pytest.raises(UserError, match="Linux refused the AMX tile state"):
        amx.run_tiles(10, 1)
    ctx = runner.make_context(runner.LocalComm(), options={"repeats": 1})
    (fp16, bf16) = suite_peak.peak_low_precision(ctx)
    assert fp16.name == "compute.peak.fp16" and fp16.status == "unavailable"
    assert bf16.name == "compute.peak.bf16" and bf16.status == "unavailable"
    native = sysinfo.native_precisions(ctx.machine.cpu)
    if "fp16" in native:
        assert "no native FP16 vector arithmetic" in fp16.validation["details"]
    else:
        assert fp16.validation["details"] == "no native FP16 arithmetic on this CPU"
    why = bf16.validation["details"]
    if native.get("bf16") == sysinfo.AMX_BF16:
        assert why.endswith("but Linux refused the AMX tile state (test)"), why
    elif "bf16" in native:
        assert "a dot product into FP32 at about half the FP32 FMA rate" in why, why
    else:
        assert why == "no native BF16 arithmetic on this CPU"


@pytest.mark.skipif(not flops.native_fp16(), reason="no native FP16 vectors on this CPU")
def test_fp16_chains_follow_the_closed_form_in_half_vectors():
    """Half precision in <N x half> vectors: the same recurrence, its own tolerance, and a
    check that would catch a skipped loop (after 3 iterations the values are far from 1)."""
    lanes = sysinfo.vector_bits(sysinfo.probe().cpu) // 16
    variant = flops.Variant(lanes, 8)
    for n in (3, 1000):
        run = flops.run_fma("fp16", variant, n, 2)
        assert run.max_rel_error <= flops.tolerance("fp16"), (n, run.max_rel_error)
        assert run.flops == 2 * 2 * variant.width * n
    x0 = (np.arange(variant.width) / variant.width).astype(np.float16)
    assert np.max(np.abs(flops.closed_form(x0, 3) - 1.0)) > 10 * flops.tolerance("fp16")
    assert flops.itemsize("fp16") == 2 and flops.tolerance("fp16") == 16 * 2.0**-10
