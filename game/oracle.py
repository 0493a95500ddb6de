"""The oracle: the expected-value-optimal sidebet policy from a mode's true rules.

In every mode the rug hazard depends on the tick only, never on the chart, so the best
policy is a function of the tick: with one bet per round allowed from tick 200, it is
an optimal stopping problem solved backwards from `max_ticks`:

    EV(t) = P(win | placed at t) * profit_multiple - P(loss)          (per SOL staked)
    V(t)  = max(EV(t), C(t)) when betting is allowed, else C(t)
    C(t)  = (1 - hazard(t+1)) * V(t+1)                                 (wait one tick)

and the oracle bets at tick t exactly when EV(t) > 0 and EV(t) >= C(t). Under a constant
hazard that is "bet at once if EV > 0, never otherwise"; under a rising hazard it waits
while the next ticks are worth more. No policy seeing only the chart can do better.
"""

from __future__ import annotations

import numpy as np

from game.observation import BET_START_TICK, COLUMN
from game.rules import GameRules

HOLD, BET = 0, 1


def _hazard(rules: GameRules, hazard: np.ndarray | None) -> np.ndarray:
    """The hazard at ticks 1..max_ticks: the rules' own, or a given curve of that shape
    (a scenario's, conditioned on the rug ticks it keeps)."""
    if hazard is None:
        return rules.hazard(np.arange(1, rules.max_ticks + 1))
    hazard = np.asarray(hazard, dtype=np.float64)
    if hazard.shape != (rules.max_ticks,):
        raise ValueError(f"hazard must have shape ({rules.max_ticks},), got {hazard.shape}")
    return hazard


def sidebet_ev_by_tick(rules: GameRules, *, hazard: np.ndarray | None = None) -> np.ndarray:
    """EV per SOL staked of a sidebet placed at tick t (round alive), t = 0..max_ticks-1
    (`hazard`: P(rug at t | alive at t-1) for t = 1..max_ticks, default the rules')."""
    with np.errstate(divide="ignore"):
        log_survival = np.concatenate([[0.0], np.cumsum(np.log1p(-_hazard(rules, hazard)))])
    start = np.arange(rules.max_ticks)
    last = np.minimum(
        start + rules.sidebet_window - (0 if rules.window_end_inclusive else 1), rules.max_ticks
    )
    with np.errstate(invalid="ignore"):  # -inf - -inf: a tick no round lives to
        p_win = np.nan_to_num(1.0 - np.exp(log_survival[last] - log_survival[start]), nan=1.0)
    return p_win * rules.sidebet_profit_multiple - (1.0 - p_win)


def optimal_bet_ticks(
    rules: GameRules, bet_start_tick: int = BET_START_TICK, *, hazard: np.ndarray | None = None
) -> np.ndarray:
    """Per tick 0..max_ticks-1: whether the optimal policy, not having bet yet, bets."""
    ev = sidebet_ev_by_tick(rules, hazard=hazard)
    survive_next = 1.0 - _hazard(rules, hazard)
    bet = np.zeros(rules.max_ticks, dtype=bool)
    value_next = 0.0
    for t in range(rules.max_ticks - 1, -1, -1):
        wait = survive_next[t] * value_next
        bet[t] = t >= bet_start_tick and ev[t] > 0.0 and ev[t] >= wait
        value_next = max(ev[t], wait) if t >= bet_start_tick else wait
    return bet


class Oracle:
    """Bets at the EV-optimal tick of the mode (see module doc); acts on the tick only."""

    def __init__(
        self,
        rules: GameRules,
        *,
        bet_start_tick: int = BET_START_TICK,
        name: str = "oracle",
        hazard: np.ndarray | None = None,
    ) -> None:
        self.rules, self.name = rules, name
        self._bet = optimal_bet_ticks(rules, bet_start_tick, hazard=hazard)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(obs)
        tick = np.clip(obs[:, COLUMN["tick"]].astype(np.int64), 0, len(self._bet) - 1)
        idle = obs[:, COLUMN["sidebet_active"]] == 0
        return np.where(self._bet[tick] & idle, BET, HOLD)

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(obs)[0])

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray:
        return np.eye(2)[self.act(obs)]

    def reset(self) -> None:
        """The decision depends on the tick alone."""
