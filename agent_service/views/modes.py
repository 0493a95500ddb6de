"""`GET /v1/modes`: the game modes served: packaged, from AGENT_MODES_DIR, declared by
import (docs/modes.md)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service.api import json_response, operation
from capabilities.modes.models import ModeList
from capabilities.modes.service import list_modes

bp = Blueprint("modes", __name__, url_prefix="/v1")


@bp.get("/modes")
@operation(
    summary="The game modes with their rules and where each is declared",
    tag="modes",
    response=ModeList,
    extra_statuses=(503,),
)
def modes() -> Response:
    stored = current_app.extensions["agent"].backends.modes.all()
    return json_response(list_modes(stored))
