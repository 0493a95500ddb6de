"""Game-model parameters of several modes fitted together (empirical Bayes).

A mode with few rounds estimates its rug hazard and price drift badly on its own, yet
modes are variants of one game: most change a rule or two and keep the rest, so a new
mode's hazard is often exactly another mode's. The prior over a target mode's parameter
is therefore a mixture fitted to the other ("source") modes:

- one *twin* component per source mode: "the target's parameter is this mode's, give or
  take a relative spread c" (drift: an absolute spread tau), widened by the source's own
  estimation error;
- one *all modes* component: the classic exchangeable hierarchical model, a Gamma over
  the sources' hazards (Gamma-Poisson) or a normal over their drifts (normal-normal),
  fitted by maximum marginal likelihood; it serves a mode unlike any source.

The twin spread and the prior share of the all-modes component are fitted by
leave-one-mode-out marginal likelihood over the sources: when modes do share values
the spread comes out small and a thin mode borrows hard from its twins; when every mode
differs the twins lose weight and borrowing shrinks to what the all-modes spread allows.

Given the target's own data, each component's posterior weight is its prior share times
the marginal likelihood of those data under it, so the target borrows from the modes
its data resemble; within a component, the posterior is conjugate (Gamma for the
hazard, normal for the drift), and the weight on the prior shrinks as exposure grows
(b / (b + exposure), se^2 / (se^2 + v)): the mode stops borrowing as its rounds
accumulate. The hazard here is one constant rate per mode (the documented game; the
per-mode fit finds a tick-dependent hazard once a mode has enough rounds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from capabilities.engines.game_models.hazard import Z95, wilson
from capabilities.engines.game_models.price import GOD_THRESHOLD

ALL_MODES = "all_modes"
"""The name of the exchangeable component in `resembles`."""
UNLIKE_ANY = "unlike_any"
"""The vague component: the mode resembles no source (its own data decide)."""
_TWIN_SPREADS_HAZARD = np.geomspace(0.01, 2.0, 30)  # relative (coefficient of variation)
_TWIN_SPREADS_DRIFT = np.geomspace(1e-5, 5e-2, 30)  # absolute, return per tick
_NEW_SHARES = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])  # >= 0.1: a hedge
_VAGUE_SHARES = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
_DEFAULT_TWIN_HAZARD, _DEFAULT_TWIN_DRIFT, _DEFAULT_NEW, _DEFAULT_VAGUE = 0.1, 1e-3, 0.5, 0.5
_VAGUE_SHAPE = 0.5  # the vague hazard component is worth half a rug
_DIFFUSE_DRIFT_SD = 0.01  # the vague drift component's spread (drifts are ~0.005/tick)


@dataclass(frozen=True)
class ModeStats:
    """Sufficient statistics of one mode's rounds: the rug hazard's events and exposure
    (every stored round ends in a rug at its `rug_tick`, at risk at ticks entry+1..rug_tick,
    entry 0 unless the recording began mid-round),
    and the per-tick price returns' count, sum and sum of squares."""

    mode: str
    rounds: int = 0
    events: int = 0
    exposure: int = 0
    moves: int = 0
    move_sum: float = 0.0
    move_sumsq: float = 0.0
    gods: int = 0  # god candles among the moves (`price.GOD_THRESHOLD`), and their
    god_sum: float = 0.0  # returns' sum and sum of squares
    god_sumsq: float = 0.0

    @property
    def hazard(self) -> float | None:
        return self.events / self.exposure if self.exposure > 0 else None

    @property
    def drift(self) -> float | None:
        return self.move_sum / self.moves if self.moves > 0 else None

    @property
    def move_var(self) -> float | None:
        """Sample variance of one tick's return."""
        if self.moves < 2:
            return None
        mean = self.move_sum / self.moves
        return max(self.move_sumsq - self.moves * mean * mean, 0.0) / (self.moves - 1)

    @property
    def drift_se(self) -> float | None:
        var = self.move_var
        return None if var is None else math.sqrt(var / self.moves)

    @property
    def base_drift(self) -> float | None:
        """The drift without god candles (a god candle's move counted as 0)."""
        return (self.move_sum - self.god_sum) / self.moves if self.moves > 0 else None

    @property
    def base_var(self) -> float | None:
        if self.moves < 2:
            return None
        mean = (self.move_sum - self.god_sum) / self.moves
        sumsq = self.move_sumsq - self.god_sumsq
        return max(sumsq - self.moves * mean * mean, 0.0) / (self.moves - 1)

    @property
    def base_se(self) -> float | None:
        var = self.base_var
        return None if var is None else math.sqrt(var / self.moves)


