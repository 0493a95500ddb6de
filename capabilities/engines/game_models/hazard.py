"""Rug hazard: a discrete-time survival model of the tick at which a round rugs.

Every tick a live round is one Bernoulli trial ("does it rug now?"), so the hazard at
tick t is events / rounds at risk. Ticks are pooled into bins holding at least
`min_events` rugs each, narrow early (many rounds alive) and wide late (few), which is
the smoothing where data is thin. Two tests ask whether the hazard is constant (the
documented game: a memoryless, geometric rug time): a likelihood-ratio test of one rate
against one rate per bin, and a trend test (Cochran-Armitage) of the rate against the
tick. When neither rejects, predictions use the pooled constant rate, whose interval is
much tighter. When the trend test rejects, the hazard is fitted as a monotone step
function of the tick (isotonic regression, pooling adjacent ticks that violate the
trend), which keeps whole flat stretches pooled instead of splitting them into noisy
bins. Otherwise (no trend, yet not constant) the binned hazard is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Z95 = 1.959963984540054


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X ~ chi-square with integer `df` >= 1: the closed forms of the upper
    regularized gamma function at half-integers (the model fit is on the web path;
    scipy.stats would add 60 MB to every worker for these two tail probabilities)."""
    if x <= 0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:  # Q(k, h) = e^-h sum_{i<k} h^i / i!
        terms = (i * math.log(half) - math.lgamma(i + 1) for i in range(df // 2))
        tail = 0.0
    else:  # Q(k + 1/2, h) = erfc(sqrt h) + e^-h sum_{i=1..k} h^(i-1/2) / Gamma(i + 1/2)
        terms = ((i - 0.5) * math.log(half) - math.lgamma(i + 0.5) for i in range(1, df // 2 + 1))
        tail = math.erfc(math.sqrt(half))
    return min(1.0, tail + sum(math.exp(t - half) for t in terms))


def wilson(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (well-behaved near 0)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes <= 0 else max(0.0, float(centre - half))
    high = 1.0 if successes >= trials else min(1.0, float(centre + half))
    return low, high


@dataclass(frozen=True)
class HazardBin:
    start: int  # first tick of the bin (inclusive)
    end: int  # last tick of the bin (inclusive)
    events: int
    exposure: int  # round-ticks at risk
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class ConstancyTest:
    """Is the hazard the same at every tick? Small p-values say no."""

    lr_statistic: float
    lr_df: int
    lr_p_value: float
    trend_z: float  # > 0: the hazard rises with the tick
    trend_p_value: float
    alpha: float

    @property
    def constant(self) -> bool:
        # two tests, each at alpha/2 (Bonferroni)
        return self.lr_p_value >= self.alpha / 2 and self.trend_p_value >= self.alpha / 2


@dataclass(frozen=True)
class GoodnessOfFit:
    """How far the observed rugs are from a given hazard law (the mode's documented one):
    Pearson's chi-square of the rugs observed in each tick band against those the law
    expects there (sum over its ticks of rounds at risk x the law's hazard), with the
    binomial variance, df = bands. Small p-values say the law does not describe the data."""

    statistic: float
    df: int
    p_value: float
    observed: tuple[int, ...]
    expected: tuple[float, ...]


@dataclass(frozen=True)
class HazardModel:
    rounds: int
    events: int
    exposure: int
    rate: float  # pooled per-tick hazard
    rate_low: float
    rate_high: float
    bins: tuple[HazardBin, ...]
    test: ConstancyTest

    kind: str = "constant"  # constant | monotone | piecewise
    left_truncated: int = 0  # rounds first observed after tick 0 (entered the risk set late)
    # per tick t (index t): rounds at risk and rugs, what the goodness of fit is measured on
    at_risk: np.ndarray = field(default_factory=lambda: np.zeros(1), compare=False, repr=False)
    events_by_tick: np.ndarray = field(
        default_factory=lambda: np.zeros(1), compare=False, repr=False
    )
    min_events: int = 40

    def hazard(self, tick: int) -> tuple[float, float, float]:
        """(estimate, low, high) of P(rug at `tick` | alive before it)."""
        if self.kind == "constant":
            return self.rate, self.rate_low, self.rate_high
        b = self._bin(tick)
        return b.rate, b.low, b.high

    def rug_within(self, tick: int, horizon: int) -> tuple[float, float, float]:
        """P(the round rugs in ticks tick+1 .. tick+horizon | alive at `tick`), with a
        conservative interval (every tick's hazard at its bound at once)."""
        if horizon <= 0:
            return 0.0, 0.0, 0.0
        if self.kind == "constant":
            est, lo, hi = (
                1 - (1 - x) ** horizon for x in (self.rate, self.rate_low, self.rate_high)
            )
            return est, lo, hi
        h = np.array([self.hazard(t) for t in range(tick + 1, tick + horizon + 1)])
        est, lo, hi = (float(x) for x in 1 - np.prod(1 - h, axis=0))
        return est, lo, hi

    def hazard_curve(self, ticks: np.ndarray) -> np.ndarray:
        """[3, n]: estimate, low and high of the hazard at each tick (vectorized)."""
        ticks = np.asarray(ticks)
        if self.kind == "constant":
            rates = np.array([self.rate, self.rate_low, self.rate_high])
            return np.repeat(rates[:, None], len(ticks), axis=1)
        starts = np.array([b.start for b in self.bins])
        index = np.clip(np.searchsorted(starts, ticks, side="right") - 1, 0, len(self.bins) - 1)
        table = np.array([[b.rate, b.low, b.high] for b in self.bins]).T
        return table[:, index]

    def _bin(self, tick: int) -> HazardBin:
        starts = [b.start for b in self.bins]
        index = int(np.searchsorted(starts, tick, side="right")) - 1
        return self.bins[min(max(index, 0), len(self.bins) - 1)]

    def goodness_of_fit(self, law: Callable[[np.ndarray], np.ndarray]) -> GoodnessOfFit:
        """The observed rugs against `law` (hazard by tick, e.g. `GameRules.hazard`), in
        tick bands holding at least `min_events` rugs under the law (bands drawn from the
        law's expectations, not from where the rugs fell, which would bias the test)."""
        n = self.at_risk.astype(np.float64)
        ticks = np.arange(len(n))
        h0 = np.clip(np.asarray(law(np.maximum(ticks, 1)), dtype=np.float64), 1e-12, 1 - 1e-12)
        mean, var = n * h0, n * h0 * (1 - h0)
        mean[0] = var[0] = 0.0
        starts, acc = [1], 0.0
        for t in range(1, len(n)):
            acc += mean[t]
            if acc >= self.min_events and t + 1 < len(n):
                starts.append(t + 1)
                acc = 0.0
        if len(starts) > 1 and acc < self.min_events:
            starts.pop()  # a thin tail joins the band before it
        edges = np.array(starts)
        observed = np.add.reduceat(self.events_by_tick, edges)
        expected = np.add.reduceat(mean, edges)
        variance = np.add.reduceat(var, edges)
        used = variance > 0
        statistic = float(np.sum((observed[used] - expected[used]) ** 2 / variance[used]))
        df = max(int(used.sum()), 1)
        return GoodnessOfFit(
            statistic=statistic,
            df=df,
            p_value=chi2_sf(statistic, df),
            observed=tuple(int(x) for x in observed),
            expected=tuple(float(x) for x in expected),
        )

    def summary(self) -> dict[str, object]:
        """Compact figures for evidence and agent tools."""
        t = self.test
        return {
            "model": self.kind,
            "rounds": self.rounds,
            "left_truncated_rounds": self.left_truncated,
            "rate_per_tick": round(self.rate, 6),
            "rate_ci95": [round(self.rate_low, 6), round(self.rate_high, 6)],
            "mean_ticks_to_rug": round(1 / self.rate, 1) if self.rate > 0 else None,
            "constant_hazard_lr_p": round(t.lr_p_value, 4),
            "hazard_trend_z": round(t.trend_z, 3),
            "hazard_trend_p": round(t.trend_p_value, 4),
            "bins": len(self.bins),
        }


def _at_risk_and_events(
    rug_ticks: np.ndarray, censored: np.ndarray, entry: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per tick t (index t, t >= 1): rounds at risk and rugs observed. A round is at risk
    at t when entry < t <= its last tick: one first seen alive at tick e (a recording
    that began mid-round) could not have been seen rugging at or before e."""
    last = int(rug_ticks.max())
    events = np.bincount(rug_ticks[~censored], minlength=last + 1)
    ends = np.bincount(rug_ticks, minlength=last + 1)  # rounds whose last tick is t
    entered = np.bincount(entry, minlength=last + 1)  # rounds first seen at tick t
    # at risk at t: rounds whose last tick is >= t, less those first seen at or after t
    at_risk = ends[::-1].cumsum()[::-1] - entered[::-1].cumsum()[::-1]
    at_risk[0] = 0
    events[0] = 0
    return at_risk, events


def _bins(at_risk: np.ndarray, events: np.ndarray, min_events: int) -> list[HazardBin]:
    edges: list[tuple[int, int]] = []
    start, acc = 1, 0
    for t in range(1, len(events)):
        acc += int(events[t])
        if acc >= min_events:
            edges.append((start, t))
            start, acc = t + 1, 0
    if start < len(events):
        if edges and acc < min_events:
            edges[-1] = (edges[-1][0], len(events) - 1)  # a thin tail joins the last bin
        else:
            edges.append((start, len(events) - 1))
    return [_block(a, b, at_risk, events) for a, b in edges]


def _block(a: int, b: int, at_risk: np.ndarray, events: np.ndarray) -> HazardBin:
    d = int(events[a : b + 1].sum())
    e = int(at_risk[a : b + 1].sum())
    lo, hi = wilson(d, e)
    return HazardBin(a, b, d, e, d / e if e else 0.0, lo, hi)


def _monotone(at_risk: np.ndarray, events: np.ndarray, rising: bool) -> list[HazardBin]:
    """Pool-adjacent-violators: the exposure-weighted monotone fit of per-tick rates."""
    sign = 1.0 if rising else -1.0
    blocks: list[list[float]] = []  # [start, end, events, exposure]
    for t in range(1, len(events)):
        if at_risk[t] == 0:
            continue
        blocks.append([t, t, float(events[t]), float(at_risk[t])])
        while (
            len(blocks) > 1
            and sign * (blocks[-2][2] / blocks[-2][3] - blocks[-1][2] / blocks[-1][3]) > 0
        ):
            last = blocks.pop()
            blocks[-1][1] = last[1]
            blocks[-1][2] += last[2]
            blocks[-1][3] += last[3]
    return [_block(int(b[0]), int(b[1]), at_risk, events) for b in blocks]


def _constancy(bins: list[HazardBin], pooled: float, alpha: float) -> ConstancyTest:
    d = np.array([b.events for b in bins], dtype=float)
    e = np.array([b.exposure for b in bins], dtype=float)
    if len(bins) < 2 or pooled <= 0 or pooled >= 1:
        return ConstancyTest(0.0, 0, 1.0, 0.0, 1.0, alpha)
    h = np.clip(d / e, 1e-12, 1 - 1e-12)
    lr = 2 * float(np.sum(d * np.log(h / pooled) + (e - d) * np.log((1 - h) / (1 - pooled))))
    df = len(bins) - 1
    mid = np.array([(b.start + b.end) / 2 for b in bins])
    x = mid - np.average(mid, weights=e)
    score = float(np.sum(x * (d - e * pooled)))
    var = pooled * (1 - pooled) * float(np.sum(e * x * x))
    z = score / np.sqrt(var) if var > 0 else 0.0
    return ConstancyTest(
        lr_statistic=max(lr, 0.0),
        lr_df=df,
        lr_p_value=chi2_sf(max(lr, 0.0), df),
        trend_z=z,
        trend_p_value=2 * normal_sf(abs(z)),
        alpha=alpha,
    )


def fit_hazard(
    rug_ticks: np.ndarray,
    censored: np.ndarray | None = None,
    *,
    entry: np.ndarray | None = None,
    min_events: int = 40,
    alpha: float = 0.01,
) -> HazardModel:
    """Fit from each round's rug tick (its last tickCount); `censored` marks rounds that
    ended without a rug (cut at the tick cap, or still live) at that tick. `entry` is
    each round's first observed tick (0: seen from its start): a left-truncated round
    enters the risk set after it; one first seen at or after its last tick tells nothing
    and is left out."""
    ticks = np.asarray(rug_ticks, dtype=np.int64)
    if (ticks < 1).any():
        raise ValueError("rug ticks start at 1")
    cens = np.zeros(ticks.size, bool) if censored is None else np.asarray(censored, bool)
    first = np.zeros(ticks.size, np.int64) if entry is None else np.asarray(entry, np.int64)
    if (first < 0).any():
        raise ValueError("first observed ticks start at 0")
    informative = first < ticks
    ticks, cens, first = ticks[informative], cens[informative], first[informative]
    if ticks.size == 0:
        raise ValueError("no rounds to fit the rug hazard on")
    at_risk, events = _at_risk_and_events(ticks, cens, first)
    total_d, total_e = int(events.sum()), int(at_risk.sum())
    pooled = total_d / total_e
    lo, hi = wilson(total_d, total_e)
    bins = _bins(at_risk, events, max(1, min_events))
    test = _constancy(bins, pooled, alpha)
    kind = "constant"
    if not test.constant:
        kind = "piecewise"
        if test.trend_p_value < alpha / 2:
            kind = "monotone"
            bins = _monotone(at_risk, events, rising=test.trend_z > 0)
    return HazardModel(
        rounds=int(ticks.size),
        events=total_d,
        exposure=total_e,
        rate=pooled,
        rate_low=lo,
        rate_high=hi,
        bins=tuple(bins),
        test=test,
        kind=kind,
        left_truncated=int((first > 0).sum()),
        at_risk=at_risk,
        events_by_tick=events,
        min_events=max(1, min_events),
    )
