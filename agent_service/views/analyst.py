"""`POST /v1/analyst/explain` and `POST /v1/analyst/fit`: the Game Analyst (capability 3)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from agent_service.api import json_response, operation, parse_body
from capabilities.analyst.explain import explain_capability
from capabilities.analyst.fit import fit_and_store
from capabilities.analyst.models import ExplainRequest, Explanation, FitRequest, FitResult
from capabilities.analyst.store import load_surrogate
from tools.errors import FieldError, InvalidInput, NotFound

bp = Blueprint("analyst", __name__, url_prefix="/v1")


@bp.post("/analyst/explain")
@operation(
    summary="What a decision cost against the best action, what drove it, what flips it",
    tag="capabilities",
    request=ExplainRequest,
    response=Explanation,
    extra_statuses=(404, 503),
)
def explain() -> Response:
    body = parse_body(ExplainRequest)
    state = current_app.extensions["agent"]
    backends = state.backends
    surrogate = None
    if body.bot_id is not None:
        found = load_surrogate(backends.database, body.bot_id)
        if found is None:
            raise NotFound(
                f"no surrogate has been fitted for bot {body.bot_id!r}; POST /v1/analyst/fit"
            )
        surrogate = found[1]
        if body.observation is not None and len(body.observation) != len(surrogate.feature_names):
            raise InvalidInput(
                "the observation does not match the surrogate",
                [FieldError("observation", f"expected {len(surrogate.feature_names)} values")],
            )
    capability = explain_capability(
        backends.models.get(body.state.mode),
        surrogate,
        backends.evidence_tools(bool(state.runtime.models)),
    )
    return json_response(state.runtime.run(capability, body))


@bp.post("/analyst/fit")
@operation(
    summary="Fit a readable surrogate of a bot from its logged decisions",
    tag="capabilities",
    request=FitRequest,
    response=FitResult,
    extra_statuses=(503,),
)
def fit() -> Response:
    body = parse_body(FitRequest)
    return json_response(fit_and_store(current_app.extensions["agent"].backends.database, body))
