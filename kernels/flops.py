"""Peak floating-point rate: independent FMA chains held in vector registers.

Each thread keeps ``chains`` vectors of ``lanes`` elements and updates every
one ``x <- x * b + c`` per iteration: one fused multiply-add (2 FLOPs) per
element. The vector type and the ``llvm.fma`` call are written out in LLVM IR
(a Numba intrinsic), so every target gets exactly ``chains`` vector FMAs of
``lanes`` elements per iteration, each chain in its own register.

Why not plain Numba loops: the earlier kernel updated ``width`` scalar
accumulators in an inner ``for j in range(width)`` loop and left vectorising
to LLVM. Below LLVM's full-unroll threshold (32 accumulators and fewer) the
inner loop is unrolled first, SROA turns each element into its own scalar, and
the SLP vectoriser does not pack loop-carried scalar chains back into vectors:
the code was scalar ``vfmadd213sd`` (one lane of four or eight) and, with 32
chains on a 16-register ISA, spilled to the stack. Only at 64+ accumulators did
the loop vectoriser take over, which is why the width tuned on an AVX-512 Xeon
(128) reached BLAS while an AVX2 EPYC (32) reached 13% of it. Which variant is
fastest on a host is found by a short sweep over ``candidates`` (bench layer).

FP16 runs the same chains as ``<N x half>`` vectors where the CPU executes half
precision natively (``native_fp16``: AVX512-FP16, or Arm's FP16 arithmetic):
Numba has no float16 scalars on CPUs, so the arrays travel as their raw 16-bit
patterns and ``b``, ``c`` as float32, truncated (exactly: 0.75 and 0.25) inside
the kernel. Where the CPU lacks it, LLVM would emulate half precision through
FP32, which is not the hardware's rate, so the kernel refuses to run.

No fast-math flag is involved: ``llvm.fma`` is the fused operation itself, and
nothing may reassociate a chain away. Threads are Python threads running a
``nogil`` kernel, one per usable core, started together at a barrier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

import kernels.jit  # noqa: F401  (must precede the first compilation)
from kernels.errors import UserError
from kernels.threads import TimedRun, on_threads

DTYPES = {"fp64": np.float64, "fp32": np.float32, "fp16": np.float16}
#: LLVM target features that make half-precision vector FMAs native instructions.
FP16_FEATURES = ("+avx512fp16", "+fullfp16")
#: Contraction factor and offset of the recurrence: the chain converges to
#: c / (1 - b) = 1, so values stay finite for any iteration count.
B, C = 0.75, 0.25
#: Independent chains per thread tried by the sweep: 8 covers a 4-cycle FMA on
#: two units (Zen, Skylake-SP), 16 a 4-cycle FMA on four units (Neoverse V1/V2),
#: 24 longer latencies (A64FX: 9 cycles x 2 units).
CHAINS = (8, 12, 16, 24)
#: Vector registers the kernel needs besides its chains (the broadcast b and c).
SPARE_REGISTERS = 2


@dataclass(frozen=True, order=True)
class Variant:
    """A kernel shape: ``chains`` independent vectors of ``lanes`` elements per thread."""

    lanes: int
    chains: int

    @property
    def width(self) -> int:
        """Accumulators (elements) per thread."""
        return self.lanes * self.chains

    def vector_bits(self, itemsize: int) -> int:
        return self.lanes * itemsize * 8

    @property
    def label(self) -> str:
        return f"{self.lanes}x{self.chains}"

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``"LANESxCHAINS"``, as ``label`` writes it."""
        lanes, sep, chains = str(text).partition("x")
        if not (sep and lanes.isdigit() and chains.isdigit()) or not int(lanes) or not int(chains):
            raise UserError(f"peak variant {text!r} is not LANESxCHAINS (e.g. 8x12)")
        return cls(int(lanes), int(chains))