@dataclass(frozen=True)
class RoundStats:
    """Per round of one mode, oldest first: rug tick, first observed tick (> 0: the
    recording began mid-round, so the round was at risk only after it), price-return
    count, sum and sum of squares (god candles apart too); `upto(n)` gives the mode's
    statistics after its first n rounds."""

    mode: str
    rug_tick: np.ndarray
    entry: np.ndarray
    moves: np.ndarray
    move_sum: np.ndarray
    move_sumsq: np.ndarray
    gods: np.ndarray
    god_sum: np.ndarray
    god_sumsq: np.ndarray

    def __len__(self) -> int:
        return len(self.rug_tick)

    def upto(self, n: int | None = None) -> ModeStats:
        k = len(self) if n is None else min(n, len(self))
        at_risk = self.rug_tick[:k] - self.entry[:k]
        return ModeStats(
            mode=self.mode,
            rounds=k,
            events=int((at_risk > 0).sum()),
            exposure=int(np.maximum(at_risk, 0).sum()),
            moves=int(self.moves[:k].sum()),
            move_sum=float(self.move_sum[:k].sum()),
            move_sumsq=float(self.move_sumsq[:k].sum()),
            gods=int(self.gods[:k].sum()),
            god_sum=float(self.god_sum[:k].sum()),
            god_sumsq=float(self.god_sumsq[:k].sum()),
        )

    @classmethod
    def from_paths(cls, mode: str, rug_tick: np.ndarray, prices: np.ndarray) -> RoundStats:
        """From rug ticks and price paths [rounds, ticks] (NaN after each round) of rounds
        seen from their start: the layout of simulated `Rounds`."""
        prices = np.atleast_2d(np.asarray(prices, dtype=np.float64))
        before, after = prices[:, :-1], prices[:, 1:]
        valid = np.isfinite(before) & np.isfinite(after) & (before > 0)
        ret = np.where(valid, after / np.where(valid, before, 1.0) - 1.0, 0.0)
        god = np.where(ret >= GOD_THRESHOLD, ret, 0.0)
        return cls(
            mode=mode,
            rug_tick=np.asarray(rug_tick, dtype=np.int64),
            entry=np.zeros(len(rug_tick), dtype=np.int64),
            moves=valid.sum(axis=1),
            move_sum=ret.sum(axis=1),
            move_sumsq=(ret * ret).sum(axis=1),
            gods=(ret >= GOD_THRESHOLD).sum(axis=1),
            god_sum=god.sum(axis=1),
            god_sumsq=(god * god).sum(axis=1),
        )


@dataclass(frozen=True)
class Posterior:
    """One parameter of the target mode: alone and pooled, and how much was borrowed."""

    parameter: str  # "hazard" (per tick) | "drift" (mean return per tick)
    own: float | None  # the target's own estimate (None without data)
    own_low: float | None
    own_high: float | None
    estimate: float  # the pooled estimate (posterior mean)
    low: float  # 95 % posterior interval
    high: float
    weight_on_others: float  # share of the pooled estimate that comes from other modes
    resembles: dict[str, float]  # posterior weight of each component, largest first
    rounds_to_dominate: float | None  # rounds after which own data outweigh the rest

    def summary(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else float(f"{x:.6g}")

        return {
            "own": r(self.own),
            "own_ci95": None if self.own is None else [r(self.own_low), r(self.own_high)],
            "pooled": r(self.estimate),
            "pooled_ci95": [r(self.low), r(self.high)],
            "weight_on_others": round(self.weight_on_others, 4),
            "rounds_to_dominate": None
            if self.rounds_to_dominate is None
            else round(self.rounds_to_dominate, 1),
            "resembles": {k: round(v, 4) for k, v in self.resembles.items()},
        }


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Gamma(x) for x > 0, vectorized (scipy.special would load scipy into every web
    worker): Stirling's series at x + 7, shifted back by the recurrence."""
    x = np.asarray(x, dtype=np.float64)
    y = x + 7.0
    shift = np.log(x * (x + 1) * (x + 2) * (x + 3) * (x + 4) * (x + 5) * (x + 6))
    inv, inv2 = 1.0 / y, 1.0 / (y * y)
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    return (y - 0.5) * np.log(y) - y + 0.5 * math.log(2 * math.pi) + series - shift


def _mixture_interval(
    weights: np.ndarray, means: np.ndarray, sds: np.ndarray, logpdf: object, positive: bool
) -> tuple[float, float]:
    """2.5 % and 97.5 % quantiles of a mixture, from its density on the union of each
    component's own grid (a narrow component is resolved however wide the others are)."""
    keep = weights > 1e-9
    pairs = zip(means[keep], sds[keep], strict=True)
    grids = [np.linspace(m - 8 * s, m + 8 * s, 401) for m, s in pairs]
    x = np.unique(np.concatenate(grids))
    if positive:
        x = x[x > 0]
    dens = np.zeros_like(x)
    for w, k in zip(weights[keep], np.flatnonzero(keep), strict=True):
        dens += w * np.exp(logpdf(k, x))  # type: ignore[operator]
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(x))])
    if cdf[-1] <= 0:
        centre = float(np.dot(weights, means))
        return centre, centre
    cdf /= cdf[-1]
    return float(np.interp(0.025, cdf, x)), float(np.interp(0.975, cdf, x))


