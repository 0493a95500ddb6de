"""Expected-value engine: the value and risk of each action in a game state.

Each action is valued as the expected change of the player's book (position marked to
market plus an open sidebet) caused by choosing it now:
- `hold`: keep the position one more tick: it survives with 1 - h and moves by the
  drift, or the rug takes it;
- `sell`: close the position (pays the commission);
- `buy`: hold, plus a new stake bought at the current price;
- `sidebet`: hold, plus a sidebet whose window is the mode's, won when the rug comes
  inside it.
One tick ahead is enough for the position: when the per-tick value of holding turns
negative it stays negative under a constant or rising hazard, so the myopic choice is
the optimal stopping choice. Uncertainty comes from the models' intervals: every action
is valued at five parameter scenarios (the estimates, and each corner of the hazard and
drift intervals); the recommendation is `decisive` when it wins in all five.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

ACTIONS = ("hold", "buy", "sell", "sidebet")
# (hazard bound, drift bound): 0 estimate, 1 low, 2 high
_SCENARIOS = ((0, 0), (1, 1), (1, 2), (2, 1), (2, 2))


class HazardView(Protocol):
    def hazard(self, tick: int) -> tuple[float, float, float]: ...
    def rug_within(self, tick: int, horizon: int) -> tuple[float, float, float]: ...
    def hazard_curve(self, ticks: np.ndarray) -> np.ndarray: ...


class PriceView(Protocol):
    down_share: float

    def drift_at(self, price: float) -> tuple[float, float, float]: ...
    def volatility(self, price: float) -> float: ...


@dataclass(frozen=True)
class Economics:
    """The mode's rules that turn probabilities into SOL (configuration, not fitted)."""

    commission: float
    sidebet_profit_multiple: float
    sidebet_span: int  # ticks after placement whose rug still wins
    sidebet_cooldown_ticks: int
    min_bet: float
    max_bet: float


@dataclass(frozen=True)
class Position:
    """What the engine needs of a game state."""

    tick: int
    price: float
    position_qty: float = 0.0
    sidebet_start_tick: int | None = None


@dataclass(frozen=True)
class ActionValue:
    action: str
    available: bool
    expected_value: float
    ev_low: float
    ev_high: float
    risk: float  # standard deviation of the outcome, SOL
    probability_of_loss: float
    horizon_ticks: int
    note: str = ""
    scenarios: tuple[float, ...] = ()  # the value under each parameter scenario, estimate first


@dataclass(frozen=True)
class Decision:
    values: tuple[ActionValue, ...]
    best: str
    runner_up: str | None
    decisive: bool  # the best action wins under every parameter scenario
    margin: float  # best minus runner-up expected value, SOL

    def value(self, action: str) -> ActionValue:
        return next(v for v in self.values if v.action == action)


def _sidebet_block(state: Position, econ: Economics) -> str | None:
    if state.sidebet_start_tick is None:
        return None
    end = state.sidebet_start_tick + econ.sidebet_span
    if state.tick <= end:
        return "a sidebet is already active"
    if state.tick < end + econ.sidebet_cooldown_ticks:
        return "the sidebet cooldown has not passed"
    return None


def _scenario_values(
    state: Position,
    hazard: HazardView,
    price: PriceView,
    econ: Economics,
    stake: float,
    hz: int,
    mu_i: int,
    wait_values: tuple[float, float, float] | None,
) -> dict[str, float]:
    h = hazard.hazard(state.tick + 1)[hz]
    mu = price.drift_at(state.price)[mu_i]
    growth = (1 - h) * (1 + mu) - 1  # expected change per SOL held one tick
    held = state.position_qty * state.price
    p_win = hazard.rug_within(state.tick, econ.sidebet_span)[hz]
    option = stake * wait_values[hz] if wait_values is not None else 0.0
    return {
        "hold": held * growth + option,
        "sell": -econ.commission * held + option,
        "buy": held * growth + stake * (1 - econ.commission) * (growth + 1) - stake + option,
        "sidebet": held * growth + stake * (p_win * econ.sidebet_profit_multiple - (1 - p_win)),
    }


