"""`/v1/models/status`: the language models, their health, what the router learned,
budget use and the answer cache's hit rate. `/v1/models/game/{mode}`: the statistical
models fitted for a game mode, and its hazard curve as SVG."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, url_for

from agent_service.api import json_response, operation
from capabilities.engines.game_models.hazard_svg import hazard_svg
from capabilities.engines.game_models.registry import ModelSet
from capabilities.engines.game_models.report import GameModelReport, model_report
from capabilities.engines.runtime.status import ModelsStatus, models_status
from game.rules import is_known_mode, load_mode
from tools.errors import NotFound

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


def _game_models(mode: str) -> ModelSet:
    if not is_known_mode(mode):
        raise NotFound(f"no game mode {mode[:40]!r}; GET /v1/modes lists them")
    return current_app.extensions["agent"].backends.models.get(mode)


@bp.get("/game/<mode>")
@operation(
    summary="A game mode's fitted models: hazard by tick band with tests, price model, "
    "rounds used, and the fit against the documented law",
    tag="models",
    response=GameModelReport,
    extra_statuses=(503,),
)
def game_models(mode: str) -> Response:
    models = _game_models(mode)
    database = current_app.extensions["agent"].backends.database
    svg_url = url_for("models.game_hazard_svg", mode=mode)
    return json_response(model_report(models, database, svg_url))


@bp.get("/game/<mode>/hazard.svg")
@operation(
    summary="A game mode's rug hazard by tick as SVG: the fit with its 95 % band, and the "
    "documented law",
    tag="models",
    extra_statuses=(503,),
)
def game_hazard_svg(mode: str) -> Response:
    models = _game_models(mode)
    return Response(hazard_svg(models, load_mode(mode)), mimetype="image/svg+xml")
