from __future__ import annotations

import numpy as np
import pytest

from game.bots import (
    BET,
    HOLD,
    Aggressive,
    Conservative,
    Policy,
    RandomBot,
    WhaleHunter,
    archetypes,
)
from game.envs import SidebetV1Env
from game.observation import COLUMN, observation_from_prices
from game.oracle import Oracle
from game.rules import load_mode

CLASSIC = load_mode("classic")


def obs_at(tick, prices=None, **columns):
    """An observation at `tick` over a flat chart (or `prices`), with columns overridden."""
    prices = np.ones(tick + 1) if prices is None else np.asarray(prices)
    obs = observation_from_prices(prices, tick)
    for name, value in columns.items():
        obs[COLUMN[name]] = value
    return obs


def test_every_bot_is_a_policy_with_a_unique_name():
    bots = [*archetypes(), Oracle(CLASSIC)]
    assert all(isinstance(b, Policy) for b in bots)
    assert len({b.name for b in bots}) == len(bots)


def test_aggressive_bets_from_its_first_tick():
    bot = Aggressive()
    assert bot.act(obs_at(199)) == HOLD and bot.act(obs_at(200)) == BET
    assert Aggressive(min_tick=260).act(obs_at(250)) == HOLD
    assert bot.action_probabilities(obs_at(200)) is None


def test_conservative_waits_for_late_ticks_and_a_drawdown():
    bot = Conservative(min_tick=250, min_drawdown=0.3)
    assert bot.act(obs_at(300, dist_from_peak=0.1)) == HOLD
    assert bot.act(obs_at(240, dist_from_peak=0.5)) == HOLD
    assert bot.act(obs_at(300, dist_from_peak=0.5)) == BET


def test_whale_hunter_bets_after_a_spike():
    calm = np.ones(251)
    spike = calm.copy()
    spike[-1] = 1.25  # +25 % in one tick
    choppy = 1.0 + 0.06 * (-1.0) ** np.arange(251)  # +-12 % a tick: small moves, high vol
    bot = WhaleHunter(spike=0.2, volatility=0.1)
    assert bot.act(obs_at(250, calm)) == HOLD
    assert bot.act(obs_at(250, spike)) == BET
    assert bot.act(obs_at(250, choppy)) == BET
    assert WhaleHunter(spike=0.2, volatility=0.2).act(obs_at(250, choppy)) == HOLD
    assert bot.act(obs_at(150, spike[-151:])) == HOLD  # too early


def test_random_bot_is_seeded_and_bets_at_its_rate():
    obs = np.repeat(obs_at(210)[None, :], 20_000, axis=0)
    a, b = RandomBot(p=0.1, seed=3), RandomBot(p=0.1, seed=3)
    actions = a.act_batch(obs)
    assert np.array_equal(actions, b.act_batch(obs))
    assert actions.mean() == pytest.approx(0.1, abs=0.01)
    assert list(a.action_probabilities(obs[0])) == [0.9, 0.1]
    with pytest.raises(ValueError):
        RandomBot(p=1.5)


@pytest.mark.parametrize("bot", [*archetypes(seed=1), Oracle(CLASSIC)], ids=lambda b: b.name)
def test_batch_and_single_decisions_agree(bot):
    env = SidebetV1Env(load_mode("rising_hazard"), seed=5)
    rows = []
    for index in range(20):
        obs, _ = env.reset(options={"round_index": index})
        rows.append(obs)
        while True:
            obs, _, terminated, _, _ = env.step(HOLD)
            if terminated:
                break
            rows.append(obs)
    rows = np.array(rows)
    if isinstance(bot, RandomBot):
        twin = RandomBot(bot.p, seed=1)
        singles = [twin.act(o) for o in rows]
        assert np.array_equal(RandomBot(bot.p, seed=1).act_batch(rows), singles)
    else:
        assert np.array_equal(bot.act_batch(rows), [bot.act(o) for o in rows])
