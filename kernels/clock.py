"""Effective core clock: a dependent chain of integer adds, one cycle each.

A register-to-register integer add has a latency of one cycle on every x86-64
and AArch64 core, so a chain of dependent adds runs at exactly one add per
cycle: adds / CPU seconds is the clock the core really ran at (turbo, a
hypervisor's clock, power capping included), which the nominal clock in
``/proc/cpuinfo`` does not tell. The chain is inline assembly so the compiler
cannot fold it into one multiply; the loop counter runs beside it on other
ALUs. The addend is a register, not an immediate: recent Intel cores (Golden Cove
and later, by published microbenchmarks) fold chains of small immediate adds at
register rename, several per cycle; an add-immediate chain read 21 GHz on an AMX
Xeon VM whose register chain reads 3.9 GHz. CPU time per thread (not wall time) is
used, so a thread preempted by another process does not read as a slow clock.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Any

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

import kernels.jit  # must precede the first compilation
from kernels.threads import on_threads

#: Dependent adds per loop iteration.
ADDS = 32
#: The add instruction and the asm constraints, by architecture (LLVM inline-asm
#: syntax: ``$0`` is the chain, ``$2`` the register holding 1). x86's add writes the
#: flags, which must be declared clobbered or the loop's own compare-and-branch would
#: read the add's flags.
_X86 = ("addq $2, $0", "=r,0,r,~{flags}")
_ARM = ("add $0, $0, $2", "=r,0,r")
_ADD = {"x86_64": _X86, "amd64": _X86, "aarch64": _ARM, "arm64": _ARM}


def _asm_line() -> tuple[str, str] | None:
    """This machine's add, or None where the chain has no assembly form or parser."""
    line = _ADD.get(platform.machine().lower())
    return line if line is not None and kernels.jit.inline_asm() else None


_LINE = _asm_line()


def supported() -> bool:
    """Whether the add chain has an assembly form for this machine's architecture."""
    return _LINE is not None


@intrinsic
def _add_chain(typingctx: Any, iterations: Any) -> Any:
    """``ADDS`` dependent adds per iteration; returns the sum (= ADDS x iterations)."""
    if _LINE is None or not isinstance(iterations, types.Integer):
        return None
    sig = types.int64(iterations)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i64 = ir.IntType(64)
        count = builder.sext(args[0], i64) if args[0].type != i64 else args[0]
        asm = "\n\t".join([_LINE[0]] * ADDS)
        entry = builder.block
        loop = builder.append_basic_block("chain.loop")
        done = builder.append_basic_block("chain.done")
        zero = ir.Constant(i64, 0)
        builder.cbranch(builder.icmp_signed(">", count, zero), loop, done)
        builder.position_at_end(loop)
        i = builder.phi(i64)
        x = builder.phi(i64)
        y = builder.asm(ir.FunctionType(i64, [i64, i64]), asm, _LINE[1],
                        [x, ir.Constant(i64, 1)], side_effect=True)
        nxt = builder.add(i, ir.Constant(i64, 1))
        i.add_incoming(zero, entry)
        i.add_incoming(nxt, loop)
        x.add_incoming(zero, entry)
        x.add_incoming(y, loop)
        builder.cbranch(builder.icmp_signed("<", nxt, count), loop, done)
        builder.position_at_end(done)
        out = builder.phi(i64)
        out.add_incoming(zero, entry)
        out.add_incoming(y, loop)
        return out

    return sig, codegen


@njit(nogil=True, cache=True)
def _chain(iterations):
    return _add_chain(iterations)


@dataclass(frozen=True)
class ClockRun:
    threads: int
    adds: int  # per thread
    thread_cpu_seconds: tuple[float, ...]
    correct: bool  # every chain returned its add count

    @property
    def thread_mhz(self) -> tuple[float, ...]:
        return tuple(self.adds / s / 1e6 for s in self.thread_cpu_seconds if s > 0)


def run_chain(iterations: int, threads: int = 1) -> ClockRun:
    """Run the add chain on ``threads`` threads at once (as the FMA kernel runs)."""
    cpu = [0.0] * threads
    results = [0] * threads

    def work(t: int) -> None:
        c0 = time.thread_time()
        results[t] = int(_chain(iterations))
        cpu[t] = time.thread_time() - c0

    on_threads(work, threads)
    adds = ADDS * iterations
    return ClockRun(threads, adds, tuple(cpu), all(r == adds for r in results))


def effective_mhz(threads: int = 1, seconds: float = 0.05, tries: int = 3) -> float | None:
    """The fastest thread's clock (MHz) over ``tries`` runs of about ``seconds``; None if unknown.

    The fastest is taken because anything else (an interrupt, a migration) can
    only make a chain look slower, never faster.
    """
    if not supported():
        return None
    run_chain(1)  # compile or load from cache
    probe = run_chain(200_000)
    per_iteration = max(probe.thread_cpu_seconds[0], 1e-6) / 200_000
    iterations = max(1000, int(seconds / per_iteration))
    best = 0.0
    for _ in range(tries):
        run = run_chain(iterations, threads)
        if not run.correct:
            return None
        best = max(best, *run.thread_mhz)
    return best or None
