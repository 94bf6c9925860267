"""Node catalogue: per-node peaks under the scenario's definitions.

One rule resolves a node's figures, so nothing is counted twice:

* A figure given on an entry describes the **whole** entry. For every key
  (each precision's rate, ``power``, ``cost``), a node's own figure replaces
  the sum of its parts' figures for that key; a key the node does not give is
  the sum over its parts (``count x`` each part's resolved figure).
* So a node-level figure can never be an "extra on top": the loader refuses a
  node whose own power is below its parts' power, or whose own rate for a
  precision is above its parts' rate for it (``check_node``).

"Mixed-precision PF" is a definition, not a fact, so it is computed here in
one place, on the resolved node (a partition is counted at its fastest
precision, as compute-power plans count): the dense FP16/BF16 rate where the
node has one (FP8 and sparse figures only when the definitions include them),
otherwise its best FP32/FP64 rate. "FP64 peak" is the best FP64 rate (vector
or tensor), as TOP500 Rpeak counts it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from models.schema import COMPUTE_FIGURES, Definitions, NodeType

BUILTIN_CATALOGUE = Path(__file__).with_name("data") / "catalogue.toml"
#: keys resolved by the rule above; a cost is summed in the currency of its parts
RESOLVED_KEYS = (*COMPUTE_FIGURES, "power", "cost")


@dataclass(frozen=True)
class NodeFigures:
    """What one node of a catalogue entry contributes, in canonical units."""

    name: str
    fp64_tf: float  # best FP64 rate (vector or tensor)
    fp32_tf: float
    mixed_tf: float  # per the definitions
    mixed_basis: str  # the precision the mixed figure counts, e.g. "bf16" or "fp32"
    power_w: float
    cost: float | None  # None when neither the node nor every part has a cost
    currency: str
    rates: Mapping[str, float] | None = None  # every resolved compute figure, TF

    @property
    def gflops_per_w(self) -> float:
        """Mixed-precision peak per watt: the merit order of power shedding."""
        return self.mixed_tf * 1e3 / self.power_w if self.power_w > 0 else float("inf")


def low_precision_keys(defs: Definitions) -> tuple[str, ...]:
    keys = ["fp16", "bf16"]
    if defs.include_fp8:
        keys.append("fp8")
    if defs.include_sparsity:
        keys += [f"{k}_sparse" for k in list(keys)]
    return tuple(keys)


def totals(catalogue: Mapping[str, NodeType], name: str,
           memo: dict[str, dict[str, float | None]] | None = None) -> dict[str, float | None]:
    """Resolved figure per key (``None``: unknown cost). Memoised, so shared parts cost once."""
    memo = {} if memo is None else memo
    stack = [name]
    while stack:  # iterative post-order: a deep parts chain cannot hit the recursion limit
        top = stack[-1]
        if top in memo:
            stack.pop()
            continue
        pending = [p for p in catalogue[top].parts if p not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[top] = _combine(catalogue[top], memo)
    return memo[name]


Figures = dict[str, float | None]


def _combine(entry: NodeType, memo: Mapping[str, Figures]) -> Figures:
    out: dict[str, float | None] = {}
    for key in RESOLVED_KEYS:
        if key in entry.figures:
            out[key] = entry.figures[key].value
        elif entry.parts and any(key in memo[p] for p in entry.parts):
            if key == "cost" and any(memo[p].get("cost") is None for p in entry.parts):
                out[key] = None  # a part without a price: the node's price is unknown
                continue
            out[key] = sum(n * (memo[p].get(key) or 0.0) for p, n in entry.parts.items())
    return out


def parts_total(catalogue: Mapping[str, NodeType], name: str, key: str,
                memo: dict[str, dict[str, float | None]] | None = None) -> float | None:
    """The sum of a node's parts' resolved figure for ``key`` (``None``: no part gives it)."""
    entry = catalogue[name]
    memo = {} if memo is None else memo
    subs = [totals(catalogue, p, memo) for p in entry.parts]
    if not any(key in s for s in subs):
        return None
    return sum(n * (s.get(key) or 0.0) for s, n in zip(subs, entry.parts.values(), strict=True))


def check_node(catalogue: Mapping[str, NodeType], name: str,
               memo: dict[str, dict[str, float | None]] | None = None) -> tuple[str, str] | None:
    """(key, problem) when a node-level figure breaks the whole-node rule, else None."""
    entry = catalogue[name]
    if not entry.parts:
        return None
    for key, fig in entry.figures.items():
        if key not in ("power", *COMPUTE_FIGURES):
            continue
        below = parts_total(catalogue, name, key, memo)
        if below is None:
            continue
        if key == "power" and fig.value < below * (1 - 1e-9):
            return key, (f"{fig.text} is less than its parts draw ({below:g} W): a node-level "
                         "figure is the whole node's, parts included (models/catalogue.py)")
        if key != "power" and fig.value > below * (1 + 1e-9):
            return key, (f"{fig.text} is more than its parts can deliver ({below / 1e3:g} PF = "
                         f"{below:g} TF): a node-level rate is the whole node's and replaces "
                         "its parts' rate, never adds to it (models/catalogue.py)")
    return None


def resolve(catalogue: Mapping[str, NodeType], name: str, defs: Definitions,
            memo: dict[str, dict[str, float | None]] | None = None) -> NodeFigures:
    """Figures of one node under the whole-node rule (parts were checked acyclic)."""
    f = totals(catalogue, name, memo)
    rates = {k: float(v) for k, v in f.items() if k in COMPUTE_FIGURES and v is not None}
    fp64 = max(rates.get("fp64", 0.0), rates.get("fp64_tensor", 0.0))
    low = {k: rates[k] for k in low_precision_keys(defs) if rates.get(k, 0.0) > 0}
    if low:
        basis = max(low, key=lambda k: low[k])
        mixed = low[basis]
    else:
        wide = {k: rates[k] for k in ("fp32", "fp64", "fp64_tensor") if rates.get(k, 0.0) > 0}
        basis = max(wide, key=lambda k: wide[k]) if wide else ""
        mixed = wide[basis] if wide else 0.0
    basis = basis.replace("fp64_tensor", "fp64")
    cost = f.get("cost") if "cost" in f else None
    return NodeFigures(name, fp64, rates.get("fp32", 0.0), mixed, basis,
                       float(f.get("power") or 0.0), cost, _currency(catalogue, name), rates)


def _currency(catalogue: Mapping[str, NodeType], name: str) -> str:
    seen: set[str] = set()
    stack = [name]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        cost = catalogue[n].figures.get("cost")
        if cost is not None:
            return cost.unit
        stack.extend(catalogue[n].parts)
    return ""


def load_builtin() -> dict[str, NodeType]:
    """The catalogue shipped in ``models/data/catalogue.toml`` (public figures with sources)."""
    from models.loader import parse_catalogue

    with open(BUILTIN_CATALOGUE, "rb") as fh:
        data = tomllib.load(fh)
    return parse_catalogue(data.get("catalogue", {}), str(BUILTIN_CATALOGUE), "catalogue")
