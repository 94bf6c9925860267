"""STREAM records: one per kernel, the best rate excluding the first iteration.

Under MPI every rank runs its own arrays at once (as HPCC's StarSTREAM); the
aggregate is the sum of the ranks' rates and the array size per rank keeps the
node's arrays at least 4x its last-level cache. Each thread also times its own
share: when the sum of the threads' own bests is well above the figure, one
thread at a time was held up by another process, and the record carries a
``noisy`` note.
"""

from __future__ import annotations

from bench.records import Record, summarize
from bench.registry import Calibrates, CICase, CIEnv, CIRun, Param, benchmark
from bench.runner import Context

KERNEL_VERSION = "2"
#: Figure over the sum of per-thread bests below which the run counts as noisy.
QUIET_RATIO = 0.85

#: 4 Mi elements: 96 MiB over three arrays, a CI-sized STREAM (not 4x the LLC).
CI_ELEMENTS, CI_NTIMES = 4 * 2**20, 5


def _ci_stream(env: CIEnv, _case: str) -> CIRun:
    from kernels import stream as st

    def once() -> tuple[dict[str, float], bool, str]:
        run = st.run_stream(CI_ELEMENTS, CI_NTIMES, env.threads)
        return ({f"memory.stream.{k}": run.best_gbs(k) for k in ("triad", "copy")}, run.valid,
                "final arrays match STREAM's recurrence" if run.valid else
                f"final arrays differ from STREAM's recurrence: {run.errors}")

    return CIRun(once, rounds=15, unit="GB/s",
                 params={"elements": CI_ELEMENTS, "ntimes": CI_NTIMES, "threads": env.threads})


@benchmark(suites=("quick", "memory"), records=("memory.stream.*",), order=20,
           description="STREAM Copy, Scale, Add, Triad", kernel_version=KERNEL_VERSION,
           params=(Param("stream_elements", "int", "elements per array and rank (default: "
                         "4x the last-level cache over the node's ranks)", minimum=1),
                   Param("stream_ntimes", "int", "iterations; the first is not counted",
                         default=10, minimum=2, maximum=100_000)),
           outcomes=("per_thread_best_sum_gbs",),
           calibrates={"memory.stream.triad": Calibrates("stream_triad", "GB/s")},
           ci=(CICase("stream", _ci_stream),))
def stream(ctx: Context) -> list[Record]:
    from kernels import stream as st

    llc = ctx.machine.cpu.llc_bytes
    elements = int(ctx.options.get("stream_elements") or st.min_elements(llc, ctx.ranks_on_node))
    available = ctx.machine.memory_available_bytes // max(1, ctx.ranks_on_node)
    st.check_fits(elements, available)
    ntimes = int(ctx.options.get("stream_ntimes", 10))
    threads = ctx.threads()
    ctx.say(f"STREAM: {ctx.size} rank(s) x {elements:,} elements x 3 arrays, {threads} threads")
    ctx.comm.Barrier()
    run = st.run_stream(elements, ntimes, threads)
    gathered = ctx.comm.gather(run, root=0)
    if not ctx.is_root:
        return []
    records = []
    rule_4x = elements * 8 * ctx.ranks_on_node >= 4 * llc
    for kernel in st.KERNELS:
        best = [g.best_gbs(kernel) for g in gathered]
        own = sum(g.per_thread_gbs(kernel) for g in gathered)
        samples = [sum(g.rates_gbs(kernel)[i] for g in gathered) for i in range(1, ntimes)]
        passed = all(g.valid for g in gathered)
        notes = []
        if sum(best) < QUIET_RATIO * own:
            notes.append(f"noisy: threads' own bests sum to {own:.1f} GB/s, the figure is "
                         f"{100 * sum(best) / own:.0f}% of it (another process held threads up)")
        details = ("final arrays match STREAM's recurrence" if passed else
                   "final arrays differ from STREAM's recurrence: " +
                   "; ".join(f"rank {r}: {g.errors}" for r, g in enumerate(gathered)))
        records.append(ctx.record(
            f"memory.stream.{kernel}", sum(best) if passed else None, "GB/s",
            status="ok" if passed else "failed",
            samples=samples if passed else (), stats=summarize(samples) if passed else {},
            per_rank={"min": min(best), "median": sorted(best)[len(best) // 2], "max": max(best)},
            params={"elements_per_rank": elements,
                    "bytes_per_element": st.BYTES_PER_ELEMENT[kernel],
                    "array_bytes_per_rank": elements * 8, "ntimes": ntimes,
                    "threads_per_rank": threads, "llc_bytes": llc, "rule_4x_llc": rule_4x,
                    "statistic": "best time excluding the first iteration",
                    "per_thread_best_sum_gbs": round(own, 3),
                    "write_allocate_counted": False},
            validation={"passed": passed, "details": details, "epsilon": st.EPSILON,
                        "errors": [g.errors for g in gathered], "notes": notes,
                        "noisy": bool(notes)},
            compile_s=max(g.compile_s for g in gathered),
        ))
    return records
