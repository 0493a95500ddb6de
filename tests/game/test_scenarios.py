"""Scenarios: the conditioned hazard and the oracle stay exact; the evaluation agrees with
the A/B harness."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from game.batch_envs import SidebetBatch
from game.bots import Aggressive
from game.evaluation import SidebetHeldOut, evaluate_trading
from game.harness import run_ab
from game.oracle import Oracle
from game.rules import load_mode
from game.scenarios import Scenario, scenario_grid
from game.simulator import simulate_rug_ticks


def test_the_conditioned_hazard_matches_simulated_rounds():
    scenario = Scenario(mode="rising_hazard", rug_min=201, rug_max=280)
    rug = simulate_rug_ticks(scenario.rules, 200_000, seed=11)
    kept = rug[scenario.keeps(rug)]
    assert len(kept) / len(rug) == pytest.approx(scenario.acceptance, abs=0.005)
    for tick in (210, 240, 270):
        alive = (kept >= tick).sum()
        empirical = (kept == tick).sum() / alive
        se = np.sqrt(empirical * (1 - empirical) / alive)
        assert abs(empirical - scenario.hazard_curve[tick - 1]) < 4 * se + 1e-9
    assert scenario.hazard_curve[279] == 1.0 and scenario.hazard_curve[199] == 0.0


def test_the_oracle_value_is_what_the_oracle_makes_on_held_out_rounds():
    for scenario in (
        Scenario(mode="rising_hazard"),
        Scenario(mode="rising_hazard", start_tick=200),
        Scenario(mode="rising_hazard", hazard_scale=2.0, rug_min=201, rug_max=280),
    ):
        score = SidebetHeldOut(scenario, 4000, seed=3).score(scenario.oracle())
        assert score.regret.mean == 0.0
        e = score.expected_pnl
        assert e.low <= scenario.oracle_value() <= e.high


def test_held_out_scores_equal_the_ab_harness_on_the_mode_itself():
    rules = load_mode("rising_hazard")
    bots = [Aggressive(), Oracle(rules)]
    report = run_ab(bots, rules, n_rounds=1500, seed=21)
    held = SidebetHeldOut(Scenario(mode="rising_hazard"), 1500, seed=21)
    for bot in bots:
        score, ab = held.score(bot), report.policies[bot.name]
        assert score.pnl.mean == pytest.approx(ab.mean_pnl)
        assert score.expected_pnl.mean == pytest.approx(ab.expected_pnl)
        assert score.bets_per_round.mean == pytest.approx(ab.bet_rate)
        assert score.win_rate.mean == pytest.approx(ab.win_rate)


def test_trading_evaluation_reports_pnl_without_an_oracle():
    class Hold:
        name = "hold"

        def act_batch(self, obs):
            return np.zeros(len(obs), dtype=int)

    e = evaluate_trading(Hold(), Scenario(mode="classic"), 16, seed=1, n_envs=8)
    assert e.pnl.mean == 0 and e.bets_per_round.mean == 0 and e.win_rate is None
    assert e.regret is None and "no exact oracle" in e.note


def test_scenarios_validate_compare_and_name_themselves():
    a = Scenario(mode="rising_hazard", start_tick=200)
    assert a == Scenario(mode="rising_hazard", start_tick=200) and len({a, a}) == 1
    assert a.id == "rising_hazard|h1|v1|s200|r1-"
    assert a.rules is load_mode("rising_hazard")
    scaled = Scenario(mode="classic", hazard_scale=2, volatility_scale=2).rules
    assert scaled.rug_prob == 0.01 and scaled.vol_coef == 0.01 and scaled.big_move_max == 0.5
    for bad in ({"mode": "nope"}, {"mode": "classic", "rug_min": 3000}, {"rug_max": 0},
                {"mode": "classic", "start_tick": 300, "rug_max": 250}):  # fmt: skip
        with pytest.raises(ValidationError):
            Scenario(**bad)
    grid = scenario_grid("rising_hazard")
    assert len(grid) == len({s.id for s in grid}) == 48


def test_episode_steps_is_the_mean_episode_length_the_env_plays():
    """The curriculum's cost of an episode: exact from the hazard curve, as the env plays it."""
    for scenario in (
        Scenario(mode="rising_hazard"),
        Scenario(mode="rising_hazard", start_tick=200),
        Scenario(mode="rising_hazard", start_tick=150, rug_min=201, rug_max=280),
    ):
        batch = SidebetBatch(scenario.rules, 64, 0, scenario=scenario)
        batch.reset()
        steps = episodes = 0
        while episodes < 3000:
            episodes += int(batch.step(np.zeros(64, dtype=np.int64)).done.sum())
            steps += 64
        assert abs(steps / episodes / scenario.episode_steps - 1) < 0.03, scenario.id
