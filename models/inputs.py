"""The uncertain inputs of a scenario as columns of one matrix.

Each input has a key path (as the scenario writes it), a distribution, a unit
and its provenance. The deterministic run is one row of point values; the
Monte Carlo run is one sampled row per sample; the tornado ranking is rows
with one input at its P10 or P90. Sampling draws each column in a fixed order
from one seeded generator, so a seed reproduces the run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.distributions import Bernoulli, Distribution, normal_cdf
from models.schema import Provenance, Scenario


@dataclass(frozen=True)
class Input:
    key: str  # scenario key path, e.g. "phases.ai_1.slip_years"
    label: str
    dist: Distribution
    unit: str  # "years", "ratio", "fraction/year", "probability"
    provenance: Provenance


@dataclass(frozen=True)
class InputSpace:
    inputs: tuple[Input, ...]
    #: columns drawn together (planned deliveries' slips) and the correlation of their scores
    correlated: tuple[int, ...] = ()
    correlation: float = 0.0

    def col(self, key: str) -> int:
        for i, inp in enumerate(self.inputs):
            if inp.key == key:
                return i
        raise KeyError(key)

    def __len__(self) -> int:
        return len(self.inputs)

    def point(self) -> np.ndarray:
        return np.array([[inp.dist.point() for inp in self.inputs]], dtype=float).reshape(1, -1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Independent draws, except the correlated slips: a Gaussian copula with one common
        programme factor, so each slip keeps its own distribution and any two have normal
        scores correlated by ``correlation``."""
        out = np.empty((n, len(self.inputs)))
        for j, inp in enumerate(self.inputs):
            out[:, j] = inp.dist.sample(rng, n)
        if self.correlation > 0 and len(self.correlated) > 1:
            common = rng.standard_normal(n)
            a, b = np.sqrt(self.correlation), np.sqrt(1.0 - self.correlation)
            for j in self.correlated:
                u = normal_cdf(a * common + b * rng.standard_normal(n))
                out[:, j] = self.inputs[j].dist.ppf(u)
        return out

    def uncertain(self) -> list[int]:
        return [j for j, inp in enumerate(self.inputs) if inp.dist.spread > 0]


def build(scenario: Scenario) -> InputSpace:
    """The scenario's inputs, in a fixed order (the order sampling uses)."""
    sc = scenario
    out: list[Input] = [
        Input("uncertainty.availability", "availability", sc.uncertainty.availability,
              "fraction", sc.uncertainty.provenance),
        Input("facility.pue", "PUE", sc.facility.pue, "ratio", sc.facility.provenance),
    ]
    if sc.demand is not None:
        out.append(Input("storage.demand.growth_per_year", "data growth a year",
                         sc.demand.growth_per_year, "fraction/year", sc.demand.provenance))
    for nt in dict.fromkeys(dep.node_type for dep in sc.deployments):
        eff = sc.efficiency_for(nt)
        src = "" if nt in sc.efficiency else " (default)"
        out.append(Input(f"efficiency.{nt}.hpl", f"HPL efficiency of {nt}{src}", eff.hpl,
                         "ratio", eff.provenance_of("hpl")))
        out.append(Input(f"efficiency.{nt}.mxp", f"MxP efficiency of {nt}{src}", eff.mxp,
                         "ratio", eff.provenance_of("mxp")))
    planned = [(d.key, d.name, d.slip_years, d.probability, d.provenance)
               for d in sc.deployments if d.planned]
    planned += [(s.key, s.name, s.slip_years, s.probability, s.provenance)
                for s in sc.storage if s.planned]
    for dep in sc.deployments:
        if dep.count_dist is not None:
            out.append(Input(f"{dep.key}.count", f"size of {dep.name} (nodes)", dep.count_dist,
                             "nodes", dep.provenance))
    slips: list[int] = []
    for key, name, slip, prob, prov in planned:
        slips.append(len(out))
        if slip is None:
            out.append(Input(f"{key}.slip_years", f"delivery slip of {name} (default)",
                             sc.uncertainty.delivery_slip_years, "years",
                             sc.uncertainty.provenance))
        else:
            out.append(Input(f"{key}.slip_years", f"delivery slip of {name}", slip, "years",
                             prov))
        if prob < 1.0:
            out.append(Input(f"{key}.probability", f"{name} goes ahead", Bernoulli(prob),
                             "probability", prov))
    return InputSpace(tuple(out), tuple(slips), sc.uncertainty.slip_correlation)