def _normalize_log(logw: np.ndarray) -> np.ndarray:
    w = np.exp(logw - logw.max())
    return w / w.sum()


def _rounds_for_half(weight_at: object, start: float) -> float | None:
    """The number of rounds n at which `weight_at(n)` (falling in n) reaches 0.5."""
    lo, hi = 0.0, max(start, 1.0)
    for _ in range(60):  # grow until own data outweigh the prior
        if weight_at(hi) <= 0.5:  # type: ignore[operator]
            break
        lo, hi = hi, hi * 2
    else:
        return None
    for _ in range(60):
        mid = (lo + hi) / 2
        if weight_at(mid) > 0.5:  # type: ignore[operator]
            lo = mid
        else:
            hi = mid
    return hi


# -- the hazard: Gamma-Poisson --------------------------------------------------------


def _nb_loglik(
    events: np.ndarray, exposure: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """log p(events | exposure) under rate ~ Gamma(a, b), up to terms free of (a, b)."""
    return (
        _lgamma(a + events) - _lgamma(a) + a * np.log(b / (b + exposure))
        - events * np.log(b + exposure)
    )  # fmt: skip


def _fit_gamma(events: np.ndarray, exposure: np.ndarray) -> tuple[float, float]:
    """(shape, rate) of the Gamma over modes' hazards maximizing the marginal likelihood
    (negative binomial) of the sources, on a grid of mean and coefficient of variation."""
    rates = events / exposure
    if len(rates) < 2:  # one source: a diffuse Gamma (worth one rug) at its rate
        return 1.0, 1.0 / float(rates[0])
    means = np.geomspace(rates.min() / 1.5, rates.max() * 1.5, 60)
    cvs = np.geomspace(0.03, 3.0, 60)
    m, cv = np.meshgrid(means, cvs, indexing="ij")
    a = 1.0 / cv**2
    b = a / m
    ll = sum(
        _nb_loglik(np.full_like(a, d), np.full_like(a, e), a, b)
        for d, e in zip(events, exposure, strict=True)
    )
    i = np.unravel_index(int(np.argmax(ll)), ll.shape)
    return float(a[i]), float(b[i])


def _fit_shares(
    spreads: np.ndarray, folds: list[tuple[np.ndarray, float, float]]
) -> tuple[float, float, float]:
    """(twin spread, new-mode share, vague share of it) maximizing the leave-one-mode-out
    marginal likelihood; each fold is one source's log-likelihood under the others'
    twins (one row per spread), under their all-modes component and under the vague one."""
    total = np.zeros((len(spreads), len(_NEW_SHARES), len(_VAGUE_SHARES)))
    for ll_tw, ll_all, ll_vague in folds:
        k = ll_tw.shape[1]
        for a, new in enumerate(_NEW_SHARES):
            for b, vague in enumerate(_VAGUE_SHARES):
                parts = np.column_stack(
                    [
                        ll_tw + math.log((1 - new) / k),
                        np.full(len(spreads), ll_all + math.log(new * (1 - vague))),
                        np.full(len(spreads), ll_vague + math.log(new * vague)),
                    ]
                )
                peak = parts.max(axis=1)
                total[:, a, b] += peak + np.log(np.exp(parts - peak[:, None]).sum(axis=1))
    i, a, b = np.unravel_index(int(np.argmax(total)), total.shape)
    return float(spreads[i]), float(_NEW_SHARES[a]), float(_VAGUE_SHARES[b])


def _shares(n_twins: int, new: float, vague: float) -> np.ndarray:
    return np.append(np.full(n_twins, (1 - new) / n_twins), [new * (1 - vague), new * vague])


def _vague_gamma(rates: np.ndarray) -> tuple[float, float]:
    """A Gamma worth half a rug at the sources' geometric mean rate."""
    return _VAGUE_SHAPE, _VAGUE_SHAPE / float(np.exp(np.log(rates).mean()))


@dataclass(frozen=True)
class HazardPrior:
    """The mixture prior over a target mode's hazard, fitted to the source modes."""

    names: tuple[str, ...]  # source modes, then ALL_MODES, then UNLIKE_ANY
    shape: np.ndarray
    rate: np.ndarray
    share: np.ndarray  # prior weight of each component
    twin_spread: float  # relative spread of a mode around its twin
    new_share: float  # prior share of the all-modes and vague components together
    vague_share: float  # the vague component's part of new_share
    sources: tuple[ModeStats, ...] = field(default=())

    @classmethod
    def fit(cls, sources: Sequence[ModeStats]) -> HazardPrior | None:
        """None without a source that has rounds (nothing to borrow from)."""
        usable = tuple(s for s in sources if s.events > 0 and s.exposure > 0)
        if not usable:
            return None
        d = np.array([s.events for s in usable], dtype=float)
        e = np.array([s.exposure for s in usable], dtype=float)
        spread, new, vague = _DEFAULT_TWIN_HAZARD, _DEFAULT_NEW, _DEFAULT_VAGUE
        if len(usable) >= 3:
            spread, new, vague = _fit_shares(_TWIN_SPREADS_HAZARD, cls._folds(d, e))
        a_twin, b_twin = cls._twins(d, e, np.array([spread]))
        a_all, b_all = _fit_gamma(d, e)
        a_vague, b_vague = _vague_gamma(d / e)
        return cls(
            names=(*(s.mode for s in usable), ALL_MODES, UNLIKE_ANY),
            shape=np.append(a_twin[0], [a_all, a_vague]),
            rate=np.append(b_twin[0], [b_all, b_vague]),
            share=_shares(len(usable), new, vague),
            twin_spread=spread,
            new_share=new,
            vague_share=vague,
            sources=usable,
        )

    @staticmethod
    def _twins(d: np.ndarray, e: np.ndarray, spreads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[spreads, sources] Gamma shape and rate of each source's twin component: its
        rate, with relative variance spread^2 plus its own estimation error (1 / rugs)."""
        a = 1.0 / (spreads[:, None] ** 2 + 1.0 / d[None, :])
        return a, a / (d / e)[None, :]

    @classmethod
    def _folds(cls, d: np.ndarray, e: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
        folds = []
        for j in range(len(d)):
            others = np.arange(len(d)) != j
            dj, ej = np.array([d[j]]), np.array([e[j]])
            a_all, b_all = _fit_gamma(d[others], e[others])
            a_v, b_v = _vague_gamma(d[others] / e[others])
            a_tw, b_tw = cls._twins(d[others], e[others], _TWIN_SPREADS_HAZARD)
            ll_tw = _nb_loglik(np.full_like(a_tw, d[j]), np.full_like(a_tw, e[j]), a_tw, b_tw)
            ll_all = _nb_loglik(dj, ej, np.array([a_all]), np.array([b_all]))[0]
            ll_vague = _nb_loglik(dj, ej, np.array([a_v]), np.array([b_v]))[0]
            folds.append((ll_tw, float(ll_all), float(ll_vague)))
        return folds

    def posterior(self, target: ModeStats) -> Posterior:
        d, e = float(target.events), float(target.exposure)
        logw = np.log(self.share) + _nb_loglik(
            np.full_like(self.shape, d), np.full_like(self.shape, e), self.shape, self.rate
        )
        w = _normalize_log(logw)
        post_a, post_b = self.shape + d, self.rate + e
        means = post_a / post_b
        estimate = float(np.dot(w, means))

        def logpdf(k: int, x: np.ndarray) -> np.ndarray:
            a, b = post_a[k], post_b[k]
            return a * math.log(b) - math.lgamma(a) + (a - 1) * np.log(x) - b * x

        low, high = _mixture_interval(w, means, np.sqrt(post_a) / post_b, logpdf, positive=True)
        ticks_per_round = e / target.rounds if target.rounds else 1.0 / estimate

        def weight_at(rounds: float) -> float:
            return float(np.dot(w, self.rate / (self.rate + rounds * ticks_per_round)))

        own = own_low = own_high = None
        if e > 0:
            own = d / e
            own_low, own_high = wilson(d, e)
        return Posterior(
            parameter="hazard",
            own=own,
            own_low=own_low,
            own_high=own_high,
            estimate=estimate,
            low=low,
            high=high,
            weight_on_others=weight_at(target.rounds),
            resembles=_ranked(self.names, w),
            rounds_to_dominate=_rounds_for_half(weight_at, target.rounds),
        )


# -- the drift: normal-normal ---------------------------------------------------------


def _fit_normal(means: np.ndarray, se2: np.ndarray) -> tuple[float, float]:
    """(mean, variance) of the normal over modes' drifts maximizing the marginal
    likelihood of the sources' estimates (random effects), the variance on a grid."""
    if len(means) < 2:
        return float(means[0]), _DIFFUSE_DRIFT_SD**2
    spread = max(float(np.ptp(means)), 1e-6)
    best = (-np.inf, 0.0, 0.0)
    for t2 in np.append(0.0, np.geomspace(1e-4 * spread, 3 * spread, 60) ** 2):
        v = t2 + se2
        mu = float(np.sum(means / v) / np.sum(1 / v))
        ll = float(-0.5 * np.sum(np.log(v) + (means - mu) ** 2 / v))
        if ll > best[0]:
            best = (ll, mu, float(t2))
    return best[1], best[2]


def _normal_loglik(x: float | np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


@dataclass(frozen=True)
class DriftPrior:
    """The mixture prior over a target mode's drift, fitted to the source modes."""

    names: tuple[str, ...]
    mean: np.ndarray
    var: np.ndarray
    share: np.ndarray
    twin_spread: float
    new_share: float
    vague_share: float
    sources: tuple[ModeStats, ...] = field(default=())

    @classmethod
    def fit(cls, sources: Sequence[ModeStats]) -> DriftPrior | None:
        usable = tuple(s for s in sources if s.base_se is not None and s.base_se > 0)
        if not usable:
            return None
        means = np.array([s.base_drift for s in usable], dtype=float)
        se2 = np.array([s.base_se for s in usable], dtype=float) ** 2
        spread, new, vague = _DEFAULT_TWIN_DRIFT, _DEFAULT_NEW, _DEFAULT_VAGUE
        if len(usable) >= 3:
            spread, new, vague = _fit_shares(_TWIN_SPREADS_DRIFT, cls._folds(means, se2))
        mu, t2 = _fit_normal(means, se2)
        return cls(
            names=(*(s.mode for s in usable), ALL_MODES, UNLIKE_ANY),
            mean=np.append(means, [mu, means.mean()]),
            var=np.append(spread**2 + se2, [max(t2, 1e-12), _DIFFUSE_DRIFT_SD**2]),
            share=_shares(len(usable), new, vague),
            twin_spread=spread,
            new_share=new,
            vague_share=vague,
            sources=usable,
        )

    @staticmethod
    def _folds(means: np.ndarray, se2: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
        folds = []
        for j in range(len(means)):
            others = np.arange(len(means)) != j
            mu, t2 = _fit_normal(means[others], se2[others])
            v = _TWIN_SPREADS_DRIFT[:, None] ** 2 + se2[others][None, :] + se2[j]
            ll_tw = _normal_loglik(means[j], means[others][None, :], v)
            ll_all = float(_normal_loglik(means[j], np.array(mu), np.array(t2 + se2[j])))
            vague_var = np.array(_DIFFUSE_DRIFT_SD**2 + se2[j])
            ll_vague = float(_normal_loglik(means[j], np.array(means[others].mean()), vague_var))
            folds.append((ll_tw, ll_all, ll_vague))
        return folds

    def god_term(self, target: ModeStats) -> float:
        """The god candles' part of the drift (rate x mean return), pooled over every
        mode: at 1e-5 a tick a mode sees a handful in 100,000 moves, and one of them moves
        a thin mode's own mean return by 9 / moves."""
        moves = target.moves + sum(s.moves for s in self.sources)
        god_sum = target.god_sum + sum(s.god_sum for s in self.sources)
        return god_sum / moves if moves else 0.0

    def posterior(self, target: ModeStats) -> Posterior:
        """Pooled: the drift without god candles (the mixture) plus the pooled god term."""
        own, se = target.base_drift, target.base_se
        if own is None or se is None or se <= 0:
            w = self.share
            means, post_var = self.mean, self.var
            weight_on = 1.0
            se2 = math.inf
        else:
            se2 = se * se
            w = _normalize_log(np.log(self.share) + _normal_loglik(own, self.mean, self.var + se2))
            shrink = se2 / (se2 + self.var)  # weight on the prior, per component
            means = shrink * self.mean + (1 - shrink) * own
            post_var = 1.0 / (1.0 / self.var + 1.0 / se2)
            weight_on = float(np.dot(w, shrink))

        def logpdf(k: int, x: np.ndarray) -> np.ndarray:
            return _normal_loglik(x, means[k], post_var[k])

        low, high = _mixture_interval(w, means, np.sqrt(post_var), logpdf, positive=False)
        god = self.god_term(target)
        var1 = target.base_var  # one tick's return variance: the target's, else the sources'
        if var1 is None:
            var1 = float(np.median([s.base_var for s in self.sources]))
        per_round = target.moves / target.rounds if target.rounds and target.moves else None
        if per_round is None:
            per_round = float(np.median([s.moves / s.rounds for s in self.sources]))

        def weight_at(rounds: float) -> float:
            s2 = var1 / max(rounds * per_round, 1e-12)
            return float(np.dot(w, s2 / (s2 + self.var)))

        total, total_se = target.drift, target.drift_se  # the target's own, all regimes
        known = total is not None and total_se is not None and total_se > 0
        return Posterior(
            parameter="drift",
            own=total,
            own_low=total - Z95 * total_se if known else None,  # type: ignore[operator]
            own_high=total + Z95 * total_se if known else None,  # type: ignore[operator]
            estimate=float(np.dot(w, means)) + god,
            low=low + god,
            high=high + god,
            weight_on_others=weight_on,
            resembles=_ranked(self.names, w),
            rounds_to_dominate=_rounds_for_half(weight_at, max(target.rounds, 1)),
        )


def _ranked(names: Sequence[str], weights: np.ndarray) -> dict[str, float]:
    order = np.argsort(-weights, kind="stable")
    return {names[i]: float(weights[i]) for i in order}


@dataclass(frozen=True)
class Pooled:
    """A target mode's hazard and drift, pooled with the source modes."""

    mode: str
    rounds: int
    hazard: Posterior
    drift: Posterior
    hazard_prior: HazardPrior
    drift_prior: DriftPrior

    def summary(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "rounds": self.rounds,
            "sources": [s.mode for s in self.hazard_prior.sources],
            "hazard": self.hazard.summary(),
            "drift": self.drift.summary(),
            "hazard_twin_spread": round(self.hazard_prior.twin_spread, 4),
            "drift_twin_spread": float(f"{self.drift_prior.twin_spread:.3g}"),
            "prior_shares": {
                p.parameter: {
                    "twins": round(1 - prior.new_share, 4),
                    ALL_MODES: round(prior.new_share * (1 - prior.vague_share), 4),
                    UNLIKE_ANY: round(prior.new_share * prior.vague_share, 4),
                }
                for p, prior in ((self.hazard, self.hazard_prior), (self.drift, self.drift_prior))
            },
        }


@dataclass(frozen=True)
class Priors:
    """The priors fitted once to a set of source modes (reused along a learning curve)."""

    hazard: HazardPrior
    drift: DriftPrior

    @classmethod
    def fit(cls, sources: Sequence[ModeStats]) -> Priors | None:
        hazard, drift = HazardPrior.fit(sources), DriftPrior.fit(sources)
        if hazard is None or drift is None:
            return None
        return cls(hazard, drift)

    def pool(self, target: ModeStats) -> Pooled:
        return Pooled(
            mode=target.mode,
            rounds=target.rounds,
            hazard=self.hazard.posterior(target),
            drift=self.drift.posterior(target),
            hazard_prior=self.hazard,
            drift_prior=self.drift,
        )


def pool(target: ModeStats, sources: Sequence[ModeStats]) -> Pooled | None:
    """The target's parameters pooled with `sources` (other modes; the target itself is
    left out if listed); None when no source has data."""
    priors = Priors.fit([s for s in sources if s.mode != target.mode])
    return None if priors is None else priors.pool(target)
