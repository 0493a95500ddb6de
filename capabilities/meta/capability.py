"""Meta-learning as a runtime capability: the pooled estimates are computed; a language
model (when one is configured) only narrates them, quoting their numbers."""

from __future__ import annotations

from typing import Any

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
    answers: list[AdaptAnswer] = []

    def _gather(request: AdaptRequest, found: Gathered) -> None:
        answers.append(adapt(database, request, served_as))
        found.add("pooled_game_models", _evidence(answers[-1]))

    return Capability(
        name="meta.adapt",
        response_model=AdaptAnswer,
        gather=_gather,
        compute=lambda request, found: answers[-1],
        narrate=True,
        instructions=(
            "Explain to the bot's developer what the target mode's rug hazard and drift are, "
            "how much of each estimate is borrowed from other modes and which ones, and after "
            "how many rounds its own data will dominate, quoting only numbers from the evidence."
        ),
        budget_s=30.0,
    )
