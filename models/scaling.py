"""A weak-scaling model fitted to measured node counts, and how far it may be trusted.

The law. A weak-scaled HPL-style solve (fixed matrix share per node) runs at

    rate(N) = r1 * N * E(N),   E(N) = 1 / (1 + a * log2 N)

r1 is the one-node rate (GFLOP/s) and a the communication share added per doubling
of the node count. Why log2 N: in HPL's own performance model (Petitet et al.,
"HPL scalability analysis"), with P = Q = sqrt(N) and the per-node share fixed, the
flops per node grow like sqrt(N) and so does the latency of the pivot reductions and
panel broadcasts, times the depth of their trees, log2 P; the bandwidth term of a
pipelined broadcast is a constant share. So the share that grows is ~log2 N. An
Amdahl-style E = 1 / (1 + s (N - 1)) is the strong-scaling law; for weak scaling it
sends efficiency to zero like 1/N, which large HPL runs do not show. One law is used,
not the best-fitting of several: on 1-8 nodes log2 N and N - 1 differ by less than
the noise, and letting noise choose the extrapolation is worse than stating one.
When three or more counts are measured the linear law is fitted too and a note says
when it fits much better (the points bend faster than log2 N: the extrapolation is
then optimistic).

The fit. ln(rate / N) = ln r1 - ln(1 + a log2 N) is fitted by least squares over
every run (repetitions count), a >= 0 (a network cannot speed a solve up). Standard
errors come from the Jacobian and the residual spread, never below MIN_LOG_SD (a
perfect fit of a few points is luck, not precision); with few residual degrees of
freedom the parameters are drawn from a Student t.

One node count. a cannot be fitted; a prior is used and said so. With the measured
latency, a bandwidth and the matrix share per node, HPL's model gives a range:
a_lat = 3/4 alpha gamma / n_l^2 (latency only: look-ahead hides the broadcasts) to
a_lat + 3/2 beta gamma / n_l (broadcast volume not hidden, sent down a binomial
tree), with alpha the latency (s), beta the seconds per 8-byte word of the slower
measured bandwidth, gamma the per-node rate (flop/s) and n_l the local matrix edge;
that range is the prior's P10-P90. Without those figures the prior is DEFAULT_PRIOR,
an assumption wide enough for well- and poorly-networked clusters.

Uncertainty and its limits. Bands are P10/P50/P90 from the parameters' distribution
(common random numbers, fixed seed, so they are deterministic and ordered across N).
Outside the measured range the law itself may be wrong (contention, a different
broadcast algorithm at scale), so ln E gets an extra model error with standard
deviation MODEL_SD_PER_EFOLD per e-fold of distance from the measured range (0.23 at
100x); efficiency is capped at 1. Bands describe the mean rate, not one run's.
Not modelled: the sqrt(N) latency term of HPL's row swaps (small below ~10^4 nodes),
topology and tapering, strong scaling, and a change of node type. A measured
efficiency above SUSPECT_EFFICIENCY marks the fit suspect (superlinear: usually a
wrong flop count, a smaller problem per node or a cached result).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kernels.errors import UserError

LAW = "E(N) = 1 / (1 + a * log2 N), rate(N) = r1 * N * E(N) (weak scaling)"
#: prior (mean, sd) of a without network figures: E at 1024 nodes P50 0.77, P10 0.59
DEFAULT_PRIOR = (0.03, 0.03)
#: model-error standard deviation of ln E per e-fold beyond the measured range
MODEL_SD_PER_EFOLD = 0.05
#: smallest standard deviation of ln(rate) a fit may claim (1% run-to-run spread)
MIN_LOG_SD = 0.01
SUSPECT_EFFICIENCY = 1.1
A_MAX = 10.0
SEED = 20240618
DRAWS = 20_000
_Z90 = 1.2815515655446004
_WORD_BYTES = 8


class ScalingInputError(UserError, ValueError):
    """Measurements the scaling fit cannot use; one sentence says which."""


@dataclass(frozen=True)
class Network:
    """Measured network figures (any may be missing): ping-pong and allreduce."""

    latency_us: float | None = None
    bandwidth_gb_s: float | None = None
    allreduce_gb_s: float | None = None


@dataclass(frozen=True)
class ScalingFit:
    law: str
    a: float
    a_se: float
    r1: float  # one-node rate, GFLOP/s
    r1_se: float
    cov: tuple[tuple[float, float], tuple[float, float]]  # of (ln r1, a)
    dof: int  # residual degrees of freedom behind the t draws; 0 = normal
    n_measured: tuple[int, ...]
    runs: int
    efficiency_measured: tuple[tuple[int, float], ...]  # (nodes, median per-node / r1)
    fitted: bool  # False when a is the prior
    prior: str | None
    suspect: tuple[str, ...]
    notes: tuple[str, ...]

    def extrapolation_factor(self, nodes: float) -> float:
        """How many times the largest measured count ``nodes`` is (below 1: inside)."""
        return _nodes(nodes) / max(self.n_measured)

    def predict(self, nodes: float) -> tuple[float, float, float]:
        """Aggregate rate (GFLOP/s) at ``nodes``: P10, P50, P90."""
        rate, _ = self._samples(_nodes(nodes))
        return _quantiles(rate)

    def predict_efficiency(self, nodes: float) -> tuple[float, float, float]:
        """Parallel efficiency (per-node rate over r1) at ``nodes``: P10, P50, P90."""
        _, eff = self._samples(_nodes(nodes))
        return _quantiles(eff)

    def statement(self, nodes: float) -> str:
        """One sentence: what was measured, how far ``nodes`` lies from it, the band."""
        n = _nodes(nodes)
        lo, hi = min(self.n_measured), max(self.n_measured)
        runs = _plural(self.runs, "run")
        measured = (f"fitted on {lo}-{hi} nodes ({runs})" if self.fitted
                    else f"measured on {_plural(hi, 'node')} only ({runs})")
        if n > hi:
            where = f"{_plural(n, 'node')} is {_times(n / hi)} beyond the largest measured count"
        elif n < lo:
            where = f"{_plural(n, 'node')} is {_times(lo / n)} below the smallest measured count"
        else:
            where = f"{_plural(n, 'node')} is within the measured range"
        e10, e50, e90 = self.predict_efficiency(n)
        r10, r50, r90 = self.predict(n)
        text = (f"{measured}; {where}; efficiency P50 {e50:.2f} (P10 {e10:.2f}-P90 {e90:.2f}),"
                f" rate P50 {r50:.4g} GFLOP/s (P10 {r10:.4g}-P90 {r90:.4g})")
        if self.prior:
            text += f"; with one node count a is not fitted: {self.prior}"
        if self.suspect:
            text += "; suspect: " + "; ".join(self.suspect)
        return text

    def _samples(self, n: float) -> tuple[np.ndarray, np.ndarray]:
        """Rate and efficiency draws at n nodes; the same draws for every n."""
        rng = np.random.default_rng(SEED)
        z = rng.standard_normal((3, DRAWS))
        w = np.sqrt(self.dof / rng.chisquare(self.dof, DRAWS)) if self.dof > 0 else 1.0
        (c00, c01), (_, c11) = self.cov
        s0, s1 = math.sqrt(c00), math.sqrt(c11)
        rho = min(max(c01 / (s0 * s1), -1.0), 1.0) if s0 > 0 and s1 > 0 else 0.0
        ln_r1 = math.log(self.r1) + w * s0 * z[0]
        a = np.maximum(self.a + w * s1 * (rho * z[0] + math.sqrt(1 - rho**2) * z[1]), 0.0)
        lo, hi = min(self.n_measured), max(self.n_measured)
        efolds = max(0.0, math.log(n / hi), math.log(lo / n))
        ln_e = np.minimum(-np.log1p(a * math.log2(n)) + MODEL_SD_PER_EFOLD * efolds * z[2], 0.0)
        eff = np.exp(ln_e)
        with np.errstate(over="ignore"):  # a t draw with 1 dof may be huge: inf lies in a tail
            return np.exp(ln_r1) * n * eff, eff


def fit_scaling(points: Iterable[tuple[float, float]], network: Network | None = None,
                matrix_gb_per_node: float | None = None) -> ScalingFit:
    """Fit the law to (nodes, aggregate GFLOP/s) runs; one count falls back to a prior.

    ``network`` and ``matrix_gb_per_node`` (the matrix share of one node, 10^9 bytes)
    only feed the prior of a when a single node count was measured.
    """
    nodes, rates = _points(points)
    _check_network(network, matrix_gb_per_node)
    counts = tuple(sorted({int(n) for n in nodes}))
    y = np.log(rates / nodes)
    g = np.log2(nodes)
    m = len(y)
    notes: list[str] = []
    if len(counts) >= 2:
        a, ln_r1, rss = _profile_fit(y, g)
        dof = m - 2
        sd = max(math.sqrt(rss / dof) if dof > 0 else 0.0, MIN_LOG_SD)
        jac = np.column_stack([np.ones(m), -g / (1 + a * g)])
        cov = sd**2 * np.linalg.inv(jac.T @ jac)
        prior = None
        if len(counts) >= 3:
            notes += _linear_law_note(y, nodes - 1, rss)
    else:
        a, a_sd, prior = _prior(float(np.median(rates / nodes)), network, matrix_gb_per_node)
        g0 = float(g[0])
        ln_r1 = float(np.mean(y + np.log1p(a * g)))
        dof = 0
        sd = max(float(np.std(y, ddof=1)) if m > 1 else 0.0, MIN_LOG_SD)
        k = g0 / (1 + a * g0)
        cov = np.array([[sd**2 / m + k**2 * a_sd**2, k * a_sd**2], [k * a_sd**2, a_sd**2]])
    r1 = math.exp(ln_r1)
    eff = _measured_efficiency(nodes, rates, counts, r1)
    suspect = tuple(f"efficiency {e:.2f} at {n} nodes is above {SUSPECT_EFFICIENCY:g} "
                    "(superlinear: check the flop count and the problem size per node)"
                    for n, e in eff if e > SUSPECT_EFFICIENCY)
    return ScalingFit(
        law=LAW, a=a, a_se=math.sqrt(cov[1, 1]), r1=r1, r1_se=r1 * math.sqrt(cov[0, 0]),
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        dof=dof, n_measured=counts, runs=m, efficiency_measured=eff,
        fitted=prior is None, prior=prior, suspect=suspect, notes=tuple(notes))


def network_prior(r1_gflops: float, network: Network,
                  matrix_gb_per_node: float) -> tuple[float, float] | None:
    """(mean, sd) of a from HPL's model and the measured network; None without the figures.

    The P10 end hides the broadcasts behind the update (latency only), the P90 end
    sends their volume down a binomial tree; the slower measured bandwidth is used.
    """
    bandwidths = [b for b in (network.bandwidth_gb_s, network.allreduce_gb_s) if b is not None]
    if network.latency_us is None or not bandwidths:
        return None
    gamma = r1_gflops * 1e9
    n_l = math.sqrt(matrix_gb_per_node * 1e9 / _WORD_BYTES)
    beta = _WORD_BYTES / (min(bandwidths) * 1e9)
    low = 0.75 * network.latency_us * 1e-6 * gamma / n_l**2
    high = low + 1.5 * beta * gamma / n_l
    return (low + high) / 2, (high - low) / (2 * _Z90)


def _prior(r1_gflops: float, network: Network | None,
           matrix_gb_per_node: float | None) -> tuple[float, float, str]:
    """(a, sd, sentence) for a single measured node count."""
    if network is not None and matrix_gb_per_node is not None:
        found = network_prior(r1_gflops, network, matrix_gb_per_node)
        if found is not None:
            a, sd = found
            return a, sd, (f"a = {a:.3g} ± {sd:.2g} is a prior from the measured latency "
                           "and bandwidth (HPL model)")
    a, sd = DEFAULT_PRIOR
    return a, sd, (f"a = {a:g} ± {sd:g} is a prior, an assumption (no latency, bandwidth "
                   "and matrix size per node to derive it from)")


def _profile_fit(y: np.ndarray, g: np.ndarray) -> tuple[float, float, float]:
    """(a, ln r1, RSS) minimising sum (y - ln r1 + ln(1 + a g))^2 over 0 <= a <= A_MAX.

    For a given a the best ln r1 is a mean, so only a is searched: a grid, then a
    golden-section refinement between the grid neighbours of the best point.
    """
    def rss(a: np.ndarray) -> np.ndarray:
        shifted = y[None, :] + np.log1p(a[:, None] * g[None, :])
        return ((shifted - shifted.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)

    grid = np.concatenate([[0.0], np.geomspace(1e-5, A_MAX, 241)])
    i = int(np.argmin(rss(grid)))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        c, d = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if rss(np.array([c]))[0] <= rss(np.array([d]))[0]:
            hi = d
        else:
            lo = c
    best = np.array([grid[i], (lo + hi) / 2])
    errs = rss(best)
    a = float(best[int(np.argmin(errs))])
    return a, float(np.mean(y + np.log1p(a * g))), float(errs.min())


def _linear_law_note(y: np.ndarray, g_linear: np.ndarray, rss_log: float) -> list[str]:
    """A note when E = 1 / (1 + s (N - 1)) fits the runs much better than the log law."""
    _, _, rss_lin = _profile_fit(y, g_linear)
    if rss_lin >= 0.5 * rss_log:
        return []
    return [f"a linear-in-N law fits the runs better (RSS {rss_lin:.3g} vs {rss_log:.3g}): "
            "efficiency falls faster than log2 N, so the extrapolation is optimistic"]


def _measured_efficiency(nodes: np.ndarray, rates: np.ndarray, counts: tuple[int, ...],
                         r1: float) -> tuple[tuple[int, float], ...]:
    """Median per-node rate at each count over the one-node median (else over fitted r1)."""
    per_node = rates / nodes
    ref = float(np.median(per_node[nodes == 1])) if counts[0] == 1 else r1
    return tuple((n, float(np.median(per_node[nodes == n])) / ref) for n in counts)


def _points(points: Iterable[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [tuple(p) for p in points]
    if not pairs:
        raise ScalingInputError("the scaling fit needs at least one (nodes, rate) measurement")
    for pair in pairs:
        if len(pair) != 2:
            raise ScalingInputError(f"a measurement is a (nodes, rate) pair, not {pair!r}")
        n, rate = pair
        _nodes(n)
        if not (isinstance(rate, numbers.Real) and math.isfinite(rate) and rate > 0):
            raise ScalingInputError(f"the rate at {n} nodes must be a positive finite number "
                                    f"of GFLOP/s, not {rate!r}")
        if not float(n).is_integer():
            raise ScalingInputError(f"a measured node count must be a whole number, not {n!r}")
    arr = np.array(pairs, dtype=float)
    return arr[:, 0], arr[:, 1]


def _nodes(nodes: float) -> float:
    if not (isinstance(nodes, numbers.Real) and math.isfinite(nodes) and nodes >= 1):
        raise ScalingInputError(f"a node count must be a finite number >= 1, not {nodes!r}")
    return float(nodes)


def _check_network(network: Network | None, matrix_gb_per_node: float | None) -> None:
    figures = {"matrix_gb_per_node": matrix_gb_per_node}
    if network is not None:
        figures |= {"latency_us": network.latency_us, "bandwidth_gb_s": network.bandwidth_gb_s,
                    "allreduce_gb_s": network.allreduce_gb_s}
    for key, value in figures.items():
        if value is not None and not (isinstance(value, numbers.Real) and math.isfinite(value)
                                      and value > 0):
            raise ScalingInputError(f"{key} must be a positive finite number, not {value!r}")


def _plural(count: float, word: str) -> str:
    return f"{count:g} {word}" + ("" if count == 1 else "s")


def _times(factor: float) -> str:
    return f"{factor:.3g}x" if factor < 1000 else f"{factor:,.0f}x"


def _quantiles(x: np.ndarray) -> tuple[float, float, float]:
    p10, p50, p90 = np.quantile(x, [0.1, 0.5, 0.9])
    return float(p10), float(p50), float(p90)
