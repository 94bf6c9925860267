from pathlib import Path

import pytest

from bench import sysinfo

FIX = Path(__file__).parent / "fixtures" / "sysinfo"


def probe(name: str, fma_units: int = 2) -> sysinfo.Machine:
    return sysinfo.probe(fma_units=fma_units, root=FIX / name)


def test_x86_avx512_two_sockets_smt():
    m = probe("x86_avx512")
    cpu = m.cpu
    assert cpu.model.startswith("Intel(R) Xeon(R) Platinum 8380")
    assert (cpu.sockets, cpu.cores, cpu.threads, cpu.numa_nodes) == (2, 8, 16, 2)
    assert cpu.base_mhz == 2300.0  # from the model name: no base_frequency file
    assert cpu.max_mhz == 3400.0
    assert "avx512f" in cpu.isa and "avx512_fp16" not in cpu.isa
    l3 = next(c for c in cpu.caches if c.level == 3)
    assert (l3.size_bytes, l3.instances) == (60 * 2**20, 2)
    assert cpu.llc_bytes == 120 * 2**20
    l1d = next(c for c in cpu.caches if c.level == 1 and c.kind == "Data")
    assert l1d.instances == 8  # SMT siblings share one L1 per core
    assert m.memory_bytes == 263849984 * 1024


def test_x86_avx512_peaks_by_hand():
    m = probe("x86_avx512")
    # 8 cores x 2.3 GHz x 8 lanes x 2 (FMA) x 2 units
    assert m.peaks["fp64"].gflops == pytest.approx(8 * 2.3 * 8 * 2 * 2)
    assert m.peaks["fp32"].gflops == pytest.approx(8 * 2.3 * 16 * 2 * 2)
    # generous: max clock 3.4 GHz and 2 units (x86 maximum)
    assert m.peaks["fp64"].generous_gflops == pytest.approx(8 * 3.4 * 8 * 2 * 2)
    assert set(m.peaks) == {"fp64", "fp32"}  # no FP16/BF16 instructions on Ice Lake
    assert "FMA units per core = 2" in m.peaks["fp64"].assumptions[0]


def test_x86_avx2_only():
    m = probe("x86_avx2", fma_units=1)
    assert m.cpu.vendor == "AuthenticAMD"
    assert sysinfo.vector_bits(m.cpu) == 256
    assert m.cpu.base_mhz == 3000.0  # base_frequency file wins
    assert m.peaks["fp64"].gflops == pytest.approx(8 * 3.0 * 4 * 2 * 1)
    assert m.peaks["fp64"].generous_gflops == pytest.approx(8 * 3.7 * 4 * 2 * 2)
    assert m.cpu.llc_bytes == 32 * 2**20


def test_aarch64_neoverse_v1():
    m = probe("aarch64")
    cpu = m.cpu
    assert cpu.arch == "aarch64" and cpu.model == "Arm Neoverse V1"
    assert (cpu.cores, cpu.threads) == (8, 8)
    assert {"asimd", "sve", "bf16", "asimdhp"} <= set(cpu.isa)
    assert sysinfo.vector_bits(cpu) == 128
    # no base clock probed: the maximum is the nominal
    assert m.peaks["fp64"].gflops == pytest.approx(8 * 2.6 * 2 * 2 * 2)
    assert m.peaks["fp16"].gflops == pytest.approx(8 * 2.6 * 8 * 2 * 2)
    assert m.peaks["fp64"].generous_gflops == pytest.approx(8 * 2.6 * 2 * 2 * 4)
    assert "bf16" in m.peaks


def test_machine_dict_is_json_ready():
    import json

    d = probe("x86_avx512").to_dict()
    assert json.loads(json.dumps(d))["peak_gflops"]["fp64"] == pytest.approx(588.8)


def test_slurm_environment():
    env = {"SLURM_JOB_ID": "42", "SLURM_JOB_NODELIST": "node[1-2]", "HOME": "/root"}
    assert sysinfo.slurm_environment(env) == {"job_id": "42", "node_list": "node[1-2]"}
    assert sysinfo.slurm_environment({}) == {}
    # inside a step of a larger allocation the step's own nodes are the record's
    step = {**env, "SLURM_STEP_ID": "3", "SLURM_STEP_NODELIST": "node1",
            "SLURM_STEP_NUM_NODES": "1", "SLURM_JOB_NUM_NODES": "2"}
    assert sysinfo.slurm_environment(step) == {"job_id": "42", "step_id": "3",
                                               "node_list": "node1", "nodes": "1"}


def test_this_machine_probes():
    m = sysinfo.probe()
    assert m.cpu.cores >= 1 and m.memory_bytes > 0
    sw = sysinfo.software_versions(with_mpi=False)
    assert sw["numpy"] and sw["python"]


def test_zen4_runs_avx512_on_256_bit_units():
    """AMD family 25 with AVX-512 (Zen 4): 16 FP64 FLOPs per cycle per core, not 32."""
    m = probe("x86_zen4")
    cpu = m.cpu
    assert (cpu.vendor, cpu.family, cpu.cores) == ("AuthenticAMD", 25, 2)
    assert sysinfo.vector_bits(cpu) == 512 and sysinfo.datapath_bits(cpu) == 256
    assert sysinfo.registers(cpu) == 32
    assert cpu.base_mhz == pytest.approx(2596.146)  # no GHz in the model name, no cpufreq
    fp64 = m.peaks["fp64"]
    assert fp64.flops_per_cycle == 4 * 2 * 2
    assert fp64.gflops == pytest.approx(2 * 2.596146 * 4 * 2 * 2)
    assert fp64.at_clock(3650.0) == pytest.approx(2 * 3.65 * 16)
    assert "on 256-bit units" in fp64.formula
    # the generous bound keeps the ISA's lanes: no guess about units can fail a real rate
    assert fp64.generous_gflops == pytest.approx(2 * 2.596146 * 1.6 * 8 * 2 * 2)


def test_datapath_is_the_isa_width_elsewhere():
    for name in ("x86_avx512", "x86_avx2", "aarch64"):
        cpu = probe(name).cpu
        assert sysinfo.datapath_bits(cpu) == sysinfo.vector_bits(cpu)
    p = probe("x86_avx512").peaks["fp64"]
    assert p.at_clock(p.nominal_mhz) == pytest.approx(p.gflops)
