"""`/v1/info`: what this instance runs, for operators and callers (no secrets)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service import __version__
from agent_service.api import json_response, operation
from agent_service.config import describe
from agent_service.schemas import Info

bp = Blueprint("info", __name__, url_prefix="/v1")


@bp.get("/info")
@operation(summary="Version, backend modes and enabled capabilities", tag="system", response=Info)
def info() -> Response:
    state = current_app.extensions["agent"]
    settings = state.settings
    return json_response(
        Info(
            version=__version__,
            modes={
                "postgres": settings.postgres_mode,
                "qdrant": settings.qdrant_mode,
                "rabbitmq": settings.amqp_mode,
                "llm": settings.effective_llm_backend,
            },
            capabilities=sorted(state.capabilities),
            settings=describe(settings),
        )
    )
