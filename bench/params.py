"""``--param KEY=VALUE``: parsed and checked before anything runs.

Why this module exists: a kernel that reads ``int(ctx.options["md_files"])``
crashes with a traceback on ``abc``, a NaN passes every range check and is only
refused by the store when the run is over (losing every record measured), and
a typo such as ``md_flies`` silently runs with the default. Here each value is
parsed once, by the kind of the key (whole number, number, size, true/false,
list of byte counts, word), and refused with one sentence when it is not
finite, negative, outside its declared range or not of that kind; a key the
suite does not read is refused, with a did-you-mean when one is close.

The declarations (kind, unit, range, default) come from each benchmark's
registration (``bench/registry.py``): a suite accepts the keys its benchmarks
declare, plus ``repeats``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any

from bench import registry
from kernels.errors import UserError

#: Whole numbers are refused above this: beyond it a float in JSON loses digits.
MAX_INT = 2**53
MAX_TEXT = 1000

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SIZE_RE = re.compile(r"\s*\d+\s*[kmgtKMGT]?[iI]?[bB]?\s*")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

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


def parse_value(declared: registry.Param, text: str) -> Any:
    """The value of ``--param key=text``, typed by the key's kind and held to its range."""
    value = _typed(declared.key, text, declared.kind)
    _check_range(declared, text, value)
    return value


def _check_range(p: registry.Param, text: str, value: Any) -> None:
    if p.choices and str(value).strip() not in p.choices:
        raise UserError(f"--param {p.key}={text!r} is not one of {', '.join(p.choices)}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    unit = f" {p.unit}" if p.unit else ""
    if p.minimum is not None and value < p.minimum:
        raise UserError(f"--param {p.key}={text!r} must be at least {p.minimum:g}{unit}")
    if p.maximum is not None and value > p.maximum:
        raise UserError(f"--param {p.key}={text!r} must be at most {p.maximum:g}{unit}")


def _typed(key: str, text: str, kind: str) -> Any:
    if len(text) > MAX_TEXT:
        raise UserError(f"--param {key} is {len(text)} characters long; at most {MAX_TEXT}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UserError(f"--param {key}={text!r} holds control characters")
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
    return text  # "text"


def parse(items: Iterable[str], suites: Iterable[str] | None = None) -> dict[str, Any]:
    """``KEY=VALUE`` strings as typed options; the first mistake is a UserError.

    A key must be declared by a benchmark of one of ``suites`` (of any suite when
    None), so a typo never runs silently with the default.
    """
    chosen = list(suites) if suites is not None else None
    known: dict[str, registry.Param] = {}
    for suite in chosen if chosen is not None else [None]:
        known.update(registry.params(suite))
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier() or not key.isascii():
            raise UserError(f"--param {item[:80]!r} is not KEY=VALUE")
        if key not in known:
            raise _unknown(key, known, chosen)
        out[key] = parse_value(known[key], text)  # a later value overrides an earlier one
    repeats = out.get("repeats")
    if repeats is not None and repeats < 2:
        raise UserError(f"--param repeats={repeats} must be at least 2, like --repeats")
    return out


def _unknown(key: str, known: dict[str, registry.Param], suites: list[str] | None) -> UserError:
    where = (f"suite {', '.join(suites)}" if suites and len(suites) == 1 else
             f"suites {', '.join(suites)}" if suites else "any suite")
    everywhere = registry.params()
    if suites and key in everywhere:
        owners = [s for s in registry.names() if key in registry.params(s)]
        return UserError(f"--param {key} is not read by {where}, only by suite "
                         f"{', '.join(owners)}")
    hint = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if hint:
        return UserError(f"--param {key} is not a parameter of {where}; did you mean "
                         f"{hint[0]!r}?")
    return UserError(f"--param {key} is not a parameter of {where}; 'hpcplan run --help' "
                     "lists each suite's parameters")
