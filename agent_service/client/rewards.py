"""Train the bot on a reviewed reward: a gymnasium wrapper that pays a reward spec.

Needs only gymnasium (and numpy, which it brings); nothing of the server side. The spec
is the JSON `POST /v1/rewards/review` reviews (its `proposal.reward`, or your own); the
exact per-tick tables that paid expected value and potential shaping need come with the
review when asked for (`include_tables: true`):

    from agent_service.client import AgentClient
    from agent_service.client.rewards import SpecReward

    answer = AgentClient(URL, api_key=KEY).post(
        "/v1/rewards/review", {"mode": "rising_hazard", "include_tables": True})
    env = SpecReward(SidebetV1Env(...), answer["proposal"]["reward"], answer["tables"])
    model = PPO("MlpPolicy", env, gamma=answer["proposal"]["gamma"], ...)

What is paid, step by step, is what the service's training wrapper pays
(`game.reward_spec.RewardComputer`; a test checks both agree): step terms on the
observation the action was chosen on, win/loss at the rug or when decided, skip by the
round's length, the bet's expected profit when placed, and gamma * Phi(s') - Phi(s) with
Phi(terminal) = 0 (Phi: the oracle's value before a bet, the open bet's expected payout
under the spec's win and loss after it). The env's own reward is kept in
`info["env_reward"]`. The wrapper tracks the bet itself (the observation cannot tell a
lost bet from none once its window closed); the round's length is `info["rug_tick"]`,
else the final observation's tick.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

FEATURES = (
    "tick", "price", "active", "connected_players", "running_peak", "peak_tick",
    "dist_from_peak", "ticks_since_peak", "volatility_10", "momentum_5", "velocity",
    "sidebet_active", "ticks_remaining", "can_place", "bet_allowed",
)  # fmt: skip
"""SidebetV1Env's observation columns, in order."""
COLUMN = {name: i for i, name in enumerate(FEATURES)}
OPS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}  # fmt: skip


class SpecReward(gym.Wrapper):
    """`env` (the bot's SidebetV1Env or one with its observation) paying `spec`."""

    def __init__(
        self,
        env: gym.Env,
        spec: dict[str, Any],
        tables: dict[str, Any] | None = None,
        *,
        bet_start_tick: int = 200,
        last_win: int = 40,
    ) -> None:
        super().__init__(env)
        self.reward_spec = spec
        self.terminal = {"win": 4.0, "loss": -1.0, "skip": [], "settle": "rug"} | dict(
            spec.get("terminal") or {}
        )
        self.steps = list(spec.get("steps") or [])
        self.paid_ev = float(spec.get("paid_expected_value") or 0.0)
        self.shaping = spec.get("shaping")
        if (self.paid_ev or self.shaping) and tables is None:
            raise ValueError(
                "this spec pays expected value or shaping: pass the review's `tables` "
                "(POST /v1/rewards/review with include_tables: true)"
            )
        self.tables = tables
        self.bet_start = int(tables["bet_start_tick"]) if tables else bet_start_tick
        self.last_win = int(tables["last_win"]) if tables else last_win
        self.bet_tick: int | None = None
        self._obs: np.ndarray | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs, self.bet_tick = np.asarray(obs, dtype=np.float64), None
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        assert self._obs is not None, "reset() first"
        done = bool(terminated or truncated)
        length = int(info.get("rug_tick", np.asarray(obs)[COLUMN["tick"]]))
        paid = self.pay(self._obs, int(action), done, length)
        info = dict(info, env_reward=reward)
        self._obs = np.asarray(obs, dtype=np.float64)
        if done:
            self.bet_tick = None
        return obs, paid, terminated, truncated, info

    def pay(self, obs: np.ndarray, action: int, done: bool, length: int) -> float:
        """The reward of one step from `obs` (updates the tracked bet)."""
        tick = int(obs[COLUMN["tick"]])
        reward = 0.0
        for term in self.steps:
            chosen = "bet" if action == 1 else "hold"
            if term.get("action", "any") not in ("any", chosen):
                continue
            if all(OPS[c["op"]](obs[COLUMN[c["field"]]], c["value"]) for c in term.get("when", [])):
                reward += float(term["reward"])
        before = self.bet_tick
        if action == 1 and tick >= self.bet_start and before is None:
            self.bet_tick = tick
            if self.paid_ev:
                reward += self.paid_ev * self._table("ev", tick)
        bet, t = self.bet_tick, self.terminal
        won = bet is not None and done and length <= bet + self.last_win
        if t["settle"] == "decided" and bet is not None and not done:
            reward += float(t["loss"]) if tick + 1 == bet + self.last_win else 0.0
        if done:
            if bet is None:
                reward += self._skip(length)
            elif won:
                reward += float(t["win"])
            elif t["settle"] == "rug":
                reward += float(t["loss"])
        if self.shaping:
            weight, gamma = float(self.shaping.get("weight", 1.0)), float(self.shaping["gamma"])
            after = 0.0 if done else self.potential(tick + 1, bet)
            reward += weight * (gamma * after - self.potential(tick, before))
        return reward

    def _skip(self, length: int) -> float:
        for band in self.terminal["skip"]:
            top = math.inf if band.get("max_ticks") is None else band["max_ticks"]
            if band.get("min_ticks", 0) <= length <= top:
                return float(band["reward"])
        return 0.0

    def _table(self, name: str, tick: int) -> float:
        assert self.tables is not None
        values = self.tables[name]
        return float(values[min(tick, len(values) - 1)])

    def potential(self, tick: int, bet_tick: int | None) -> float:
        """Phi: the oracle's value before a bet; after it, what the open bet is still
        expected to pay under the spec's own win and loss."""
        if bet_tick is None:
            return self._table("value", tick)
        assert self.tables is not None
        ls, t = self.tables["log_survival"], self.terminal
        end, now = min(bet_tick + self.last_win, len(ls) - 1), min(tick, len(ls) - 1)
        if t["settle"] == "decided" and tick >= bet_tick + self.last_win:
            return 0.0
        p = -math.expm1(ls[end] - ls[now]) if now < end else 0.0
        return p * float(t["win"]) + (1.0 - p) * float(t["loss"])
