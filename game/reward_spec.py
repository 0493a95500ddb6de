"""A sidebet env's training reward as declarative data, computed in training and solved exactly.

A reward spec (JSON, never code) says what `SidebetV1Env` pays:
- `terminal`: `win` and `loss` per bet, paid at the rug (`settle: "rug"`, the bot's env)
  or when the outcome is decided (`"decided"`: a loss at the first tick past the window);
  `skip`: what a round without a bet pays, by round length (the rug tick) in bands;
- `steps`: terms paid on every step whose chosen action matches and whose observation
  (the one the action was chosen on) meets every condition `{field, op, value}`;
- `paid_expected_value`: w pays w x EV(t) (the exact expected profit per unit staked)
  at the step a bet is placed at tick t;
- `shaping`: potential-based shaping F = gamma * Phi(s') - Phi(s), Phi(terminal) = 0,
  with Phi the oracle's value before a bet and, after it, what the open bet is still
  expected to pay under the spec's own win/loss, which changes no policy's ranking
  (Ng, Harada, Russell 1999).

`RewardComputer` pays a spec over a batch of envs step by step (the training wrapper);
`solve` finds the spec's optimal policy by backward induction over (tick, bet age): the
rug ignores the chart, so the state that matters is the tick and the open bet's age;
step terms conditioned on chart fields enter with how often their condition holds at
each tick over simulated charts (`chart_frequencies`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from game.observation import BET_START_TICK, COLUMN, CONNECTED_PLAYERS, FEATURES
from game.oracle import sidebet_ev_by_tick
from game.rules import GameRules
from game.sidebets import LOSS_REWARD, NO_BET, SKIP_REWARD_LONG, SKIP_REWARDS, WIN_REWARD

Field_ = Literal[FEATURES]  # type: ignore[valid-type]
TICK_FIELDS = frozenset(
    {"tick", "active", "connected_players", "sidebet_active", "ticks_remaining", "can_place",
     "bet_allowed"}
)  # fmt: skip
"""Observation fields fixed by the tick and the bet (the rest describe the chart)."""
CHART_FIELDS = frozenset(FEATURES) - TICK_FIELDS
LOG_FLOOR = -745.0  # exp() of this is 0 in float64: a tick no round lives to


def _broken(message: str) -> PydanticCustomError:
    """A rule across fields (type `cross_field`, as `capabilities.engines.rules` names it)."""
    return PydanticCustomError("cross_field", "{rule}", {"rule": message})


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: Field_ = Field(description="an observation field of SidebetV1Env")
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float

    _check = field_validator("value")(_finite)

    def holds(self, column: np.ndarray) -> np.ndarray:
        # float64: a bound beyond float32's range compares as itself, not as an overflow
        v = np.float64(self.value)
        return {
            "<": column < v, "<=": column <= v, ">": column > v, ">=": column >= v,
            "==": column == v, "!=": column != v,
        }[self.op]  # fmt: skip


class StepTerm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\- ]+$")
    reward: float = Field(ge=-100, le=100, description="paid on each step that qualifies")
    action: Literal["any", "hold", "bet"] = Field(
        "any", description="the action the policy chose (a BET the env ignores counts as bet)"
    )
    when: list[Condition] = Field(default_factory=list, max_length=8)

    @property
    def chart_conditions(self) -> list[Condition]:
        return [c for c in self.when if c.field in CHART_FIELDS]


class SkipBand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_ticks: int = Field(0, ge=0, le=5000, description="shortest round length (rug tick)")
    max_ticks: int | None = Field(None, ge=0, le=5000, description="longest (inclusive)")
    reward: float = Field(ge=-100, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> SkipBand:
        if self.max_ticks is not None and self.max_ticks < self.min_ticks:
            raise _broken(f"max_ticks ({self.max_ticks}) is below min_ticks ({self.min_ticks})")
        return self

    @property
    def top(self) -> int:
        return 10**9 if self.max_ticks is None else self.max_ticks


class Terminal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    win: float = Field(WIN_REWARD, ge=-100, le=100, description="a bet that wins")
    loss: float = Field(LOSS_REWARD, ge=-100, le=100, description="a bet that loses")
    skip: list[SkipBand] = Field(
        default_factory=list,
        max_length=16,
        description="a round without a bet, by its length; lengths in no band pay 0",
    )
    settle: Literal["rug", "decided"] = Field(
        "rug", description="pay win/loss at the rug (the bot's env) or when decided"
    )

    @field_validator("skip")
    @classmethod
    def _disjoint(cls, bands: list[SkipBand]) -> list[SkipBand]:
        ordered = sorted(enumerate(bands), key=lambda b: b[1].min_ticks)
        for (i, a), (j, b) in pairwise(ordered):
            if b.min_ticks <= a.top:
                raise _broken(f"bands {i} and {j} overlap (round lengths must fall in one band)")
        return bands

    def skip_reward(self, length: np.ndarray) -> np.ndarray:
        out = np.zeros(np.shape(length))
        for band in self.skip:
            out = np.where((length >= band.min_ticks) & (length <= band.top), band.reward, out)
        return out


class Shaping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    potential: Literal["true_value"] = Field(
        "true_value", description="Phi = the state's true expected profit (EV engine)"
    )
    gamma: float = Field(0.99, ge=0.5, le=1.0, description="must be the learner's discount")
    weight: float = Field(1.0, gt=0, le=10, description="Phi is multiplied by this")


class RewardSpec(BaseModel):
    """A sidebet env's reward (see module doc); the defaults are the bot's win/loss."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "x-cross-field-rules": [
                "skip bands do not overlap; max_ticks >= min_ticks",
                "some term pays something (a reward of all zeros trains nothing)",
                "step term names are unique",
            ]
        },
    )

    name: str | None = Field(None, max_length=100)
    terminal: Terminal = Field(default_factory=Terminal)
    steps: list[StepTerm] = Field(default_factory=list, max_length=16)
    paid_expected_value: float = Field(
        0.0, ge=0, le=10, description="pays this x EV(t) per unit at the step a bet is placed"
    )
    shaping: Shaping | None = None

    @model_validator(mode="after")
    def _pays(self) -> RewardSpec:
        t = self.terminal
        if not (t.win or t.loss or any(b.reward for b in t.skip) or self.paid_expected_value
                or any(s.reward for s in self.steps)):  # fmt: skip
            raise _broken("every term pays 0: nothing to learn from")
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise _broken("step term names must be unique")
        return self


