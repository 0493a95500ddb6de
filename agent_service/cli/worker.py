"""`agent-service worker`: run jobs from the RabbitMQ work queue (any number of these
processes, on any number of hosts)."""

from __future__ import annotations

import signal
from types import FrameType
from typing import TYPE_CHECKING

import click

from agent_service.cli import _settings

if TYPE_CHECKING:
    from agent_service.config import Settings
    from tools.knowledge import KnowledgeBase


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Jobs this process runs at once (one RabbitMQ consumer, prefetch 1, each).",
)
@click.option(
    "--handlers",
    "handler_modules",
    multiple=True,
    help="Module registering job handlers, imported at start (repeatable; added to "
    "AGENT_JOBS_HANDLERS).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve this worker's Prometheus metrics on AGENT_HOST:PORT.",
)
def worker(concurrency: int, handler_modules: tuple[str, ...], metrics_port: int | None) -> None:
    """Run jobs from the RabbitMQ work queue until SIGTERM, which lets the current job
    finish (within AGENT_JOBS_STOP_GRACE_S, else it is handed back) and exits 0."""
    from agent_service.jobs import job_config
    from agent_service.logs import configure_logging
    from agent_service.runtime import build_runtime
    from agent_service.wiring import install_modes, prepare
    from capabilities.engines.jobs.context import (
        set_job_events,
        set_knowledge_factory,
        set_runtime_factory,
        set_submitter_factory,
    )
    from capabilities.engines.jobs.registry import load_handler_modules, registered_kinds
    from capabilities.engines.jobs.runner import JobRunner
    from capabilities.engines.jobs.service import JobService, process_worker_id
    from capabilities.engines.jobs.worker import QueueWorker
    from tools.errors import BackendUnavailable
    from tools.jobs_store import JobStore
    from tools.postgres import Database
    from tools.publisher import EventPublisher

    settings = _settings()
    if settings.amqp_url is None:
        raise click.ClickException(
            "the worker consumes RabbitMQ: set AMQP_URL (without it, jobs run in-process "
            "inside `agent-service serve`)"
        )
    try:
        load_handler_modules((*settings.jobs_handlers, *handler_modules))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings.log_level)
    try:
        prepared = prepare(settings)
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=settings.host)
    config = job_config(settings)
    database = Database(
        prepared.database_url,
        max_size=concurrency + 2,
        connect_timeout=settings.check_timeout_s,
        application_name="agent-service-worker",
    )
    install_modes(settings, database)
    runner = JobRunner(JobStore(database), lease_s=config.lease_s)
    set_runtime_factory(lambda db: build_runtime(settings, db))
    url = settings.amqp_url.get_secret_value()
    submitter = JobService(JobStore(database), config, amqp_url=url)  # jobs submit jobs
    set_submitter_factory(lambda _db: submitter.submit)
    set_job_events(EventPublisher(url, settings.amqp_events_exchange))
    if settings.qdrant_url:  # Qdrant's local folder is locked by the web process
        set_knowledge_factory(lambda: worker_knowledge(settings))
    queue_worker = QueueWorker(
        runner,
        settings.amqp_url.get_secret_value(),
        config,
        concurrency=concurrency,
        worker_id=process_worker_id(),
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"agent-service worker: {signal.Signals(signum).name}, stopping")
        queue_worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(
        f"agent-service worker {process_worker_id()}: queue {config.queue}, "
        f"concurrency {concurrency}, kinds {', '.join(registered_kinds()) or '(none)'}"
    )
    try:
        queue_worker.run()
    finally:
        submitter.close()
        database.close()
    if queue_worker.failure is not None:
        raise click.ClickException(f"a consumer crashed: {queue_worker.failure!r}")
    click.echo("agent-service worker: stopped")


def worker_knowledge(settings: Settings) -> KnowledgeBase:
    """The knowledge base on the Qdrant server of QDRANT_URL, for the worker's jobs."""
    from agent_service.wiring import embedder_from, knowledge_base
    from tools.errors import BackendUnavailable
    from tools.qdrant_store import open_qdrant

    key = settings.qdrant_api_key
    try:
        client = open_qdrant(
            url=settings.qdrant_url,
            api_key=key.get_secret_value() if key else None,
            path=settings.qdrant_path,
            timeout=settings.check_timeout_s,
        )
    except (RuntimeError, OSError) as exc:
        raise BackendUnavailable("qdrant", str(exc)) from exc
    return knowledge_base(settings, client, embedder_from(settings))
