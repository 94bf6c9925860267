"""``--param KEY=VALUE``: parsed and checked before anything runs.

Why this module exists: a kernel that reads ``int(ctx.options["md_files"])``
crashes with a traceback on ``abc``, a NaN passes every range check and is only
refused by the store when the run is over (losing every record measured), and
a typo such as ``md_flies`` silently runs with the default. Here each value is
parsed once, by the kind of the key (whole number, number, size, true/false,
list of byte counts, word), and refused with one sentence when it is not
finite, negative, or not of that kind; a key that is not known but close to
one that is gets a did-you-mean.

The kinds below are what the suites read today; the benchmark registry will
carry per-suite declarations (unit, range, default) and replace this table.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any

from kernels.errors import UserError

#: Whole numbers are refused above this: beyond it a float in JSON loses digits.
MAX_INT = 2**53
MAX_TEXT = 1000

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SIZE_RE = re.compile(r"\s*\d+\s*[kmgtKMGT]?[iI]?[bB]?\s*")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: The kind of every key a suite reads (bench/suite_*.py).
KINDS: dict[str, str] = {
    "repeats": "int",
    # memory, peak, compute
    "stream_elements": "int", "stream_ntimes": "int", "peak_seconds": "float",
    "peak_variant": "word", "peak_sweep": "bool", "peak_sweep_seconds": "float",
    "gemm_n": "int", "mxp_n": "int", "mxp_nb": "int", "mxp_precision": "word",
    "mxp_grid": "word", "mxp_mem_fraction": "float", "mxp_seed": "int",
    "mxp_max_iter": "int", "mxp_diag_scale": "float",
    # network
    "net_target_s": "float", "net_sizes": "ints", "net_allreduce_sizes": "ints",
    # storage and metadata
    "io_api": "word", "io_layout": "word", "io_buffer": "word", "io_block": "size",
    "io_transfer": "size",
    "io_segments": "int", "io_fsync": "bool", "io_direct": "bool", "io_collective": "bool",
    "io_stonewall_s": "float", "io_reorder": "reorder", "io_verify": "bool",
    "io_drop_cache": "bool", "io_hints": "text", "io_hard": "bool",
    "io_hard_segments": "int", "io_space_fraction": "float", "io_iterations": "int",
    "md_files": "int", "md_easy_files": "int", "md_hard_files": "int",
}

_WHAT = {"int": "a whole number such as 100", "float": "a number such as 0.5",
         "size": "a size such as 1048576, 1MiB or 64m", "bool": "true or false",
         "ints": "byte counts separated by commas, such as 8,65536",
         "reorder": "auto, off or a whole number", "word": "a word", "text": "text"}


def _number(key: str, text: str, kind: str) -> int | float:
    """A finite, non-negative number of ``kind`` from ``text``, or a UserError."""
    t = text.strip()
    lowered = t.lower().lstrip("+-")
    if lowered in ("nan", "inf", "infinity"):
        raise UserError(f"--param {key}={text!r} is not finite; give {_WHAT[kind]}")
    pattern = _INT_RE if kind == "int" else _FLOAT_RE
    if not pattern.fullmatch(t):
        raise UserError(f"--param {key}={text!r} is not {_WHAT[kind]}")
    value: int | float = int(t) if kind == "int" else float(t)
    if not math.isfinite(value):
        raise UserError(f"--param {key}={text!r} is not finite; give {_WHAT[kind]}")
    if value < 0:
        raise UserError(f"--param {key}={text!r} must not be negative")
    if abs(value) > MAX_INT:
        raise UserError(f"--param {key}={text!r} is too large (at most {MAX_INT})")
    return value


def parse_value(key: str, text: str) -> Any:
    """The value of ``--param key=text``, typed by the key's kind."""
    if len(text) > MAX_TEXT:
        raise UserError(f"--param {key} is {len(text)} characters long; at most {MAX_TEXT}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UserError(f"--param {key}={text!r} holds control characters")
    kind = KINDS.get(key)
    if kind in ("int", "float"):
        return _number(key, text, kind)
    if kind == "size":
        if _INT_RE.fullmatch(text.strip()):
            return _number(key, text, "int")
        if not _SIZE_RE.fullmatch(text):
            raise UserError(f"--param {key}={text!r} is not {_WHAT[kind]}")
        return text.strip()
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise UserError(f"--param {key}={text!r} is not {_WHAT[kind]}")
    if kind == "ints":
        parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        if not parts or not all(_INT_RE.fullmatch(p) and not p.startswith("-") for p in parts):
            raise UserError(f"--param {key}={text!r} is not {_WHAT[kind]}")
        for p in parts:
            _number(key, p, "int")
        return text
    if kind == "reorder":
        lowered = text.strip().lower()
        return lowered if lowered in ("auto", "off") else _number(key, text, "int")
    if kind == "word":
        if not text.strip():
            raise UserError(f"--param {key} is empty; give {_WHAT[kind]}")
        return text
    if kind == "text":
        return text
    return _untyped(key, text)


def _untyped(key: str, text: str) -> Any:
    """A key no suite declares: numbers must still be finite and non-negative."""
    t = text.strip()
    lowered = t.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered.lstrip("+-") in ("nan", "inf", "infinity"):
        raise UserError(f"--param {key}={text!r} is not finite")
    if _INT_RE.fullmatch(t):
        return _number(key, t, "int")
    if _FLOAT_RE.fullmatch(t):
        return _number(key, t, "float")
    return text


def parse(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as typed options; the first mistake is a UserError."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier() or not key.isascii():
            raise UserError(f"--param {item[:80]!r} is not KEY=VALUE")
        if key not in KINDS:
            hint = difflib.get_close_matches(key, list(KINDS), n=1, cutoff=0.75)
            if hint:
                raise UserError(f"--param {key} is not a parameter any suite reads; "
                                f"did you mean {hint[0]!r}?")
        out[key] = parse_value(key, text)  # a later value overrides an earlier one
    repeats = out.get("repeats")
    if repeats is not None and repeats < 2:
        raise UserError(f"--param repeats={repeats} must be at least 2, like --repeats")
    return out
