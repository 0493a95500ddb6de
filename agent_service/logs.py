"""JSON-lines logging on stdout, one object per record, with the request id when known."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import g, has_request_context

from tools.redact import mask_url

_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_url(record.getMessage()),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = mask_url(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = mask_url(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Route every logger through one JSON handler on stdout (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_agent_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler._agent_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # HTTP clients log each request's URL at INFO (httpx2 is what openai uses)
    for noisy in (
        "pika",
        "httpx",
        "httpx2",
        "httpcore",
        "httpcore2",
        "openai",
        "urllib3",
        "psycopg.pool",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def quiet_cli_logging(name: str) -> None:
    """A command that prints what logger `name` reports need not show it twice on stderr
    (through Python's last-resort handler) when no logging is configured."""
    if not logging.getLogger().handlers:
        logging.getLogger(name).addHandler(logging.NullHandler())
