"""Machine probe: what this node is, what software measures it, and its theoretical peaks.

Everything is read from /proc and /sys (paths are parameters so tests can feed
fixtures from other machines). What cannot be probed, such as the number of FMA
units per core, comes from the site configuration and is shown as an assumption.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kernels import memory

#: Default FMA units per core when the site config does not say: two is what
#: current server cores (Skylake-SP Gold/Platinum and later, Zen 4/5, Neoverse
#: V-series) have; a one-unit part makes the theoretical peak an overestimate.
DEFAULT_FMA_UNITS = 2
#: The most FMA (vector) units any core of the architecture family has: the
#: "most generous" bound that a measured rate may never exceed.
MAX_FMA_UNITS = {"x86_64": 2, "aarch64": 4}
#: Without a probed maximum clock, a turbo this far above nominal is allowed
#: before a measured rate counts as impossible.
TURBO_ALLOWANCE = 1.6


@dataclass(frozen=True)
class CacheLevel:
    level: int
    kind: str
    size_bytes: int  # one instance
    instances: int  # distinct instances across the node

    @property
    def total_bytes(self) -> int:
        return self.size_bytes * self.instances


@dataclass(frozen=True)
class CpuInfo:
    arch: str
    model: str
    vendor: str
    sockets: int
    cores: int  # physical cores on the node
    threads: int  # logical CPUs on the node
    base_mhz: float | None
    max_mhz: float | None
    flags: frozenset[str] = field(default_factory=frozenset)
    caches: tuple[CacheLevel, ...] = ()
    numa_nodes: int = 1
    family: int | None = None  # x86 'cpu family' (25 = AMD Zen 3/Zen 4)

    @property
    def isa(self) -> list[str]:
        """The ISA features that decide vector width and precisions, in a stable order."""
        wanted = ("sse2", "avx", "avx2", "fma", "avx512f", "avx512_fp16", "avx512_bf16",
                  "amx_bf16", "amx_fp16", "asimd", "asimdhp", "fphp", "sve", "sve2", "bf16")
        return [f for f in wanted if f in self.flags]

    @property
    def llc_bytes(self) -> int:
        """Total last-level cache on the node (all instances), 0 when unknown."""
        if not self.caches:
            return 0
        top = max(c.level for c in self.caches)
        return sum(c.total_bytes for c in self.caches if c.level == top and c.kind != "Instruction")


def _kv_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = [{}]
    for line in text.splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, sep, value = line.partition(":")
        if sep:
            blocks[-1][key.strip()] = value.strip()
    return [b for b in blocks if b]


_ARM_PARTS = {
    ("0x41", "0xd0c"): "Arm Neoverse N1", ("0x41", "0xd40"): "Arm Neoverse V1",
    ("0x41", "0xd49"): "Arm Neoverse N2", ("0x41", "0xd4f"): "Arm Neoverse V2",
    ("0x46", "0x001"): "Fujitsu A64FX", ("0x48", "0xd01"): "HiSilicon Kunpeng 920",
}


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _size_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)\s*", text)
    if not m:
        return 0
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2)]


def parse_caches(sys_cpu: Path) -> tuple[CacheLevel, ...]:
    """Cache levels from /sys/devices/system/cpu; instances are distinct sharing groups."""
    groups: dict[tuple[int, str], tuple[int, set[str]]] = {}
    for cpu in sorted(sys_cpu.glob("cpu[0-9]*")):
        for index in sorted((cpu / "cache").glob("index*")):
            level, kind = _read(index / "level"), _read(index / "type")
            size, shared = _read(index / "size"), _read(index / "shared_cpu_list")
            if not (level and kind and size):
                continue
            key = (int(level), kind.strip())
            nbytes = _size_bytes(size)
            seen = groups.setdefault(key, (nbytes, set()))[1]
            seen.add((shared or cpu.name).strip())
    return tuple(
        CacheLevel(level=lv, kind=kind, size_bytes=nbytes, instances=len(shared))
        for (lv, kind), (nbytes, shared) in sorted(groups.items())
    )


def _mhz_from_sys(sys_cpu: Path, name: str) -> float | None:
    text = _read(sys_cpu / "cpu0" / "cpufreq" / name)
    return int(text) / 1000.0 if text and text.strip().isdigit() else None


def parse_cpu(cpuinfo_text: str, sys_cpu: Path, arch: str) -> CpuInfo:
    """Parse /proc/cpuinfo text plus the /sys cpu tree into a CpuInfo."""
    blocks = [b for b in _kv_blocks(cpuinfo_text) if "processor" in b]
    first = blocks[0] if blocks else {}
    threads = len(blocks) or os.cpu_count() or 1
    if arch == "aarch64":
        part = (first.get("CPU implementer", ""), first.get("CPU part", ""))
        model = _ARM_PARTS.get(part, f"Arm implementer {part[0]} part {part[1]}")
        vendor = part[0]
        flags = frozenset(first.get("Features", "").split())
        sockets, cores = 1, threads  # no SMT on the Arm server cores listed above
        family = None
    else:
        model = first.get("model name", platform.processor() or "unknown")
        vendor = first.get("vendor_id", "unknown")
        flags = frozenset(first.get("flags", "").split())
        family = int(first["cpu family"]) if first.get("cpu family", "").isdigit() else None
        physical = {b.get("physical id", "0") for b in blocks} or {"0"}
        sockets = len(physical)
        per_socket = int(first.get("cpu cores", "0") or 0)
        cores = per_socket * sockets if per_socket else threads
    base = _mhz_from_sys(sys_cpu, "base_frequency")
    if base is None:
        m = re.search(r"@\s*([\d.]+)\s*GHz", model)
        base = float(m.group(1)) * 1000 if m else None
    if base is None and first.get("cpu MHz"):
        base = float(first["cpu MHz"])
    max_mhz = _mhz_from_sys(sys_cpu, "cpuinfo_max_freq")
    nodes = sys_cpu.parent / "node"
    numa = len(list(nodes.glob("node[0-9]*"))) or 1
    return CpuInfo(arch=arch, model=model, vendor=vendor, sockets=sockets, cores=cores,
                   threads=threads, base_mhz=base, max_mhz=max_mhz, flags=flags,
                   caches=parse_caches(sys_cpu), numa_nodes=numa, family=family)


# --- theoretical peaks -------------------------------------------------------

def vector_bits(cpu: CpuInfo) -> int:
    """Width of the widest FMA-capable vector unit the ISA exposes."""
    if cpu.arch == "aarch64":
        return 128  # NEON; SVE width is implementation defined, 128 is the floor
    if "avx512f" in cpu.flags:
        return 512
    if "fma" in cpu.flags or "avx2" in cpu.flags:
        return 256
    return 128


def registers(cpu: CpuInfo) -> int:
    """Architectural vector registers: 32 with AVX-512 or on AArch64, else 16."""
    return 32 if cpu.arch == "aarch64" or "avx512f" in cpu.flags else 16


#: AMD's "cpu family" of Zen 3 and Zen 4: Zen 4 runs AVX-512 on 256-bit FMA units.
AMD_ZEN34_FAMILY = 25


def datapath_bits(cpu: CpuInfo) -> int:
    """Width each FMA unit executes per cycle; below ``vector_bits`` when a wide op is split.

    Zen 4 (AMD family 25 with AVX-512) executes a 512-bit FMA as two 256-bit
    halves on its two 256-bit units: 16 FP64 FLOPs per cycle, as Zen 3 with
    AVX2, not the 32 that "512-bit x 2 units" would claim. Zen 5 (family 26)
    has full 512-bit units.
    """
    bits = vector_bits(cpu)
    if bits > 256 and cpu.vendor == "AuthenticAMD" and cpu.family == AMD_ZEN34_FAMILY:
        return 256
    return bits


def has_fma(cpu: CpuInfo) -> bool:
    return cpu.arch == "aarch64" or "fma" in cpu.flags or "avx512f" in cpu.flags


#: The BF16 family name of Intel AMX, and its rate: one TMUL unit per core completes a
#: 16x16x32 BF16 tile product (16,384 FLOPs) every 16 cycles (Sapphire Rapids and later).
AMX_BF16 = "amx_bf16 (tile matrix multiply)"
AMX_BF16_FLOPS_PER_CYCLE = 1024


def native_precisions(cpu: CpuInfo) -> dict[str, str]:
    """Precision -> the instruction family that executes it natively (absent when none)."""
    out = {"fp64": "fma", "fp32": "fma"}
    if "avx512_fp16" in cpu.flags or {"asimdhp", "fphp"} <= cpu.flags:
        out["fp16"] = "avx512_fp16" if cpu.arch == "x86_64" else "asimdhp"
    if cpu.arch == "x86_64" and {"amx_tile", "amx_bf16"} <= cpu.flags:
        out["bf16"] = AMX_BF16  # the matrix engine: far above the vector dot product
    elif "avx512_bf16" in cpu.flags or "bf16" in cpu.flags:
        out["bf16"] = "avx512_bf16 (dot product)" if cpu.arch == "x86_64" else "bf16"
    return out


@dataclass(frozen=True)
class Peak:
    precision: str
    gflops: float
    generous_gflops: float
    formula: str
    assumptions: tuple[str, ...]
    cores: int = 0
    nominal_mhz: float = 0.0
    flops_per_cycle: float = 0.0  # per core

    def at_clock(self, mhz: float) -> float:
        """The same peak (GFLOP/s) with every core at ``mhz`` instead of the nominal clock."""
        return self.cores * mhz / 1000.0 * self.flops_per_cycle


def theoretical_peaks(cpu: CpuInfo, fma_units: int = DEFAULT_FMA_UNITS) -> dict[str, Peak]:
    """Peak GFLOP/s per precision: cores x clock x lanes x 2 (FMA) x FMA units.

    ``gflops`` uses the nominal (base) clock as TOP500 Rpeak does; ``generous``
    uses the maximum clock (or nominal x TURBO_ALLOWANCE when unknown) and the
    most FMA units the architecture family has, and bounds any honest measurement.
    """
    bits = vector_bits(cpu)
    path = datapath_bits(cpu)
    nominal = cpu.base_mhz or cpu.max_mhz
    if nominal is None:
        return {}
    top = cpu.max_mhz or nominal * TURBO_ALLOWANCE
    max_units = max(MAX_FMA_UNITS.get(cpu.arch, 2), fma_units)
    ops_per_fma = 2 if has_fma(cpu) else 1
    out = {}
    for prec, family in native_precisions(cpu).items():
        if family == AMX_BF16:
            out[prec] = _amx_peak(cpu, nominal, top)
            continue
        elem_bits = {"fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16}[prec]
        lanes = path // elem_bits
        per_cycle = lanes * ops_per_fma * fma_units
        gflops = cpu.cores * nominal / 1000.0 * per_cycle
        # The ISA's lanes, not the datapath's: a bound that no split-unit guess can undercut.
        generous = cpu.cores * top / 1000.0 * (bits // elem_bits) * ops_per_fma * max_units
        split = f" on {path}-bit units" if path != bits else ""
        formula = (f"{cpu.cores} cores x {nominal / 1000:.3f} GHz x {lanes} lanes ({bits}-bit "
                   f"{family}{split}) x {ops_per_fma} (FMA) x {fma_units} FMA units "
                   f"= {gflops:.1f} GFLOP/s")
        assumptions = (
            f"FMA units per core = {fma_units} (site config 'fma_units', not probed)",
            "clock = nominal (base); turbo and AVX frequency licences not modelled",
        )
        out[prec] = Peak(prec, gflops, generous, formula, assumptions, cpu.cores, nominal,
                         per_cycle)
    return out


def _amx_peak(cpu: CpuInfo, nominal: float, top: float) -> Peak:
    """BF16 on AMX: cores x clock x 1024 FLOPs per cycle (one TMUL per core)."""
    per_cycle = AMX_BF16_FLOPS_PER_CYCLE
    gflops = cpu.cores * nominal / 1000.0 * per_cycle
    formula = (f"{cpu.cores} cores x {nominal / 1000:.3f} GHz x {per_cycle} ({AMX_BF16}: a "
               f"16x16x32 tile product, 16,384 FLOPs, per 16 cycles) = {gflops:.1f} GFLOP/s")
    assumptions = ("one AMX TMUL unit per core (Intel Sapphire Rapids and later)",
                   "clock = nominal (base); the AMX frequency licence is not modelled")
    return Peak("bf16", gflops, cpu.cores * top / 1000.0 * per_cycle, formula, assumptions,
                cpu.cores, nominal, per_cycle)


# --- software and environment ------------------------------------------------

def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def software_versions(with_mpi: bool = True) -> dict[str, Any]:
    """Versions of everything that shapes a measurement; imports nothing heavy eagerly."""
    import numpy

    out: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": _version("numba"),
        "llvmlite": _version("llvmlite"),
        "mpi4py": _version("mpi4py"),
        "hpcplan": _version("hpcplan"),
        "hpcplan_commit": git_commit(),
    }
    try:
        import llvmlite.binding as llvm

        out["llvm"] = ".".join(str(x) for x in llvm.llvm_version_info)
    except ImportError:
        out["llvm"] = None
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            b = blas[0]
            out["blas"] = f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})"
            out["blas_threads"] = b.get("num_threads")
    except ImportError:
        out["blas"] = None
    if with_mpi:
        out["mpi_library"] = mpi_library_version()
    return out


def mpi_library_version() -> str | None:
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI.Get_library_version().strip().splitlines()[0]


def git_commit() -> str | None:
    """The commit of the hpcplan checkout this code runs from, if it is one."""
    head = Path(__file__).resolve().parent.parent / ".git" / "HEAD"
    text = _read(head)
    if not text:
        return None
    text = text.strip()
    if text.startswith("ref: "):
        ref = head.parent / text[5:]
        value = _read(ref)
        if value:
            return value.strip()
        packed = _read(head.parent / "packed-refs") or ""
        for line in packed.splitlines():
            if line.endswith(" " + text[5:]):
                return line.split()[0]
        return None
    return text


def slurm_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Slurm job identity when running inside an allocation."""
    env = dict(os.environ if env is None else env)
    # a step's own nodes before the allocation's: a study's steps in one allocation
    # each run on part of it
    keys = {"SLURM_JOB_ID": "job_id", "SLURM_STEP_ID": "step_id",
            "SLURM_STEP_NODELIST": "node_list", "SLURM_JOB_NODELIST": "node_list",
            "SLURM_STEP_NUM_NODES": "nodes", "SLURM_JOB_NUM_NODES": "nodes",
            "SLURM_NTASKS": "tasks", "SLURM_JOB_PARTITION": "partition",
            "SLURM_ARRAY_TASK_ID": "array_task"}
    out: dict[str, str] = {}
    for key, name in keys.items():
        if env.get(key) and name not in out:
            out[name] = env[key]
    return out


