"""Opponent Modeling (capability 4): profiles, archetypes, next-action prediction."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, request, url_for

from agent_service.api import json_response, operation, parse_body, parse_query
from agent_service.jobs import IDEMPOTENCY_HEADER, jobs
from capabilities.opponents.capability import profile_capability, strictly_grounded
from capabilities.opponents.jobs import KIND
from capabilities.opponents.models import (
    OpponentFitAccepted,
    OpponentFitSpec,
    OpponentList,
    OpponentListQuery,
    OpponentModelInfo,
    OpponentPredictAnswer,
    OpponentPredictRequest,
    OpponentProfileAnswer,
    OpponentProfileRequest,
)
from capabilities.opponents.profiles import list_profiles
from capabilities.opponents.service import FittedModel, model_cache, predict
from tools.errors import NotFound
from tools.postgres import Database

bp = Blueprint("opponents", __name__, url_prefix="/v1")


def _database() -> Database:
    return current_app.extensions["agent"].backends.database


def _model() -> FittedModel:
    # checked against the newest stored model at most a second ago: an answer right
    # after the first fit shows it, a refit shows within a second (the hybrid's decide
    # path reads the cache, refreshed in the background)
    fitted = model_cache(_database()).fresh()
    if fitted is None:
        raise NotFound("no opponent model fitted yet: POST /v1/opponents/fit")
    return fitted


@bp.get("/opponents")
@operation(
    summary="Profiled players, filtered by archetype, sorted by PnL or activity, paged",
    tag="opponents",
    query=OpponentListQuery,
    response=OpponentList,
    extra_statuses=(503,),
)
def list_opponents() -> Response:
    q = parse_query(OpponentListQuery)
    return json_response(
        list_profiles(
            _database(), archetype=q.archetype, sort=q.sort, limit=q.limit, cursor=q.cursor
        )
    )


@bp.get("/opponents/model")
@operation(
    summary="The fitted model: evaluation on later rounds vs baselines, archetypes, when",
    tag="opponents",
    response=OpponentModelInfo,
    extra_statuses=(404, 503),
)
def get_model() -> Response:
    fitted = _model()
    return json_response(
        OpponentModelInfo(
            model_id=fitted.model_id,
            fitted_at=fitted.fitted_at,
            rounds=fitted.rounds,
            players=fitted.players,
            summary=fitted.summary,
        )
    )


@bp.post("/opponents/predict")
@operation(
    summary="ActionProbabilities of buy, sell, sidebet or nothing within the horizon, per item",
    tag="opponents",
    request=OpponentPredictRequest,
    response=OpponentPredictAnswer,
    extra_statuses=(404, 503),
)
def predict_actions() -> Response:
    body = parse_body(OpponentPredictRequest)
    fitted = _model()
    # shaped as OpponentPredictAnswer, built without it (see `predict`); orjson writes a
    # batch of 100 in a tenth of the standard library's time (every value is finite)
    answer = {"model_id": str(fitted.model_id), "items": predict(fitted, body.items)}
    return Response(orjson.dumps(answer), mimetype="application/json")


@bp.post("/opponents/fit")
@operation(
    summary="Refit profiles, archetypes and the next-action model (a job)",
    tag="opponents",
    request=OpponentFitSpec,
    response=OpponentFitAccepted,
    status=202,
    extra_statuses=(503,),
)
def fit_opponents() -> Response:
    spec = parse_body(OpponentFitSpec)
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    job_id = jobs().submit(KIND, spec.model_dump(mode="json"), idempotency_key=key)
    status_url = url_for("jobs.get_job", job_id=str(job_id))
    response = json_response(OpponentFitAccepted(job_id=job_id, status_url=status_url), status=202)
    response.headers["Location"] = status_url
    return response


@bp.get("/opponents/<player_id>")
@operation(
    summary="A player's profile, archetype and the model's accuracy for them; with a "
    "language model, a short narrative of their psychology quoting only the profile",
    tag="opponents",
    response=OpponentProfileAnswer,
    extra_statuses=(404, 503),
)
def get_opponent(player_id: str) -> Response:
    state = current_app.extensions["agent"]
    request_ = OpponentProfileRequest(player_id=player_id)
    answer = state.runtime.run(profile_capability(state.backends.database), request_)
    return json_response(strictly_grounded(answer))
