"""`/v1/info`: what this instance runs, for operators and callers (no secrets)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app

from agent_service import __version__
from agent_service.api import json_response, operation
from agent_service.config import describe
from agent_service.schemas import Info, Serving
from agent_service.serve import effective_workers

bp = Blueprint("info", __name__, url_prefix="/v1")
NOT_CAPABILITIES = frozenset({"system", "jobs", "models"})  # tags of the service's own routes


def capability_names(app: Flask) -> set[str]:
    """Every capability endpoint registered, named by its path (`/v1/coach/strategy` is
    `coach_strategy`): any documented /v1 operation outside NOT_CAPABILITIES' tags."""
    names = set()
    for rule in app.url_map.iter_rules():
        op = getattr(app.view_functions.get(rule.endpoint), "operation", None)
        if op is None or op.tag in NOT_CAPABILITIES or not rule.rule.startswith("/v1/"):
            continue
        parts = [p for p in rule.rule.removeprefix("/v1/").split("/") if p and "<" not in p]
        names.add("_".join(parts))
    return names


@bp.get("/info")
@operation(summary="Version, backend modes and enabled capabilities", tag="system", response=Info)
def info() -> Response:
    state = current_app.extensions["agent"]
    settings = state.settings
    workers = effective_workers(settings, settings.workers)  # embedded Qdrant: one
    shown = describe(settings) | {"workers": workers}
    return json_response(
        Info(
            version=__version__,
            modes={
                "postgres": settings.postgres_mode,
                "qdrant": settings.qdrant_mode,
                "rabbitmq": settings.amqp_mode,
                "llm": settings.effective_llm_backend,
            },
            capabilities=sorted(capability_names(current_app) | state.capabilities),
            serving=Serving(workers=workers, threads=settings.threads),
            settings=shown,
        )
    )
