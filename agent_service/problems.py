"""Every error as RFC 9457 problem+json, mapped in one place."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from tools.errors import BackendUnavailable, InvalidInput, ServiceError
from tools.redact import mask_url

log = logging.getLogger(__name__)
PROBLEM_TYPE = "urn:vectra-agent:problem:"


def problem_document(status: int, title: str, detail: str, slug: str) -> dict[str, object]:
    """The members every problem has (also written by the HTTP worker, outside Flask)."""
    return {"type": PROBLEM_TYPE + slug, "title": title, "status": status, "detail": detail}


def problem(status: int, title: str, detail: str, slug: str, **extra: object) -> Response:
    body = problem_document(status, title, detail, slug)
    if "request_id" in g:
        body["instance"] = f"urn:request:{g.request_id}"
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _service_error(exc: ServiceError) -> Response:
    extra: dict[str, object] = {}
    if isinstance(exc, InvalidInput):
        extra["errors"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    detail = mask_url(exc.detail)  # a backend's error may quote its URL
    response = problem(exc.status, exc.title, detail, exc.type_slug, **extra)
    if isinstance(exc, BackendUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
        log.warning("backend unavailable", extra={"backend": exc.backend, "detail": detail})
    return response


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    detail = exc.description or ""
    if code == 413:
        detail = f"the request body exceeds the limit of {request.max_content_length} bytes"
    slug = (exc.name or "error").lower().replace(" ", "-")
    response = problem(code, exc.name or "Error", detail, slug)
    if code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.path})
    return problem(
        500,
        "Internal Server Error",
        "an unexpected error occurred; quote the request id when reporting it",
        "internal",
    )


def register_problem_handlers(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