_SKIP_FROM = [0, *(limit for limit, _ in SKIP_REWARDS)]  # 0, 200, 300
_SKIP_PAYS = [*(reward for _, reward in SKIP_REWARDS), SKIP_REWARD_LONG]
BOT_REWARD: dict[str, Any] = {
    "name": "VECTRA-PLAYER SidebetV1Env v4",
    "terminal": {
        "win": WIN_REWARD,
        "loss": LOSS_REWARD,
        "skip": [
            {"min_ticks": lo, "max_ticks": None if hi is None else hi - 1, "reward": r}
            for lo, hi, r in zip(_SKIP_FROM, [*_SKIP_FROM[1:], None], _SKIP_PAYS, strict=True)
        ],
        "settle": "rug",
    },
}
"""The bot's own reward (GAME.md; `game.sidebets.training_reward`) as a spec."""


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class RewardTables:
    """The exact per-tick quantities paid EV and the potential need (per unit staked).

    `ev[t]`: expected profit of a bet placed at tick t; `value[t]`: the oracle's value
    at tick t before any bet (undiscounted); `log_survival[t]`: log P(alive at t)."""

    ev: np.ndarray
    value: np.ndarray
    log_survival: np.ndarray
    profit_multiple: float
    window: int
    last_win: int  # a bet placed at b wins when the rug tick <= b + last_win
    bet_start_tick: int

    @classmethod
    def of(
        cls,
        rules: GameRules,
        hazard: np.ndarray | None = None,
        bet_start_tick: int = BET_START_TICK,
    ) -> RewardTables:
        h = rules.hazard(np.arange(1, rules.max_ticks + 1)) if hazard is None else hazard
        ev = sidebet_ev_by_tick(rules, hazard=h)
        value = np.zeros(rules.max_ticks + 1)
        for t in range(rules.max_ticks - 1, -1, -1):
            wait = (1.0 - h[t]) * value[t + 1]
            value[t] = max(ev[t], wait) if t >= bet_start_tick else wait
        with np.errstate(divide="ignore"):
            log_s = np.concatenate([[0.0], np.cumsum(np.log1p(-np.asarray(h, dtype=float)))])
        return cls(
            ev=ev,
            value=value[:-1],
            log_survival=np.maximum(log_s, LOG_FLOOR),
            profit_multiple=rules.sidebet_profit_multiple,
            window=rules.sidebet_window,
            last_win=rules.sidebet_window - (0 if rules.window_end_inclusive else 1),
            bet_start_tick=bet_start_tick,
        )

    def open_payout(self, tick: np.ndarray, bet_tick: np.ndarray, terminal: Terminal) -> np.ndarray:
        """What a bet placed at `bet_tick` is still expected to pay under `terminal`'s win
        and loss, the round alive at `tick` (a loss already paid when decided: 0)."""
        end = np.minimum(bet_tick + self.last_win, len(self.log_survival) - 1)
        t = np.minimum(tick, len(self.log_survival) - 1)
        gap = self.log_survival[np.maximum(end, t)] - self.log_survival[t]
        p = np.where(t < end, -np.expm1(gap), 0.0)
        payout = p * terminal.win + (1.0 - p) * terminal.loss
        if terminal.settle == "decided":
            payout = np.where(tick >= bet_tick + self.last_win, 0.0, payout)
        return payout

    def potential(self, tick: np.ndarray, bet_tick: np.ndarray, terminal: Terminal) -> np.ndarray:
        """Phi(tick, bet): the oracle's value before a bet; after it, what the open bet is
        still expected to pay under the spec's own terminal terms (0 when the spec pays
        its expected profit at placement), so nothing after the decision is noise."""
        t = np.minimum(tick, len(self.value) - 1)
        return np.where(bet_tick == NO_BET, self.value[t],
                        self.open_payout(tick, bet_tick, terminal))  # fmt: skip

    def to_json(self, until: int | None = None) -> dict[str, Any]:
        """The tables for the client's `SpecReward` (ticks a round can reach)."""
        n = len(self.ev) if until is None else until
        return {
            "ev": [round(float(x), 9) for x in self.ev[:n]],
            "value": [round(float(x), 9) for x in self.value[:n]],
            "log_survival": [round(float(x), 9) for x in self.log_survival[: n + 1]],
            "profit_multiple": self.profit_multiple,
            "window": self.window,
            "last_win": self.last_win,
            "bet_start_tick": self.bet_start_tick,
        }


