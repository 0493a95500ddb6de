"""`POST /v1/curriculum/next`: Curriculum Learning (capability 6)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service.api import json_response, operation, parse_body
from capabilities.curriculum.capability import curriculum_capability
from capabilities.curriculum.models import CurriculumAnswer, CurriculumRequest
from tools.errors import FieldError, InvalidInput
from tools.policy_store import parse_policy_id, policy_store

bp = Blueprint("curriculum", __name__, url_prefix="/v1")


@bp.post("/curriculum/next")
@operation(
    summary="The scenarios a bot should train on next, ordered, with why",
    tag="capabilities",
    request=CurriculumRequest,
    response=CurriculumAnswer,
    extra_statuses=(404, 503),
)
def next_scenarios() -> Response:
    body = parse_body(CurriculumRequest)
    state = current_app.extensions["agent"]
    policy, step = None, 0
    if body.policy_id is not None:
        store = policy_store(state.backends.database)
        record = store.get(parse_policy_id(body.policy_id))
        if record.env != "sidebet_v1":
            raise InvalidInput(
                "the curriculum measures sidebet_v1 policies",
                [FieldError("policy_id", f"a policy of env {record.env!r}")],
            )
        policy = store.load(record.id)
        step = body.policy_step if body.policy_step is not None else record.facts.get("steps", 0)
    tools = state.backends.evidence_tools(bool(state.runtime.models))
    return json_response(state.runtime.run(curriculum_capability(policy, int(step), tools), body))
