"""`agent-service consume`: the RabbitMQ -> PostgreSQL event consumer as a process.

Flags override the settings of the same name (AMQP_URL, AGENT_AMQP_QUEUE, ...). SIGTERM
and SIGINT finish the batch in hand, commit, acknowledge and exit 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
import psycopg

from agent_service.config import Settings, SettingsError, load_settings
from agent_service.logs import configure_logging

if TYPE_CHECKING:
    from tools.consumer import ConsumerStats
    from tools.verification import LiveVerifier


@click.command()
@click.option("--url", "amqp_url", help="RabbitMQ URL, vhost in the path (AMQP_URL).")
@click.option("--queue", help="Queue to read (AGENT_AMQP_QUEUE, default websocket_events).")
@click.option(
    "--dead-letter-exchange", help="Where poison messages go (AGENT_AMQP_DEAD_LETTER_EXCHANGE)."
)
@click.option(
    "--dead-letter-queue", help="Queue bound to it by --declare (AGENT_AMQP_DEAD_LETTER_QUEUE)."
)
@click.option(
    "--declare/--no-declare",
    default=None,
    help="Declare the queue, the dead-letter exchange and queue (AGENT_AMQP_DECLARE); "
    "without it they must exist.",
)
@click.option("--prefetch", type=int, help="Unacknowledged messages held (AGENT_AMQP_PREFETCH).")
@click.option("--batch-size", type=int, help="Messages per transaction (AGENT_CONSUME_BATCH_SIZE).")
@click.option(
    "--batch-wait", type=float, help="Seconds a partial batch waits (AGENT_CONSUME_BATCH_WAIT_S)."
)
@click.option(
    "--source", default="rabbitmq", show_default=True, help="Stored in websocket_events.source."
)
@click.option("--mode", default="classic", show_default=True, help="Game mode of the live games.")
@click.option(
    "--progress-every",
    type=int,
    default=10_000,
    show_default=True,
    help="Messages per progress log.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus counters on this port (/metrics); off by default.",
)
@click.option(
    "--exit-when-idle",
    type=float,
    help="Exit 0 once the queue has been empty this many seconds (drain, then stop).",
)
def consume(
    amqp_url: str | None,
    queue: str | None,
    dead_letter_exchange: str | None,
    dead_letter_queue: str | None,
    declare: bool | None,
    prefetch: int | None,
    batch_size: int | None,
    batch_wait: float | None,
    source: str,
    mode: str,
    progress_every: int,
    metrics_port: int | None,
    exit_when_idle: float | None,
) -> None:
    """Store the bot's live game events from RabbitMQ in PostgreSQL (at-least-once)."""
    from agent_service.cli.modes import ensure_mode
    from agent_service.wiring import database_url
    from tools.consumer import Consumer, ConsumerConfig, ConsumerConfigError
    from tools.migrations import MigrationError, migrate

    try:
        settings = load_settings(
            amqp_url=amqp_url,
            amqp_queue=queue,
            amqp_dead_letter_exchange=dead_letter_exchange,
            amqp_dead_letter_queue=dead_letter_queue,
            amqp_declare=declare,
            amqp_prefetch=prefetch,
            consume_batch_size=batch_size,
            consume_batch_wait_s=batch_wait,
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.amqp_url is None:
        raise click.ClickException("no RabbitMQ to read: set AMQP_URL or pass --url")
    configure_logging(settings.log_level)
    dsn = database_url(settings)
    try:
        config = ConsumerConfig(
            amqp_url=settings.amqp_url.get_secret_value(),
            database_url=dsn,
            queue=settings.amqp_queue,
            dead_letter_exchange=settings.amqp_dead_letter_exchange,
            dead_letter_queue=settings.amqp_dead_letter_queue,
            declare=settings.amqp_declare,
            max_length=settings.amqp_queue_max_length,
            prefetch=settings.amqp_prefetch,
            batch_size=settings.consume_batch_size,
            batch_wait_s=settings.consume_batch_wait_s,
            source=source,
            mode=mode,
            progress_every=max(1, progress_every),
            idle_exit_s=exit_when_idle,
        )
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            migrate(conn)
            ensure_mode(conn, settings, mode, None)  # the live rounds' mode must be served
    except (MigrationError, psycopg.OperationalError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    consumer = Consumer(config)
    verifier = _live_verifier(settings, dsn)
    if metrics_port:
        try:
            _serve_metrics(consumer.stats, settings.host, metrics_port)
        except OSError as exc:
            raise click.ClickException(f"--metrics-port {metrics_port}: {exc}") from None

    def _stop(signum: int, frame: FrameType | None) -> None:
        consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        consumer.run()
    except ConsumerConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception:
        # a bug, not an outage: stop (unacknowledged messages go back to the queue)
        logging.getLogger("tools.consumer").exception("consumer failed")
        sys.exit(1)
    finally:
        if verifier is not None:
            verifier.stop()


def _live_verifier(settings: Settings, dsn: str) -> LiveVerifier | None:
    """Rounds are verified as their seeds are revealed, every
    AGENT_CONSUME_VERIFY_INTERVAL_S (0: not here; `verify --from-db` does it later)."""
    if not settings.consume_verify_interval_s:
        return None
    from tools.publisher import EventPublisher
    from tools.verification import LiveVerifier

    assert settings.amqp_url is not None  # the consumer needs it
    publisher = EventPublisher(
        settings.amqp_url.get_secret_value(),
        settings.amqp_events_exchange,
        timeout=settings.check_timeout_s,
    )
    return LiveVerifier(dsn, settings.consume_verify_interval_s, publisher=publisher).start()


class ConsumerCollector:
    """The consumer's counters, and how long since it last committed, as Prometheus reads
    them (`consume --metrics-port`)."""

    def __init__(self, stats: ConsumerStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for name, help_text in _COUNTERS.items():
            yield CounterMetricFamily(
                f"agent_consumer_{name}", help_text, value=getattr(self.stats, name)
            )
        # the live feed never pauses for long: a consumer that commits nothing is behind
        since = time.monotonic() - (self.stats.last_commit or self.stats.started)
        yield GaugeMetricFamily(
            "agent_consumer_seconds_since_commit",
            "Seconds since the consumer last committed a batch (or started)",
            value=since,
        )


def _serve_metrics(stats: ConsumerStats, host: str, port: int) -> None:
    """Expose the consumer's counters for Prometheus from a daemon thread."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(ConsumerCollector(stats))  # type: ignore[arg-type]
    start_http_server(port, addr=host, registry=registry)


_COUNTERS = {
    "received": "Messages taken from the queue and acknowledged",
    "stored": "Messages committed to PostgreSQL",
    "dead_lettered": "Messages re-published to the dead-letter exchange",
    "redelivered": "Messages the broker delivered again (after a crash or outage)",
    "batches": "Transactions committed",
    "reconnects": "Reconnections after a broker or database failure",
}