# --------------------------------------------------------------------------- paying


class RewardComputer:
    """Pays `spec` over `n_envs` envs: call `step` with each step's observations (those the
    actions were chosen on), actions, ends and the rug ticks of the ended envs."""

    def __init__(
        self,
        spec: RewardSpec,
        n_envs: int,
        tables: RewardTables,
    ) -> None:
        self.spec, self.tables, self.bet_start = spec, tables, tables.bet_start_tick
        self.bet_tick = np.full(n_envs, NO_BET, dtype=np.int64)

    def step(
        self, obs: np.ndarray, actions: np.ndarray, done: np.ndarray, rug_tick: np.ndarray
    ) -> np.ndarray:
        """Rewards of one step of every env; `rug_tick[i]` is read only where `done[i]`."""
        spec, obs = self.spec, np.asarray(obs, dtype=np.float64)
        actions, done = np.asarray(actions).reshape(-1), np.asarray(done, dtype=bool)
        tick = obs[:, COLUMN["tick"]].astype(np.int64)
        reward = np.zeros(len(tick))
        bet_chosen = actions == 1
        for term in spec.steps:
            ok = np.ones(len(tick), dtype=bool)
            if term.action != "any":
                ok &= bet_chosen == (term.action == "bet")
            for c in term.when:
                ok &= c.holds(obs[:, COLUMN[c.field]])
            reward += np.where(ok, term.reward, 0.0)
        before = self.bet_tick.copy()
        placed = bet_chosen & (tick >= self.bet_start) & (before == NO_BET)
        self.bet_tick[placed] = tick[placed]
        bet = self.bet_tick
        if spec.paid_expected_value:
            ev = self.tables.ev[np.minimum(tick, len(self.tables.ev) - 1)]
            reward += np.where(placed, spec.paid_expected_value * ev, 0.0)
        last_win = self.tables.last_win
        rug = np.where(done, rug_tick, 10**9)
        won = (bet != NO_BET) & (rug <= bet + last_win)
        term = spec.terminal
        if term.settle == "rug":
            outcome = np.where(won, term.win, term.loss)
        else:  # the loss is paid at the first tick past the window, alive
            decided = (bet != NO_BET) & ~done & (tick + 1 == bet + last_win)
            reward += np.where(decided, term.loss, 0.0)
            outcome = np.where(won, term.win, 0.0)
        skip = term.skip_reward(rug)
        reward += np.where(done, np.where(bet == NO_BET, skip, outcome), 0.0)
        if spec.shaping is not None:
            w, g = spec.shaping.weight, spec.shaping.gamma
            phi_now = self.tables.potential(tick, before, term)
            phi_next = np.where(done, 0.0, self.tables.potential(tick + 1, bet, term))
            reward += w * (g * phi_next - phi_now)
        self.bet_tick[done] = NO_BET
        return reward


