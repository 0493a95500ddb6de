"""`POST /v1/coach/strategy`: the Strategy Coach (capability 1)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service.api import json_response, operation, parse_body
from capabilities.coach import CoachAnswer, CoachRequest, coach_capability

bp = Blueprint("coach", __name__, url_prefix="/v1")


@bp.post("/coach/strategy")
@operation(
    summary="Expected value and risk of each action in a game state, and the strategy",
    tag="capabilities",
    request=CoachRequest,
    response=CoachAnswer,
    extra_statuses=(503,),
)
def strategy() -> Response:
    body = parse_body(CoachRequest)
    state = current_app.extensions["agent"]
    capability = coach_capability(state.backends.models.get(body.mode))
    return json_response(state.runtime.run(capability, body))
