"""The hybrid policy and a coach follower as sidebet-env policies, for the A/B harness.

In the bot's sidebet env a player never holds a position and the hazard depends on the
tick only, so both decisions are functions of (tick, RL action): they are computed once
per distinct pair and looked up, which lets the harness run them over whole batches.
"""

from __future__ import annotations

import numpy as np

from capabilities.engines.game_models.ev import Position, evaluate
from capabilities.engines.game_models.registry import ModelSet
from capabilities.hybrid.policy import HybridDecision, HybridInput, Thresholds, decide
from game.bots import BET, HOLD, Policy
from game.observation import COLUMN

_TO_NAME = {HOLD: "hold", BET: "sidebet"}
SIDEBET_ENV = ("hold", "sidebet")  # the env's actions: no positions


def _ticks(obs: np.ndarray) -> np.ndarray:
    return np.atleast_2d(obs)[:, COLUMN["tick"]].astype(np.int64)


class CoachFollower:
    """Bets exactly when the coach (told the env allows one sidebet a round) recommends a
    sidebet to a player with no position."""

    def __init__(self, models: ModelSet, *, stake: float = 1.0, name: str = "coach") -> None:
        self.models, self.stake, self.name = models, stake, name
        self._bets: dict[int, bool] = {}

    def _bet_at(self, tick: int) -> bool:
        if tick not in self._bets:
            m = self.models
            state = Position(tick=tick, price=1.0)
            wait = m.wait_values(tick)  # the env allows one sidebet a round
            decision = evaluate(
                state, m.hazard, m.price, m.economics, self.stake, wait, SIDEBET_ENV
            )
            best = decision.best
            self._bets[tick] = best == "sidebet"
        return self._bets[tick]

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        ticks = _ticks(obs)
        wanted = {int(t): self._bet_at(int(t)) for t in np.unique(ticks)}
        return np.array([BET if wanted[int(t)] else HOLD for t in ticks])

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(obs)[0])

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray | None:
        return None

    def reset(self) -> None:
        """The coach's advice depends on the state only."""


class HybridBot:
    """The RL policy's action, overridden by the hybrid policy where it is confident."""

    def __init__(
        self,
        rl: Policy,
        models: ModelSet,
        thresholds: Thresholds,
        *,
        stake: float = 1.0,
        name: str = "hybrid",
    ) -> None:
        self.rl, self.models, self.thresholds, self.stake, self.name = (
            rl,
            models,
            thresholds,
            stake,
            name,
        )
        self._cache: dict[tuple[int, int], HybridDecision] = {}

    def decision(self, tick: int, rl_action: int) -> HybridDecision:
        key = (tick, rl_action)
        if key not in self._cache:
            item = HybridInput(
                Position(tick=tick, price=1.0),
                _TO_NAME[rl_action],
                stake=self.stake,
                allowed=SIDEBET_ENV,
            )
            self._cache[key] = decide(item, self.models, self.thresholds)
        return self._cache[key]

    def rl_batch(self, obs: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(obs)
        if hasattr(self.rl, "act_batch"):
            return np.asarray(self.rl.act_batch(obs))
        return np.array([self.rl.act(o) for o in obs])

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        ticks, rl = _ticks(obs), self.rl_batch(obs)
        return np.array(
            [
                BET if self.decision(int(t), int(a)).action == "sidebet" else HOLD
                for t, a in zip(ticks, rl, strict=True)
            ]
        )

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(obs)[0])

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray | None:
        return None

    def reset(self) -> None:
        self.rl.reset()
