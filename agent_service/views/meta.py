"""Meta-Learning (capability 5): `POST /v1/meta/adapt` pools a mode's game models with
the other modes'; `POST /v1/meta/transfer` trains a policy warm-started from the closest
mode's against one from scratch (a job)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_service.api import json_response, operation, parse_body, parse_query
from agent_service.jobs import IDEMPOTENCY_HEADER, jobs
from capabilities.meta.capability import meta_capability
from capabilities.meta.chart_svg import adapt_svg
from capabilities.meta.models import AdaptAnswer, AdaptRequest, TransferAccepted, TransferRequest
from capabilities.meta.service import adapt, closest_source
from capabilities.meta.transfer import KIND
from tools.errors import FieldError, InvalidInput, NotFound
from tools.policy_store import parse_policy_id, policy_store

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


def _source_policy(body: TransferRequest) -> tuple[str, str | None, float | None]:
    """(policy id, its mode, how much the target resembles that mode): the one asked for
    (no resemblance measured), else the closest mode's (its shipped baseline, or its
    newest stored sidebet_v1 policy)."""
    store = policy_store(current_app.extensions["agent"].backends.database)
    if body.source_policy is not None:
        record = store.get(parse_policy_id(body.source_policy, "source_policy"))
        if record.env != "sidebet_v1":
            raise InvalidInput(
                "the transfer trains sidebet_v1 policies",
                [FieldError("source_policy", f"a policy of env {record.env!r}")],
            )
        return record.id, record.mode, None
    database = current_app.extensions["agent"].backends.database
    closest = closest_source(adapt(database, AdaptRequest(mode=body.mode), "n/a"))
    mode, weight = closest if closest else (None, None)
    for record in store.list(env="sidebet_v1", mode=mode, limit=1) if mode else ():
        return record.id, mode, weight
    raise NotFound(f"no sidebet_v1 policy of the closest mode {mode!r}: pass source_policy")


@bp.post("/transfer")
@operation(
    summary="A job: PPO on the mode warm-started from the closest mode's policy vs from "
    "scratch, env steps to 90 % of the oracle's value for each",
    tag="capabilities",
    request=TransferRequest,
    response=TransferAccepted,
    status=202,
    extra_statuses=(404, 503),
)
def transfer() -> Response:
    body = parse_body(TransferRequest)
    policy_id, mode, weight = _source_policy(body)
    payload = {
        "request": body.model_dump(mode="json"),
        "source_policy": policy_id,
        "source_mode": mode,
        "source_resemblance": weight,
    }
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    job_id = jobs().submit(KIND, payload, idempotency_key=key)
    status_url = url_for("jobs.get_job", job_id=str(job_id))
    response = json_response(TransferAccepted(job_id=job_id, status_url=status_url), status=202)
    response.headers["Location"] = status_url
    return response
