"""The main job and the report against what they are built from (issue 7 targets).

    python -m hpcplan.anchors.report [--rounds N]

- ``hpcplan plan`` (measure with the quick suite, store, calibrate, project,
  report) with a cold Numba cache, against ``hpcplan run --suite quick`` with a
  cold cache (the measurement alone), alternating: target < 120 s on 2 cores;
  the ratio is what the calibration, projection and report add.
- ``hpcplan report`` on the stored results against ``hpcplan project
  --calibrate-from`` on the same results (the same calibration and projection
  printed as text), alternating: the cost of the figures, HTML, Markdown and CSV.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from hpcplan.anchors.common import alternate, ratio_line

TARGET_S = 120.0


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds of one run; exit 1 (a benchmark failed validation on a busy machine) still
    counts, any other failure stops the script."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-500:]}")
    return time.perf_counter() - t


def cold(cmd: list[str]) -> float:
    """One run with a fresh Numba cache and a fresh results directory."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as res:
        return timed([*cmd, "--results", res], {"NUMBA_CACHE_DIR": cache})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="main-job rounds (default 3)")
    args = parser.parse_args()
    hp = [sys.executable, "-m", "hpcplan"]
    plans, runs = alternate(args.rounds, lambda: cold([*hp, "plan", "--quiet"]),
                            lambda: cold([*hp, "run", "--suite", "quick", "--quiet"]))
    print(ratio_line("plan (cold) vs quick suite (cold)", plans, runs, "s"))
    worst = max(plans)
    print(f"{'main job median':<34} {statistics.median(plans):.1f} s, slowest {worst:.1f} s; "
          f"target < {TARGET_S:.0f} s: {'MET' if worst < TARGET_S else 'NOT MET'}")
    with tempfile.TemporaryDirectory() as res, tempfile.TemporaryDirectory() as out:
        subprocess.run([*hp, "run", "--quiet", "--results", res], check=False,
                       capture_output=True)
        reports, projects = alternate(
            5, lambda: timed([*hp, "report", "--results", res, "--out", f"{out}/r.html"]),
            lambda: timed([*hp, "project", "--calibrate-from", res]))
    print(ratio_line("report vs project --calibrate-from", reports, projects, "s"))


if __name__ == "__main__":
    main()