# --------------------------------------------------------------------------- solving


def chart_frequencies(
    spec: RewardSpec, rules: GameRules, *, rounds: int = 200, horizon: int = 800, seed: int = 7
) -> dict[str, np.ndarray]:
    """Per step term with chart conditions: P(all of them hold at tick t), t < max_ticks,
    over `rounds` simulated charts (the chart law does not depend on the rug; ticks past
    `horizon` take the mean of the last 100)."""
    terms = [s for s in spec.steps if s.chart_conditions]
    if not terms:
        return {}
    from game.observation import round_observations
    from game.simulator import keys_of, simulate_keys

    keys = keys_of(np.full(rounds, seed), np.arange(rounds))
    prices = simulate_keys(rules, keys, np.full(rounds, horizon))[0]
    obs = round_observations(prices)
    out = {}
    for term in terms:
        ok = np.ones(obs.shape[:2], dtype=bool)
        for c in term.chart_conditions:
            ok &= c.holds(obs[..., COLUMN[c.field]])
        freq = ok.mean(axis=0)
        full = np.full(rules.max_ticks, freq[-100:].mean())
        full[:horizon] = freq
        out[term.name] = full
    return out


@dataclass(frozen=True)
class Solution:
    """The optimal policy of a reward: `bet[t]`, whether it places its bet at tick t (no
    bet yet); `value` its expected (discounted) reward per round from `start_tick`."""

    bet: np.ndarray
    value: float
    q_bet: np.ndarray
    q_hold: np.ndarray


