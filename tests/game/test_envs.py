from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from game.envs import BET, HOLD, SidebetV1Env, TradingEnv, observation_from_prices
from game.observation import COLUMN, FEATURES
from game.rules import load_mode
from game.sidebets import sidebet_pnl, training_reward
from game.simulator import simulate_rounds, simulate_rug_ticks

CLASSIC = load_mode("classic")
SEED = 42


def round_with_rug(rules, predicate, seed=SEED):
    """Index of the first round of `seed` whose rug tick satisfies `predicate`."""
    rug = simulate_rug_ticks(rules, 4000, seed)
    return int(np.flatnonzero(predicate(rug))[0])


def play(env, round_index, policy):
    """Play one round; `policy(obs) -> action`. Returns (observations, rewards, info)."""
    obs, _ = env.reset(options={"round_index": round_index})
    seen, rewards, terminated = [obs], [], False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        assert not truncated
        seen.append(obs)
        rewards.append(reward)
    return np.array(seen), np.array(rewards), info


def test_spaces_and_first_observation_match_the_bots_env():
    env = SidebetV1Env(CLASSIC, seed=SEED)
    assert env.action_space == spaces.Discrete(2)
    assert env.observation_space.shape == (15,) and env.observation_space.dtype == np.float32
    assert len(FEATURES) == 15 and FEATURES[-1] == "bet_allowed"
    obs, info = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (15,)
    assert obs[COLUMN["tick"]] == 0 and obs[COLUMN["price"]] == 1.0
    assert obs[COLUMN["active"]] == 1 and obs[COLUMN["connected_players"]] == 100
    assert obs[COLUMN["can_place"]] == 1 and obs[COLUMN["sidebet_active"]] == 0
    assert obs[COLUMN["bet_allowed"]] == 0
    assert info["round_index"] == 0


@pytest.mark.filterwarnings("ignore:.*Box observation space.*:UserWarning")
@pytest.mark.filterwarnings("ignore:.*alternative render modes.*:UserWarning")
@pytest.mark.parametrize("env_class", [SidebetV1Env, TradingEnv])
def test_gymnasium_check_env_passes(env_class):
    check_env(env_class(CLASSIC, seed=SEED), skip_render_check=True)


def test_bet_is_forced_to_hold_before_tick_200_and_one_bet_per_round():
    index = round_with_rug(CLASSIC, lambda r: r > 300)
    env = SidebetV1Env(CLASSIC, seed=SEED)
    seen, rewards, info = play(env, index, lambda obs: BET)
    assert info["bet_tick"] == 200
    window = CLASSIC.sidebet_window
    assert np.all(seen[:201, COLUMN["sidebet_active"]] == 0)
    open_ticks = seen[201 : 200 + window, :]
    assert np.all(open_ticks[:, COLUMN["sidebet_active"]] == 1)
    assert np.all(open_ticks[:, COLUMN["can_place"]] == 0)
    assert list(open_ticks[:, COLUMN["ticks_remaining"]]) == list(range(window - 1, 0, -1))
    # after the window the bot's env shows can_place again, yet no second bet happens
    assert seen[200 + window, COLUMN["sidebet_active"]] == 0
    assert seen[200 + window, COLUMN["can_place"]] == 1
    assert np.all(rewards[:-1] == 0) and rewards[-1] == -1.0 and info["pnl"] == -1.0
    assert seen[-1, COLUMN["active"]] == 0 and seen[-1, COLUMN["tick"]] == env.rug_tick


def test_terminal_reward_and_pnl_by_round_length_and_outcome():
    env = SidebetV1Env(CLASSIC, seed=SEED)
    cases = [  # (rug tick predicate, policy, training reward, pnl in SOL at stake 1)
        (lambda r: r < 200, lambda o: BET, 0.0, 0.0),
        (lambda r: (r >= 200) & (r < 300), lambda o: HOLD, -0.5, 0.0),
        (lambda r: r >= 300, lambda o: HOLD, -0.75, 0.0),
        (lambda r: r == 240, lambda o: BET, 4.0, 4.0),  # rug at 200 + 40: inclusive end
        (lambda r: r == 241, lambda o: BET, -1.0, -1.0),
    ]
    for predicate, policy, reward, pnl in cases:
        _, rewards, info = play(env, round_with_rug(CLASSIC, predicate), policy)
        assert rewards[-1] == reward and info["pnl"] == pnl


