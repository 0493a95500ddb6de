"""A player's profile as a runtime capability: the figures are read from the last fit;
a language model (when one is configured) only narrates the player's "psychology" in
`summary`, quoting the profile's own numbers. Without one there is no narrative
(`generated_by: deterministic`, `fallback_reason: no_llm`).

The runtime delivers prose with at least 80 % of its numbers in the evidence; a profile
narrative must quote nothing else, so `strictly_grounded` drops one that quotes any
number the profile does not hold (`fallback_reason: ungrounded`).
"""

from __future__ import annotations

from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from capabilities.opponents.models import OpponentProfileAnswer, OpponentProfileRequest
from capabilities.opponents.profiles import get_profile
from tools.errors import NotFound
from tools.postgres import Database

INSTRUCTIONS = (
    "In two to four sentences, describe this player's psychology to a trading bot's "
    "developer: appetite for risk (stake, exit multiple, holding time), timing (entry tick, "
    "presale share, sidebets), discipline (forced_share: rounds the rug caught them holding) "
    "and recent form against overall PnL. Quote only numbers found in the profile, as "
    "written there or rounded; when a figure rests on few observations (its n), say so "
    "rather than quoting it as settled."
)


def profile_capability(
    database: Database,
) -> Capability[OpponentProfileRequest, OpponentProfileAnswer]:
    def gather(request: OpponentProfileRequest, found: Gathered) -> None:
        profile = get_profile(database, request.player_id)
        if profile is None:
            raise NotFound(f"no profile of player {request.player_id[:200]!r}")
        found.add("opponent_profile", profile.model_dump(mode="json"))

    def compute(request: OpponentProfileRequest, found: Gathered) -> OpponentProfileAnswer:
        return OpponentProfileAnswer.model_validate(found.items["opponent_profile"])

    return Capability(
        name="opponents.profile",
        response_model=OpponentProfileAnswer,
        gather=gather,
        compute=compute,
        narrate=True,
        instructions=INSTRUCTIONS,
        budget_s=20.0,
    )


def strictly_grounded(answer: OpponentProfileAnswer) -> OpponentProfileAnswer:
    """The answer, without a narrative that quotes a number the profile does not hold."""
    if answer.generated_by == "deterministic" or answer.groundedness == 1.0:
        return answer
    return answer.model_copy(
        update={
            "summary": None,
            "generated_by": "deterministic",
            "groundedness": None,
            "sources": [],
            "fallback_reason": "ungrounded",
        }
    )
