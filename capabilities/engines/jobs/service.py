"""Submitting and reading jobs: what capabilities and views call.

With a RabbitMQ URL a submitted job is published to the work queue for
`agent-service worker` processes; without one it runs on this process's thread pool.
Either way the job row is written first, so a job that was accepted is never lost: if
the hand-off fails, a sweeper hands it over later.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from typing import Any

from pika.exceptions import AMQPError

from capabilities.engines.jobs.config import JobConfig
from capabilities.engines.jobs.local import LocalExecutor
from capabilities.engines.jobs.metrics import JOBS_SUBMITTED
from capabilities.engines.jobs.registry import KIND, handler_for, registered_kinds
from capabilities.engines.jobs.runner import JobRunner
from tools.errors import FieldError, InvalidInput, NotFound
from tools.jobs_queue import JobPublisher, QueueNames
from tools.jobs_store import Job, JobStore

log = logging.getLogger(__name__)


def process_worker_id() -> str:
    """host:pid, the prefix of every worker id this process uses."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobService:
    def __init__(self, store: JobStore, config: JobConfig, *, amqp_url: str | None) -> None:
        self.store = store
        self.config = config
        self._publisher: JobPublisher | None = None
        self._local: LocalExecutor | None = None
        if amqp_url:
            self._publisher = JobPublisher(amqp_url, QueueNames(config.queue))
        else:
            self._local = LocalExecutor(
                JobRunner(store, lease_s=config.lease_s),
                config,
                worker_id=f"{process_worker_id()}:local",
            )

    @property
    def mode(self) -> str:
        return "rabbitmq" if self._publisher else "in-process"

    def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        max_attempts: int | None = None,
    ) -> uuid.UUID:
        """Store a job and hand it to a worker; the same idempotency key (per kind) and
        payload give back the same job instead of a new one."""
        _validate(kind, payload, idempotency_key, max_attempts)
        job, created = self.store.insert(
            kind,
            payload,
            max_attempts=max_attempts or self.config.max_attempts,
            idempotency_key=idempotency_key,
        )
        if created:
            JOBS_SUBMITTED.labels(kind=kind).inc()
            self._dispatch(job.id)
        return job.id

    def _dispatch(self, job_id: uuid.UUID) -> None:
        try:
            if self._publisher is not None:
                self._publisher.publish(job_id)
            elif self._local is not None:
                self._local.enqueue(job_id)
        except (AMQPError, OSError) as exc:
            log.warning(
                "job stored but not published; the sweeper will publish it",
                extra={"job_id": str(job_id), "detail": str(exc)},
            )
            return
        self.store.mark_enqueued(job_id)

    def get(self, job_id: uuid.UUID) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id}")
        return job

    def wait(self, job_id: uuid.UUID, timeout: float, poll_s: float = 0.1) -> Job:
        """Poll until the job is finished or `timeout` passes (returns it either way)."""
        deadline = time.monotonic() + timeout
        job = self.get(job_id)
        while not job.finished and time.monotonic() < deadline:
            time.sleep(poll_s)
            job = self.get(job_id)
        return job

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        if self._publisher is not None:
            self._publisher.close()


def _validate(
    kind: str, payload: Any, idempotency_key: str | None, max_attempts: int | None
) -> None:
    errors = []
    if not KIND.match(kind):
        errors.append(FieldError("kind", f"must match {KIND.pattern}"))
    elif handler_for(kind) is None:
        errors.append(FieldError("kind", f"no handler; known kinds: {registered_kinds()}"))
    if not isinstance(payload, dict):
        errors.append(FieldError("payload", "must be a JSON object"))
    else:
        try:
            json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            errors.append(FieldError("payload", f"must be JSON-serializable: {exc}"))
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        errors.append(FieldError("idempotency_key", "must be 1 to 200 characters"))
    if max_attempts is not None and not 1 <= max_attempts <= 100:
        errors.append(FieldError("max_attempts", "must be between 1 and 100"))
    if errors:
        raise InvalidInput("the job cannot be submitted", errors)
