"""``hpcplan submit --dry-run`` and argument checks: no Slurm needed, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # PATH without any Slurm command: a dry run must not need one.
    env = {"PATH": "/nonexistent", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "hpcplan", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_dry_run_uses_the_site_config_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "hpcplan.toml").write_text(
        '[slurm]\nsetup = ["module load mpich/4.1", "source /opt/venv/bin/activate"]\n'
        'mpi = "pmix"\npartition = "batch"\nqos = "high"\ntime = "0:20:00"\n')
    proc = run(tmp_path, "submit", "network", "quick", "--nodes", "1,2", "--dry-run",
               "--results", str(tmp_path / "r"), "--repeats", "3", "--param", "net_sizes=8,64",
               "--param", "stream_ntimes=3")
    assert proc.returncode == 0, proc.stderr
    scripts = proc.stdout.split("# --- job script ")[1:]
    assert len(scripts) == 2
    for nodes, text in zip((1, 2), scripts, strict=True):
        assert f"#SBATCH --nodes={nodes}\n" in text
        assert "#SBATCH --partition=batch\n#SBATCH --qos=high\n" in text
        assert "#SBATCH --time=0:20:00\n" in text
        assert "module load mpich/4.1\nsource /opt/venv/bin/activate\n" in text
        launches = [ln for ln in text.splitlines() if ln.startswith("srun ")]
        assert [ln.split("--suite ")[1].split()[0] for ln in launches] == ["network", "quick"]
        assert all("--mpi=pmix" in ln and "--repeats 3" in ln for ln in launches)
        assert all(f"--config {tmp_path / 'hpcplan.toml'}" in ln for ln in launches)
        # each suite's run gets only the keys it reads
        assert "net_sizes=8,64" in launches[0] and "stream_ntimes" not in launches[0]
        assert "stream_ntimes=3" in launches[1] and "net_sizes" not in launches[1]
    assert not (tmp_path / "r").exists()
    proc = run(tmp_path, "submit", "network", "quick", "--dry-run", "--param", "mxp_n=64")
    assert proc.returncode == 2
    assert "--param mxp_n is not read by suites network, quick, only by suite compute" in \
        proc.stderr


def test_options_override_the_site_config(tmp_path: Path) -> None:
    (tmp_path / "hpcplan.toml").write_text('[slurm]\npartition = "batch"\n')
    proc = run(tmp_path, "submit", "network", "--dry-run", "--partition", "debug",
               "--exclusive", "--constraint", "ib&avx512", "--results", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "#SBATCH --partition=debug\n" in proc.stdout
    assert '#SBATCH --constraint="ib&avx512"\n#SBATCH --exclusive\n' in proc.stdout


def test_bad_arguments_are_one_sentence(tmp_path: Path) -> None:
    cases = [
        (["submit", "nosuch", "--dry-run"], "unknown suite 'nosuch'; known suites:"),
        (["submit", "network", "--dry-run", "--nodes", "1,x"], "--nodes '1,x' must be"),
        (["submit", "network", "--dry-run", "--time", "25:61"], "minutes or seconds of 60"),
        (["submit", "network", "--dry-run", "--mpi", "pmi2;id"], "MPI plugin 'pmi2;id'"),
        (["collect", "1;2"], "job id '1;2' is not a Slurm job id"),
    ]
    for args, message in cases:
        proc = run(tmp_path, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("hpcplan: error: ") and message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_jobs_without_a_ledger(tmp_path: Path) -> None:
    proc = run(tmp_path, "jobs", "--results", str(tmp_path / "r"))
    assert proc.returncode == 0 and proc.stdout.startswith("no jobs submitted")
