"""Site configuration: what cannot be probed, and the site's Slurm defaults.

Looked up as ``--config FILE``, else ``$HPCPLAN_CONFIG``, else ``./hpcplan.toml``,
else the built-in defaults. Every key is validated; a mistake is one sentence
naming the file and the key.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kernels.errors import UserError

ENV = "HPCPLAN_CONFIG"
LOCAL = "hpcplan.toml"


@dataclass(frozen=True)
class SlurmDefaults:
    partition: str = ""
    account: str = ""
    qos: str = ""
    constraint: str = ""
    mpi: str = "pmi2"  # srun --mpi plugin
    time: str = "00:30:00"
    setup: tuple[str, ...] = ()  # lines run before srun (module loads, venv activation)
    python: str = ""  # interpreter inside the job; empty: the one running hpcplan submit


@dataclass(frozen=True)
class SiteConfig:
    name: str = "local"
    node_type: str = ""  # ties measurements to the model's node catalogue
    fma_units: int = 2  # FMA units per core: cannot be probed
    results_dir: str = ""  # after --results and $HPCPLAN_RESULTS (options.results_dir)
    slurm: SlurmDefaults = field(default_factory=SlurmDefaults)
    source: str = "built-in defaults"


_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "site": {"name": str, "node_type": str, "fma_units": int, "results_dir": str},
    "slurm": {f.name: (list if f.name == "setup" else str) for f in fields(SlurmDefaults)},
}


def _unknown(path: Path, where: str, key: str, known: list[str]) -> UserError:
    hint = difflib.get_close_matches(key, known, n=1)
    guess = f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(known)}"
    return UserError(f"{path}: unknown key {where}{key!r}{guess}")


def parse(data: dict[str, Any], path: Path) -> SiteConfig:
    values: dict[str, dict[str, Any]] = {"site": {}, "slurm": {}}
    for section, body in data.items():
        if section not in _TYPES:
            raise _unknown(path, "", section, list(_TYPES))
        if not isinstance(body, dict):
            raise UserError(f"{path}: [{section}] must be a table")
        for key, value in body.items():
            spec = _TYPES[section]
            if key not in spec:
                raise _unknown(path, f"{section}.", key, list(spec))
            want = spec[key]
            if isinstance(value, bool) or not isinstance(value, want):
                tname = want.__name__ if isinstance(want, type) else "value"
                raise UserError(f"{path}: {section}.{key} must be a {tname}, "
                                f"not {type(value).__name__}")
            values[section][key] = value
    site = values["site"]
    if "fma_units" in site and not 1 <= site["fma_units"] <= 8:
        raise UserError(f"{path}: site.fma_units must be between 1 and 8, not {site['fma_units']}")
    slurm = values["slurm"]
    if "setup" in slurm:
        if not all(isinstance(line, str) for line in slurm["setup"]):
            raise UserError(f"{path}: slurm.setup must be a list of strings")
        slurm["setup"] = tuple(slurm["setup"])
    return SiteConfig(**site, slurm=SlurmDefaults(**slurm), source=str(path))


#: A site config larger than this is refused rather than read.
MAX_BYTES = 1 * 2**20


def load(explicit: str | None = None) -> SiteConfig:
    """The site configuration in force for this invocation.

    A config named by ``--config`` or ``$HPCPLAN_CONFIG`` must exist and read
    cleanly; ``./hpcplan.toml`` is used when it is there, and then it must read
    cleanly too. Only a regular file is read (never a pipe), up to ``MAX_BYTES``.
    """
    from kernels.files import read_text

    candidate = explicit if explicit is not None else (os.environ.get(ENV) or None)
    if candidate is not None:
        origin = "--config" if explicit is not None else f"${ENV}"
        if not candidate.strip():
            raise UserError(f"{origin} is an empty path; name the site config file")
        path = Path(candidate)
        if not path.exists():
            raise UserError(f"site config {path} (from {origin}) does not exist")
    elif os.path.lexists(LOCAL):
        path = Path(LOCAL)
    else:
        return SiteConfig()
    text = read_text(path, "site config", MAX_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, path)
