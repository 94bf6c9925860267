"""The layer rule, enforced on every import in the source tree (ast scan, nothing run).

kernels -> bench -> models -> hpcplan: a layer imports only the layers below it;
slurm/ imports only the standard library (it is copied into job scripts and run on
nodes that may lack our dependencies); only hpcplan/ imports everything.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("kernels", "bench", "models", "slurm", "hpcplan")
#: Which of our packages each package may import (itself included).
ALLOWED = {
    "kernels": {"kernels"},
    "bench": {"kernels", "bench"},
    "models": {"kernels", "bench", "models"},
    "slurm": {"slurm"},
    "hpcplan": set(OURS),
}


def imports_of(source: str) -> list[tuple[int, str]]:
    """(line, top-level module) for every absolute import, at any depth in the file."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def violations(package: str, source: str, where: str) -> list[str]:
    bad = []
    for line, top in imports_of(source):
        if top in OURS and top not in ALLOWED[package]:
            bad.append(f"{where}:{line}: {package} imports {top}")
        elif package == "slurm" and top not in OURS and top not in sys.stdlib_module_names \
                and top != "__future__":
            bad.append(f"{where}:{line}: slurm imports {top}, which is not the standard library")
    return bad


@pytest.mark.parametrize("package", OURS)
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = [v for f in files
           for v in violations(package, f.read_text(), str(f.relative_to(ROOT)))]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(("package", "source", "caught"), [
    ("kernels", "def f():\n    from bench import records\n", True),
    ("bench", "import models.engine\n", True),
    ("bench", "from hpcplan.anchors import board\n", True),
    ("models", "from slurm.jobs import x\n", True),
    ("slurm", "import numpy as np\n", True),
    ("slurm", "import json, os\nfrom . import ledger\n", False),
    ("models", "from bench import registry\nfrom kernels.errors import UserError\n", False),
    ("hpcplan", "import slurm.jobs, models, bench, kernels\n", False),
])
def test_the_scan_catches_an_upward_import(package: str, source: str, caught: bool) -> None:
    assert bool(violations(package, source, "x.py")) is caught
