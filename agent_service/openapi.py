"""The OpenAPI 3.1 document, generated from the routes and their pydantic models.

`agent-service openapi` writes it to `openapi.yaml`; a test fails when the committed file
and the application disagree.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from flask import Flask
from pydantic import BaseModel

from agent_service import __version__
from agent_service.api import Operation
from agent_service.schemas import Problem

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_REF = "#/components/schemas/{model}"
_PATH_SCHEMAS = {"int": {"type": "integer"}, "uuid": {"type": "string", "format": "uuid"}}
_ERROR_TEXT = {
    400: "Malformed request (unparsable JSON, or nested deeper than 32 levels)",
    401: "Missing or invalid API key",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "The body is not sent as application/json (or a +json type)",
    422: "Validation error; `errors` names each field at fault",
    500: "Unexpected error (logged with the request id)",
    503: "A backend is unavailable; retry after `Retry-After` seconds",
}


_DESCRIPTION = """Strategic intelligence for the VECTRA-PLAYER rugs.fun bot.

Rules for every request body (docs/http.md): send it as `application/json`; it is
parsed as I-JSON (RFC 7493): no string holds NUL (\\u0000) or a lone surrogate, no number
is NaN or Infinity, objects and arrays nest at most 32 deep; strings, numbers and
booleans are not converted into one another (3.0 is the integer 3, 3.5 is no integer).
Rules that span fields (or that JSON Schema cannot state) are listed under
`x-cross-field-rules` of each schema; breaking one is a 422 naming the field. Game modes
are data (packaged, or declared by the user): a mode field gives the name's pattern and
the packaged modes as examples; GET /v1/modes lists every mode, and a well-formed name
that is none of them is a 422 naming the field."""


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=_REF, mode="serialization")
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, sub)
        self.schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    def input_ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=_REF, mode="validation")
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, sub)
        self.schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}


def build_spec(app: Flask) -> dict[str, Any]:
    components = _Components()
    problem_ref = components.ref(Problem)
    paths: dict[str, dict[str, Any]] = {}
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        view = app.view_functions.get(rule.endpoint)
        op: Operation | None = getattr(view, "operation", None)
        if op is None:
            continue
        path = _PARAM.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                op, rule, method, components, problem_ref
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "VECTRA Agent Service",
            "version": __version__,
            "description": _DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(
    op: Operation, rule: Any, method: str, components: _Components, problem_ref: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{rule.endpoint.replace('.', '_')}_{method.lower()}",
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        out["description"] = op.description
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _PATH_SCHEMAS.get(conv, {"type": "string"}),
        }
        for conv, name in _PARAM.findall(rule.rule)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=_REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if parameters:
        out["parameters"] = parameters
    if op.request is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.input_ref(op.request)}},
        }
    success: dict[str, Any] = {"description": "Success"}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": components.ref(op.response)}}
    elif rule.rule == "/metrics":
        success["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif rule.rule == "/openapi.yaml":
        success["content"] = {"application/yaml": {"schema": {"type": "string"}}}
    elif rule.rule.endswith(".svg"):
        success["content"] = {"image/svg+xml": {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): success}
    errors = {405, 500, *op.extra_statuses}
    if op.auth:
        errors |= {401}
        out["security"] = [{"bearer": []}]
    if op.request is not None:
        errors |= {400, 413, 415, 422}
    if op.query is not None or parameters:
        errors |= {422}
    if "<" in rule.rule:
        errors |= {404}
    for code in sorted(errors):
        if code == 503 and op.response is not None and rule.rule == "/ready":
            responses["503"] = {"description": "Not ready", "content": success["content"]}
            continue
        responses[str(code)] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/problem+json": {"schema": problem_ref}},
        }
    out["responses"] = responses
    return out


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_spec(app: Flask) -> str:
    return yaml.dump(
        build_spec(app), Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100
    )
