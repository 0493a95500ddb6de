"""The curriculum as a runtime capability: the plan is computed, a language model (when
one is configured) only narrates it, quoting its numbers."""

from __future__ import annotations

from typing import Any

from capabilities.curriculum.models import CurriculumAnswer, CurriculumRequest
from capabilities.curriculum.service import ScenarioState, advice, evaluate_policy, plan
from capabilities.runtime import Capability
from capabilities.runtime import Evidence as Gathered
from game.policy_net import NetPolicy
from game.scenarios import Scenario

POLICY_EVAL_SEED = 2_000_000
METHOD = (
    "regret against each scenario's exact oracle from the bot's episodes (expected value "
    "of each bet at its tick); learning potential = falling regret (weighted least-squares "
    "slope over training steps); rank-based priority with a staleness share, in the spirit "
    "of prioritized level replay; scenarios whose optimum keeps less than min_relevance of "
    "the target oracle's value are left out"
)


def _evidence(target: Scenario, states: list[ScenarioState]) -> dict[str, Any]:
    return {
        "target": target.id,
        "target_oracle_value": round(target.oracle_value(), 6),
        "scenarios": [
            {
                "id": s.scenario.id,
                "probability": round(s.probability, 4),
                "regret": None if s.latest is None else round(s.latest.regret, 4),
                "episodes": None if s.latest is None else s.latest.episodes,
                "trend_per_10k_steps": None if s.slope is None else round(s.slope, 4),
                "relevance": round(s.relevance, 3),
                "steps_since_trained": s.steps_since_trained,
            }
            for s in states
        ],
    }


def curriculum_capability(
    policy: NetPolicy | None, policy_step: int
) -> Capability[CurriculumRequest, CurriculumAnswer]:
    planned: list[tuple[Scenario, list[ScenarioState]]] = []

    def measure_policy(scenarios: list[Scenario], request: CurriculumRequest) -> list[Any]:
        assert policy is not None
        return [
            evaluate_policy(policy, s, policy_step, request.eval_rounds, POLICY_EVAL_SEED)
            for s in scenarios
        ]

    def _gather(request: CurriculumRequest, found: Gathered) -> None:
        measured = None
        if policy is not None:
            measured = lambda scenarios: measure_policy(scenarios, request)  # noqa: E731
        target, states = plan(request, policy_results=measured)
        planned.append((target, states))
        found.add("curriculum", _evidence(target, states))

    def _compute(request: CurriculumRequest, found: Gathered) -> CurriculumAnswer:
        target, states = planned[-1]
        chosen = [s for s in states if s.relevance >= request.min_relevance]
        left_out = [s for s in states if s.relevance < request.min_relevance]
        return CurriculumAnswer(
            mode=request.mode,
            target_oracle_value=target.oracle_value(),
            scenarios=[advice(s) for s in chosen[: request.count]],
            left_out=[advice(s) for s in left_out],
            method=METHOD,
        )

    return Capability(
        name="curriculum.next",
        response_model=CurriculumAnswer,
        gather=_gather,
        compute=_compute,
        narrate=True,
        instructions=(
            "Explain to the bot's developer which scenarios to train on next and why, "
            "quoting only numbers from the evidence (regret in SOL per round, its trend per "
            "10k steps, relevance, probabilities). Say which scenarios were left out and why."
        ),
        budget_s=30.0,
    )
