"""Node catalogue: per-node peaks under the scenario's definitions.

"Mixed-precision PF" is a definition, not a fact, so it is computed here in one
place: for each device (catalogue entry), its dense FP16/BF16 peak where it has
one (FP8 and sparse figures only when the definitions include them), otherwise
its best FP32/FP64 rate. A node sums its own figures and its parts'.
"FP64 peak" is the best FP64 rate (vector or tensor), as TOP500 Rpeak counts it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from models.schema import Definitions, NodeType

BUILTIN_CATALOGUE = Path(__file__).with_name("data") / "catalogue.toml"


@dataclass(frozen=True)
class NodeFigures:
    """What one node of a catalogue entry contributes, in canonical units."""

    name: str
    fp64_tf: float  # best FP64 rate (vector or tensor)
    fp32_tf: float
    mixed_tf: float  # per the definitions
    mixed_basis: str  # the precision(s) the mixed figure counts, e.g. "bf16" or "bf16+fp32"
    power_w: float
    cost: float | None  # None when any part lacks a cost
    currency: str


def low_precision_keys(defs: Definitions) -> tuple[str, ...]:
    keys = ["fp16", "bf16"]
    if defs.include_fp8:
        keys.append("fp8")
    if defs.include_sparsity:
        keys += [f"{k}_sparse" for k in list(keys)]
    return tuple(keys)


def _own(entry: NodeType, defs: Definitions) -> NodeFigures:
    f = {k: fig.value for k, fig in entry.figures.items()}
    fp64 = max(f.get("fp64", 0.0), f.get("fp64_tensor", 0.0))
    low = {k: f[k] for k in low_precision_keys(defs) if k in f}
    if low:
        basis = max(low, key=lambda k: low[k])
        mixed = low[basis]
    else:
        wide = {k: f[k] for k in ("fp32", "fp64", "fp64_tensor") if k in f}
        basis = max(wide, key=lambda k: wide[k]) if wide else ""
        mixed = wide[basis] if wide else 0.0
    basis = basis.replace("fp64_tensor", "fp64")
    cost = entry.figures.get("cost")
    return NodeFigures(entry.name, fp64, f.get("fp32", 0.0), mixed, basis, f.get("power", 0.0),
                       cost.value if cost else None, cost.unit if cost else "")


def resolve(catalogue: Mapping[str, NodeType], name: str, defs: Definitions) -> NodeFigures:
    """Figures of one node: its own plus ``count x`` each part's (parts were checked acyclic)."""
    entry = catalogue[name]
    own = _own(entry, defs)
    if not entry.parts:
        return own
    fp64, fp32, mixed, power = own.fp64_tf, own.fp32_tf, own.mixed_tf, own.power_w
    bases = [own.mixed_basis] if own.mixed_tf > 0 else []
    cost = own.cost if "cost" in entry.figures else 0.0
    currency = own.currency
    for part, count in entry.parts.items():
        sub = resolve(catalogue, part, defs)
        fp64 += count * sub.fp64_tf
        fp32 += count * sub.fp32_tf
        mixed += count * sub.mixed_tf
        power += count * sub.power_w
        if sub.mixed_tf > 0:
            bases.extend(sub.mixed_basis.split("+"))
        if "cost" in entry.figures:
            continue  # a node-level cost is the whole node's price
        if cost is None or sub.cost is None:
            cost = None
        else:
            cost += count * sub.cost
            currency = currency or sub.currency
    basis = "+".join(dict.fromkeys(b for b in bases if b))
    return NodeFigures(name, fp64, fp32, mixed, basis, power, cost, currency)


def load_builtin() -> dict[str, NodeType]:
    """The catalogue shipped in ``models/data/catalogue.toml`` (public figures with sources)."""
    from models.loader import parse_catalogue

    with open(BUILTIN_CATALOGUE, "rb") as fh:
        data = tomllib.load(fh)
    return parse_catalogue(data.get("catalogue", {}), str(BUILTIN_CATALOGUE), "catalogue")
