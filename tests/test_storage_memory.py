"""Peak memory does not grow with file size: one transfer buffer is streamed through.

(python -m hpcplan.anchors.storage --rss-gib 16 shows the same for a 16 GiB run.)
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from kernels.storage import IOConfig, run_bandwidth
    from kernels.workdir import WorkDir

    def peak_kib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    out = {}
    with WorkDir.create(sys.argv[1]) as wd:
        for mib in (8, 8, 256):
            cfg = IOConfig(block_bytes=mib * 2**20, transfer_bytes=2**20, fsync=False)
            assert run_bandwidth(cfg, wd.path).ok
            out[mib] = peak_kib()
    print(json.dumps(out))
""")


def test_peak_rss_does_not_grow_with_file_size(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    peaks = json.loads(proc.stdout)
    grown_mib = (peaks["256"] - peaks["8"]) / 1024
    assert grown_mib < 8, f"peak RSS grew {grown_mib:.1f} MiB for 32x more data"
