"""The `training.run` job: one PPO run whose curve and policy land in PostgreSQL.

The run's id is the job's; its state and progress are the job's own. A retried attempt
starts the curve again and stores its policy under the same id (`finish_run`).
"""

from __future__ import annotations

from typing import Any

from capabilities.engines.jobs import Progress, handler
from capabilities.engines.jobs.context import current_job_id, job_database
from capabilities.training.models import TrainingSpec
from capabilities.training.runs import add_point, create_run, finish_run, start_run
from capabilities.training.service import train
from tools.policy_store import policy_store

KIND = "training.run"


@handler(KIND)
def training_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    spec = TrainingSpec.model_validate(payload)
    database, run_id = job_database(), current_job_id()
    create_run(database, run_id, spec, "api")
    start_run(database, run_id)
    warm = policy_store(database).model_zip(spec.warm_start) if spec.warm_start else None
    progress(0.0, f"training {spec.steps} steps of PPO on {spec.env} ({spec.mode})")
    result = train(
        spec,
        progress=progress,
        on_point=lambda point: add_point(database, run_id, point),
        warm_start=warm,
    )
    return finish_run(database, run_id, spec, result)
