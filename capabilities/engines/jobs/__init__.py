"""Durable jobs: long capability work stored in PostgreSQL, run by RabbitMQ workers or
in-process threads. Capabilities register handlers and submit through `JobService`."""

from __future__ import annotations

from capabilities.engines.jobs.config import JobConfig
from capabilities.engines.jobs.registry import Handler, Progress, handler, register_handler
from capabilities.engines.jobs.service import JobService

__all__ = ["Handler", "JobConfig", "JobService", "Progress", "handler", "register_handler"]
