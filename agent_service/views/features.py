"""`POST /v1/features/discover`: Feature Discovery (capability 2), run as a job."""

from __future__ import annotations

from flask import Blueprint, Response

from agent_service.api import operation, parse_body
from agent_service.jobs import JobAccepted, submit_accepted
from capabilities.discovery.job import KIND
from capabilities.discovery.models import DiscoverRequest

bp = Blueprint("features", __name__, url_prefix="/v1")


@bp.post("/features/discover")
@operation(
    summary="Mine stored rounds for features that predict the targets (a job: poll status_url)",
    tag="capabilities",
    request=DiscoverRequest,
    response=JobAccepted,
    status=202,
    extra_statuses=(503,),
)
def discover_features() -> Response:
    body = parse_body(DiscoverRequest)
    return submit_accepted(KIND, body.model_dump(mode="json"))
