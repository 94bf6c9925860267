"""CI baselines: pytest-benchmark JSON files in ``results/baselines/``, one per machine.

A timing means something only against the same kind of machine, so each
baseline is named by a machine key: the CPU model as a slug plus the core
count (``intel-xeon-processor-2c.json``). ``bench/ci/conftest.py`` writes the
key into the benchmark JSON (``machine_info.hpcplan``); ``refresh`` copies a
validated CI run into place, replacing the previous baseline (git keeps the
history, so the file is rewritten atomically rather than appended).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernels.errors import UserError

DEFAULT_DIR = Path("results/baselines")
#: Where ``.ci/run`` keeps the CI tier's pytest-benchmark JSON.
DEFAULT_CURRENT = Path("results/ci-benchmarks.json")


def slug(text: str) -> str:
    """Lower-case words joined by '-', trademark marks and punctuation dropped."""
    text = re.sub(r"\((r|tm|c)\)", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"


def machine_key(cpu_model: str, cores: int) -> str:
    return f"{slug(cpu_model)}-{int(cores)}c"


def machine_info() -> dict[str, Any]:
    """This machine's identity for benchmark JSON: CPU model, cores, key."""
    from bench import sysinfo

    m = sysinfo.probe()
    return {"cpu_model": m.cpu.model, "cores": m.cpu.cores, "threads": m.cpu.threads,
            "arch": m.cpu.arch, "hostname": m.hostname,
            "machine_key": machine_key(m.cpu.model, m.cpu.cores)}


def is_benchmark_json(payload: Any) -> bool:
    return (isinstance(payload, Mapping) and isinstance(payload.get("benchmarks"), list)
            and isinstance(payload.get("machine_info"), Mapping))


def machine_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The machine identity of a benchmark JSON: ours if present, else py-cpuinfo's."""
    info = payload.get("machine_info") or {}
    ours = info.get("hpcplan")
    if isinstance(ours, Mapping) and ours.get("cpu_model"):
        return dict(ours)
    cpu = info.get("cpu") or {}
    model = cpu.get("brand_raw") or cpu.get("brand") or info.get("processor") or ""
    cores = cpu.get("count") or 0
    return {"cpu_model": model, "cores": cores,
            "machine_key": machine_key(model, cores) if model else ""}


def read(path: Path) -> dict[str, Any]:
    """A pytest-benchmark JSON file, or a UserError naming the file and the problem."""
    try:
        payload = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise UserError(f"benchmark file {path} does not exist") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{path} is not valid JSON ({exc})") from None
    if not is_benchmark_json(payload):
        raise UserError(f"{path} is not pytest-benchmark JSON (no 'benchmarks' and "
                        "'machine_info'); write it with --benchmark-json")
    return payload


def path_for(key: str, root: Path = DEFAULT_DIR) -> Path:
    return Path(root) / f"{key}.json"


def refresh(current: Path, root: Path = DEFAULT_DIR) -> Path:
    """Make ``current`` this machine's baseline; refused if any benchmark failed or lacks data."""
    payload = read(current)
    key = machine_of(payload).get("machine_key", "")
    if not key:
        raise UserError(f"{current} does not say which machine it ran on; run the CI benchmarks "
                        "with bench/ci/conftest.py in place")
    if not payload["benchmarks"]:
        raise UserError(f"{current} holds no benchmarks; nothing to make a baseline of")
    for bench in payload["benchmarks"]:
        name = bench.get("name")
        validation = (bench.get("extra_info") or {}).get("validation") or {}
        if validation and not validation.get("passed"):
            raise UserError(f"benchmark {name} in {current} failed validation "
                            f"({validation.get('details', 'no details')}); not a baseline")
        if not (bench.get("stats") or {}).get("data"):
            raise UserError(f"benchmark {name} in {current} has no per-round data; "
                            "write the file with --benchmark-json")
    target = path_for(key, root)
    _write_atomic(target, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return target


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # a tracked file, readable like the rest of the checkout
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
