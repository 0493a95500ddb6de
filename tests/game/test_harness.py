from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from game.bots import BET, HOLD, Aggressive, RandomBot
from game.envs import SidebetV1Env, TradingEnv
from game.harness import max_drawdown, mean_ci, run_ab
from game.oracle import Oracle
from game.rules import load_mode
from game.simulator import simulate_rug_ticks

CLASSIC = load_mode("classic")
PROFIT = load_mode("profit_payout")


class SteppedOnly:
    """A stateful policy without `act_batch`: bets `delay` ticks after first seeing a
    price at or below 80 % of the peak (so the harness must step it tick by tick)."""

    def __init__(self, delay: int = 3, name: str = "stepped") -> None:
        self.delay, self.name = delay, name
        self.seen_dip_at: int | None = None

    def reset(self) -> None:
        self.seen_dip_at = None

    def act(self, obs: np.ndarray) -> int:
        tick = int(obs[0])
        if self.seen_dip_at is None and obs[6] >= 0.2:
            self.seen_dip_at = tick
        return (
            BET if self.seen_dip_at is not None and tick >= self.seen_dip_at + self.delay else HOLD
        )

    def action_probabilities(self, obs: np.ndarray) -> None:
        return None


def env_pnl(policy, rules, n_rounds, seed):
    """Per-round PnL from stepping SidebetV1Env, the reference the harness must equal."""
    env, out = SidebetV1Env(rules, seed=seed), []
    for i in range(n_rounds):
        obs, _ = env.reset(options={"round_index": i})
        policy.reset()
        terminated = False
        while not terminated:
            obs, _, terminated, _, info = env.step(policy.act(obs))
        out.append(info["pnl"])
    return np.array(out)


def test_mean_ci_and_drawdown_on_known_values():
    mean, (low, high) = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    half = 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / 2  # t(0.975, 3)
    assert mean == 2.5 and low == pytest.approx(2.5 - half) and high == pytest.approx(2.5 + half)
    assert max_drawdown(np.array([1.0, -3.0, 2.0, -1.0, -1.5, 5.0])) == 3.5  # 1 -> -2.5
    assert max_drawdown(np.array([-1.0, 0.5])) == 1.0
    assert max_drawdown(np.array([1.0, 1.0])) == 0.0


def test_paired_interval_is_the_t_interval_of_paired_differences():
    early, late = Aggressive(min_tick=200), Aggressive(min_tick=260, name="late")
    report = run_ab([early, late], PROFIT, n_rounds=3000, seed=9, chunk=700)
    # by hand: each bets at its first tick if the round is still alive then
    rug = simulate_rug_ticks(PROFIT, 3000, 9)

    def by_hand(tick):
        return np.where(rug > tick, np.where(rug <= tick + 40, 5.0, -1.0), 0.0)

    a, b = by_hand(200), by_hand(260)
    assert np.array_equal(report.pnl["aggressive"], a) and np.array_equal(report.pnl["late"], b)
    expected = stats.ttest_rel(a, b).confidence_interval(0.95)
    pair = report.pair("aggressive", "late")
    assert pair.mean_diff == pytest.approx(np.mean(a - b))
    assert pair.ci95 == pytest.approx((expected.low, expected.high))
    assert report.pair("late", "aggressive").mean_diff == pytest.approx(-pair.mean_diff)
    s = report.policies["aggressive"]
    assert s.bet_rate == pytest.approx(np.mean(rug > 200))
    assert s.win_rate == pytest.approx(np.mean(a[rug > 200] > 0))
    assert s.max_drawdown == max_drawdown(a) and s.total_pnl == pytest.approx(a.sum())
    assert s.ci95 == pytest.approx(tuple(stats.ttest_1samp(a, 0).confidence_interval(0.95)))


@pytest.mark.parametrize("make", [lambda: Oracle(load_mode("rising_hazard")), SteppedOnly])
def test_harness_equals_stepping_the_env_on_the_same_rounds(make):
    rules = load_mode("rising_hazard")
    report = run_ab([make()], rules, n_rounds=150, seed=4, chunk=64)
    name = next(iter(report.policies))
    assert np.array_equal(report.pnl[name], env_pnl(make(), rules, 150, seed=4))


def test_every_policy_sees_the_same_rounds_and_reports_are_reproducible():
    bots = [Aggressive(), RandomBot(p=0.05, seed=1)]
    first = run_ab(bots, CLASSIC, n_rounds=800, seed=3)
    again = run_ab([Aggressive(), RandomBot(p=0.05, seed=1)], CLASSIC, n_rounds=800, seed=3)
    assert all(np.array_equal(first.pnl[n], again.pnl[n]) for n in first.pnl)
    assert first.policies == again.policies
    # the same policy twice under two names: paired difference exactly 0
    twin = run_ab([Aggressive(), Aggressive(name="twin")], CLASSIC, n_rounds=800, seed=3)
    assert twin.pair("aggressive", "twin").mean_diff == 0.0
    assert twin.pair("aggressive", "twin").ci95 == (0.0, 0.0)
    assert "aggressive" in first.table() and "95% CI" in first.table()


def test_trading_env_in_the_harness():
    class BuyAndSell:
        name = "buy_sell"

        def __init__(self):
            self.env = TradingEnv(CLASSIC)

        def reset(self):
            pass

        def act(self, obs):
            return {0: 2, 3: 4}.get(int(obs[0]), 0)  # buy 0.1 at tick 0, sell all at 3

        def action_probabilities(self, obs):
            return None

    class Idle(BuyAndSell):
        name = "idle"

        def act(self, obs):
            return 0

    report = run_ab([BuyAndSell(), Idle()], CLASSIC, n_rounds=60, seed=5, env="trading")
    env = TradingEnv(CLASSIC, seed=5)
    assert env.action_meaning(2).amount == 0.1 and env.action_meaning(4).amount == 1.0
    assert np.all(report.pnl["idle"] == 0) and report.policies["idle"].bet_rate == 0
    rug = simulate_rug_ticks(CLASSIC, 60, 5)
    sold = rug > 3
    assert np.all(report.pnl["buy_sell"][~sold] == pytest.approx(0.1 * CLASSIC.rug_price - 0.1))
    assert report.policies["buy_sell"].bet_rate == 1.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="unique"):
        run_ab([Aggressive(), Aggressive()], CLASSIC, n_rounds=10, seed=1)
    with pytest.raises(ValueError, match="env"):
        run_ab([Aggressive()], CLASSIC, n_rounds=10, seed=1, env="poker")
