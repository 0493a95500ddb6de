"""Gymnasium environments over simulated rounds of any mode.

`SidebetV1Env` reproduces the bot's training env (GAME.md): one episode = one round,
Discrete(2) (0 HOLD, 1 BET), BET forced to HOLD before tick 200 and after the round's one
bet, the 15-feature observation, the bot's terminal training reward. The money a policy
makes is reported apart, in `info["pnl"]` (SOL, the mode's true payout), because the
training reward is not money (a skipped long round costs -0.75 reward and 0 SOL).

`TradingEnv` trades the same rounds: buy an amount, sell a fraction, place a sidebet,
with commission, the forced sell at the rug, one sidebet at a time and its cooldown.
Its reward is the step's change in liquidation value, so rewards sum to `info["pnl"]`.

Episodes replay `simulate_rounds(rules, ..., seed)` in order (round 0, 1, ...); the same
seed gives the same episodes, and `reset(options={"round_index": i})` picks one round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from game.observation import (
    BET_START_TICK,
    CONNECTED_PLAYERS,
    N_FEATURES,
    observation_from_prices,
    round_observations,
    with_sidebet,
)
from game.rules import GameRules
from game.scenarios import Scenario
from game.sidebets import NO_BET, default_stake, sidebet_pnl, training_reward
from game.simulator import round_keys, rug_ticks_of, simulate_keys

__all__ = [
    "BET",
    "HOLD",
    "RoundSource",
    "SidebetV1Env",
    "TradingAction",
    "TradingEnv",
    "observation_from_prices",
]

HOLD, BET = 0, 1


class RoundSource:
    """Rounds of one (rules, seed) by index, simulated in cached chunks.

    With `rug_range=(lo, hi)` only rounds whose rug tick lies in it are played (a
    scenario's filter): `next_round(i)` is the first kept round at index >= i.
    """

    def __init__(
        self,
        rules: GameRules,
        seed: int,
        chunk: int = 256,
        rug_range: tuple[int, int] | None = None,
    ) -> None:
        self.rules, self.seed, self.chunk, self.rug_range = rules, seed, chunk, rug_range
        self._start = -1
        self._kept = np.zeros(0, dtype=np.int64)
        self._rug = np.zeros(0, dtype=np.int64)
        self._prices = np.zeros((0, 1))

    def _load(self, start: int) -> None:
        if start == self._start:
            return
        keys = round_keys(self.seed, np.arange(start, start + self.chunk))
        rug = rug_ticks_of(self.rules, keys)
        kept = np.arange(self.chunk)
        if self.rug_range is not None:
            lo, hi = self.rug_range
            kept = np.flatnonzero((rug >= lo) & (rug <= hi))
        self._prices = simulate_keys(self.rules, keys[kept], rug[kept])[0]
        self._start, self._kept, self._rug = start, kept, rug[kept]

    def next_round(self, index: int) -> tuple[int, np.ndarray]:
        """(index, prices at ticks 0..rug-1) of the first kept round at `index` or later
        (its rug tick is `len(prices)`)."""
        while True:
            start = index - index % self.chunk
            self._load(start)
            pos = int(np.searchsorted(self._kept, index - start))
            if pos < len(self._kept):
                return start + int(self._kept[pos]), self._prices[pos, : self._rug[pos]]
            index = start + self.chunk


class _RoundEnv(gym.Env):
    """Episode bookkeeping shared by both envs: which round, its prices and features.

    `set_scenario(scenario)` changes the rules, the first observed tick and the rounds
    kept from the next reset on (a curriculum's hook); rounds are still taken in index
    order of the seed, so no round is replayed when the scenario changes.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        rules: GameRules,
        seed: int,
        connected_players: float,
        scenario: Scenario | None = None,
    ) -> None:
        super().__init__()
        self.rules = self._base_rules = rules
        self.connected_players = connected_players
        self.scenario: Scenario | None = None
        self.start_tick = 0
        self._seed = seed
        self._source = RoundSource(rules, seed)
        self._pending: tuple[Scenario | None] | None = None
        if scenario is not None:
            self._apply_scenario(scenario)
        self._next_index = 0
        self.round_index = -1
        self.tick = 0

    def set_scenario(self, scenario: Scenario | dict[str, Any] | None) -> None:
        """Play `scenario` (a `Scenario` or its JSON fields) from the next reset on;
        None returns to the rules the env was made with."""
        if isinstance(scenario, dict):
            scenario = Scenario.model_validate(scenario)
        self._pending = (scenario,)

    def _apply_scenario(self, scenario: Scenario | None) -> None:
        self.scenario = scenario
        self.rules = self._base_rules if scenario is None else scenario.rules
        self.start_tick = 0 if scenario is None else scenario.start_tick
        rug_range = None if scenario is None else scenario.rug_range
        self._source = RoundSource(self.rules, self._seed, self._source.chunk, rug_range)

    def _start_round(self, seed: int | None, options: dict[str, Any] | None) -> None:
        super().reset(seed=seed)
        if seed is not None:
            self._seed = seed
            self._source = RoundSource(self.rules, seed, self._source.chunk, self._source.rug_range)
            self._next_index = 0
        if self._pending is not None:
            self._apply_scenario(self._pending[0])
            self._pending = None
        if options and options.get("round_index") is not None:
            self._next_index = int(options["round_index"])
        self.round_index, self.prices = self._source.next_round(self._next_index)
        self._next_index = self.round_index + 1
        self.rug_tick = len(self.prices)
        self.features = round_observations(self.prices, connected_players=self.connected_players)
        self.tick = self.start_tick

    def _features_now(self) -> np.ndarray:
        """The no-sidebet observation now; at the rug the last one, marked inactive."""
        if self.tick < self.rug_tick:
            return self.features[self.tick].copy()
        return observation_from_prices(
            self.prices, self.tick, active=False, connected_players=self.connected_players
        )

    def _round_info(self) -> dict[str, Any]:
        info = {"round_index": self.round_index, "tick": self.tick, "rug_tick": self.rug_tick}
        if self.scenario is not None:
            info["scenario"] = self.scenario.id
        return info


class SidebetV1Env(_RoundEnv):
    """The bot's sidebet-timing env on simulated rounds of `rules` (see module doc)."""

    def __init__(
        self,
        rules: GameRules,
        seed: int = 0,
        *,
        stake: float | None = None,
        connected_players: float = CONNECTED_PLAYERS,
        bet_start_tick: int = BET_START_TICK,
        scenario: Scenario | None = None,
    ) -> None:
        super().__init__(rules, seed, connected_players, scenario)
        self.stake = default_stake(rules) if stake is None else float(stake)
        if not rules.min_bet <= self.stake <= rules.max_bet:
            raise ValueError(f"stake {self.stake} outside [{rules.min_bet}, {rules.max_bet}]")
        self.bet_start_tick = bet_start_tick
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(N_FEATURES,), dtype=np.float32)
        self.bet_tick = NO_BET

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._start_round(seed, options)
        self.bet_tick = NO_BET
        return self._observation(), self._round_info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (HOLD) or 1 (BET), got {action!r}")
        if self.tick >= self.rug_tick:
            raise RuntimeError("the round is over: call reset()")
        if action == BET and self.tick >= self.bet_start_tick and self.bet_tick == NO_BET:
            self.bet_tick = self.tick
        self.tick += 1
        terminated = self.tick >= self.rug_tick
        info = self._round_info() | {"bet_tick": None if self.bet_tick == NO_BET else self.bet_tick}
        reward = 0.0
        if terminated:
            reward = float(training_reward(self.rules, self.bet_tick, self.rug_tick))
            info["pnl"] = float(sidebet_pnl(self.rules, self.bet_tick, self.rug_tick, self.stake))
            info["bet_won"] = None if self.bet_tick == NO_BET else info["pnl"] > 0
        return self._observation(), reward, terminated, False, info

    def _observation(self) -> np.ndarray:
        end = None if self.bet_tick == NO_BET else self.bet_tick + self.rules.sidebet_window
        return with_sidebet(self._features_now(), end)


