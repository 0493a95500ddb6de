"""The `opponents.fit` job: profiles, archetypes and the next-action model, refitted."""

from __future__ import annotations

from typing import Any

from capabilities.engines.jobs import Progress, handler
from capabilities.engines.jobs.context import job_database
from capabilities.opponents.models import OpponentFitSpec
from capabilities.opponents.service import fit_and_store

KIND = "opponents.fit"


@handler(KIND)
def fit_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    spec = OpponentFitSpec.model_validate(payload)
    fitted = fit_and_store(job_database(), spec, progress)
    return {
        "model_id": str(fitted.model_id),
        "rounds": fitted.rounds,
        "players": fitted.players,
        "evaluation": fitted.summary["evaluation"],
        "archetypes": [g["name"] for g in fitted.summary["archetypes"]["groups"]],
    }
