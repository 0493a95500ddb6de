"""The service's one error tree.

ServiceError
 +-- InvalidInput        bad request body or parameters (422, 400 when unparsable)
 +-- UnsupportedMedia    a body that is not JSON by its Content-Type (415)
 +-- NotFound            a resource that does not exist (404)
 +-- Unauthorized        missing or wrong credentials (401)
 +-- Conflict            a state clash (409)
 +-- BackendUnavailable  PostgreSQL, Qdrant, RabbitMQ or the LLM is down (503)

Each error knows its HTTP status and RFC 9457 title; the web layer maps any of them to
problem+json in one handler, so lower layers raise these without importing Flask.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One invalid field: a dotted path into the input and what is wrong with it."""

    field: str
    message: str


class ServiceError(Exception):
    """Base of every error the service reports to a caller."""

    status = 500
    title = "Internal Server Error"
    type_slug = "internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ServiceError):
    status = 422
    title = "Unprocessable Content"
    type_slug = "validation"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class MalformedRequest(ServiceError):
    status = 400
    title = "Bad Request"
    type_slug = "malformed"


class UnsupportedMedia(ServiceError):
    status = 415
    title = "Unsupported Media Type"
    type_slug = "unsupported-media-type"


class NotFound(ServiceError):
    status = 404
    title = "Not Found"
    type_slug = "not-found"


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class BackendUnavailable(ServiceError):
    status = 503
    title = "Service Unavailable"
    type_slug = "backend-unavailable"

    def __init__(self, backend: str, detail: str, retry_after: int = 5) -> None:
        super().__init__(f"{backend} is unavailable: {detail}")
        self.backend = backend
        self.retry_after = retry_after