def candidates(vector_bits: int, itemsize: int, registers: int) -> list[Variant]:
    """Variants worth timing on an ISA: the native width (and half of it from 512 bits).

    A 512-bit ISA may execute on 256-bit units (Zen 4), where 256-bit vectors can
    be as fast and cost nothing to try. Chain counts are limited so that chains
    plus the broadcast operands fit the register file (no spills).
    """
    widths = [vector_bits] + ([vector_bits // 2] if vector_bits >= 512 else [])
    fit = [c for c in CHAINS if c + SPARE_REGISTERS <= registers] or [registers - SPARE_REGISTERS]
    return [Variant(max(1, bits // (8 * itemsize)), c) for bits in widths for c in fit]


def default_variant(vector_bits: int, itemsize: int, registers: int) -> Variant:
    """The fixed variant of runs that must not sweep (CI): native width, half the registers."""
    return Variant(max(1, vector_bits // (8 * itemsize)), max(8, registers // 2))


@intrinsic
def _fma_chains(typingctx: Any, iterations: Any, b: Any, c: Any, x0: Any, out: Any,
                lanes: Any, chains: Any) -> Any:
    """``chains`` vector FMA recurrences of ``lanes`` elements, in registers for the whole loop."""
    if not (isinstance(lanes, types.IntegerLiteral) and isinstance(chains, types.IntegerLiteral)):
        return None
    if not (isinstance(iterations, types.Integer) and isinstance(b, types.Float) and c == b
            and isinstance(x0, types.Array) and isinstance(out, types.Array)
            and x0.dtype == out.dtype):
        return None
    # FP16: the arrays hold raw 16-bit patterns and b, c come as float32 (see above)
    half = x0.dtype == types.uint16 and b == types.float32
    if not (half or x0.dtype == b):
        return None
    nl, nc = lanes.literal_value, chains.literal_value
    sig = types.none(iterations, b, c, x0, out, lanes, chains)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        count, bv, cv, x0v, outv = args[:5]
        elem = ir.HalfType() if half else context.get_value_type(signature.args[1])
        if half:
            bv, cv = builder.fptrunc(bv, elem), builder.fptrunc(cv, elem)
        vty = ir.VectorType(elem, nl)
        suffix = {ir.DoubleType: "f64", ir.FloatType: "f32", ir.HalfType: "f16"}[type(elem)]
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{nl}{suffix}")
        i64 = ir.IntType(64)
        align = 2 if half else signature.args[1].bitwidth // 8

        def vectors(arrty: Any, value: Any) -> Any:
            arr = cgutils.create_struct_proxy(arrty)(context, builder, value=value)
            return builder.bitcast(arr.data, vty.as_pointer())

        def splat(x: Any) -> Any:
            v = ir.Constant(vty, ir.Undefined)
            for k in range(nl):
                v = builder.insert_element(v, x, ir.Constant(ir.IntType(32), k))
            return v

        src, dst = vectors(signature.args[3], x0v), vectors(signature.args[4], outv)
        start = [builder.load(builder.gep(src, [ir.Constant(i64, k)]), align=align)
                 for k in range(nc)]
        bb, cc = splat(bv), splat(cv)
        entry = builder.block
        loop = builder.append_basic_block("fma.loop")
        done = builder.append_basic_block("fma.done")
        zero = ir.Constant(count.type, 0)
        builder.cbranch(builder.icmp_signed(">", count, zero), loop, done)
        builder.position_at_end(loop)
        i = builder.phi(count.type)
        acc = [builder.phi(vty) for _ in range(nc)]
        new = [builder.call(fma, [a, bb, cc]) for a in acc]
        nxt = builder.add(i, ir.Constant(count.type, 1))
        i.add_incoming(zero, entry)
        i.add_incoming(nxt, loop)
        for a, s, n in zip(acc, start, new, strict=True):
            a.add_incoming(s, entry)
            a.add_incoming(n, loop)
        builder.cbranch(builder.icmp_signed("<", nxt, count), loop, done)
        builder.position_at_end(done)
        finals = [builder.phi(vty) for _ in range(nc)]  # every phi before any store
        for k, (f, s, n) in enumerate(zip(finals, start, new, strict=True)):
            f.add_incoming(s, entry)
            f.add_incoming(n, loop)
            builder.store(f, builder.gep(dst, [ir.Constant(i64, k)]), align=align)
        return context.get_dummy_value()

    return sig, codegen


@cache
def _kernel(lanes: int, chains: int) -> Any:
    """A kernel specialised for one variant (closure constants, cached on disk)."""

    @njit(nogil=True, cache=True)
    def fma_chains(iterations, b, c, x0, out):
        _fma_chains(iterations, b, c, x0, out, lanes, chains)

    return fma_chains


def closed_form(x0: np.ndarray, iterations: int, b: float = B, c: float = C) -> np.ndarray:
    """x_n = b^n (x_0 - f) + f with f = c / (1 - b), in float64."""
    f = c / (1.0 - b)
    return b**iterations * (x0.astype(np.float64) - f) + f


@dataclass(frozen=True)
class FmaRun(TimedRun):
    """One run of the chains; ``max_rel_error`` is against the closed form."""

    precision: str
    variant: Variant

    @property
    def width(self) -> int:
        return self.variant.width


def flop_count(threads: int, width: int, iterations: int) -> int:
    """Exact FLOPs: one FMA (2 FLOPs) per accumulator per iteration per thread."""
    return 2 * threads * width * iterations


def tolerance(precision: str) -> float:
    """Relative error allowed against the closed form: a few hundred ulps of FP64/FP32; for
    FP16, whose chains settle within an ulp or two of the fixed point 1, sixteen."""
    ulps = 16 if precision == "fp16" else 256
    return ulps * float(np.finfo(DTYPES[precision]).eps)


def itemsize(precision: str) -> int:
    """Bytes per element: sizes the vector lanes of a variant."""
    return int(np.dtype(DTYPES[precision]).itemsize)


def native_fp16(features: str | None = None) -> bool:
    """Whether the code Numba generates here does FP16 arithmetic natively (no emulation)."""
    if features is None:
        import llvmlite.binding as llvm
        from numba.core import config

        features = config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()
    return any(f in features.split(",") for f in FP16_FEATURES)


def run_fma(precision: str, variant: Variant, iterations: int, threads: int) -> FmaRun:
    """Run the chains on ``threads`` threads at once and check every final value."""
    if precision not in DTYPES:
        raise UserError(f"precision {precision!r} has no native FMA kernel here; "
                        f"available: {', '.join(DTYPES)}")
    if variant.lanes < 1 or variant.chains < 1 or iterations < 1 or threads < 1:
        raise UserError("lanes, chains, iterations and threads must all be at least 1")
    if precision == "fp16" and not native_fp16():
        raise UserError("FP16 has no native vector arithmetic in the code generated here "
                        "(no avx512fp16 or fullfp16 target feature); an emulation through "
                        "FP32 is not measured as a peak")
    dtype = DTYPES[precision]
    kern = _kernel(variant.lanes, variant.chains)
    width = variant.width
    x0 = (np.arange(width, dtype=np.float64) / width).astype(dtype)
    outs = [np.empty(width, dtype) for _ in range(threads)]
    starts = [0.0] * threads
    ends = [0.0] * threads
    cpu = [0.0] * threads
    b, c = (np.float32(B), np.float32(C)) if precision == "fp16" else (dtype(B), dtype(C))
    raw = (lambda a: a.view(np.uint16)) if precision == "fp16" else (lambda a: a)

    def work(t: int) -> None:
        c0 = time.thread_time()
        starts[t] = time.perf_counter()
        kern(iterations, b, c, raw(x0), raw(outs[t]))
        ends[t] = time.perf_counter()
        cpu[t] = time.thread_time() - c0

    on_threads(work, threads)
    expect = closed_form(x0, iterations)
    err = max(float(np.max(np.abs(o.astype(np.float64) - expect) / np.abs(expect))) for o in outs)
    return FmaRun(
        precision=precision,
        threads=threads,
        variant=variant,
        iterations=iterations,
        flops=flop_count(threads, width, iterations),
        seconds=max(ends) - min(starts),
        thread_seconds=tuple(e - s for s, e in zip(starts, ends, strict=True)),
        thread_cpu_seconds=tuple(cpu),
        max_rel_error=err,
    )


def compile_kernel(precision: str, variant: Variant) -> float:
    """Compile (or load from cache) one variant for one precision; returns the seconds spent."""
    t0 = time.perf_counter()
    run_fma(precision, variant, 1, 1)
    return time.perf_counter() - t0


def kernel_asm(precision: str, variant: Variant) -> str:
    """The machine code of one variant (empty when it was loaded from Numba's cache)."""
    compile_kernel(precision, variant)
    return "\n".join(_kernel(variant.lanes, variant.chains).inspect_asm().values())
