"""Run the app under gunicorn with settings from the environment and the command line."""

from __future__ import annotations

from typing import Any

import click
from gunicorn.app.base import BaseApplication

from agent_service import gunicorn_conf
from agent_service.config import Settings
from agent_service.http_worker import ReadLimits
from agent_service.startup import Prepared


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, prepared: Prepared, options: dict[str, Any]) -> None:
        self._prepared = prepared
        self._options = options
        settings = prepared.settings
        # read by the worker (agent_service.http_worker) before it reads any request
        self.read_limits = ReadLimits(
            settings.header_timeout_s, settings.body_timeout_s, settings.max_body_bytes
        )
        super().__init__()

    def load_config(self) -> None:
        for key in dir(gunicorn_conf):
            value = getattr(gunicorn_conf, key)
            if key in self.cfg.settings and not key.startswith("_"):
                self.cfg.set(key, value)
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # runs in each worker after the fork: pools and clients are created here
        from agent_service.app import create_app
        from agent_service.warmup import WarmUp

        app = create_app(prepared=self._prepared)
        state = app.extensions["agent"]
        state.backends.jobs()  # in-process mode: resume interrupted jobs
        # /ready waits for it, /health not; then the start-up heap is frozen (warmup.py)
        WarmUp(state.backends, freeze_gc=True).start(state.readiness)
        return app


def effective_workers(settings: Settings, requested: int) -> int:
    """Qdrant's local mode locks its folder to one process: one worker, more threads."""
    return 1 if settings.qdrant_mode == "embedded" else requested


def run(prepared: Prepared, *, host: str, port: int, workers: int, threads: int) -> None:
    settings = prepared.settings
    click.echo(
        f"agent-service: listening on http://{host}:{port} "
        f"({workers} worker(s) x {threads} threads)"
    )
    _Gunicorn(
        prepared,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "timeout": settings.timeout_s,
            "graceful_timeout": settings.graceful_timeout_s,
            "loglevel": settings.log_level.lower(),
            "proc_name": "agent-service",
        },
    ).run()
