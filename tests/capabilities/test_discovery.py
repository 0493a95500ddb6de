"""Feature discovery on simulated rounds: it finds what the rules put there, and says
nothing predicts what the rules make unpredictable."""

from __future__ import annotations

import numpy as np
import pytest

from capabilities.discovery.panel import build_panel
from capabilities.discovery.scoring import benjamini_hochberg, score_test
from capabilities.discovery.service import discover
from game.rules import load_mode
from game.simulator import simulate_rounds


def panel_of(mode: str, seed: int, n: int = 1000):
    rounds = simulate_rounds(load_mode(mode), n, seed=seed)
    return build_panel(rounds.prices, rounds.rug_tick)


def test_nothing_predicts_the_rug_under_a_constant_hazard():
    reports, _ = discover(panel_of("classic", 7), ["rug_within"])
    assert reports[0].predictive == []
    assert reports[0].statement.startswith("Nothing predicts rug within")


def test_false_discovery_rate_over_repeated_classic_runs():
    """Under the global null BH at 5 % makes any discovery in about 5 % of runs; in 12
    runs more than 2 with a discovery would happen with probability ~2 %."""
    runs_with_discovery = 0
    for seed in range(12):
        reports, _ = discover(panel_of("classic", 500 + seed, n=600), ["rug_within"])
        runs_with_discovery += bool(reports[0].predictive)
    assert runs_with_discovery <= 2


def test_rising_hazard_shows_up_in_the_tick_features():
    reports, _ = discover(panel_of("rising_hazard", 7), ["rug_within"])
    names = [f.name for f in reports[0].predictive]
    assert names and names[0] == "tick"
    tick = reports[0].predictive[0]
    assert tick.score.effect > 0.6 and tick.score.stability == 1.0


def test_next_tick_size_depends_on_the_price_level():
    """The normal move's noise grows with sqrt(price): the level predicts the move's size."""
    (size,) = discover(panel_of("classic", 7), ["next_return_size"])[0]
    level = {"price", "sqrt_price_capped", "log_price", "running_peak"}
    assert size.predictive and size.predictive[0].name in level


def test_proposed_expressions_are_scored_and_bad_ones_rejected():
    reports, rejected = discover(
        panel_of("rising_hazard", 8, n=400),
        ["rug_within"],
        proposed={"late": "max(tick - 200, 0)", "evil": "exec(price)"},
    )
    assert "evil" in rejected and "unknown function" in rejected["evil"]
    late = next(f for f in reports[0].findings if f.name == "late")
    assert late.origin == "proposed" and late.predictive


def test_score_test_and_bh_on_known_cases():
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    assert score_test(x, x + rng.normal(size=5000))[1] < 1e-10
    assert score_test(x, rng.normal(size=5000))[1] > 0.01
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    assert q.tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_player_actions_are_predicted_by_many_features():
    """Personas sell on rules of price and time (targets, dips, holding): at least five
    candidates must predict a player's next sell with significant held-out lift."""
    from capabilities.discovery.panel import TradeLog
    from game.personas import make_players, simulate_players

    rules = load_mode("classic")
    rounds = simulate_rounds(rules, 400, seed=5)
    activity = simulate_players(rules, rounds, make_players(20, seed=5))
    t, s = activity.trades, activity.sidebets
    panel = build_panel(
        rounds.prices,
        rounds.rug_tick,
        TradeLog(t.row, t.tick, t.player, t.kind, t.amount, t.price),
        (s.row, s.start_tick),
    )
    (report,), _ = discover(panel, ["player_next_action"])
    assert len(report.predictive) >= 5
    assert {"buys_10", "sidebets_20", "entry_multiple"} <= {f.name for f in report.findings}
    assert all(f.score.lift > 0 and f.q_value <= 0.05 for f in report.predictive)
