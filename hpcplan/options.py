"""The options several commands share, declared, checked and resolved in one place.

A command adds ``--results``, ``--samples``, ``--seed`` or a scenario with the
``add_*`` functions here, so each means the same thing and says so in the same
words everywhere. ``check`` (called by the CLI for every command) refuses an
out-of-range value with one sentence; ``results_dir`` is the one order that
finds the results store. Only the standard library is imported here: every
parser is built for ``hpcplan --help``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from kernels.errors import UserError

#: The environment variable naming the results store (``bench.store.ENV``).
RESULTS_ENV = "HPCPLAN_RESULTS"
#: The results store when nothing names one (``bench.store.DEFAULT_DIR``).
DEFAULT_RESULTS = "results"

RESULTS_HELP = (f"results directory (default: ${RESULTS_ENV}, else results_dir of the site "
                f"config, else ./{DEFAULT_RESULTS}; '~' is expanded, a relative path is taken "
                "from the current directory)")
SCENARIO_HELP = "a scenario TOML file or the name of one in models/scenarios"
DEFAULT_SAMPLES = 10_000
MAX_SAMPLES = 10_000_000
#: numpy's ``default_rng`` takes any non-negative int; the record keeps it as a signed 64-bit.
SEED_LIMIT = 2**63


def add_results(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", metavar="DIR", help=RESULTS_HELP)


def add_samples(p: argparse.ArgumentParser) -> None:
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, metavar="N",
                   help=f"Monte Carlo samples, 0 to {MAX_SAMPLES} "
                   f"(default {DEFAULT_SAMPLES}; 0: deterministic only)")


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help=f"random seed, 0 to {SEED_LIMIT - 1} (default 0)")


def add_scenario(p: argparse.ArgumentParser) -> None:
    """``--scenario FILE``: one scenario, for commands that also read the results store."""
    p.add_argument("--scenario", metavar="FILE", help=f"{SCENARIO_HELP} (default: guangzhou)")


def add_scenarios(p: argparse.ArgumentParser) -> None:
    """``SCENARIO...``: zero or more scenarios (none: the default one)."""
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help=f"{SCENARIO_HELP}; give two or more to compare (default: guangzhou)")


def check_samples(samples: int) -> None:
    if not 0 <= samples <= MAX_SAMPLES:
        raise UserError(f"--samples must be between 0 and {MAX_SAMPLES}, got {samples}")


def check_seed(seed: int) -> None:
    if not 0 <= seed < SEED_LIMIT:
        raise UserError(f"--seed must be between 0 and {SEED_LIMIT - 1}, got {seed}")


def check(args: argparse.Namespace) -> None:
    """Refuse an out-of-range ``--samples`` or ``--seed`` of whichever command was parsed."""
    if getattr(args, "samples", None) is not None:
        check_samples(args.samples)
    if getattr(args, "seed", None) is not None:
        check_seed(args.seed)


def results_dir(args: argparse.Namespace, site: Any) -> Path:
    """The results store: ``--results``, else ``$HPCPLAN_RESULTS``, else the site config's
    ``results_dir``, else ``./results``.

    An unset or empty environment variable or config key means "not given"; a value that
    is only blanks is refused, since it would silently name an odd directory. The path is
    not resolved: a command that hands it to another process (Slurm jobs) resolves it.
    """
    flag = getattr(args, "results", None)
    env = os.environ.get(RESULTS_ENV)
    conf = site.results_dir
    for value, origin in ((flag, "--results"), (env or None, f"${RESULTS_ENV}"),
                          (conf or None, f"results_dir of site config {site.source}")):
        if value is None:
            continue
        if not value.strip():
            raise UserError(f"{origin} is an empty path; name a directory")
        try:
            return Path(value).expanduser()
        except RuntimeError:
            raise UserError(f"{origin} {value!r} starts with '~' of an unknown user") from None
    return Path(DEFAULT_RESULTS)
