"""Meta-learning as a runtime capability: the pooled estimates are computed; a language
model (when one is configured) only narrates them, quoting their numbers."""

from __future__ import annotations

from typing import Any

from capabilities.engines.decision_capability import decision_capability
from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from capabilities.meta.models import AdaptAnswer, AdaptRequest
from capabilities.meta.service import adapt
from tools.postgres import Database


def _evidence(answer: AdaptAnswer) -> dict[str, Any]:
    return {
        "mode": answer.mode,
        "rounds": answer.rounds,
        "served_as": answer.served_as,
        "hazard": answer.hazard.model_dump(),
        "drift": answer.drift.model_dump(),
        "sources": [s.model_dump() for s in answer.sources],
    }


def meta_capability(database: Database, served_as: str) -> Capability[AdaptRequest, AdaptAnswer]:
    def _gather(request: AdaptRequest, found: Gathered) -> AdaptAnswer:
        answer = adapt(database, request, served_as)
        found.add("pooled_game_models", _evidence(answer))
        return answer

    return decision_capability(
        name="meta.adapt",
        response_model=AdaptAnswer,
        gather=_gather,
        compute=lambda request, found, answer: answer,
        instructions=(
            "Explain to the bot's developer what the target mode's rug hazard and drift are, "
            "how much of each estimate is borrowed from other modes and which ones, and after "
            "how many rounds its own data will dominate, quoting only numbers from the evidence."
        ),
        budget_s=30.0,
    )
