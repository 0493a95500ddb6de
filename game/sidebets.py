"""Sidebet outcomes and the bot's training reward, from the mode's true rules.

Kept apart from the envs so the harness and the oracle settle bets with the very same
arithmetic (vectorized over rounds) as the step-by-step envs.
"""

from __future__ import annotations

import numpy as np

from game.rules import GameRules

WIN_REWARD = 4.0
LOSS_REWARD = -1.0
SKIP_REWARDS = ((200, 0.0), (300, -0.5))
SKIP_REWARD_LONG = -0.75
"""The bot's training reward (its SidebetV1Env, v4): a win +4, a loss -1, no bet in a
round that lasted < 200 ticks 0, 200-299 -0.5, 300+ -0.75. Not money: see `sidebet_pnl`."""

NO_BET = -1


def default_stake(rules: GameRules) -> float:
    """1 SOL per sidebet, clipped to the mode's bet limits (so PnL reads per SOL staked)."""
    return float(np.clip(1.0, rules.min_bet, rules.max_bet))


def sidebet_won(rules: GameRules, bet_tick: np.ndarray, rug_tick: np.ndarray) -> np.ndarray:
    """Whether a sidebet placed at `bet_tick` (round alive then) wins given the rug tick."""
    last = np.asarray(bet_tick) + rules.sidebet_window - (0 if rules.window_end_inclusive else 1)
    return np.asarray(rug_tick) <= last


def sidebet_pnl(
    rules: GameRules, bet_tick: np.ndarray, rug_tick: np.ndarray, stake: float
) -> np.ndarray:
    """Profit in SOL of one sidebet per round (`NO_BET` = none placed: 0).

    A win returns the stake times the payout under the mode's semantics ("total": 5x
    returned, profit 4x; "profit": 5x profit); a loss forfeits the stake."""
    bet_tick = np.asarray(bet_tick)
    won = sidebet_won(rules, bet_tick, rug_tick)
    pnl = np.where(won, stake * rules.sidebet_profit_multiple, -stake)
    return np.where(bet_tick == NO_BET, 0.0, pnl)


def training_reward(rules: GameRules, bet_tick: np.ndarray, rug_tick: np.ndarray) -> np.ndarray:
    """The bot's terminal training reward per round (win/loss by the mode's window)."""
    bet_tick, rug_tick = np.asarray(bet_tick), np.asarray(rug_tick)
    skip = np.full(rug_tick.shape, SKIP_REWARD_LONG)
    for limit, reward in reversed(SKIP_REWARDS):
        skip = np.where(rug_tick < limit, reward, skip)
    bet = np.where(sidebet_won(rules, bet_tick, rug_tick), WIN_REWARD, LOSS_REWARD)
    return np.where(bet_tick == NO_BET, skip, bet)
