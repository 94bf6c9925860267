"""CI baselines: pytest-benchmark JSON files in ``results/baselines/``, one per machine.

A timing means something only against the same kind of machine, so each
baseline is named by a machine key: the CPU model as a slug plus the core
count (``intel-xeon-processor-2c.json``). ``bench/ci/conftest.py`` writes the
key into the benchmark JSON (``machine_info.hpcplan``); ``refresh`` copies a
validated CI run into place, replacing the previous baseline (git keeps the
history, so the file is rewritten atomically rather than appended).

The key is read from the JSON, so it is checked to be a plain file name before
any path is built from it: a key such as ``../x/victim`` is refused, never
followed out of the baselines directory.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernels.errors import UserError
from kernels.files import read_regular, write_atomic

DEFAULT_DIR = Path("results/baselines")
#: Where ``.ci/run`` keeps the CI tier's pytest-benchmark JSON.
DEFAULT_CURRENT = Path("results/ci-benchmarks.json")
#: A machine key is a plain file name: what ``machine_key`` makes, nothing a path can hide in.
KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")
#: Benchmark JSON larger than this is refused rather than read.
MAX_BYTES = 256 * 2**20


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


def check_key(key: Any, source: str = "") -> str:
    """``key`` if it is a plain machine key (lower-case letters, digits, '-'), else a UserError."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        where = f" in {source}" if source else ""
        raise UserError(f"machine key {key!r}{where} is not a plain file name (lower-case "
                        "letters, digits and '-'); refusing to build a path from it")
    return key


def _number(value: Any) -> float:
    """A finite non-negative number from JSON, else 0 (machine facts are hints, not inputs)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) and value >= 0 else 0.0


def machine_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The machine identity of a benchmark JSON: ours if present, else py-cpuinfo's.

    Every field is typed here (strings, finite numbers), whatever the JSON holds;
    the machine key is returned as written and checked where a path is made.
    """
    info = payload.get("machine_info")
    info = info if isinstance(info, Mapping) else {}
    ours = info.get("hpcplan")
    if isinstance(ours, Mapping) and isinstance(ours.get("cpu_model"), str) \
            and ours.get("cpu_model"):
        out = {k: v for k, v in ours.items() if isinstance(k, str)}
        out["cores"] = int(_number(ours.get("cores")))
        for key in ("load_average_start", "load_average_end"):
            if key in out:
                out[key] = _number(out[key])
        return out
    cpu = info.get("cpu")
    cpu = cpu if isinstance(cpu, Mapping) else {}
    model = next((v for v in (cpu.get("brand_raw"), cpu.get("brand"), info.get("processor"))
                  if isinstance(v, str) and v), "")
    cores = int(_number(cpu.get("count")))
    return {"cpu_model": model, "cores": cores,
            "machine_key": machine_key(model, cores) if model else ""}


def read(path: Path) -> dict[str, Any]:
    """A pytest-benchmark JSON file, or a UserError naming the file and the problem."""
    raw = read_regular(path, "benchmark file", MAX_BYTES)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise UserError(f"{path} is not valid JSON ({str(exc)[:80]})") from None
    if not is_benchmark_json(payload):
        raise UserError(f"{path} is not pytest-benchmark JSON (no 'benchmarks' and "
                        "'machine_info'); write it with --benchmark-json")
    return payload


def path_for(key: str, root: Path = DEFAULT_DIR) -> Path:
    """The baseline file of machine ``key`` inside ``root``; a key that is not a plain
    file name is refused (it comes from JSON a user or a CI job wrote)."""
    return Path(root) / f"{check_key(key)}.json"


def refresh(current: Path, root: Path = DEFAULT_DIR) -> Path:
    """Make ``current`` this machine's baseline; refused if any benchmark failed or lacks data."""
    payload = read(current)
    key = machine_of(payload).get("machine_key", "")
    if not key:
        raise UserError(f"{current} does not say which machine it ran on; run the CI benchmarks "
                        "with bench/ci/conftest.py in place")
    check_key(key, str(current))
    if not payload["benchmarks"]:
        raise UserError(f"{current} holds no benchmarks; nothing to make a baseline of")
    for i, bench in enumerate(payload["benchmarks"]):
        problem = benchmark_problem(bench)
        name = bench.get("name") if isinstance(bench, Mapping) else None
        what = f"benchmark {name}" if isinstance(name, str) else f"benchmark {i}"
        if problem:
            raise UserError(f"{what} in {current} {problem}; not a baseline")
    target = path_for(key, root)
    try:
        text = json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n"
    except ValueError:
        raise UserError(f"{current} holds NaN or infinite numbers; not a baseline") from None
    # a tracked file, readable like the rest of the checkout
    write_atomic(target, text, mode=0o644, what="baseline")
    return target


def samples_of(bench: Any) -> tuple[list[float], str]:
    """A pytest-benchmark entry's per-round seconds, or ([], why they cannot be used)."""
    if not isinstance(bench, Mapping):
        return [], "is not a JSON object"
    stats = bench.get("stats")
    data = stats.get("data") if isinstance(stats, Mapping) else None
    if not data:
        return [], ("has no per-round data (write it with --benchmark-json, which keeps "
                    "every round)")
    if not isinstance(data, list):
        return [], "has stats.data that is not a list of seconds"
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in data):
        return [], "has stats.data holding something other than numbers"
    if any(not math.isfinite(x) for x in data):
        return [], "has NaN or infinite timings in stats.data"
    if any(x <= 0 for x in data):
        return [], "has zero or negative timings in stats.data"
    return [float(x) for x in data], ""


def validation_of(bench: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The entry's ``extra_info.validation`` ({} when there is none, None when malformed)."""
    extra = bench.get("extra_info", {})
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        return None
    validation = extra.get("validation", {})
    if validation is None:
        return {}
    return validation if isinstance(validation, Mapping) else None


def benchmark_problem(bench: Any) -> str:
    """Why a pytest-benchmark entry cannot be judged ('' when it can)."""
    _, why = samples_of(bench)
    if why:
        return why
    validation = validation_of(bench)
    if validation is None:
        return "has extra_info.validation that is not an object"
    if validation and validation.get("passed") is not True:
        details = validation.get("details", "no details")
        return f"failed validation ({str(details)[:200]})"
    return ""
