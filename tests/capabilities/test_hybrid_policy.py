"""The hybrid policy keeps the RL action unless the models are confident it is wrong."""

from __future__ import annotations

import pytest

from capabilities.engines.game_models.ev import Position
from capabilities.engines.game_models.registry import fit_model_set, rules_model_set
from capabilities.engines.state import action_name
from capabilities.hybrid.policy import HybridInput, Thresholds, decide
from game.rules import load_mode
from game.simulator import simulate_rounds


@pytest.fixture(scope="module")
def fitted_classic():
    rounds = simulate_rounds(load_mode("classic"), 2000, seed=21)
    return fit_model_set("classic", rounds.rug_tick, rounds.prices, "t")


def test_a_negative_ev_sidebet_is_overridden_with_confidence(fitted_classic):
    item = HybridInput(Position(tick=250, price=1.5), rl_action="sidebet", stake=0.1)
    d = decide(item, fitted_classic, Thresholds())
    assert (d.action, d.source, d.critical) == ("hold", "agent", True)
    assert d.confidence >= 0.8 and d.expected_loss > 0


def test_the_rl_action_passes_when_it_is_already_the_best(fitted_classic):
    item = HybridInput(Position(tick=250, price=1.5), rl_action="hold")
    d = decide(item, fitted_classic, Thresholds())
    assert (d.action, d.source, d.critical) == ("hold", "rl", False)


def test_low_confidence_flags_without_overriding():
    item = HybridInput(Position(tick=100, price=1.0), rl_action="hold", stake=0.1)
    exact = decide(item, rules_model_set("profit_payout"), Thresholds())
    assert (exact.action, exact.confidence) == ("sidebet", 1.0)  # +EV sidebet, no doubt
    noisy = simulate_rounds(load_mode("profit_payout"), 300, seed=1)
    fitted = fit_model_set("profit_payout", noisy.rug_tick, noisy.prices, "n")
    gain = decide(item, fitted, Thresholds()).expected_loss
    assert gain > 0
    # asking for nearly the whole estimated gain leaves the outcome a coin flip
    unsure = decide(item, fitted, Thresholds(min_loss=0.95 * gain, critical_confidence=0.5))
    assert unsure.critical and unsure.source == "rl" and unsure.action == "hold"
    assert 0.5 <= unsure.confidence < 0.8


def test_hard_rules_fire_on_a_spike_and_a_closing_window():
    models = rules_model_set("classic")
    item = HybridInput(
        Position(tick=139, price=2.4, position_qty=1.0, sidebet_start_tick=100),
        rl_action="hold",
        recent_prices=[1.0, 1.1, 1.5, 2.4],
    )
    d = decide(item, models, Thresholds())
    assert any("spike" in r for r in d.rules) and any("window closes" in r for r in d.rules)
    assert d.critical and d.action == "sell"


def test_an_unavailable_rl_action_is_replaced():
    d = decide(
        HybridInput(Position(tick=5, price=1.0), "sell"), rules_model_set("classic"), Thresholds()
    )
    assert d.source == "agent" and d.action == "hold"


def test_action_names():
    assert action_name(0) == "hold" and action_name(1) == "sidebet"
    assert action_name("buy") == "buy"
    for bad in (2, True, "jump"):
        with pytest.raises(ValueError):
            action_name(bad)


def test_competition_and_window_rules():
    models = rules_model_set("classic")
    board = [("a", 1.00), ("bot", 0.50), ("c", 0.48), ("d", 0.1)]
    item = HybridInput(
        Position(tick=143, price=1.0, sidebet_start_tick=100),
        rl_action="hold",
        player_id="bot",
        leaderboard=board,
        recent_trades=[(140, "sell", 0.9), (120, "sell", 5.0), (142, "buy", 3.0)],
    )
    rules = decide(item, models, Thresholds()).rules
    assert any(r.startswith("sidebet window opens in 2 ticks") for r in rules)
    assert any(r.startswith("top-3 place under threat: #2 leads #3") for r in rules)
    whale = [r for r in rules if r.startswith("whale selling")]
    assert whale == ["whale selling: 0.9 SOL sold within 5 ticks"]  # 5.0 was too long ago
    calm = HybridInput(Position(tick=143, price=1.0), "hold", player_id="d", leaderboard=board)
    assert decide(calm, models, Thresholds()).rules == ()


def test_the_whale_rule_asks_the_opponent_model_about_holders():
    models = rules_model_set("classic")
    asked = []

    def forecast(player, tick, price, qty, avg_cost, horizon):  # type: ignore[no-untyped-def]
        asked.append((player, qty, avg_cost, horizon))
        return 0.9 if player == "whale" else 0.1

    item = HybridInput(
        Position(tick=40, price=1.5, position_qty=0.0),
        rl_action="hold",
        player_id="me",
        holders=[("small", 0.1, 1.0), ("me", 5.0, 1.0), ("other", 2.0, 1.2), ("whale", 1.0, 1.0)],
    )
    d = decide(item, models, Thresholds(), forecast)
    assert [a[0] for a in asked] == ["other", "whale"]  # big holders other than the bot
    assert asked[0][3] == Thresholds().spike_ticks
    assert any("whale selling" in r and "opponent model" in r for r in d.rules)
    quiet = decide(item, models, Thresholds(whale_sell_probability=0.95), forecast)
    assert not any("whale" in r for r in quiet.rules)
    assert not any("whale" in r for r in decide(item, models, Thresholds()).rules)
