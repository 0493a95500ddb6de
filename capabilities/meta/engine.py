"""Pooled estimates as the expected-value engine's hazard and price views.

A thin mode (some rounds, fewer than the registry's `min_rounds`) is served with its
hazard and drift pooled across modes (`pooling.py`) instead of its rules file: the
hazard a constant rate with the posterior interval, the drift likewise; the spread and
downside of a tick's move, which the engine uses only for risk figures, come from the
mode's own rounds (or its rules with too few moves to fit).
"""

from __future__ import annotations

import numpy as np

from capabilities.engines.game_models.ev import PriceView
from capabilities.meta.pooling import Posterior


class PooledHazard:
    """A constant per-tick hazard: the pooled estimate and its 95 % interval."""

    def __init__(self, posterior: Posterior) -> None:
        self.rates = (posterior.estimate, posterior.low, posterior.high)

    def hazard(self, tick: int) -> tuple[float, float, float]:
        return self.rates

    def rug_within(self, tick: int, horizon: int) -> tuple[float, float, float]:
        if horizon <= 0:
            return 0.0, 0.0, 0.0
        est, lo, hi = (1 - (1 - x) ** horizon for x in self.rates)
        return est, lo, hi

    def hazard_curve(self, ticks: np.ndarray) -> np.ndarray:
        return np.repeat(np.array(self.rates)[:, None], len(np.asarray(ticks)), axis=1)


class PooledPrice:
    """The pooled drift over another view's spread and downside."""

    def __init__(self, posterior: Posterior, base: PriceView) -> None:
        self.drift = (posterior.estimate, posterior.low, posterior.high)
        self.base = base
        self.down_share = base.down_share

    def drift_at(self, price: float) -> tuple[float, float, float]:
        return self.drift

    def volatility(self, price: float) -> float:
        return self.base.volatility(price)
