"""Open operational endpoints: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json

from agent_service import __version__
from agent_service.api import json_response, operation
from agent_service.metrics import render
from agent_service.schemas import Health, Ready

bp = Blueprint("system", __name__)


@bp.get("/health")
@operation(
    summary="Liveness: the process answers; touches no backend",
    tag="system",
    response=Health,
    auth=False,
)
def health() -> Response:
    return json_response(Health(status="ok", version=__version__))


@bp.get("/ready")
@operation(
    summary="Readiness of each backend; 503 when a required one is down",
    tag="system",
    response=Ready,
    auth=False,
    extra_statuses=(503,),
)
def ready() -> Response:
    readiness = current_app.extensions["agent"].readiness
    components = readiness.components()
    ok = readiness.is_ready(components)
    body = {
        "status": "ready" if ok else "not_ready",
        "components": {name: c.as_dict() for name, c in components.items()},
    }
    response = Response(json.dumps(body), status=200 if ok else 503, mimetype="application/json")
    if not ok:
        response.headers["Retry-After"] = "5"
    return response


@bp.get("/metrics")
@operation(summary="Prometheus metrics in the text exposition format", tag="system", auth=False)
def metrics() -> Response:
    body, content_type = render()
    return Response(body, mimetype=content_type.split(";")[0], content_type=content_type)


@bp.get("/openapi.yaml")
@operation(summary="This OpenAPI document", tag="system", auth=False)
def openapi_document() -> Response:
    return Response(current_app.extensions["agent"].openapi_yaml, mimetype="application/yaml")