def evaluate(
    state: Position,
    hazard: HazardView,
    price: PriceView,
    econ: Economics,
    stake: float,
    wait_values: tuple[float, float, float] | None = None,
    allowed: tuple[str, ...] = ACTIONS,
) -> Decision:
    """Value every action in `state`; `stake` is the SOL a buy or sidebet would put in;
    `wait_values` (per hazard bound, per SOL) when one sidebet per round is allowed;
    `allowed` the caller's action space (the bot's sidebet env: hold and sidebet)."""
    stake = min(max(stake, econ.min_bet), econ.max_bet)
    if _sidebet_block(state, econ) is not None:
        wait_values = None  # no bet to place now: nothing to keep for later
    runs = [
        _scenario_values(state, hazard, price, econ, stake, hz, mu, wait_values)
        for hz, mu in _SCENARIOS
    ]
    held = state.position_qty * state.price
    h = hazard.hazard(state.tick + 1)[0]
    mu = price.drift_at(state.price)[0]
    sigma = price.volatility(state.price)
    p_win = hazard.rug_within(state.tick, econ.sidebet_span)[0]
    blocked = {
        "sell": "no position to sell" if held <= 0 else None,
        "sidebet": _sidebet_block(state, econ),
        "buy": None,
        "hold": None,
    }
    for action in ACTIONS:
        if action not in allowed:
            blocked[action] = "not in the caller's action space"

    def move_risk(amount: float) -> tuple[float, float]:
        if amount <= 0:
            return 0.0, 0.0
        second = h * amount**2 + (1 - h) * amount**2 * (sigma**2 + mu**2)
        mean = amount * ((1 - h) * (1 + mu) - 1)
        return (max(second - mean**2, 0.0) ** 0.5, h + (1 - h) * price.down_share)

    hold_risk, hold_loss = move_risk(held)
    buy_risk, buy_loss = move_risk(held + stake)
    bet_sd = stake * (econ.sidebet_profit_multiple + 1) * (p_win * (1 - p_win)) ** 0.5
    risk = {
        "hold": (hold_risk, hold_loss, 1),
        "sell": (0.0, 0.0, 0),
        "buy": (buy_risk, buy_loss, 1),
        "sidebet": ((hold_risk**2 + bet_sd**2) ** 0.5, 1 - p_win, econ.sidebet_span),
    }
    values = []
    for action in ACTIONS:
        evs = [run[action] for run in runs]
        sd, p_loss, horizon = risk[action]
        values.append(
            ActionValue(
                action=action,
                available=blocked[action] is None,
                expected_value=evs[0],
                ev_low=min(evs),
                ev_high=max(evs),
                risk=sd,
                probability_of_loss=p_loss,
                horizon_ticks=horizon,
                note=blocked[action] or "",
                scenarios=tuple(evs),
            )
        )
    open_actions = [a for a in ACTIONS if blocked[a] is None]
    ranked = sorted(open_actions, key=lambda a: -runs[0][a])
    best = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    decisive = all(max(open_actions, key=lambda a, r=run: r[a]) == best for run in runs)
    margin = runs[0][best] - runs[0][runner] if runner else 0.0
    return Decision(tuple(values), best, runner, decisive, margin)


def strategy_for(decision: Decision, state: Position) -> str:
    """A one-word plan for the recommendation; `undecided` when the best action does not
    win under every model scenario (a plan would claim more than the models resolve)."""
    if not decision.decisive:
        return "undecided"
    holding = state.position_qty * state.price > 0
    if decision.best == "sell":
        return "exit_now"
    if decision.best == "buy":
        return "aggressive"
    if decision.best == "sidebet":
        return "sidebet"
    if not holding:
        return "stay_out"
    hold = decision.value("hold")
    return "aggressive" if hold.ev_low > 0 else "conservative"


def stopping_table(
    hazard: HazardView, econ: Economics, max_tick: int
) -> tuple[np.ndarray, np.ndarray]:
    """(ev, wait), each [3, max_tick + 1] (hazard estimate, low, high): the expected
    profit per SOL of a sidebet placed at tick t, and the value at t of keeping the
    round's one sidebet for the best later tick (backward induction:
    wait(t) = (1 - h(t+1)) * max(ev(t+1), wait(t+1)), zero past `max_tick`)."""
    span = econ.sidebet_span
    ticks = np.arange(1, max_tick + span + 2)
    h = np.clip(hazard.hazard_curve(ticks), 0.0, 1.0 - 1e-12)  # a certain rug: log(0)
    with np.errstate(divide="ignore"):
        log_alive = np.concatenate([np.zeros((3, 1)), np.cumsum(np.log1p(-h), axis=1)], axis=1)
    start = np.arange(max_tick + 1)
    p_win = 1.0 - np.exp(log_alive[:, start + span] - log_alive[:, start])
    ev = p_win * econ.sidebet_profit_multiple - (1.0 - p_win)
    wait = np.zeros_like(ev)
    for t in range(max_tick - 1, -1, -1):
        wait[:, t] = (1.0 - h[:, t]) * np.maximum(ev[:, t + 1], wait[:, t + 1])
    return ev, wait
