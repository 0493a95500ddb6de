"""Tournaments of bot variants on common seeds with sequential tests (`/v1/tournaments`)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from pydantic import BaseModel, ConfigDict, Field

from agent_service.api import json_response, operation, parse_body, parse_query
from agent_service.jobs import IDEMPOTENCY_HEADER, JobAccepted, jobs
from capabilities.tournaments import store
from capabilities.tournaments.entrants import build_field, store_loader
from capabilities.tournaments.jobs import KIND
from capabilities.tournaments.models import (
    Tournament,
    TournamentList,
    TournamentResult,
    TournamentSpec,
)
from capabilities.tournaments.service import redacted
from capabilities.tournaments.svg import intervals_svg
from tools.errors import NotFound
from tools.postgres import Database

bp = Blueprint("tournaments", __name__, url_prefix="/v1")


def _database() -> Database:
    return current_app.extensions["agent"].backends.database


class TournamentAccepted(JobAccepted):
    tournament_url: str


@bp.post("/tournaments")
@operation(
    summary="Run a tournament of bots on common seeds, sequential tests per pair (a job)",
    tag="tournaments",
    request=TournamentSpec,
    response=TournamentAccepted,
    status=202,
    extra_statuses=(404, 503),
)
def start_tournament() -> Response:
    spec = parse_body(TournamentSpec)
    build_field(spec, store_loader(_database()))  # 422/404 now, naming the entrant
    payload = spec.model_dump(mode="json")
    key = request.headers.get(IDEMPOTENCY_HEADER) or None
    job_id = jobs().submit(KIND, payload, idempotency_key=key)
    store.create(_database(), job_id, spec.mode, payload)
    url = url_for("tournaments.get_tournament", tournament_id=str(job_id))
    body = TournamentAccepted(
        job_id=job_id, status_url=url_for("jobs.get_job", job_id=str(job_id)), tournament_url=url
    )
    response = json_response(body, status=202)
    response.headers["Location"] = url
    return response


def _tournament(row: tuple[Any, ...]) -> Tournament:
    tid, state, mode, created, updated, spec, result = row
    return Tournament(
        id=tid,
        state=state,
        mode=mode,
        created_at=created,
        updated_at=updated,
        spec=redacted(spec),
        result=TournamentResult.model_validate(result) if result else None,
        intervals_svg_url=url_for("tournaments.get_tournament_svg", tournament_id=str(tid)),
    )


def _get(tournament_id: uuid.UUID) -> Tournament:
    row = store.get(_database(), tournament_id)
    if row is None:
        raise NotFound(f"no tournament {tournament_id}")
    return _tournament(row)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=200)


@bp.get("/tournaments")
@operation(
    summary="Tournaments, newest first, with their standings",
    tag="tournaments",
    query=ListQuery,
    response=TournamentList,
    extra_statuses=(503,),
)
def list_tournaments() -> Response:
    q = parse_query(ListQuery)
    rows = store.list_recent(_database(), q.limit)
    return json_response(TournamentList(tournaments=[_tournament(r) for r in rows]))


@bp.get("/tournaments/<uuid:tournament_id>")
@operation(
    summary="A tournament: state, standings with 95 % intervals, pair verdicts, ranking",
    tag="tournaments",
    response=Tournament,
    extra_statuses=(404, 503),
)
def get_tournament(tournament_id: uuid.UUID) -> Response:
    return json_response(_get(tournament_id))


@bp.get("/tournaments/<uuid:tournament_id>/intervals.svg")
@operation(
    summary="The entrants' PnL per round with 95 % intervals, as SVG",
    tag="tournaments",
    extra_statuses=(404, 503),
)
def get_tournament_svg(tournament_id: uuid.UUID) -> Response:
    return Response(intervals_svg(_get(tournament_id)), mimetype="image/svg+xml")
