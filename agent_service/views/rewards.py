"""`POST /v1/rewards/review`: Reward Shaping (capability 7), and its A/B training jobs."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, request, url_for

from agent_service.api import json_response, operation, parse_body
from agent_service.jobs import IDEMPOTENCY_HEADER, jobs
from capabilities.rewards.capability import review_capability
from capabilities.rewards.jobs import KIND, ab_payload
from capabilities.rewards.models import (
    ABAccepted,
    ABResult,
    ABStatus,
    ReviewRequest,
    RewardReview,
)
from tools.errors import NotFound

bp = Blueprint("rewards", __name__, url_prefix="/v1")


@bp.post("/rewards/review")
@operation(
    summary="Check a sidebet reward against true economics, exactly; propose a fix; A/B it",
    tag="capabilities",
    request=ReviewRequest,
    response=RewardReview,
    extra_statuses=(503,),
)
def review_reward() -> Response:
    body = parse_body(ReviewRequest)
    answer = current_app.extensions["agent"].runtime.run(review_capability(), body)
    if body.ab is not None:
        answer = answer.model_copy(update={"ab": _start_ab(body, answer)})
    return json_response(answer)


def _start_ab(body: ReviewRequest, answer: RewardReview) -> ABAccepted:
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    job_id = jobs().submit(KIND, ab_payload(body, answer), idempotency_key=key)
    return ABAccepted(
        job_id=job_id,
        status_url=url_for("jobs.get_job", job_id=str(job_id)),
        result_url=url_for("rewards.get_ab", job_id=str(job_id)),
    )


@bp.get("/rewards/ab/<uuid:job_id>")
@operation(
    summary="A reward A/B job: its state and, once done, the paired comparison",
    tag="capabilities",
    response=ABStatus,
    extra_statuses=(404, 503),
)
def get_ab(job_id: uuid.UUID) -> Response:
    job = jobs().get(job_id)
    if job.kind != KIND:
        raise NotFound(f"no reward A/B job {job_id}")
    result = ABResult.model_validate(job.result) if job.state == "succeeded" else None
    return json_response(
        ABStatus(
            job_id=job.id,
            state=job.state,
            progress=job.progress,
            message=job.message,
            error=job.error,
            result=result,
        )
    )
