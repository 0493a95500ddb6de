"""The bot's SB3 model with the hybrid policy in the loop, as a drop-in for `model.predict`.

`HybridPolicy(model, client, bot_id=...)` has SB3's `predict(observation, state,
episode_start, deterministic)`. It asks the model first, then, for each env whose
observation allows a bet (`can_place` and `bet_allowed` set: before tick 200 or with a
bet open the env forces HOLD, so asking would change nothing), consults
`POST /v1/hybrid/decide` with the model's action; the whole batch shares one deadline,
the client's `decide_timeout_s`, and an env the service does not answer for in time
keeps the model's action (the client's circuit breaker stops calling a service that is
down). Decisions the service did not log itself (fallbacks) go to the decision log
through the optional `DecisionRecorder`.

Needs numpy and `requests` (and the model: anything with SB3's `predict`); SB3 itself is
not imported. Observations are the bot's `SidebetV1Env` layout (`FEATURES`). Under
`VecNormalize` pass the raw observation too: `predict(obs, raw_observation=
venv.get_original_obs())`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent_service.client import AgentClient
from agent_service.client.recorder import DecisionRecorder

FEATURES = (
    "tick", "price", "active", "connected_players", "running_peak", "peak_tick",
    "dist_from_peak", "ticks_since_peak", "volatility_10", "momentum_5", "velocity",
    "sidebet_active", "ticks_remaining", "can_place", "bet_allowed",
)  # fmt: skip
"""The 15 columns of the bot's observation (its SidebetV1ObservationBuilder)."""
COLUMN = {name: i for i, name in enumerate(FEATURES)}
RECENT_PRICES = 20  # the hybrid's spike rule looks at the last few ticks


def can_bet(observation: np.ndarray) -> bool:
    """The env would take a BET now: no bet open, and the tick is in the betting zone."""
    return bool(observation[COLUMN["can_place"]] > 0.5 and observation[COLUMN["bet_allowed"]] > 0.5)


@dataclass
class PredictStats:
    """Counts over the wrapper's life: what the service decided and what it cost."""

    steps: int = 0
    consulted: int = 0
    answered: int = 0
    overrides: int = 0
    fallbacks: int = 0
    skipped_late: int = 0
    slowest_batch_ms: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)


class HybridPolicy:
    def __init__(
        self,
        model: Any,
        client: AgentClient,
        *,
        bot_id: str,
        mode: str = "classic",
        stake: float | None = None,
        recorder: DecisionRecorder | None = None,
        consult: Callable[[np.ndarray], bool] = can_bet,
        concurrency: int = 1,
    ) -> None:
        self.model, self.client = model, client
        self.bot_id, self.mode, self.stake = bot_id, mode, stake
        self.recorder = recorder
        self.consult = consult
        self.stats = PredictStats()
        self._prices: dict[int, list[tuple[float, float]]] = {}
        self._lock = threading.Lock()
        # a batch of several envs (evaluation on a VecEnv) may ask side by side; on a
        # small loaded host that only adds contention, so one at a time by default
        self._pool = ThreadPoolExecutor(concurrency) if concurrency > 1 else None

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
        *,
        raw_observation: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Any]:
        """SB3's predict, with the hybrid's decision where the service answers in time."""
        actions, state = self.model.predict(observation, state, episode_start, deterministic)
        raw = np.asarray(observation if raw_observation is None else raw_observation)
        rows = raw.reshape(1, -1) if raw.ndim == 1 else raw
        chosen = np.array(actions, copy=True).reshape(-1)
        started = time.perf_counter()
        deadline = started + self.client.decide_timeout_s
        asks = []
        for index, row in enumerate(rows):
            self.stats.steps += 1
            prices = self._track(index, row)
            if self.consult(row):
                asks.append((index, row, int(chosen[index]), prices, deadline))
        if self._pool is not None and len(asks) > 1:
            answers = list(self._pool.map(lambda a: self._decide(*a), asks))
        else:
            answers = [self._decide(*a) for a in asks]
        for (index, *_), action in zip(asks, answers, strict=True):
            chosen[index] = action
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.slowest_batch_ms = max(self.stats.slowest_batch_ms, elapsed_ms)
        return chosen.reshape(np.shape(actions)), state

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def _count(self, name: str, source: str | None = None) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)
            if source is not None:
                self.stats.sources[source] = self.stats.sources.get(source, 0) + 1

    def _decide(
        self, index: int, row: np.ndarray, rl_action: int, prices: list[float], deadline: float
    ) -> int:
        self._count("consulted")
        tick, price = int(row[COLUMN["tick"]]), float(row[COLUMN["price"]])
        remaining = deadline - time.perf_counter()
        if remaining <= 0.001:  # the batch's time is spent: keep the model's action
            self._count("skipped_late")
            self._record(tick, price, rl_action, "deadline of the batch passed")
            return rl_action
        extra: dict[str, Any] = {} if self.stake is None else {"stake": self.stake}
        decision = self.client.decide(
            state={"mode": self.mode, "tick": tick, "price": price, "recent_prices": prices},
            rl_action=rl_action,
            bot_id=self.bot_id,
            timeout_s=remaining,
            **extra,
        )
        if decision.source == "fallback":
            self._count("fallbacks", decision.source)
            self._record(tick, price, rl_action, decision.reason, decision.latency_ms)
            return rl_action
        self._count("answered", decision.source)
        action = int(decision.action)
        if action != rl_action:
            self._count("overrides")
        return action

    def _record(
        self, tick: int, price: float, action: int, reason: str, latency_ms: float = 0.0
    ) -> None:
        if self.recorder is not None:
            self.recorder.record(
                tick=tick,
                price=price,
                rl_action=action,
                action=action,
                source="fallback",
                reason=reason,
                latency_ms=latency_ms,
                mode=self.mode,
                stake=self.stake,
            )

    def _track(self, index: int, row: np.ndarray) -> list[float]:
        """The env's recent prices (a new round starts when the tick does not advance)."""
        tick, price = float(row[COLUMN["tick"]]), float(row[COLUMN["price"]])
        history = self._prices.get(index)
        if history is None or tick <= history[-1][0]:
            history = self._prices[index] = []
        history.append((tick, price))
        del history[:-RECENT_PRICES]
        return [p for _, p in history]
