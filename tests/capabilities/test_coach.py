"""The coach's deterministic answer: recommendation, strategy and evidence per mode."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from capabilities.coach.capability import advise
from capabilities.coach.models import CoachRequest
from capabilities.engines.game_models.registry import fit_model_set, rules_model_set
from game.rules import load_mode
from game.simulator import simulate_rounds


def test_classic_flat_player_is_told_to_stay_out_with_sourced_evidence():
    answer = advise(CoachRequest(tick=120, price=1.4), rules_model_set("classic"))
    assert answer.recommended_action == "hold"
    assert answer.strategy == "stay_out"
    sources = {e.source for e in answer.model_evidence}
    assert {"rug_hazard_model", "price_model"} <= sources
    sidebet = next(a for a in answer.actions if a.action == "sidebet")
    assert sidebet.expected_value < 0
    assert "18.17%" in answer.narrative  # P(rug within 40 ticks) = 1 - 0.995^40


def test_holder_in_fast_rug_mode_exits_and_profit_payout_takes_the_sidebet():
    fast = advise(
        CoachRequest(mode="fast_rug", tick=30, price=1.2, position_qty=2.0),
        rules_model_set("fast_rug"),
    )
    assert fast.strategy in {"exit_now", "sidebet"}
    assert fast.recommended_action in {"sell", "sidebet"}
    profit = advise(
        CoachRequest(mode="profit_payout", tick=30, price=1.2), rules_model_set("profit_payout")
    )
    assert profit.recommended_action == "sidebet"


def test_fitted_models_are_versioned_and_reported():
    rounds = simulate_rounds(load_mode("classic"), 500, seed=5)
    models = fit_model_set("classic", rounds.rug_tick, rounds.prices, "k")
    answer = advise(CoachRequest(tick=10, price=1.0), models)
    assert answer.model_version.startswith("classic@500r-")
    hazard = next(e for e in answer.model_evidence if e.source == "rug_hazard_model")
    assert hazard.figures["rounds"] == 500
    assert hazard.figures["model"] == "constant"


def test_knowledge_chunks_are_attached_when_a_lookup_is_given():
    calls = []

    def lookup(query, collections, top_k):
        calls.append((query, tuple(collections), top_k))
        return [{"collection": "rugs_protocol", "source": "rules.md", "score": 0.7, "text": "x"}]

    answer = advise(CoachRequest(tick=5, price=1.0), rules_model_set("classic"), lookup)
    assert calls and calls[0][1] == ("rugs_protocol", "rl_design")
    kb = next(e for e in answer.model_evidence if e.source == "knowledge_search")
    assert kb.chunks[0]["source"] == "rules.md"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"tick": 10, "price": -1.0}, "price"),
        ({"tick": 10, "price": 1.0, "sidebet": {"start_tick": 20, "amount": 0.1}}, "sidebet"),
        ({"tick": 10, "price": 1.0, "mode": "nope"}, "mode"),
        ({"tick": 10, "price": 1.0, "game_id": "bad"}, "game_id"),
    ],
)
def test_invalid_states_name_the_field(payload, field):
    with pytest.raises(ValidationError) as info:
        CoachRequest.model_validate(payload)
    assert info.value.errors()[0]["loc"][0] == field


def test_through_the_runtime_a_grounded_summary_is_delivered(make_runtime):
    from capabilities.coach.capability import coach_capability
    from tests.support.fake_llm import FakeLLM, final

    summary = (
        "Sell now: holding loses about 0.0007803 SOL per tick while selling costs nothing, "
        "and a sidebet would win only 18.17% of the time."
    )
    with FakeLLM([final({"summary": summary})]) as llm:
        runtime = make_runtime(llm.spec)
        answer = runtime.run(
            coach_capability(rules_model_set("classic")),
            CoachRequest(tick=120, price=1.4, position_qty=1.0),
        )
    assert answer.generated_by == "model:openai:fake-model"
    assert answer.summary == summary
    assert answer.recommended_action == "sell"
    assert answer.groundedness == 1.0


def test_through_the_runtime_an_invented_number_falls_back(make_runtime):
    from capabilities.coach.capability import coach_capability
    from tests.support.fake_llm import FakeLLM, final

    with FakeLLM([final({"summary": "Sell: the rug comes in 73.5% of rounds."})]) as llm:
        runtime = make_runtime(llm.spec)
        answer = runtime.run(
            coach_capability(rules_model_set("classic")),
            CoachRequest(tick=120, price=1.4, position_qty=1.0),
        )
    assert answer.generated_by == "deterministic"
    assert answer.fallback_reason == "ungrounded"
    assert answer.recommended_action == "sell"


def test_a_recommendation_within_the_models_uncertainty_claims_no_plan():
    rounds = simulate_rounds(load_mode("high_volatility"), 300, seed=1)
    models = fit_model_set("high_volatility", rounds.rug_tick, rounds.prices, "k")
    answer = advise(CoachRequest(mode="high_volatility", tick=0, price=1.0), models)
    # buying edges out holding by a few millionths of a SOL, not under every scenario
    assert answer.recommended_action == "buy" and abs(answer.margin) < 1e-4
    assert answer.decisive is False
    assert answer.strategy == "undecided"  # was "aggressive"
    assert "within the models' uncertainty" in answer.narrative
    # with exact (rules) models the same comparison is decisive and the plan is named
    exact = advise(CoachRequest(mode="high_volatility", tick=0, price=0.5),
                   rules_model_set("high_volatility"))  # fmt: skip
    assert exact.decisive and exact.strategy == "aggressive"
