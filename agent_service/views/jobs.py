"""`GET /v1/jobs/{id}`: where the caller of a long capability follows its job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, Response
from pydantic import BaseModel, Field

from agent_service.api import json_response, operation
from agent_service.jobs import jobs
from tools.errors import FieldError, InvalidInput
from tools.jobs_store import Job

bp = Blueprint("jobs", __name__, url_prefix="/v1")


class JobStatus(BaseModel):
    job_id: uuid.UUID
    kind: str
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float = Field(ge=0, le=1, description="fraction done, as reported by the job")
    message: str | None = Field(None, description="the job's latest progress message")
    result: dict[str, Any] | None = Field(None, description="present once succeeded")
    error: str | None = Field(None, description="why it failed (or why the last attempt did)")
    attempts: int = Field(description="attempts started so far")
    max_attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobStatus:
        return cls(
            job_id=job.id,
            kind=job.kind,
            state=job.state,
            progress=job.progress,
            message=job.message,
            result=job.result,
            error=job.error,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )


@bp.get("/jobs/<uuid:job_id>")
@operation(summary="A job's state, progress and result or error", tag="jobs", response=JobStatus)
def get_job(job_id: uuid.UUID) -> Response:
    return json_response(JobStatus.of(jobs().get(job_id)))


@bp.get("/jobs/<job_id>")
def malformed_job_id(job_id: str) -> Response:
    """Any other id: 422 naming the parameter (not a bare 404 from the router)."""
    raise InvalidInput("the job id is malformed", [FieldError("path.job_id", "expected a UUID")])