def test_pnl_and_reward_follow_each_payout_semantics_and_window_end():
    exclusive = CLASSIC.model_copy(update={"window_end_inclusive": False})
    profit = CLASSIC.model_copy(update={"payout_semantics": "profit"})
    bet = np.array([200, 200, 200, -1, -1, -1, -1])
    rug = np.array([239, 240, 241, 199, 200, 299, 300])
    assert list(sidebet_pnl(CLASSIC, bet, rug, 0.5)) == [2.0, 2.0, -0.5, 0, 0, 0, 0]
    assert list(sidebet_pnl(profit, bet, rug, 0.5)) == [2.5, 2.5, -0.5, 0, 0, 0, 0]
    assert list(sidebet_pnl(exclusive, bet, rug, 0.5)) == [2.0, -0.5, -0.5, 0, 0, 0, 0]
    assert list(training_reward(CLASSIC, bet, rug)) == [4, 4, -1, 0, -0.5, -0.5, -0.75]
    assert list(training_reward(exclusive, bet, rug))[:3] == [4, -1, -1]
    # the env settles with the same rules under another mode and stake
    env = SidebetV1Env(profit, seed=SEED, stake=0.25)
    _, _, info = play(env, round_with_rug(profit, lambda r: r == 240), lambda o: BET)
    assert info["pnl"] == 1.25


def test_same_seed_same_episodes_and_rounds_of_the_simulator():
    a, b = SidebetV1Env(CLASSIC, seed=7), SidebetV1Env(CLASSIC, seed=7)
    rounds = simulate_rounds(CLASSIC, 3, seed=7)
    for i in range(3):
        seen_a, _, info_a = play(a, i, lambda o: BET)
        seen_b, _, info_b = play(b, i, lambda o: BET)
        assert np.array_equal(seen_a, seen_b) and info_a == info_b
        prices, rug = rounds.round(i)
        assert np.array_equal(seen_a[:-1, COLUMN["price"]], prices.astype(np.float32))
        assert info_a["rug_tick"] == rug
    first, _ = a.reset(seed=3)
    a.step(HOLD)
    again, _ = a.reset(seed=3)
    assert np.array_equal(first, again) and a.round_index == 0
    other = SidebetV1Env(CLASSIC, seed=8)
    lengths = [play(other, i, lambda o: HOLD)[2]["rug_tick"] for i in range(5)]
    assert lengths != list(simulate_rug_ticks(CLASSIC, 5, 7))


def test_observation_from_prices_by_hand():
    prices = np.array([1.0, 1.2, 1.5, 1.1, 1.3, 1.5, 0.9, 1.0, 1.2, 1.1, 1.0, 1.05])
    obs = observation_from_prices(prices, sidebet_end_tick=20)
    changes = np.diff(prices)
    expected = {
        "tick": 11,
        "price": 1.05,
        "active": 1,
        "running_peak": 1.5,
        "peak_tick": 2,  # first tick at the peak
        "dist_from_peak": (1.5 - 1.05) / 1.5,
        "ticks_since_peak": 9,
        "volatility_10": np.std(changes[-10:]),
        "momentum_5": (1.05 - 0.9) / 5,  # prices[-6] is tick 6
        "velocity": 0.05,
        "sidebet_active": 1,
        "ticks_remaining": 9,
        "can_place": 0,
        "bet_allowed": 0,
    }
    for name, value in expected.items():
        assert obs[COLUMN[name]] == pytest.approx(value, abs=1e-6), name
    early = observation_from_prices(prices[:5])
    assert early[COLUMN["volatility_10"]] == 0 and early[COLUMN["momentum_5"]] == 0
    late = observation_from_prices(prices, tick=230, active=False)
    assert late[COLUMN["ticks_since_peak"]] == 228 and late[COLUMN["bet_allowed"]] == 1
    assert late[COLUMN["can_place"]] == 0
    with pytest.raises(ValueError, match="before the last price"):
        observation_from_prices(prices, tick=3)


