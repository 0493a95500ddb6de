"""Many rounds stepped at once: the envs of `game.envs` as numpy batches, for fast training.

`SidebetBatch(rules, n_envs, seed)` and `TradingBatch(...)` hold `n_envs` independent
envs; env i plays what `SidebetV1Env(rules, seed=seed + i)` (or `TradingEnv`) plays, in
the same order, and `step(actions)` advances all of them with a few numpy calls. A
finished episode is restarted on the next round at once (the auto-reset of vectorized
envs): the step returns the new episode's first observation and, in `Step.terminal_obs`,
the one the step env would have returned at the end. Observations, rewards and episode
ends equal the step envs' bit for bit (tested over many episodes).

Rounds are simulated ahead in batches for all envs at once (`simulate_keys` over the
(seed, round index) pairs they need): a round depends only on its seed and index, so
which rounds an env plays never depends on the batching. `set_scenario(scenario,
indices)` switches envs to a `game.scenarios.Scenario` from their next episode on, as
`set_scenario` of the step envs does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from game.observation import (
    BET_START_TICK,
    COLUMN,
    CONNECTED_PLAYERS,
    N_FEATURES,
    round_observations,
)
from game.rules import GameRules
from game.scenarios import Scenario
from game.sidebets import NO_BET, default_stake, sidebet_pnl, training_reward
from game.simulator import keys_of, rug_ticks_of, simulate_keys

__all__ = ["SidebetBatch", "Step", "TradingBatch", "vec_infos"]

ROUNDS_PER_REFILL = 512
_TICK, _ACTIVE = COLUMN["tick"], COLUMN["active"]
_SIDEBET, _REMAINING, _CAN_PLACE = (
    COLUMN["sidebet_active"],
    COLUMN["ticks_remaining"],
    COLUMN["can_place"],
)


@dataclass
class Step:
    """One step of every env: `obs` is each env's next observation (a new episode's
    first one where `done`); `terminal_obs[k]` and `info[k]` belong to the k-th finished
    env, `np.flatnonzero(done)[k]`."""

    obs: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    terminal_obs: np.ndarray
    info: list[dict[str, Any]] = field(default_factory=list)


def vec_infos(step: Step, n_envs: int) -> list[dict[str, Any]]:
    """One info dict per env as vectorized envs give them (SB3's `VecEnv`): a finished
    env's info with its `terminal_observation` (never truncated: rounds end by the rug
    or the rules' tick cap), the others empty."""
    infos: list[dict[str, Any]] = [{} for _ in range(n_envs)]
    for k, i in enumerate(np.flatnonzero(step.done)):
        infos[i] = step.info[k] | {
            "terminal_observation": step.terminal_obs[k],
            "TimeLimit.truncated": False,
        }
    return infos


class _Setting:
    """What an env plays: rules, first tick, rug ticks kept (a scenario, or the base)."""

    def __init__(self, rules: GameRules, scenario: Scenario | None) -> None:
        self.scenario = scenario
        self.rules = rules if scenario is None else scenario.rules
        self.start_tick = 0 if scenario is None else scenario.start_tick
        self.rug_range = None if scenario is None else scenario.rug_range
        self.acceptance = 1.0 if scenario is None else scenario.acceptance
        self.key = None if scenario is None else scenario.id
        # scenarios with the same rules share a simulation (they differ in the rounds kept
        # and the first tick only)
        self.rules_key = None if scenario is None else (
            scenario.mode, scenario.hazard_scale, scenario.volatility_scale)  # fmt: skip


class _RoundBatch:
    """Per-env queues of upcoming rounds, refilled for every env at once."""

    def __init__(self, base: GameRules, n_envs: int, seed: int, queue: int) -> None:
        self.base, self.n, self.queue = base, n_envs, queue
        self.seeds = seed + np.arange(n_envs)
        self.scan = np.zeros(n_envs, dtype=np.int64)  # next round index to look at
        self.next = np.zeros(n_envs, dtype=np.int64)  # index after the last round played
        self.settings = [_Setting(base, None)] * n_envs  # of each env's upcoming rounds
        self.rounds: list[deque[tuple[int, np.ndarray]]] = [deque() for _ in range(n_envs)]

    def restart(self, env: int, seed: int) -> None:
        self.seeds[env], self.scan[env], self.next[env] = seed, 0, 0
        self.rounds[env].clear()

    def set_setting(self, env: int, setting: _Setting) -> None:
        """The env's next rounds follow `setting` (the episode under way keeps its own):
        rounds queued for the old setting are dropped, the scan resumes after the round
        played last, so the next refill tops this env up with the others."""
        self.scan[env] = self.next[env]
        self.rounds[env].clear()
        self.settings[env] = setting

    def take(self, env: int) -> tuple[int, np.ndarray, _Setting]:
        """The env's next round (index, prices) and its setting."""
        if not self.rounds[env]:
            self._refill()
        index, prices = self.rounds[env].popleft()
        self.next[env] = index + 1
        return index, prices, self.settings[env]

    def _refill(self) -> None:
        """Top up every env's queue (one simulation per set of rules: its cost is mostly
        the loop over ticks, so the more rounds per call the cheaper each)."""
        short = [i for i in range(self.n) if len(self.rounds[i]) < self.queue]
        groups: dict[Any, list[int]] = {}
        for i in short:
            groups.setdefault(self.settings[i].rules_key, []).append(i)
        for envs in groups.values():
            self._refill_group(np.array(envs))

    def _refill_group(self, envs: np.ndarray) -> None:
        rules = self.settings[int(envs[0])].rules
        want = np.array([self.queue - len(self.rounds[i]) for i in envs])
        while len(envs):
            settings = [self.settings[i] for i in envs]
            acceptance = min(s.acceptance for s in settings)
            span = int(np.ceil(want.max() / acceptance * 1.3)) + 4
            index = self.scan[envs][:, None] + np.arange(span)[None, :]
            keys = keys_of(np.repeat(self.seeds[envs], span), index.ravel())
            rug = rug_ticks_of(rules, keys).reshape(len(envs), span)
            bounds = np.array([s.rug_range or (0, np.iinfo(np.int64).max) for s in settings])
            kept = (rug >= bounds[:, :1]) & (rug <= bounds[:, 1:])
            rank = np.cumsum(kept, axis=1)  # 1-based rank of each kept round in its env
            take = kept & (rank <= want[:, None])
            row, col = np.nonzero(take)
            prices = simulate_keys(rules, keys.reshape(len(envs), span)[row, col],
                                   rug[row, col])[0]  # fmt: skip
            for k, (r, c) in enumerate(zip(row, col, strict=True)):
                env = int(envs[r])
                self.rounds[env].append((int(index[r, c]), prices[k, : rug[r, c]]))
            got = take.sum(axis=1)
            after_taken = np.max(np.where(take, index, -1), axis=1) + 1
            self.scan[envs] = np.where(got >= want, after_taken, index[:, -1] + 1)
            more = got < want
            envs, want = envs[more], (want - got)[more]


class _BatchEnv:
    """State shared by both batches: rounds, ticks, features of the current rounds."""

    n_extra = 0

    def __init__(
        self,
        rules: GameRules,
        n_envs: int,
        seed: int,
        connected_players: float,
        queue: int | None,
        scenario: Scenario | None,
    ) -> None:
        if n_envs < 1:
            raise ValueError("n_envs must be >= 1")
        if queue is None:  # rounds simulated ahead per env: about 512 per refill in all
            queue = max(8, -(-ROUNDS_PER_REFILL // n_envs))
        self.rules, self.n_envs, self.connected_players = rules, n_envs, connected_players
        self._rounds = _RoundBatch(rules, n_envs, seed, queue)
        if scenario is not None:
            self.set_scenario(scenario)
        self.round_index = np.full(n_envs, -1, dtype=np.int64)
        self.tick = np.zeros(n_envs, dtype=np.int64)
        self.rug_tick = np.ones(n_envs, dtype=np.int64)
        self._features: list[np.ndarray] = [np.zeros((1, N_FEATURES), np.float32)] * n_envs
        self._prices: list[np.ndarray] = [np.ones(1)] * n_envs
        self._settings = list(self._rounds.settings)

    @property
    def scenarios(self) -> list[Scenario | None]:
        """The scenario each env's current episode plays (None: the base rules)."""
        return [s.scenario for s in self._settings]

    def set_scenario(
        self, scenario: Scenario | dict[str, Any] | None, indices: Sequence[int] | None = None
    ) -> None:
        """Play `scenario` in the envs `indices` (default all) from their next episode."""
        if isinstance(scenario, dict):
            scenario = Scenario.model_validate(scenario)
        setting = _Setting(self.rules, scenario)
        for i in range(self.n_envs) if indices is None else indices:
            self._rounds.set_setting(int(i), setting)

    def reset(self, seeds: Sequence[int | None] | None = None) -> np.ndarray:
        """Start a new episode in every env (an env given a seed restarts on its rounds)."""
        for i in range(self.n_envs):
            if seeds is not None and seeds[i] is not None:
                self._rounds.restart(i, int(seeds[i]))
            self._start(i)
        return self._observe(np.arange(self.n_envs))

    def _start(self, i: int) -> None:
        index, prices, setting = self._rounds.take(i)
        self.round_index[i], self._prices[i], self._settings[i] = index, prices, setting
        self.rug_tick[i] = len(prices)
        self.tick[i] = setting.start_tick
        self._features[i] = round_observations(prices, connected_players=self.connected_players)
        self._start_episode(i)

    def _start_episode(self, i: int) -> None:
        raise NotImplementedError

    def _observe(self, envs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _base_features(self, envs: np.ndarray) -> np.ndarray:
        """The no-sidebet features of `envs` at their ticks (all alive)."""
        out = np.empty((len(envs), N_FEATURES), dtype=np.float32)
        for k, i in enumerate(envs):
            out[k] = self._features[i][self.tick[i]]
        return out

    def _rug_features(self, envs: np.ndarray) -> np.ndarray:
        """At the rug: the last features with tick = rug tick, `active` 0 (as
        `observation_from_prices(prices, rug_tick, active=False)`)."""
        out = np.empty((len(envs), N_FEATURES), dtype=np.float32)
        for k, i in enumerate(envs):
            out[k] = self._features[i][-1]
        tick = self.rug_tick[envs]
        out[:, _TICK] = tick
        out[:, COLUMN["ticks_since_peak"]] = tick - out[:, COLUMN["peak_tick"]]
        out[:, COLUMN["bet_allowed"]] = tick >= BET_START_TICK
        out[:, _ACTIVE] = 0.0
        return out

    def _by_setting(self, envs: np.ndarray) -> dict[int, np.ndarray]:
        """`envs` grouped by the setting they play (index of its first env -> rows)."""
        groups: dict[int, list[int]] = {}
        first: dict[Any, int] = {}
        for k, i in enumerate(envs):
            key = self._settings[i].key
            groups.setdefault(first.setdefault(key, int(i)), []).append(k)
        return {i: np.array(rows) for i, rows in groups.items()}

    def _info(self, i: int) -> dict[str, Any]:
        info = {
            "round_index": int(self.round_index[i]),
            "tick": int(self.tick[i]),
            "rug_tick": int(self.rug_tick[i]),
        }
        scenario = self._settings[i].scenario
        if scenario is not None:
            info["scenario"] = scenario.id
        return info


class SidebetBatch(_BatchEnv):
    """`n_envs` copies of `SidebetV1Env` (env i on seed `seed + i`), stepped together."""

    def __init__(
        self,
        rules: GameRules,
        n_envs: int,
        seed: int = 0,
        *,
        stake: float | None = None,
        connected_players: float = CONNECTED_PLAYERS,
        bet_start_tick: int = BET_START_TICK,
        scenario: Scenario | None = None,
        queue: int | None = None,
    ) -> None:
        self.stake = default_stake(rules) if stake is None else float(stake)
        if not rules.min_bet <= self.stake <= rules.max_bet:
            raise ValueError(f"stake {self.stake} outside [{rules.min_bet}, {rules.max_bet}]")
        self.bet_start_tick = bet_start_tick
        self.bet_tick = np.full(n_envs, NO_BET, dtype=np.int64)
        self.window = np.zeros(n_envs, dtype=np.int64)
        super().__init__(rules, n_envs, seed, connected_players, queue, scenario)

    def _start_episode(self, i: int) -> None:
        self.bet_tick[i] = NO_BET
        self.window[i] = self._settings[i].rules.sidebet_window

    def _with_sidebet(self, obs: np.ndarray, envs: np.ndarray) -> np.ndarray:
        """The sidebet columns, as `game.observation.with_sidebet` fills them."""
        tick, bet = obs[:, _TICK].astype(np.int64), self.bet_tick[envs]
        end = bet + self.window[envs]
        open_bet = (bet != NO_BET) & (tick < end)
        obs[:, _SIDEBET] = open_bet
        obs[:, _REMAINING] = np.where(open_bet, end - tick, 0)
        obs[:, _CAN_PLACE] = (obs[:, _ACTIVE] > 0) & ~open_bet
        return obs

    def _observe(self, envs: np.ndarray) -> np.ndarray:
        return self._with_sidebet(self._base_features(envs), envs)

    def step(self, actions: np.ndarray) -> Step:
        actions = np.asarray(actions).reshape(-1)
        if actions.shape != (self.n_envs,) or not ((actions == 0) | (actions == 1)).all():
            raise ValueError(f"actions must be {self.n_envs} values of 0 (HOLD) or 1 (BET)")
        bet = (actions == 1) & (self.tick >= self.bet_start_tick) & (self.bet_tick == NO_BET)
        self.bet_tick[bet] = self.tick[bet]
        self.tick += 1
        done = self.tick >= self.rug_tick
        ended = np.flatnonzero(done)
        reward = np.zeros(self.n_envs, dtype=np.float32)
        terminal = self._with_sidebet(self._rug_features(ended), ended)
        infos = []
        if len(ended):
            pnl = np.zeros(len(ended))
            for first, rows in self._by_setting(ended).items():
                rules, envs = self._settings[first].rules, ended[rows]
                bet_tick, rug = self.bet_tick[envs], self.rug_tick[envs]
                reward[envs] = training_reward(rules, bet_tick, rug)
                pnl[rows] = sidebet_pnl(rules, bet_tick, rug, self.stake)
            for k, i in enumerate(ended):
                placed = self.bet_tick[i] != NO_BET
                info = self._info(i) | {"bet_tick": int(self.bet_tick[i]) if placed else None}
                info["pnl"] = float(pnl[k])
                info["bet_won"] = bool(pnl[k] > 0) if placed else None
                infos.append(info)
                self._start(int(i))
        obs = self._observe(np.arange(self.n_envs))
        return Step(obs, reward, done, terminal, infos)


class TradingBatch(_BatchEnv):
    """`n_envs` copies of `TradingEnv` (env i on seed `seed + i`), stepped together."""

    EXTRA_FEATURES = ("position_qty", "avg_cost", "position_value", "pnl")

    def __init__(
        self,
        rules: GameRules,
        n_envs: int,
        seed: int = 0,
        *,
        buy_amounts: tuple[float, ...] = (0.01, 0.1),
        sell_fractions: tuple[float, ...] = (0.5, 1.0),
        sidebet_amounts: tuple[float, ...] = (0.01, 0.1),
        connected_players: float = CONNECTED_PLAYERS,
        scenario: Scenario | None = None,
        queue: int | None = None,
    ) -> None:
        from game.envs import trading_actions  # gymnasium: only where a trading batch is built

        self.actions = trading_actions(rules, buy_amounts, sell_fractions, sidebet_amounts)
        kinds = [a.kind for a in self.actions]
        self._kind = np.array([("hold", "buy", "sell", "sidebet").index(k) for k in kinds])
        self._amount = np.array([a.amount for a in self.actions])
        z = np.zeros(n_envs)
        self.cash, self.qty, self.cost = z.copy(), z.copy(), z.copy()
        self.sidebet_start = np.full(n_envs, NO_BET, dtype=np.int64)
        self.sidebet_stake = z.copy()
        self.next_sidebet_tick = np.zeros(n_envs, dtype=np.int64)
        self.trades = np.zeros(n_envs, dtype=np.int64)
        self._rules_arrays = np.zeros((n_envs, 5))  # commission, last-win offset, cooldown...
        super().__init__(rules, n_envs, seed, connected_players, queue, scenario)

    def _start_episode(self, i: int) -> None:
        self.cash[i] = self.qty[i] = self.cost[i] = self.sidebet_stake[i] = 0.0
        self.sidebet_start[i] = NO_BET
        self.next_sidebet_tick[i] = 0
        self.trades[i] = 0
        rules = self._settings[i].rules
        last_win = rules.sidebet_window - (0 if rules.window_end_inclusive else 1)
        self._rules_arrays[i] = (
            rules.commission,
            last_win,
            rules.sidebet_cooldown_ticks,
            rules.rug_price,
            rules.sidebet_profit_multiple,
        )

    def _price_now(self, envs: np.ndarray) -> np.ndarray:
        """The price at each env's tick (the last one once rugged), as `TradingEnv.price`."""
        return np.array(
            [self._prices[i][min(self.tick[i], self.rug_tick[i] - 1)] for i in envs], dtype=float
        )

    def _equity(self, envs: np.ndarray, price: np.ndarray) -> np.ndarray:
        """`TradingEnv.equity()`: cash + qty * price * (1 - commission), rug price once
        rugged; the same operations in the same order, so the same float64 results."""
        fee = 1.0 - self._rules_arrays[envs, 0]
        rugged = self.tick[envs] >= self.rug_tick[envs]
        mark = np.where(rugged, self._rules_arrays[envs, 3], price)
        return self.cash[envs] + self.qty[envs] * mark * fee

    def _observe(self, envs: np.ndarray, alive: bool = True) -> np.ndarray:
        base = self._base_features(envs) if alive else self._rug_features(envs)
        start = self.sidebet_start[envs]
        end = start + self._window(envs)
        tick = base[:, _TICK].astype(np.int64)
        open_bet = (start != NO_BET) & (tick < end)
        base[:, _SIDEBET] = open_bet
        base[:, _REMAINING] = np.where(open_bet, end - tick, 0)
        base[:, _CAN_PLACE] = (base[:, _ACTIVE] > 0) & ~open_bet
        equity = self._equity(envs, self._price_now(envs))
        qty = self.qty[envs]
        with np.errstate(divide="ignore", invalid="ignore"):
            avg = np.where(qty > 0, self.cost[envs] / qty, 0.0)
        extra = np.stack([qty, avg, equity - self.cash[envs], equity], axis=1).astype(np.float32)
        return np.concatenate([base, extra], axis=1)

    def _window(self, envs: np.ndarray) -> np.ndarray:
        return np.array([self._settings[i].rules.sidebet_window for i in envs], dtype=np.int64)

    def step(self, actions: np.ndarray) -> Step:
        actions = np.asarray(actions).reshape(-1)
        if actions.shape != (self.n_envs,) or not np.isin(actions, range(len(self.actions))).all():
            raise ValueError(f"actions must be {self.n_envs} values in 0..{len(self.actions) - 1}")
        every = np.arange(self.n_envs)
        price = self._price_now(every)
        before = self._equity(every, price)
        kind, amount = self._kind[actions], self._amount[actions]
        fee = 1.0 - self._rules_arrays[:, 0]
        accepted = self._apply(kind, amount, price, fee)
        self.trades += accepted & (kind != 0)
        self.tick += 1
        self._settle_sidebets()
        done = self.tick >= self.rug_tick
        forced = done & (self.qty > 0)
        self.cash[forced] += self.qty[forced] * self._rules_arrays[forced, 3] * fee[forced]
        self.qty[forced] = self.cost[forced] = 0.0
        reward = (self._equity(every, self._price_now(every)) - before).astype(np.float32)
        ended = np.flatnonzero(done)
        terminal = self._observe(ended, alive=False)
        infos = []
        for i in ended:
            info = self._info(i) | {"rejected": bool(not accepted[i]), "pnl": float(self.cash[i])}
            info["trades"] = int(self.trades[i])  # the player's own, not the forced sell
            infos.append(info)
            self._start(int(i))
        obs = self._observe(every)
        return Step(obs, reward, done, terminal, infos)

    def _apply(
        self, kind: np.ndarray, amount: np.ndarray, price: np.ndarray, fee: np.ndarray
    ) -> np.ndarray:
        """Apply each env's action at its price; False where the rules forbid it."""
        buy = (kind == 1) & (price > 0.0)
        self.cash[buy] -= amount[buy]
        self.qty[buy] += amount[buy] * fee[buy] / price[buy]
        self.cost[buy] += amount[buy]
        sell = (kind == 2) & (self.qty > 0.0)
        sold = self.qty[sell] * amount[sell]
        self.cash[sell] += sold * price[sell] * fee[sell]
        self.cost[sell] *= 1.0 - amount[sell]
        self.qty[sell] -= sold
        side = (kind == 3) & (self.sidebet_start == NO_BET) & (self.tick >= self.next_sidebet_tick)
        self.cash[side] -= amount[side]
        self.sidebet_start[side] = self.tick[side]
        self.sidebet_stake[side] = amount[side]
        return (kind == 0) | buy | sell | side

    def _settle_sidebets(self) -> None:
        """As `TradingEnv._settle_sidebet`: paid at the rug inside the window, lost at
        the first tick past it; the cooldown counts from the settlement."""
        start, stake = self.sidebet_start, self.sidebet_stake
        open_bet = start != NO_BET
        last_win = start + self._rules_arrays[:, 1].astype(np.int64)
        rugged = self.tick >= self.rug_tick
        settle = open_bet & (rugged | (self.tick > last_win))
        if not settle.any():
            return
        won = self.rug_tick <= last_win
        pnl = np.where(won, stake * self._rules_arrays[:, 4], -stake)
        self.cash[settle] += stake[settle] + pnl[settle]
        self.sidebet_start[settle] = NO_BET
        self.sidebet_stake[settle] = 0.0
        cooldown = self._rules_arrays[:, 2].astype(np.int64)
        self.next_sidebet_tick[settle] = self.tick[settle] + cooldown[settle]
