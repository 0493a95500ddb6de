"""What each endpoint declares (its models, status and auth), and request parsing.

Views carry an `Operation` so the OpenAPI document is generated from the same pydantic
models that validate requests; the two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Response, request
from pydantic import BaseModel, ValidationError

from tools.errors import FieldError, InvalidInput, MalformedRequest

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    description: str = ""
    extra_statuses: tuple[int, ...] = field(default=())


def operation(**kwargs: Any) -> Callable[[F], F]:
    """Attach an Operation to a view function."""

    def decorate(view: F) -> F:
        view.operation = Operation(**kwargs)  # type: ignore[attr-defined]
        return view

    return decorate


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    errors = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        errors.append(
            FieldError(
                field=prefix + loc if loc else prefix.rstrip(".") or "body", message=err["msg"]
            )
        )
    return errors


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated into `model` (400 unparsable, 422 invalid)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise MalformedRequest("the request body is empty; send a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(
            "the request body must be a JSON object", [FieldError("body", "expected a JSON object")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("the request body is invalid", field_errors(exc)) from None


def parse_query(model: type[M]) -> M:
    """Query parameters validated into `model` (422 with the parameter named)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidInput("a query parameter is invalid", field_errors(exc, "query.")) from None


def json_response(payload: BaseModel | dict, status: int = 200) -> Response:
    body = payload.model_dump_json() if isinstance(payload, BaseModel) else json.dumps(payload)
    return Response(body, status=status, mimetype="application/json")
