"""The curriculum as a runtime capability: the plan is computed, a language model (when
one is configured) only narrates it, quoting its numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from capabilities.curriculum.models import CurriculumAnswer, CurriculumRequest, ScenarioResult
from capabilities.curriculum.service import evaluate_policy, next_scenarios
from capabilities.engines.decision_capability import decision_capability
from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from game.policy_net import NetPolicy
from game.scenarios import Scenario

if TYPE_CHECKING:
    from smolagents import Tool

POLICY_EVAL_SEED = 2_000_000


def _evidence(answer: CurriculumAnswer) -> dict[str, Any]:
    def row(s: Any) -> dict[str, Any]:
        return {
            "id": s.id,
            "probability": s.probability,
            "regret": None if s.regret is None else round(s.regret.mean, 4),
            "trend_per_10k_steps": None
            if s.trend_per_10k_steps is None
            else round(s.trend_per_10k_steps, 4),
            "relevance": s.relevance,
            "steps_since_trained": s.steps_since_trained,
        }

    return {
        "target_oracle_value": round(answer.target_oracle_value, 6),
        "scenarios": [row(s) for s in answer.scenarios],
        "left_out": [row(s) for s in answer.left_out],
    }


def curriculum_capability(
    policy: NetPolicy | None, policy_step: int, tools: Sequence[Tool] = ()
) -> Capability[CurriculumRequest, CurriculumAnswer]:
    def _gather(request: CurriculumRequest, found: Gathered) -> CurriculumAnswer:
        measured = None
        if policy is not None:

            def measured(scenarios: list[Scenario]) -> list[ScenarioResult]:
                return [
                    evaluate_policy(policy, s, policy_step, request.eval_rounds, POLICY_EVAL_SEED)
                    for s in scenarios
                ]

        answer = next_scenarios(request, policy_results=measured)
        found.add("curriculum", _evidence(answer))
        return answer

    return decision_capability(
        name="curriculum.next",
        response_model=CurriculumAnswer,
        gather=_gather,
        compute=lambda request, found, answer: answer,
        instructions=(
            "Explain to the bot's developer which scenarios to train on next and why, "
            "quoting only numbers from the evidence (regret in SOL per round, its trend per "
            "10k steps, relevance, probabilities). Say which scenarios were left out and why."
        ),
        budget_s=30.0,
        tools=tools,
    )
