import json
import os
import subprocess
import sys
from pathlib import Path

from hpcplan.cli import main

ROOT = Path(__file__).resolve().parent.parent


def hpcplan(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "hpcplan", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, env={**os.environ, **(env or {})},
                          timeout=600)


def test_help_imports_no_numba_or_matplotlib():
    code = ("import sys, contextlib, io\n"
            "from hpcplan.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('numba', 'matplotlib', 'pandas', 'llvmlite', 'mpi4py')]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


def test_unknown_suite_is_one_sentence(tmp_path, capsys):
    assert main(["run", "--suite", "nope", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpcplan: error: unknown suite 'nope'; known suites:")
    assert "Traceback" not in err


def test_unwritable_results_dir_is_refused_before_any_kernel(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", "--suite", "peak", "--results", str(blocker)]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_malformed_site_config(tmp_path, capsys):
    cfg = tmp_path / "site.toml"
    cfg.write_text("[site]\nfma_unit = 2\n")
    assert main(["--config", str(cfg), "sysinfo"]) == 2
    assert "unknown key site.'fma_unit'; did you mean 'fma_units'?" in capsys.readouterr().err
    cfg.write_text("[site\n")
    assert main(["--config", str(cfg), "sysinfo"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    cfg.write_text('[site]\nfma_units = "two"\n')
    assert main(["--config", str(cfg), "sysinfo"]) == 2
    assert "site.fma_units must be a int" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.toml"), "sysinfo"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_array_too_large_for_memory(tmp_path, capsys):
    rc = main(["run", "--suite", "memory", "--results", str(tmp_path), "--quiet",
               "--param", "stream_elements=1000000000000"])
    assert rc == 2
    assert "at most" in capsys.readouterr().err and not list(tmp_path.glob("*.json"))


def test_bad_param(capsys):
    assert main(["run", "--param", "oops"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_sysinfo_json():
    out = hpcplan("sysinfo", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["machine"]["cores"] >= 1 and "fp64" in info["peaks"]


def test_run_writes_records_and_results_commands(tmp_path):
    res = tmp_path / "res"
    out = hpcplan("run", "--suite", "quick", "--results", str(res), "--repeats", "2",
                  "--param", "peak_seconds=0.05", "--param", "stream_elements=2000000",
                  "--param", "stream_ntimes=3")
    assert out.returncode == 0, out.stderr
    assert "compute.peak.fp64" in out.stdout and "memory.stream.triad" in out.stdout
    assert "% of peak" in out.stdout and "written to" in out.stdout
    assert out.stderr == ""  # not a terminal: no progress lines
    listing = hpcplan("results", "list", "--results", str(res))
    assert listing.returncode == 0 and "records" in listing.stdout
    shown = hpcplan("results", "show", "--json", "--results", str(res))
    recs = json.loads(shown.stdout)
    by_name = {r["name"]: r for r in recs}
    assert by_name["compute.peak.fp64"]["status"] == "ok"
    assert by_name["compute.peak.fp64"]["compile_s"] is not None
    # measured where the CPU and the generated code have native FP16 vectors (AVX512-FP16),
    # and BF16 where it has AMX tiles that Linux lends
    from bench import sysinfo
    from kernels import amx, flops

    cpu = sysinfo.probe().cpu
    fp16 = "fp16" in sysinfo.native_precisions(cpu) and flops.native_fp16()
    bf16 = amx.supported(cpu.flags) and amx.permit() is None
    assert by_name["compute.peak.fp16"]["status"] == ("ok" if fp16 else "unavailable")
    assert by_name["compute.peak.bf16"]["status"] == ("ok" if bf16 else "unavailable")
    assert by_name["memory.stream.triad"]["params"]["rule_4x_llc"] is False
    csv = tmp_path / "out.csv"
    exported = hpcplan("results", "export", "--csv", str(csv), "--results", str(res))
    assert exported.returncode == 0
    assert csv.read_text().startswith("name,value,unit")
    missing = hpcplan("results", "list", "--results", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
