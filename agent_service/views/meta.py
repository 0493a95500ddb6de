"""Meta-Learning (capability 5): `POST /v1/meta/adapt` pools a mode's game models with
the other modes'; `POST /v1/meta/transfer` trains a policy warm-started from the closest
mode's against one from scratch (a job)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, url_for
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_service.api import json_response, operation, parse_body, parse_query
from capabilities.meta.capability import meta_capability
from capabilities.meta.chart_svg import adapt_svg
from capabilities.meta.models import AdaptAnswer, AdaptRequest
from capabilities.meta.service import adapt
from tools.errors import NotFound

bp = Blueprint("meta", __name__, url_prefix="/v1/meta")


def _served_as(mode: str) -> str:
    """What the model registry serves for the mode now (rules, pooled or fitted)."""
    return current_app.extensions["agent"].backends.models.get(mode).source


@bp.post("/adapt")
@operation(
    summary="A mode's hazard and drift pooled with the other modes: own vs pooled, the "
    "weight on others, the rounds until its own data dominate, the modes it resembles",
    tag="capabilities",
    request=AdaptRequest,
    response=AdaptAnswer,
    extra_statuses=(404, 503),
)
def adapt_mode() -> Response:
    body = parse_body(AdaptRequest)
    state = current_app.extensions["agent"]
    capability = meta_capability(state.backends.database, _served_as(body.mode))
    answer = state.runtime.run(capability, body)
    answer.chart_url = url_for("meta.adapt_chart", mode=body.mode, **_chart_query(body))
    return json_response(answer)


class ChartQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_rounds: int = Field(5000, ge=10, le=200_000)
    sources: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*$",
        description="comma-separated source modes",
    )


def _chart_query(body: AdaptRequest) -> dict[str, object]:
    query: dict[str, object] = {}
    if body.max_rounds != AdaptRequest.model_fields["max_rounds"].default:
        query["max_rounds"] = body.max_rounds
    if body.sources is not None:
        query["sources"] = ",".join(body.sources)
    return query


@bp.get("/adapt/<mode>/chart.svg")
@operation(
    summary="SVG: the mode's hazard and drift vs its rounds, alone and pooled (95 % bands)",
    tag="capabilities",
    query=ChartQuery,
    extra_statuses=(404, 503),
)
def adapt_chart(mode: str) -> Response:
    q = parse_query(ChartQuery)
    sources = q.sources.split(",") if q.sources else None
    try:
        body = AdaptRequest(mode=mode, sources=sources, max_rounds=q.max_rounds)
    except ValidationError:
        raise NotFound(f"no mode {mode[:80]!r}") from None
    answer = adapt(current_app.extensions["agent"].backends.database, body, _served_as(mode))
    return Response(adapt_svg(answer), mimetype="image/svg+xml")
