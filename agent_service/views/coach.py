"""`POST /v1/coach/strategy`: the Strategy Coach (capability 1)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from pydantic import Field

from agent_service.api import json_response, operation, parse_body
from capabilities.coach import CoachAnswer, CoachRequest, advise

bp = Blueprint("coach", __name__, url_prefix="/v1")


class CoachResponse(CoachAnswer):
    generated_by: str = Field(
        "deterministic",
        description="'deterministic' or 'model:<id>' when a language model wrote the prose",
    )


@bp.post("/coach/strategy")
@operation(
    summary="Expected value and risk of each action in a game state, and the strategy",
    tag="capabilities",
    request=CoachRequest,
    response=CoachResponse,
    extra_statuses=(503,),
)
def strategy() -> Response:
    body = parse_body(CoachRequest)
    backends = current_app.extensions["agent"].backends
    answer = advise(body, backends.models.get(body.mode))
    return json_response(CoachResponse(**answer.model_dump()))