def solve(
    spec: RewardSpec,
    rules: GameRules,
    *,
    gamma: float,
    hazard: np.ndarray | None = None,
    start_tick: int = 0,
    bet_start_tick: int = BET_START_TICK,
    tables: RewardTables | None = None,
    chart: dict[str, np.ndarray] | None = None,
) -> Solution:
    """Backward induction over (tick, phase): phase 0 = no bet yet, a = 1..A the open
    bet's age in ticks (A = max(window, last_win) absorbs: window closed, bet lost)."""
    T = rules.max_ticks
    h = rules.hazard(np.arange(1, T + 1)) if hazard is None else np.asarray(hazard, float)
    tables = tables or RewardTables.of(rules, h, bet_start_tick)
    if chart is None:
        chart = chart_frequencies(spec, rules)
    W, L = tables.window, tables.last_win
    A = max(W, L, 1)
    ages = np.arange(A + 1)  # phase index = age; 0 = no bet
    nxt = np.minimum(ages + 1, A)  # phase after a step alive (0 stays 0 on hold)
    ticks = np.arange(T)
    steps = _step_pays(spec, ticks, ages, W, bet_start_tick, chart)  # [2, T, A + 1]
    term = spec.terminal
    skip = term.skip_reward(np.arange(T + 2))
    win_now = (ages + 1 <= L) & (ages >= 1)  # a rug at the next tick wins
    if term.settle == "rug":
        rug_pay = np.where(win_now, term.win, term.loss)
        alive_pay = np.zeros(A + 1)
    else:  # the loss is paid on the step into age L, alive
        rug_pay = np.where(win_now, term.win, 0.0)
        alive_pay = np.where((ages >= 1) & (ages + 1 == L), term.loss, 0.0)
    first_rug = term.win if L >= 1 else term.loss  # placed at t, rug at t + 1
    first_alive = term.loss if term.settle == "decided" and L <= 1 else 0.0
    phi_now = phi_next = np.zeros((T, A + 1))
    phi_placed = np.zeros(T)
    if spec.shaping is not None:
        w = spec.shaping.weight
        bet_ticks = np.where(ages[None, :] == 0, NO_BET, ticks[:, None] - ages[None, :])
        phi_now = w * tables.potential(ticks[:, None], bet_ticks, term)
        phi_next = w * tables.potential(ticks[:, None] + 1, bet_ticks, term)
        phi_placed = w * tables.potential(ticks + 1, ticks, term)
    paid = spec.paid_expected_value * tables.ev[:T]
    V = np.zeros(A + 1)
    q_bet, q_hold = np.zeros(T), np.zeros(T)
    for t in range(T - 1, start_tick - 1, -1):
        hz, alive = h[t], 1.0 - h[t]
        rug_pay[0] = skip[t + 1]
        cont = hz * rug_pay + alive * (alive_pay + gamma * (V[nxt] + phi_next[t])) - phi_now[t]
        cont[0] = hz * skip[t + 1] + alive * gamma * (V[0] + phi_next[t, 0]) - phi_now[t, 0]
        q_h = steps[0, t] + cont
        q_b = steps[1, t] + cont
        if t >= bet_start_tick:  # a BET with no bet yet places it
            q_b[0] = (
                steps[1, t, 0]
                + paid[t]
                + hz * first_rug
                + alive * (first_alive + gamma * (V[1] + phi_placed[t]))
                - phi_now[t, 0]
            )
        q_bet[t], q_hold[t] = q_b[0], q_h[0]
        V = np.maximum(q_h, q_b)
    bet = (ticks >= max(bet_start_tick, start_tick)) & (q_bet > q_hold + 1e-12)
    return Solution(bet=bet, value=float(V[0]), q_bet=q_bet, q_hold=q_hold)


def _step_pays(
    spec: RewardSpec,
    ticks: np.ndarray,
    ages: np.ndarray,
    window: int,
    bet_start_tick: int,
    chart: dict[str, np.ndarray],
) -> np.ndarray:
    """[action (hold, bet), tick, phase]: the step terms' pay (chart conditions by their
    frequency at the tick)."""
    shape = (len(ticks), len(ages))
    open_ = np.broadcast_to((ages >= 1) & (ages < window), shape)
    fields = {
        "tick": np.broadcast_to(ticks[:, None].astype(float), shape),
        "active": np.ones(shape),
        "connected_players": np.full(shape, float(CONNECTED_PLAYERS)),
        "sidebet_active": open_.astype(float),
        "ticks_remaining": np.where(open_, window - ages[None, :], 0).astype(float),
        "can_place": (~open_).astype(float),
        "bet_allowed": np.broadcast_to((ticks[:, None] >= bet_start_tick).astype(float), shape),
    }
    out = np.zeros((2, *shape))
    for s in spec.steps:
        pays = np.full(shape, s.reward)
        for c in s.when:
            if c.field in TICK_FIELDS:
                pays = pays * c.holds(fields[c.field])
        if s.name in chart:
            pays = pays * chart[s.name][ticks][:, None]
        for k, action in enumerate(("hold", "bet")):
            if s.action in ("any", action):
                out[k] += pays
    return out


@dataclass(frozen=True)
class PolicyFacts:
    """What following a bet rule earns in money, per round (per unit staked)."""

    first_bet_tick: int | None
    bet_probability: float  # P(the round reaches the bet tick) = bets per round
    win_rate: float | None  # of placed bets
    value: float  # expected profit per round


def money_of(bet: np.ndarray, tables: RewardTables, start_tick: int = 0) -> PolicyFacts:
    """The true economics of betting at the first tick >= start_tick where `bet` holds."""
    first = np.flatnonzero(bet[start_tick:])
    if first.size == 0:
        return PolicyFacts(None, 0.0, None, 0.0)
    b = start_tick + int(first[0])
    reach = float(np.exp(tables.log_survival[b] - tables.log_survival[start_tick]))
    p_win = (float(tables.ev[b]) + 1.0) / (tables.profit_multiple + 1.0)
    return PolicyFacts(b, reach, p_win, reach * float(tables.ev[b]))
