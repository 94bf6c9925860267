"""The peak suite validates with a CPU hog on one core (a noisy neighbour on a shared node)."""

import os
import subprocess
import sys
import time

import pytest

from bench import runner, suite_peak, sysinfo

#: The hog stops by itself after this many seconds, whatever happens to the test.
HOG_SECONDS = 90

_HOG = """
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    pass
"""


@pytest.mark.skipif(sysinfo.usable_cpus() < 2, reason="needs two CPUs: one for the hog")
def test_peak_suite_validates_beside_a_cpu_hog(tmp_path, monkeypatch):
    monkeypatch.setattr(suite_peak, "variant_cache_path", lambda: tmp_path / "variants.json")
    cpu = min(os.sched_getaffinity(0))
    hog = subprocess.Popen([sys.executable, "-c", _HOG, str(cpu), str(HOG_SECONDS)])
    try:
        time.sleep(0.2)  # the hog is spinning before anything is timed
        assert hog.poll() is None
        ctx = runner.make_context(options={"peak_seconds": 0.05, "repeats": 3})
        records = suite_peak.peak_fp64(ctx) + suite_peak.peak_fp32(ctx)
    finally:
        hog.kill()
        hog.wait()
    for rec in records:
        assert rec.status == "ok", f"{rec.name}: {rec.validation}"
        assert rec.params["sweep"]["source"].startswith("swept")
        assert rec.value and rec.value <= rec.params["generous_peak_gflops"]
    assert (tmp_path / "variants.json").exists()
