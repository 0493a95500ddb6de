"""One policy interface and rule-based sidebet archetypes.

A `Policy` maps the 15-feature `SidebetV1Env` observation to an action (0 HOLD, 1 BET).
The env enforces the rules (no bet before tick 200, one per round), so a policy only
says when it would like to bet. Policies that decide from the current observation alone
may also offer `act_batch(obs[n, 15]) -> actions[n]`; the A/B harness then evaluates
them over whole batches of rounds at once.

The archetypes mirror player styles seen in the game, transposed to sidebet timing:
`Aggressive` bets as soon as it may, `Conservative` only late and after the chart has
fallen well off its peak (the bot author's "distance from peak" predictor),
`WhaleHunter` right after a spike (a big one-tick move or high short-term volatility,
the footprint of whale trades), `RandomBot` with a fixed chance each tick.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from game.observation import BET_START_TICK, COLUMN

HOLD, BET = 0, 1


@runtime_checkable
class Policy(Protocol):
    """Observation -> action; `reset()` at the start of every round."""

    name: str

    def act(self, obs: np.ndarray) -> int: ...

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray | None: ...

    def reset(self) -> None: ...


class _RuleBot:
    """A deterministic rule on the current observation: `_wants_bet` over a batch."""

    name = "rule"

    def _wants_bet(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(obs)
        return np.where(self._wants_bet(obs), BET, HOLD)

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(obs)[0])

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray | None:
        """None: a rule has no probabilities to report."""
        return None

    def reset(self) -> None:
        """Rules keep no state between ticks."""


def _tick(obs: np.ndarray) -> np.ndarray:
    return obs[:, COLUMN["tick"]]


class Aggressive(_RuleBot):
    """Bets at the first tick >= `min_tick` (the earliest the bot's env allows)."""

    def __init__(self, min_tick: int = BET_START_TICK, name: str = "aggressive") -> None:
        self.min_tick, self.name = min_tick, name

    def _wants_bet(self, obs: np.ndarray) -> np.ndarray:
        return _tick(obs) >= self.min_tick


class Conservative(_RuleBot):
    """Bets only from `min_tick` on and once the price is `min_drawdown` below its peak."""

    def __init__(
        self, min_tick: int = 250, min_drawdown: float = 0.3, name: str = "conservative"
    ) -> None:
        self.min_tick, self.min_drawdown, self.name = min_tick, min_drawdown, name

    def _wants_bet(self, obs: np.ndarray) -> np.ndarray:
        late = _tick(obs) >= self.min_tick
        return late & (obs[:, COLUMN["dist_from_peak"]] >= self.min_drawdown)


class WhaleHunter(_RuleBot):
    """Bets after a spike: a one-tick move of at least `spike` (relative) or a 10-tick
    volatility of at least `volatility` (relative to the price), from `min_tick` on."""

    def __init__(
        self,
        spike: float = 0.2,
        volatility: float = 0.1,
        min_tick: int = BET_START_TICK,
        name: str = "whale_hunter",
    ) -> None:
        self.spike, self.volatility, self.min_tick, self.name = spike, volatility, min_tick, name

    def _wants_bet(self, obs: np.ndarray) -> np.ndarray:
        price = obs[:, COLUMN["price"]].astype(np.float64)
        before = price - obs[:, COLUMN["velocity"]]
        with np.errstate(divide="ignore", invalid="ignore"):
            move = np.where(before > 0, np.abs(obs[:, COLUMN["velocity"]]) / before, 0.0)
            vol = np.where(price > 0, obs[:, COLUMN["volatility_10"]] / price, 0.0)
        spiked = (move >= self.spike) | (vol >= self.volatility)
        return (_tick(obs) >= self.min_tick) & spiked


class RandomBot:
    """Bets with probability `p` at each tick (seeded; `reset` keeps the stream going)."""

    def __init__(self, p: float = 0.05, seed: int = 0, name: str = "random") -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be in [0, 1]")
        self.p, self.name = p, name
        self._rng = np.random.default_rng(seed)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        n = np.atleast_2d(obs).shape[0]
        return np.where(self._rng.random(n) < self.p, BET, HOLD)

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(obs)[0])

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray:
        return np.array([1.0 - self.p, self.p])

    def reset(self) -> None:
        """The random stream continues across rounds (reproducible from the seed)."""


def archetypes(seed: int = 0) -> list[Policy]:
    """The rule-based bots with their default parameters."""
    return [Aggressive(), Conservative(), WhaleHunter(), RandomBot(seed=seed)]
