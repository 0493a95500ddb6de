"""The models a mode's true rules imply, with no estimation error.

Fed to the expected-value engine they give the oracle's choice, the yardstick for the
fitted models (a coach that agrees with them is as good as knowing the rules), and they
turn a mode's rules into `Economics`.
"""

from __future__ import annotations

import numpy as np

from capabilities.engines.game_models.ev import Economics
from game.rules import GameRules


def economics(rules: GameRules) -> Economics:
    return Economics(
        commission=rules.commission,
        sidebet_profit_multiple=rules.sidebet_profit_multiple,
        sidebet_span=rules.sidebet_last_winning_tick(0),
        sidebet_cooldown_ticks=rules.sidebet_cooldown_ticks,
        min_bet=rules.min_bet,
        max_bet=rules.max_bet,
    )


class TrueHazard:
    def __init__(self, rules: GameRules) -> None:
        self.rules = rules

    def hazard(self, tick: int) -> tuple[float, float, float]:
        h = float(self.rules.hazard(tick))
        return h, h, h

    def hazard_curve(self, ticks: np.ndarray) -> np.ndarray:
        h = np.asarray(self.rules.hazard(np.asarray(ticks)), dtype=np.float64)
        return np.repeat(h[None, :], 3, axis=0)

    def rug_within(self, tick: int, horizon: int) -> tuple[float, float, float]:
        if horizon <= 0:
            return 0.0, 0.0, 0.0
        h = self.rules.hazard(np.arange(tick + 1, tick + horizon + 1))
        p = float(1 - np.prod(1 - h))
        return p, p, p


class TruePrice:
    """Mean, spread and downside of one tick's return under the v3 price model."""

    def __init__(self, rules: GameRules) -> None:
        self.rules = rules
        r = rules
        mid = (r.drift_low + r.drift_high) / 2
        self._normal_mean = mid
        self._big_second = (
            r.big_move_min**2 + r.big_move_min * r.big_move_max + r.big_move_max**2
        ) / 3
        # P(normal move < 0) at a typical level: uniform drift plus the symmetric term
        width = max(r.drift_high - r.drift_low, 1e-12)
        spread = r.vol_coef * self._root(1.0)
        y = np.linspace(-spread, spread, 1001)
        below = np.clip((-y - r.drift_low) / width, 0.0, 1.0).mean()
        self.down_share = float(r.big_move_prob / 2 + (1 - r.big_move_prob) * below)

    def _root(self, price: float) -> float:
        root = float(np.sqrt(max(price, 0.0)))
        cap = self.rules.vol_sqrt_cap
        return root if cap is None else min(root, cap)

    def _god(self, price: float) -> float:
        return self.rules.god_candle_prob if price <= self.rules.god_candle_max_price else 0.0

    def drift_at(self, price: float) -> tuple[float, float, float]:
        g = self._god(price)
        r = self.rules
        mu = g * (r.god_candle_multiplier - 1) + (1 - g) * (1 - r.big_move_prob) * self._normal_mean
        return mu, mu, mu

    def volatility(self, price: float) -> float:
        r = self.rules
        normal_var = (r.drift_high - r.drift_low) ** 2 / 12 + (
            r.vol_coef * self._root(price)
        ) ** 2 / 3
        second = (1 - r.big_move_prob) * (normal_var + self._normal_mean**2) + (
            r.big_move_prob * self._big_second
        )
        mu = self.drift_at(price)[0]
        return float(np.sqrt(max(second - mu**2, 0.0)))
