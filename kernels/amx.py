"""Peak BF16 rate of Intel AMX: tile matrix products (TDPBF16PS) held in tile registers.

A CPU's BF16 capability is its matrix engine, not its vector units: AVX512-BF16's
dot product runs at about half the FP32 FMA rate (0.47x measured on a Xeon with
both), while one AMX TMUL product multiplies a 16x32 BF16 tile by a 32x16 one into
16x16 FP32 accumulators, 16,384 FLOPs, about every 16 cycles. The kernel keeps four
accumulators (tmm0-3) and three operand tiles (tmm4-6) in the tile registers for the
whole loop, written as inline assembly (Numba has no tile types), and counts
exactly ``TILE_FLOPS`` per instruction.

Validation: every element of the operand tile A is 1, of B+ is +1 and of B- is -1.
The timed loop adds A.B+ (+32 per element) and then A.B- (-32) to each accumulator,
so they end exactly at zero for any iteration count; a separate check loop adds
A.B+ alone ``n`` times and must leave exactly 32n (below 2^24, so exact in FP32)
in all four, which a skipped or wrong product cannot.

Linux lends a process the tile state only after ``arch_prctl(ARCH_REQ_XCOMP_PERM,
XTILEDATA)``; without it the first tile instruction kills the process (SIGILL), so
nothing runs before ``permit()`` said yes.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import time
from functools import cache
from typing import Any

import numpy as np

import kernels.jit  # must precede the first compilation
from kernels.errors import UserError
from kernels.threads import TimedRun, on_threads

#: FLOPs of one TDPBF16PS on full tiles: 16 x 16 outputs x 32 products x (multiply + add).
TILE_FLOPS = 16 * 16 * 32 * 2
#: Accumulator tiles (independent chains) and products per accumulator per iteration.
ACCUMULATORS, PRODUCTS = 4, 2
#: Linux x86-64: the syscall, its request and the tile-data feature bit.
SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA = 158, 0x1023, 18
#: BF16 bit patterns of 1 and -1, and the largest check count still exact in FP32.
BF16_ONE, BF16_MINUS_ONE = 0x3F80, 0xBF80
CHECK_MAX = (1 << 24) // (32 * 2)  # 32 per product, two products per iteration



def _asm(second: int) -> str:
    """The tile loop: load the config and the operand tiles A (tmm4), B+ (tmm5) and B-
    (tmm6), then per iteration add A.B+ and A.B<second> to each accumulator, and store them,
    each to its own 1 KiB of the output. ``second`` 6: the timed loop; 5: the check."""
    products = "\n".join(f"tdpbf16ps %tmm{b}, %tmm4, %tmm{t}" for b in (5, second)
                         for t in range(ACCUMULATORS))
    zero = "\n".join(f"tilezero %tmm{t}" for t in range(ACCUMULATORS))
    store = "\n".join(f"tilestored %tmm{t}, {t * 1024}($6,%r11,1)" for t in range(ACCUMULATORS))
    return (f"ldtilecfg ($2)\n{zero}\nmovq $$64, %r11\n"
            "tileloadd ($3,%r11,1), %tmm4\ntileloadd ($4,%r11,1), %tmm5\n"
            f"tileloadd ($5,%r11,1), %tmm6\n1:\n{products}\ndecq $0\njnz 1b\n"
            f"{store}\ntilerelease")


def supported(flags: frozenset[str] | set[str]) -> bool:
    """Whether this is a Linux x86-64 CPU that reports AMX tiles with BF16."""
    return (sys.platform == "linux" and platform.machine().lower() in ("x86_64", "amd64")
            and {"amx_tile", "amx_bf16"} <= set(flags))


@cache
def permit() -> str | None:
    """Ask Linux for the tile state (once per process); None when granted, else why not."""
    if not kernels.jit.inline_asm():
        return "LLVM has no assembly parser for this machine"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)
    except (OSError, AttributeError) as exc:
        return f"could not ask Linux for the AMX tile state ({exc})"
    if rc != 0:
        err = ctypes.get_errno()
        return (f"Linux refused the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM: "
                f"errno {err}, {os.strerror(err)}; a kernel before 5.16 or a "
                "hypervisor that hides it)")
    return None


def tile_config() -> np.ndarray:
    """The 64-byte LDTILECFG block: palette 1, tiles 0-6 of 16 rows x 64 bytes."""
    cfg = np.zeros(64, np.uint8)
    cfg[0] = 1
    cfg[16:48].view(np.uint16)[:7] = 64  # bytes per row
    cfg[48:55] = 16  # rows
    return cfg


def _intrinsic(asm: str) -> Any:
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def tiles(typingctx: Any, n: Any, cfg: Any, a: Any, bp: Any, bm: Any, c: Any) -> Any:
        if not isinstance(n, types.Integer) or not all(
                isinstance(x, types.Array) for x in (cfg, a, bp, bm, c)):
            return None
        sig = types.none(n, cfg, a, bp, bm, c)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            p8 = ir.IntType(8).as_pointer()
            i64 = ir.IntType(64)

            def data(i: int) -> Any:
                arr = cgutils.create_struct_proxy(signature.args[i])(context, builder,
                                                                     value=args[i])
                return builder.bitcast(arr.data, p8)

            count = builder.sext(args[0], i64) if args[0].type != i64 else args[0]
            builder.asm(ir.FunctionType(i64, [i64, p8, p8, p8, p8, p8]), asm,
                        "=r,0,r,r,r,r,r,~{r11},~{memory},~{flags}",
                        [count, *(data(i) for i in range(1, 6))], side_effect=True)
            return context.get_dummy_value()

        return sig, codegen

    return tiles


@cache
def _kernel(check: bool) -> Any:
    from numba import njit

    tiles = _intrinsic(_asm(5 if check else 6))

    @njit(nogil=True)
    def run(n, cfg, a, bp, bm, c):
        tiles(n, cfg, a, bp, bm, c)

    return run


def flop_count(threads: int, iterations: int) -> int:
    """Exact FLOPs of the timed loop: ACCUMULATORS x PRODUCTS tile products per iteration."""
    return threads * iterations * ACCUMULATORS * PRODUCTS * TILE_FLOPS


def _operands() -> tuple[np.ndarray, ...]:
    one = np.full(16 * 32, BF16_ONE, np.uint16)
    return tile_config(), one, one.copy(), np.full(16 * 32, BF16_MINUS_ONE, np.uint16)


def run_tiles(iterations: int, threads: int, *, check: bool = False) -> TimedRun:
    """Run the tile loop on ``threads`` threads at once and check every accumulator:
    ``max_rel_error`` is absolute against zero (the timed loop) or relative to 64n (the
    check)."""
    why = permit()
    if why is not None:
        raise UserError(why)
    if iterations < 1 or threads < 1 or (check and iterations > CHECK_MAX):
        raise UserError(f"AMX iterations must be 1..{CHECK_MAX if check else 'any'} and "
                        "threads at least 1")
    kern = _kernel(check)
    cfg, a, bp, bm = _operands()
    outs = [np.full(16 * 16 * ACCUMULATORS, np.nan, np.float32) for _ in range(threads)]
    starts, ends, cpu = [0.0] * threads, [0.0] * threads, [0.0] * threads

    def work(t: int) -> None:
        c0 = time.thread_time()
        starts[t] = time.perf_counter()
        kern(iterations, cfg, a, bp, bm, outs[t])
        ends[t] = time.perf_counter()
        cpu[t] = time.thread_time() - c0

    on_threads(work, threads)
    expect = 32.0 * PRODUCTS * iterations if check else 0.0
    err = max(float(np.max(np.abs(o.astype(np.float64) - expect))) for o in outs)
    err = err / expect if expect else err  # relative to 32n; absolute against zero
    if not np.isfinite(err):
        err = float("inf")
    return TimedRun(threads=threads, iterations=iterations,
                   flops=flop_count(threads, iterations), seconds=max(ends) - min(starts),
                   thread_seconds=tuple(e - s for s, e in zip(starts, ends, strict=True)),
                   thread_cpu_seconds=tuple(cpu), max_rel_error=err)


def compile_kernel() -> float:
    """Compile both loops; the seconds spent."""
    t0 = time.perf_counter()
    run_tiles(1, 1)
    run_tiles(1, 1, check=True)
    return time.perf_counter() - t0
