"""The Flask application factory.

`create_app()` reads nothing at import time: it takes settings (or loads them), builds
the backends for this process, and registers one blueprint per feature.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from dataclasses import dataclass, field

from flask import Flask, Response, g, request

from agent_service.config import Settings, load_settings
from agent_service.logs import configure_logging
from agent_service.metrics import HTTP_LATENCY, HTTP_REQUESTS
from agent_service.problems import problem, register_problem_handlers
from agent_service.readiness import Readiness, build_readiness
from agent_service.runtime import build_runtime
from agent_service.wiring import Backends, Prepared, api_keys, prepare
from capabilities.engines.runtime import Runtime

log = logging.getLogger("agent_service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class AgentState:
    """Everything the views need, on `app.extensions["agent"]`."""

    settings: Settings
    backends: Backends
    readiness: Readiness
    keys: tuple[str, ...]
    runtime: Runtime
    capabilities: set[str] = field(default_factory=set)
    openapi_yaml: str = ""


def create_app(settings: Settings | None = None, prepared: Prepared | None = None) -> Flask:
    settings = settings or (prepared.settings if prepared else load_settings())
    configure_logging(settings.log_level)
    prepared = prepared or prepare(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    backends = Backends(prepared)
    state = AgentState(
        settings=settings,
        backends=backends,
        readiness=build_readiness(backends),
        keys=api_keys(settings),
        runtime=build_runtime(settings, backends.database),
    )
    app.extensions["agent"] = state
    if not state.keys:
        log.warning("no API key configured: every /v1 request will be refused")

    register_problem_handlers(app)
    _register_blueprints(app)
    _install_hooks(app)

    from agent_service.openapi import render_spec

    state.openapi_yaml = render_spec(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from agent_service.views import (
        analyst,
        chat,
        coach,
        curriculum,
        docs,
        features,
        games,
        hybrid,
        info,
        jobs,
        knowledge,
        meta,
        models,
        modes,
        opponents,
        rewards,
        system,
        tournaments,
        training,
    )

    for module in (
        system,
        docs,
        info,
        jobs,
        models,
        modes,
        knowledge,
        coach,
        features,
        analyst,
        hybrid,
        games,
        training,
        curriculum,
        meta,
        rewards,
        tournaments,
        chat,
        opponents,
    ):
        app.register_blueprint(module.bp)


def _authorized(keys: tuple[str, ...], header: str | None) -> bool:
    if not header or not header.startswith("Bearer "):
        return False
    given = header[len("Bearer ") :].strip().encode()
    matched = False
    for key in keys:  # no early exit: the time taken does not depend on which key matched
        matched |= hmac.compare_digest(given, key.encode())
    return matched


def _install_hooks(app: Flask) -> None:
    state: AgentState = app.extensions["agent"]

    @app.before_request
    def start() -> Response | None:
        g.started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        if request.path.startswith("/v1/") and not _authorized(
            state.keys, request.headers.get("Authorization")
        ):
            response = problem(
                401,
                "Unauthorized",
                "send 'Authorization: Bearer <key>' with a valid API key",
                "unauthorized",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="agent-service"'
            return response
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        response.headers["X-Request-ID"] = g.get("request_id", "")
        # the application's share of the answer time: a client tells it from the network's
        response.headers["Server-Timing"] = f"app;dur={elapsed * 1000:.2f}"
        HTTP_REQUESTS.labels(route=route, method=request.method, status=response.status_code).inc()
        HTTP_LATENCY.labels(route=route).observe(elapsed)
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response
