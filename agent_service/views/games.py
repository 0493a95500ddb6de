"""`POST /v1/games/verify`: provably-fair verification of one round."""

from __future__ import annotations

from flask import Blueprint, Response

from agent_service.api import json_response, operation, parse_body
from capabilities.fairness.models import VerifyRequest, VerifyResponse
from capabilities.fairness.service import verify_one

bp = Blueprint("games", __name__, url_prefix="/v1/games")


@bp.post("/verify")
@operation(
    summary="Replay one round from its revealed seed: hash, prices and rug tick checked",
    tag="games",
    request=VerifyRequest,
    response=VerifyResponse,
    description="Pure-Python replay of seedrandom's ARC4 generator and the v1/v2/v3 engines "
    "(a few milliseconds). With `prices` (as gameHistory lists them) the verdict compares "
    "every tick before the rug and the rug tick; without, the replayed path is returned.",
)
def verify() -> Response:
    return json_response(verify_one(parse_body(VerifyRequest)))
