"""Start-up and quick-suite timings (issue 2 targets).

    python -m hpcplan.anchors.startup

- ``hpcplan --help``: median of 10 runs, target < 0.5 s; anchor: a bare
  ``python -c pass`` in the same run (the interpreter's own start-up).
- ``hpcplan run --suite quick`` with a cold Numba cache (a fresh
  NUMBA_CACHE_DIR), then again warm: target < 60 s cold on 2 cores, and the
  warm run writes nothing new to the cache (no recompilation).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    import os

    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, **(env or {})})
    return time.perf_counter() - t


def snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def main() -> None:
    py = sys.executable
    helps = [timed([py, "-m", "hpcplan", "--help"]) for _ in range(10)]
    bare = [timed([py, "-c", "pass"]) for _ in range(10)]
    print(f"hpcplan --help     median {statistics.median(helps):.3f} s "
          f"(python -c pass {statistics.median(bare):.3f} s; ratio "
          f"{statistics.median(helps) / statistics.median(bare):.1f}x)  target < 0.5 s: "
          f"{'MET' if statistics.median(helps) < 0.5 else 'NOT MET'}")
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as res:
        env = {"NUMBA_CACHE_DIR": cache}
        cmd = [py, "-m", "hpcplan", "run", "--suite", "quick", "--results", res, "--quiet"]
        cold = timed(cmd, env)
        before = snapshot(Path(cache))
        warm = timed(cmd, env)
        after = snapshot(Path(cache))
    print(f"quick suite cold  {cold:.1f} s  target < 60 s: {'MET' if cold < 60 else 'NOT MET'}")
    print(f"quick suite warm  {warm:.1f} s  (cold/warm {cold / warm:.2f}x); cache files "
          f"{'unchanged: no recompilation' if before == after else 'CHANGED: recompiled'} "
          f"({len(after)} files)")


if __name__ == "__main__":
    main()
