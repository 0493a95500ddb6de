"""The training lab: PPO runs on the simulator (`/v1/training/runs`) and the policies they
store (`/v1/policies`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, Response, current_app, request, url_for
from pydantic import BaseModel, ConfigDict, Field

from agent_service.api import json_response, operation, parse_body, parse_query
from agent_service.jobs import IDEMPOTENCY_HEADER, jobs
from capabilities.training.curve_svg import curve_svg
from capabilities.training.jobs import KIND
from capabilities.training.models import (
    TrainingRun,
    TrainingRunAccepted,
    TrainingRunList,
    TrainingSpec,
)
from capabilities.training.runs import create_run, get_run, list_runs
from tools.errors import FieldError, InvalidInput, NotFound
from tools.policy_store import parse_policy_id, policy_store
from tools.postgres import Database

bp = Blueprint("training", __name__, url_prefix="/v1")


def _database() -> Database:
    return current_app.extensions["agent"].backends.database


@bp.post("/training/runs")
@operation(
    summary="Train PPO on the simulator (a job: run_url shows the curve, status_url the job)",
    tag="training",
    request=TrainingSpec,
    response=TrainingRunAccepted,
    status=202,
    extra_statuses=(404, 503),
)
def start_run() -> Response:
    spec = parse_body(TrainingSpec)
    if spec.warm_start is not None:
        record = policy_store(_database()).get(parse_policy_id(spec.warm_start, "warm_start"))
        if record.env != spec.env:
            raise InvalidInput(
                "the warm start does not fit the run",
                [FieldError("warm_start", f"a policy of env {record.env!r}, not {spec.env!r}")],
            )
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    job_id = jobs().submit(KIND, spec.model_dump(mode="json"), idempotency_key=key)
    create_run(_database(), job_id, spec, "api")
    run_url = url_for("training.get_training_run", run_id=str(job_id))
    body = TrainingRunAccepted(
        job_id=job_id,
        status_url=url_for("jobs.get_job", job_id=str(job_id)),
        run_id=job_id,
        run_url=run_url,
    )
    response = json_response(body, status=202)
    response.headers["Location"] = run_url
    return response


class RunsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500)
    state: Literal["queued", "running", "succeeded", "failed"] | None = None


@bp.get("/training/runs")
@operation(
    summary="Training runs, newest first (without their curves)",
    tag="training",
    query=RunsQuery,
    response=TrainingRunList,
    extra_statuses=(503,),
)
def list_training_runs() -> Response:
    q = parse_query(RunsQuery)
    return json_response(TrainingRunList(runs=list_runs(_database(), limit=q.limit, state=q.state)))


def _run(run_id: uuid.UUID) -> TrainingRun:
    run = get_run(_database(), run_id)
    if run is None:
        raise NotFound(f"no training run {run_id}")
    run.curve_svg_url = url_for("training.get_training_curve", run_id=str(run_id))
    return run


@bp.get("/training/runs/<uuid:run_id>")
@operation(
    summary="A training run: state, progress, its learning curve and the stored policy",
    tag="training",
    response=TrainingRun,
    extra_statuses=(404, 503),
)
def get_training_run(run_id: uuid.UUID) -> Response:
    return json_response(_run(run_id))


@bp.get("/training/runs/<uuid:run_id>/curve.svg")
@operation(
    summary="The run's learning curve as SVG (PnL per round with 95 % band, oracle, bets)",
    tag="training",
    extra_statuses=(404, 503),
)
def get_training_curve(run_id: uuid.UUID) -> Response:
    return Response(curve_svg(_run(run_id)), mimetype="image/svg+xml")


class PolicyView(BaseModel):
    id: str
    name: str
    env: str
    mode: str
    algorithm: str
    builtin: bool
    created_at: datetime | None
    run_id: str | None
    facts: dict[str, Any]
    scores: dict[str, Any]


class PolicyList(BaseModel):
    policies: list[PolicyView]


class PoliciesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: Literal["sidebet_v1", "trading"] | None = None
    mode: str | None = Field(None, max_length=50)
    limit: int = Field(100, ge=1, le=500)


@bp.get("/policies")
@operation(
    summary="Trained policies (built-in baselines first), loadable by id",
    tag="training",
    query=PoliciesQuery,
    response=PolicyList,
    extra_statuses=(503,),
)
def list_policies() -> Response:
    q = parse_query(PoliciesQuery)
    records = policy_store(_database()).list(env=q.env, mode=q.mode, limit=q.limit)
    return json_response(PolicyList(policies=[PolicyView(**vars(r)) for r in records]))


@bp.get("/policies/<policy_id>")
@operation(
    summary="One policy: where it came from and how it scored",
    tag="training",
    response=PolicyView,
    extra_statuses=(404, 503),
)
def get_policy(policy_id: str) -> Response:
    try:
        pid = parse_policy_id(policy_id, "path.policy_id")
    except InvalidInput:  # no policy has such an id
        raise NotFound(f"no policy {policy_id[:80]!r}") from None
    record = policy_store(_database()).get(pid)
    return json_response(PolicyView(**vars(record)))
