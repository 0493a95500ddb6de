"""`/v1/models/status`: the language models, their health, what the router learned,
budget use and the answer cache's hit rate."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service.api import json_response, operation
from capabilities.runtime.status import ModelsStatus, models_status

bp = Blueprint("models", __name__, url_prefix="/v1/models")


@bp.get("/status")
@operation(
    summary="Models of the chain with health, router profiles, budget use, cache hit rate",
    tag="models",
    response=ModelsStatus,
    extra_statuses=(503,),
)
def status() -> Response:
    state = current_app.extensions["agent"]
    return json_response(
        models_status(state.runtime, probe_timeout_s=state.settings.check_timeout_s)
    )
