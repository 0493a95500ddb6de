"""The reward review as a runtime capability: the review is computed exactly; a language
model (when one is configured) only narrates it, quoting its numbers."""

from __future__ import annotations

from typing import Any

from capabilities.engines.decision_capability import decision_capability
from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from capabilities.rewards.models import ReviewRequest, RewardReview
from capabilities.rewards.service import review


def _evidence(answer: dict[str, Any]) -> dict[str, Any]:
    def policy(p: Any) -> dict[str, Any]:
        return {
            "does": p.description,
            "first_bet_tick": p.first_bet_tick,
            "bets_per_round": round(p.bets_per_round, 4),
            "win_rate": None if p.win_rate is None else round(p.win_rate, 4),
            "pnl_per_round": round(p.pnl_per_round, 4),
        }

    proposal = answer["proposal"]
    return {
        "mode": answer["mode"],
        "gamma": answer["gamma"],
        "true_optimum": policy(answer["true_optimum"]),
        "reward_optimum": policy(answer["reward_optimum"]),
        "ev_lost_per_round": round(answer["ev_lost_per_round"], 4),
        "terms": [
            {
                "term": t.term,
                "pays": t.pays,
                "money": t.money,
                "pays_for": t.pays_for,
                "ev_lost_without": round(t.ev_lost_without, 4),
            }
            for t in answer["terms"]
        ],
        "findings": answer["findings"],
        "proposal": {
            "gamma": proposal.gamma,
            "optimum": policy(proposal.optimum),
            "ev_lost_per_round": round(proposal.ev_lost_per_round, 4),
            "shaping_keeps_policy": proposal.shaping_keeps_policy,
        },
    }


def review_capability() -> Capability[ReviewRequest, RewardReview]:
    def _gather(request: ReviewRequest, found: Gathered) -> dict[str, Any]:
        answer = review(request)
        found.add("reward_review", _evidence(answer))
        return answer

    return decision_capability(
        name="rewards.review",
        response_model=RewardReview,
        gather=_gather,
        compute=lambda request, found, answer: RewardReview.model_validate(answer),
        instructions=(
            "Explain to the bot's developer what their reward makes the bot do and what "
            "that costs in SOL per round, term by term, then the proposed reward and why "
            "its shaping keeps the optimal policy. Quote only numbers from the evidence "
            "(ticks, shares of rounds, win rates, SOL per round)."
        ),
        budget_s=30.0,
    )
