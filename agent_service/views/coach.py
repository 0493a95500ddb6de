"""`POST /v1/coach/strategy`: the Strategy Coach (capability 1)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service.api import json_response, operation, parse_body
from agent_service.wiring import Backends
from capabilities.coach.capability import KnowledgeLookup, coach_capability
from capabilities.coach.models import CoachAnswer, CoachRequest

bp = Blueprint("coach", __name__, url_prefix="/v1")


def knowledge_lookup(backends: Backends) -> KnowledgeLookup:
    """Knowledge-base chunks as evidence items (source, heading, score, text)."""

    def knowledge_search(query: str, collections: list[str], top_k: int) -> list[dict]:
        result = backends.knowledge().search_result(query, collections, top_k)
        return [
            {
                "collection": c.collection,
                "source": c.source,
                "heading": c.heading,
                "score": round(c.score, 4),
                "text": c.text[:400],
                "fallback": c.fallback,
                "mode": c.mode,
            }
            for c in result.chunks
        ]

    return knowledge_search


@bp.post("/coach/strategy")
@operation(
    summary="Expected value and risk of each action in a game state, and the strategy",
    tag="capabilities",
    request=CoachRequest,
    response=CoachAnswer,
    extra_statuses=(503,),
)
def strategy() -> Response:
    body = parse_body(CoachRequest)
    state = current_app.extensions["agent"]
    backends = state.backends
    capability = coach_capability(
        backends.models.get(body.mode),
        knowledge_lookup(backends),
        backends.evidence_tools(bool(state.runtime.models)),
    )
    return json_response(state.runtime.run(capability, body))
