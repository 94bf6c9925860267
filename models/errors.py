"""Scenario errors: one sentence that names the file and the key path.

``ScenarioError`` is a ``UserError``, so the CLI prints it and exits 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from kernels.errors import UserError


class ScenarioError(UserError, ValueError):
    """A scenario (or calibration input) mistake, located by file and key path."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(printable(f"{where}: {problem}"))


def printable(text: str) -> str:
    """One line whatever the user wrote: control characters are shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """A ' did you mean ...?' hint from difflib, or the list of known words."""
    known = sorted(known)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known keys: {', '.join(known)}" if known else "no keys are allowed here"
