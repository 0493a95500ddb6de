"""The review's pieces: the EV engine's optimum is the oracle's; chart terms are flagged."""

from __future__ import annotations

import pytest

from capabilities.rewards.models import ReviewRequest
from capabilities.rewards.service import review, true_optimum
from game.oracle import optimal_bet_ticks
from game.reward_spec import RewardTables, money_of
from game.rules import available_modes, load_mode


@pytest.mark.parametrize("mode", available_modes())
def test_the_ev_engines_stopping_rule_is_the_oracles(mode):
    rules = load_mode(mode)
    oracle = money_of(optimal_bet_ticks(rules), RewardTables.of(rules))
    assert true_optimum(mode) == oracle


def test_a_term_paying_for_a_chart_pattern_is_flagged_and_priced():
    spec = {
        "terminal": {"win": 4, "loss": -1},
        "steps": [{"name": "buy the dip", "reward": 0.3, "action": "bet",
                   "when": [{"field": "momentum_5", "op": "<", "value": 0}]}],
    }  # fmt: skip
    answer = review(ReviewRequest.model_validate({"mode": "classic", "gamma": 1.0,
                                                  "reward": spec}))  # fmt: skip
    term = next(t for t in answer["terms"] if t.term.startswith("steps[0]"))
    assert term.pays_for == "other" and "momentum_5" in term.note
    # paid 0.3 for every BET chosen when momentum is negative: the bet rule moves to 200
    assert answer["reward_optimum"].first_bet_tick == 200
    assert answer["ev_lost_per_round"] == pytest.approx(0.0336, abs=1e-4)
    assert term.ev_lost_without == pytest.approx(0.0, abs=1e-9)
