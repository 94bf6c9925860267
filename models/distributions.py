"""Distributions of the uncertain inputs, sampled with NumPy and quantiled by hand.

Each distribution has a point value (the deterministic run uses it), vectorised
sampling from a seeded ``numpy.random.Generator`` and an inverse CDF (the
tornado ranking sets one input to its P10 and P90). Zero spread is allowed and
then every sample equals the point value, so a Monte Carlo run with all spreads
at zero reproduces the deterministic run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Fixed:
    value: float

    def point(self) -> float:
        return self.value

    def quantile(self, q: float) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value)

    @property
    def spread(self) -> float:
        return 0.0

    def describe(self) -> str:
        return f"{self.value:g}"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "fixed", "value": self.value}


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def point(self) -> float:
        return (self.low + self.high) / 2

    def quantile(self, q: float) -> float:
        return self.low + q * (self.high - self.low)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.ppf(rng.random(n))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(u) * (self.high - self.low)

    @property
    def spread(self) -> float:
        return self.high - self.low

    def describe(self) -> str:
        return f"uniform {self.low:g}..{self.high:g}"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "uniform", "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Triangular:
    low: float
    mode: float
    high: float

    def point(self) -> float:
        return self.mode

    def _inverse(self, u: np.ndarray) -> np.ndarray:
        a, c, b = self.low, self.mode, self.high
        if b == a:
            return np.full(np.shape(u), a)
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)

    def quantile(self, q: float) -> float:
        return float(self._inverse(np.asarray(q, dtype=float)))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self._inverse(rng.random(n))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self._inverse(np.asarray(u, dtype=float))

    @property
    def spread(self) -> float:
        return self.high - self.low

    def describe(self) -> str:
        return f"triangular {self.low:g}/{self.mode:g}/{self.high:g}"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "triangular", "low": self.low, "mode": self.mode, "high": self.high}


@dataclass(frozen=True)
class Normal:
    """A normal distribution clipped to [low, high] (the clip keeps fractions in range)."""

    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def point(self) -> float:
        return min(max(self.mean, self.low), self.high)

    def quantile(self, q: float) -> float:
        if self.sd == 0:
            return self.point()
        x = NormalDist(self.mean, self.sd).inv_cdf(min(max(q, 1e-12), 1 - 1e-12))
        return min(max(x, self.low), self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.clip(self.mean + self.sd * rng.standard_normal(n), self.low, self.high)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        z = normal_ppf(np.asarray(u, dtype=float))
        return np.clip(self.mean + self.sd * z, self.low, self.high)

    @property
    def spread(self) -> float:
        return self.sd

    def describe(self) -> str:
        clip = ""
        if math.isfinite(self.low) or math.isfinite(self.high):
            clip = f" clipped to {self.low:g}..{self.high:g}"
        return f"normal {self.mean:g}±{self.sd:g}{clip}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"dist": "normal", "mean": self.mean, "sd": self.sd}
        if math.isfinite(self.low):
            d["low"] = self.low
        if math.isfinite(self.high):
            d["high"] = self.high
        return d


@dataclass(frozen=True)
class Bernoulli:
    """Whether an uncertain event happens (a procurement phase goes ahead): 1 or 0."""

    p: float

    def point(self) -> float:
        return 1.0 if self.p >= 0.5 else 0.0

    def quantile(self, q: float) -> float:
        return 0.0 if q < 1 - self.p else 1.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.ppf(rng.random(n))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return (np.asarray(u) < self.p).astype(float)

    @property
    def spread(self) -> float:
        return 0.0 if self.p in (0.0, 1.0) else 1.0

    def describe(self) -> str:
        return f"goes ahead with probability {self.p:g}"

    def to_dict(self) -> dict[str, Any]:
        return {"dist": "bernoulli", "p": self.p}


Distribution = Fixed | Uniform | Triangular | Normal | Bernoulli

_STD = NormalDist()
_cdf = np.vectorize(_STD.cdf, otypes=[float])
_inv = np.vectorize(lambda p: _STD.inv_cdf(min(max(p, 1e-12), 1 - 1e-12)), otypes=[float])


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (the Gaussian copula of correlated slips)."""
    return _cdf(z)


def normal_ppf(u: np.ndarray) -> np.ndarray:
    return _inv(u)

#: the parameters each kind takes in a scenario table ``{ dist = "...", ... }``
KINDS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd", "low", "high"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
}


def bounds(dist: Distribution) -> tuple[float, float]:
    """The smallest and largest value a distribution can take."""
    if isinstance(dist, Fixed):
        return dist.value, dist.value
    if isinstance(dist, Uniform | Triangular):
        return dist.low, dist.high
    if isinstance(dist, Normal):
        if dist.sd == 0:
            return dist.point(), dist.point()
        return dist.low, dist.high
    return 0.0, 1.0
