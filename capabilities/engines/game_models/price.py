"""Price dynamics: the per-tick return distribution, fitted from recorded price paths.

Returns are split into three regimes by size: god candles (the price multiplied
several-fold), big moves (|r| at or above `big_threshold`) and normal moves. The drift
that matters to an expected value is the mean return over all three, estimated by the
sample mean with its standard error. The normal moves' spread grows with the price level
(the documented model adds a term proportional to sqrt(price), capped): it is fitted as
variance = s0^2 + k * min(cap, sqrt(price))^2, choosing the cap from a grid by least
squares, which is what the risk of holding at a given price needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capabilities.engines.game_models.hazard import Z95, wilson

GOD_THRESHOLD = 4.0  # a return of +400 % or more in one tick is a god candle
_CAPS = (1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 50.0, float("inf"))


@dataclass(frozen=True)
class PriceModel:
    ticks: int  # returns observed
    drift: float  # mean return per tick, all regimes
    drift_low: float
    drift_high: float
    big_move_share: float
    big_move_share_ci: tuple[float, float]
    god_candle_share: float
    god_candle_share_ci: tuple[float, float]
    normal_mean: float
    down_share: float  # share of ticks whose return is negative
    vol_base: float  # s0^2
    vol_slope: float  # k
    vol_cap: float  # fitted cap of sqrt(price); inf when none fits better
    big_move_mean_abs: float

    def drift_at(self, price: float) -> tuple[float, float, float]:
        """(estimate, low, high) of the mean return per tick; the fit pools price levels."""
        return self.drift, self.drift_low, self.drift_high

    def volatility(self, price: float) -> float:
        """Standard deviation of one tick's return at `price`, all regimes mixed."""
        m = min(self.vol_cap, float(np.sqrt(max(price, 0.0))))
        normal_var = self.vol_base + self.vol_slope * m * m
        big = self.big_move_share
        var = (1 - big) * normal_var + big * self.big_move_mean_abs**2
        return float(np.sqrt(max(var, 0.0)))

    def summary(self) -> dict[str, object]:
        """Compact figures for evidence and agent tools."""
        return {
            "ticks": self.ticks,
            "drift_per_tick": round(self.drift, 6),
            "drift_ci95": [round(self.drift_low, 6), round(self.drift_high, 6)],
            "big_move_share": round(self.big_move_share, 4),
            "big_move_share_ci95": [round(x, 4) for x in self.big_move_share_ci],
            "god_candle_share": round(self.god_candle_share, 6),
            "normal_move_mean": round(self.normal_mean, 6),
            "vol_sqrt_price_cap": None if np.isinf(self.vol_cap) else self.vol_cap,
        }


def returns_from_paths(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(returns, price before each return) from a [rounds, ticks] array padded with NaN."""
    prices = np.atleast_2d(np.asarray(prices, dtype=np.float64))
    before, after = prices[:, :-1], prices[:, 1:]
    valid = np.isfinite(before) & np.isfinite(after) & (before > 0)
    return after[valid] / before[valid] - 1.0, before[valid]


def _fit_volatility(r: np.ndarray, level: np.ndarray) -> tuple[float, float, float]:
    """(s0^2, k, cap) minimising squared error of r^2 deviations on min(cap, sqrt p)^2."""
    if r.size < 10:
        return float(np.var(r)) if r.size else 0.0, 0.0, float("inf")
    dev2 = (r - r.mean()) ** 2
    root = np.sqrt(level)
    best: tuple[float, float, float, float] | None = None
    for cap in _CAPS:
        x = np.minimum(root, cap) ** 2
        design = np.column_stack([np.ones_like(x), x])
        coef, *_ = np.linalg.lstsq(design, dev2, rcond=None)
        sse = float(np.sum((design @ coef - dev2) ** 2))
        if best is None or sse < best[0] - 1e-12:
            best = (sse, float(coef[0]), float(coef[1]), cap)
    assert best is not None
    return max(best[1], 0.0), max(best[2], 0.0), best[3]


def fit_price(prices: np.ndarray, *, big_threshold: float = 0.12) -> PriceModel:
    """Fit from price paths (rows = rounds, columns = ticks, NaN after the round)."""
    r, level = returns_from_paths(prices)
    n = int(r.size)
    if n < 2:
        raise ValueError("need at least two price ticks to fit price dynamics")
    god = r >= GOD_THRESHOLD
    big = ~god & (np.abs(r) >= big_threshold)
    normal = ~god & ~big
    mean = float(r.mean())
    se = float(r.std(ddof=1) / np.sqrt(n))
    s0, k, cap = _fit_volatility(r[normal], level[normal])
    return PriceModel(
        ticks=n,
        drift=mean,
        drift_low=mean - Z95 * se,
        drift_high=mean + Z95 * se,
        big_move_share=float(big.mean()),
        big_move_share_ci=wilson(int(big.sum()), n),
        god_candle_share=float(god.mean()),
        god_candle_share_ci=wilson(int(god.sum()), n),
        normal_mean=float(r[normal].mean()) if normal.any() else 0.0,
        down_share=float((r < 0).mean()),
        vol_base=s0,
        vol_slope=k,
        vol_cap=cap,
        big_move_mean_abs=float(np.abs(r[big]).mean()) if big.any() else 0.0,
    )
