"""A second run loads every kernel from Numba's on-disk cache and compiles nothing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_second_run_recompiles_nothing(tmp_path):
    cache = tmp_path / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "hpcplan", "run", "--suite", "quick", "--quiet",
           "--results", str(tmp_path / "res"), "--repeats", "2",
           "--param", "peak_seconds=0.02", "--param", "stream_elements=1000000",
           "--param", "stream_ntimes=2"]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert first.returncode in (0, 1), first.stderr
    files = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert any(p.suffix == ".nbc" for p in files), "the first run cached nothing"
    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert second.returncode in (0, 1), second.stderr
    again = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert again == files