# --- the whole probe ---------------------------------------------------------

@dataclass(frozen=True)
class Machine:
    hostname: str
    cpu: CpuInfo
    memory_bytes: int
    memory_available_bytes: int
    fma_units: int
    peaks: dict[str, Peak]

    def to_dict(self) -> dict[str, Any]:
        """The machine block of a record: flat, JSON-ready, units in the key names."""
        cpu = self.cpu
        return {
            "hostname": self.hostname,
            "arch": cpu.arch,
            "cpu_model": cpu.model,
            "vendor": cpu.vendor,
            "sockets": cpu.sockets,
            "cores": cpu.cores,
            "threads": cpu.threads,
            "base_mhz": cpu.base_mhz,
            "max_mhz": cpu.max_mhz,
            "isa": cpu.isa,
            "caches": [asdict(c) for c in cpu.caches],
            "llc_bytes": cpu.llc_bytes,
            "numa_nodes": cpu.numa_nodes,
            "memory_bytes": self.memory_bytes,
            "fma_units": self.fma_units,
            "peak_gflops": {p: round(v.gflops, 3) for p, v in self.peaks.items()},
            "generous_peak_gflops": {p: round(v.generous_gflops, 3)
                                     for p, v in self.peaks.items()},
        }


def probe(fma_units: int = DEFAULT_FMA_UNITS, root: Path = Path("/")) -> Machine:
    """Probe the machine under ``root`` (``/`` for this one, a fixture tree in tests)."""
    arch = platform.machine() if root == Path("/") else _fixture_arch(root)
    cpu = parse_cpu(_read(root / "proc/cpuinfo") or "", root / "sys/devices/system/cpu", arch)
    mem = memory.probe(root / "proc/meminfo")
    return Machine(
        hostname=platform.node() if root == Path("/") else "fixture",
        cpu=cpu,
        memory_bytes=mem.total_bytes,
        memory_available_bytes=mem.available_bytes,
        fma_units=fma_units,
        peaks=theoretical_peaks(cpu, fma_units),
    )


def _fixture_arch(root: Path) -> str:
    text = _read(root / "arch")
    return text.strip() if text else "x86_64"


def usable_cpus() -> int:
    """CPUs this process may run on (Slurm and taskset restrict the affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1