@dataclass(frozen=True)
class TradingAction:
    """What a `TradingEnv` action index means: kind and SOL amount or sell fraction."""

    kind: str  # "hold" | "buy" | "sell" | "sidebet"
    amount: float = 0.0


def trading_actions(
    rules: GameRules,
    buy_amounts: tuple[float, ...],
    sell_fractions: tuple[float, ...],
    sidebet_amounts: tuple[float, ...],
) -> list[TradingAction]:
    """The trading envs' action list (index 0 holds), checked against the bet limits."""
    for amount in (*buy_amounts, *sidebet_amounts):
        if not rules.min_bet <= amount <= rules.max_bet:
            raise ValueError(f"amount {amount} outside [{rules.min_bet}, {rules.max_bet}]")
    if not all(0.0 < f <= 1.0 for f in sell_fractions):
        raise ValueError("sell fractions must be in (0, 1]")
    return [
        TradingAction("hold"),
        *(TradingAction("buy", a) for a in buy_amounts),
        *(TradingAction("sell", f) for f in sell_fractions),
        *(TradingAction("sidebet", a) for a in sidebet_amounts),
    ]


class TradingEnv(_RoundEnv):
    """Buy/sell/sidebet on simulated rounds, PnL in SOL under the mode's economics.

    Actions: index 0 holds; then one per buy amount (SOL), per sell fraction of the
    position, per sidebet amount (see `action_meaning`). Trades fill at the current
    tick's price less `commission`; at the rug the position is sold at `rules.rug_price`.
    A sidebet needs no open sidebet and `sidebet_cooldown_ticks` since the last one was
    settled; an action the rules forbid is a HOLD (`info["rejected"]`). Observation: the
    15 sidebet features, then position qty, average cost, open value and PnL so far.
    """

    EXTRA_FEATURES = ("position_qty", "avg_cost", "position_value", "pnl")

    def __init__(
        self,
        rules: GameRules,
        seed: int = 0,
        *,
        buy_amounts: tuple[float, ...] = (0.01, 0.1),
        sell_fractions: tuple[float, ...] = (0.5, 1.0),
        sidebet_amounts: tuple[float, ...] = (0.01, 0.1),
        connected_players: float = CONNECTED_PLAYERS,
        scenario: Scenario | None = None,
    ) -> None:
        super().__init__(rules, seed, connected_players, scenario)
        self.actions = trading_actions(rules, buy_amounts, sell_fractions, sidebet_amounts)
        self.action_space = spaces.Discrete(len(self.actions))
        size = N_FEATURES + len(self.EXTRA_FEATURES)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)

    def action_meaning(self, action: int) -> TradingAction:
        return self.actions[int(action)]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._start_round(seed, options)
        self.cash = 0.0  # SOL in minus SOL out since the round started
        self.qty = 0.0
        self.cost = 0.0
        self.sidebet: tuple[int, float] | None = None  # (start tick, stake)
        self.next_sidebet_tick = 0
        self.trades: list[tuple[int, str, float]] = []
        return self._observation(), self._round_info()

    @property
    def price(self) -> float:
        return float(self.prices[min(self.tick, self.rug_tick - 1)])

    def equity(self) -> float:
        """PnL so far if the position were sold now (at the rug price once rugged)."""
        price = self.price if self.tick < self.rug_tick else self.rules.rug_price
        return self.cash + self.qty * price * (1.0 - self.rules.commission)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in 0..{self.action_space.n - 1}, got {action!r}")
        if self.tick >= self.rug_tick:
            raise RuntimeError("the round is over: call reset()")
        before = self.equity()
        rejected = not self._apply(self.actions[int(action)])
        self.tick += 1
        self._settle_sidebet()
        terminated = self.tick >= self.rug_tick
        if terminated and self.qty > 0:
            self.trades.append((self.tick, "sell", self.qty))
            self.cash += self.qty * self.rules.rug_price * (1.0 - self.rules.commission)
            self.qty = self.cost = 0.0
        info = self._round_info() | {"rejected": rejected}
        if terminated:
            info["pnl"] = self.cash
        return self._observation(), self.equity() - before, terminated, False, info

    def _apply(self, action: TradingAction) -> bool:
        """Apply an action at the current price; False when the rules forbid it."""
        price, fee = self.price, 1.0 - self.rules.commission
        if action.kind == "buy":
            if price <= 0.0:
                return False
            self.cash -= action.amount
            self.qty += action.amount * fee / price
            self.cost += action.amount
        elif action.kind == "sell":
            if self.qty <= 0.0:
                return False
            sold = self.qty * action.amount
            self.cash += sold * price * fee
            self.cost *= 1.0 - action.amount
            self.qty -= sold
        elif action.kind == "sidebet":
            if self.sidebet is not None or self.tick < self.next_sidebet_tick:
                return False
            self.cash -= action.amount
            self.sidebet = (self.tick, action.amount)
        if action.kind != "hold":
            self.trades.append((self.tick, action.kind, action.amount))
        return True

    def _settle_sidebet(self) -> None:
        """At the rug inside the window the sidebet pays; alive at the first tick past
        the window it is lost (settled then, as `game.personas` settles them)."""
        if self.sidebet is None:
            return
        start, stake = self.sidebet
        if self.tick >= self.rug_tick or self.tick > self.rules.sidebet_last_winning_tick(start):
            self.cash += stake + float(sidebet_pnl(self.rules, start, self.rug_tick, stake))
            self.sidebet = None
            self.next_sidebet_tick = self.tick + self.rules.sidebet_cooldown_ticks

    def _observation(self) -> np.ndarray:
        end = None if self.sidebet is None else self.sidebet[0] + self.rules.sidebet_window
        base = with_sidebet(self._features_now(), end)
        avg_cost = self.cost / self.qty if self.qty > 0 else 0.0
        value = self.equity() - self.cash
        extra = np.array([self.qty, avg_cost, value, self.equity()], dtype=np.float32)
        return np.concatenate([base, extra])
