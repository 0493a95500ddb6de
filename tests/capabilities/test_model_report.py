"""The fit against the documented law, and which knowledge passages a mode's models
let an answer quote."""

from __future__ import annotations

import pytest

from capabilities.engines.game_models.registry import fit_model_set, rules_model_set
from capabilities.engines.passages import contradiction, select_passages
from game.rules import load_mode
from game.simulator import simulate_rounds


def _fitted(mode: str, n: int, seed: int):
    rounds = simulate_rounds(load_mode(mode), n, seed=seed)
    return fit_model_set(mode, rounds.rug_tick, rounds.prices, f"seed{seed}")


@pytest.fixture(scope="module")
def classic():
    return _fitted("classic", 2000, 11)


@pytest.fixture(scope="module")
def rising():
    return _fitted("rising_hazard", 400, 12)


def test_the_goodness_of_fit_accepts_the_true_law_and_rejects_a_wrong_one(classic, rising):
    same = classic.hazard_model.goodness_of_fit(load_mode("classic").hazard)
    assert same.p_value > 0.01 and same.df == len(same.observed) >= 10
    assert sum(same.observed) == 2000  # every rug is in one band
    assert sum(same.expected) == pytest.approx(2000, rel=0.1)
    wrong = rising.hazard_model.goodness_of_fit(load_mode("classic").hazard)
    assert wrong.p_value < 1e-6
    own = rising.hazard_model.goodness_of_fit(load_mode("rising_hazard").hazard)
    assert own.p_value > 0.01  # the rising law itself, varying inside the bands, fits
    fast = classic.hazard_model.goodness_of_fit(load_mode("fast_rug").hazard)
    assert fast.p_value < 1e-6


def test_passages_written_for_classic_apply_only_where_the_models_agree(classic, rising):
    assert contradiction("classic", classic) is None
    assert contradiction(None, rising) is None and contradiction("no_such_mode", rising) is None
    reason = contradiction("classic", rising)
    assert reason is not None and "reject" in reason and "monotone" in reason
    assert contradiction("rising_hazard", rising) is None
    # served from the rules: the hazard law and the sidebet terms must be the mode's
    assert contradiction("classic", rules_model_set("classic")) is None
    assert "hazard law" in contradiction("classic", rules_model_set("rising_hazard"))
    assert "sidebet terms" in contradiction("classic", rules_model_set("profit_payout"))


def test_select_passages_keeps_the_applicable_ones_in_order(rising):
    hits = [
        {"source": "a.md", "mode": "classic", "text": "18.2 % at every tick"},
        {"source": "b.md", "mode": None, "text": "protocol"},
        {"source": "c.md", "mode": "rising_hazard", "text": "late bets"},
        {"source": "d.md", "text": "env"},
    ]
    kept, withheld = select_passages(hits, rising, keep=2)
    assert [p["source"] for p in kept] == ["b.md", "c.md"]
    assert [w["source"] for w in withheld] == ["a.md"]
