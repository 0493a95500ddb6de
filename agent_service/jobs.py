"""Jobs in the web service: the service built from settings, and the convention of long
capabilities, which answer `202 Accepted` with the job's id and status URL.

    @bp.post("/tournaments")
    @operation(summary=..., tag=..., request=TournamentRequest, response=JobAccepted,
               status=202)
    def tournaments() -> Response:
        body = parse_body(TournamentRequest)
        return submit_accepted("tournament.run", body.model_dump(mode="json"))
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, request, url_for
from pydantic import BaseModel, Field

from agent_service.api import json_response
from agent_service.config import Settings
from agent_service.runtime import build_runtime
from capabilities.engines.jobs import JobConfig, JobService
from capabilities.engines.jobs.context import (
    set_job_events,
    set_runtime_factory,
    set_submitter_factory,
)
from capabilities.engines.jobs.registry import load_handler_modules
from tools.jobs_store import JobStore
from tools.postgres import Database
from tools.publisher import EventPublisher

IDEMPOTENCY_HEADER = "Idempotency-Key"


class JobAccepted(BaseModel):
    """The answer of a long capability: poll `status_url` until the job is finished."""

    job_id: uuid.UUID
    status_url: str = Field(description="GET it for the job's state, progress and result")


def job_config(settings: Settings) -> JobConfig:
    return JobConfig(
        queue=settings.jobs_queue,
        max_attempts=settings.jobs_max_attempts,
        lease_s=settings.jobs_lease_s,
        threads=settings.jobs_threads,
        sweep_interval_s=settings.jobs_sweep_interval_s,
        requeue_after_s=settings.jobs_requeue_after_s,
        stop_grace_s=settings.jobs_stop_grace_s,
        retry_delay_s=settings.jobs_retry_delay_s,
    )


def build_job_service(settings: Settings, database: Database) -> JobService:
    """The job service of this process (handler modules imported first, so submits of
    their kinds validate and in-process execution finds them)."""
    load_handler_modules(settings.jobs_handlers)
    set_runtime_factory(lambda db: build_runtime(settings, db))
    url = settings.amqp_url.get_secret_value() if settings.amqp_url else None
    service = JobService(JobStore(database), job_config(settings), amqp_url=url)
    set_submitter_factory(lambda _db: service.submit)  # jobs may submit jobs (chunks)
    set_job_events(EventPublisher(url, settings.amqp_events_exchange) if url else None)
    return service


def jobs() -> JobService:
    """The current app's job service."""
    return current_app.extensions["agent"].backends.jobs()


def accepted(job_id: uuid.UUID) -> Response:
    """202 with `{"job_id", "status_url"}` and a Location header pointing at the job."""
    status_url = url_for("jobs.get_job", job_id=str(job_id))
    response = json_response(JobAccepted(job_id=job_id, status_url=status_url), status=202)
    response.headers["Location"] = status_url
    return response


def submit_accepted(kind: str, payload: dict[str, Any]) -> Response:
    """Submit a job (the request's Idempotency-Key header, if any, deduplicates retries)
    and answer 202."""
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    return accepted(jobs().submit(kind, payload, idempotency_key=key))