def test_live_observations_equal_the_envs():
    index = round_with_rug(CLASSIC, lambda r: (r > 245) & (r < 300))
    env = SidebetV1Env(CLASSIC, seed=SEED)
    seen, _, info = play(env, index, lambda o: BET)
    prices = env.prices
    assert info["bet_tick"] == 200
    for tick in (0, 3, 10, 150, 200, 201, 239, env.rug_tick - 1):
        end = 200 + CLASSIC.sidebet_window if tick > 200 else None
        live = observation_from_prices(prices[: tick + 1], sidebet_end_tick=end)
        assert np.allclose(live, seen[tick], rtol=1e-6), tick


def test_trading_pnl_with_commission_and_forced_sell_at_the_rug():
    rules = CLASSIC.model_copy(update={"commission": 0.0025})
    env = TradingEnv(rules, seed=SEED)
    buy_big = next(i for i, a in enumerate(env.actions) if a.kind == "buy" and a.amount == 0.1)
    sell_all = next(i for i, a in enumerate(env.actions) if a.kind == "sell" and a.amount == 1.0)
    index = round_with_rug(rules, lambda r: r > 20)
    fee = 1 - 0.0025

    # buy 0.1 at tick 0 (price 1.0), hold to the rug: force-sold at the rug price
    _, rewards, info = play(env, index, lambda o: buy_big if o[0] == 0 else HOLD)
    expected = 0.1 * fee / 1.0 * rules.rug_price * fee - 0.1
    assert info["pnl"] == pytest.approx(expected) and rewards.sum() == pytest.approx(expected)
    assert env.trades[-1][1] == "sell" and env.trades[-1][0] == env.rug_tick

    # buy at tick 0, sell everything at tick 5
    _, rewards, info = play(env, index, lambda o: {0: buy_big, 5: sell_all}.get(int(o[0]), HOLD))
    expected = 0.1 * fee / 1.0 * env.prices[5] * fee - 0.1
    assert info["pnl"] == pytest.approx(expected) and rewards.sum() == pytest.approx(expected)

    # selling with no position is refused and costs nothing
    env.reset(options={"round_index": index})
    _, reward, _, _, info = env.step(sell_all)
    assert info["rejected"] and reward == 0.0


@pytest.mark.parametrize("semantics, multiple", [("total", 4.0), ("profit", 5.0)])
def test_trading_sidebets_settle_by_the_modes_payout(semantics, multiple):
    rules = CLASSIC.model_copy(update={"payout_semantics": semantics})
    env = TradingEnv(rules, seed=SEED)
    bet = next(i for i, a in enumerate(env.actions) if a.kind == "sidebet" and a.amount == 0.1)
    # a sidebet at every allowed tick of a round that rugs at 100: [0, 40] lost (settled
    # at 41, cooldown 5), [46, 86] lost, [92, 132] won; the bets between are refused
    index = round_with_rug(rules, lambda r: r == 100)
    _, rewards, info = play(env, index, lambda o: bet)
    assert [t for t, kind, _ in env.trades if kind == "sidebet"] == [0, 46, 92]
    assert info["pnl"] == pytest.approx(-0.2 + 0.1 * multiple)
    assert rewards.sum() == pytest.approx(info["pnl"])


def test_bad_actions_and_stakes_are_refused():
    env = SidebetV1Env(CLASSIC)
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(2)
    with pytest.raises(ValueError, match="stake"):
        SidebetV1Env(CLASSIC, stake=5.0)
    with pytest.raises(ValueError, match="amount"):
        TradingEnv(CLASSIC, buy_amounts=(2.0,))
