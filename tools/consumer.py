"""RabbitMQ -> PostgreSQL consumer for the bot's live game events.

It reads a queue in batches and hands each batch to a writer thread that runs the batch
handler (by default `tools.ingest.ingest_batch`) in one PostgreSQL transaction while the
next batch arrives (`tools.batch_writer`). A batch is acknowledged only after its
commit: delivery is at-least-once and the schema's natural keys absorb redeliveries.
A message the handler rejects, a body that is not JSON, or one message
whose data makes the handler fail is re-published to the dead-letter exchange with the
reason in the `x-death-reason` header, then acknowledged, so one bad message never
blocks the stream. Any broker or database failure drops both connections (the broker
requeues what was not acknowledged) and reconnects with exponential backoff and jitter.
`stop()`, wired to SIGTERM/SIGINT by the CLI, finishes the batch in hand and returns.

Live events carry the configured `mode`. A message about a round stored under another
mode is rejected like a bad one (`tools.ingest` leaves such rounds alone): it goes to the
dead-letter queue with the reason, kept to be imported under the right mode, instead of
merging into a round that is not its own or being dropped silently.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
import psycopg
from pika.adapters.blocking_connection import BlockingChannel

from tools.amqp import connection_parameters
from tools.batch_writer import (
    BatchHandler,
    BatchWriter,
    HandlerRefused,
    default_handler,
    describe,
)

log = logging.getLogger(__name__)

DEATH_REASON_HEADER = "x-death-reason"
_MAX_REASON = 1000
# broker replies that a retry cannot fix: missing queue/exchange, no permission,
# a declaration clashing with the existing one
_CONFIG_REPLY_CODES = {403, 404, 406}


class ConsumerConfigError(Exception):
    """The broker refused the configuration (missing queue, wrong arguments, access)."""


@dataclass(frozen=True, kw_only=True)
class ConsumerConfig:
    """Where to read and write, and how: the CLI builds it from settings and flags."""

    amqp_url: str
    database_url: str
    queue: str = "websocket_events"
    dead_letter_exchange: str = "dlx"
    dead_letter_queue: str = "dead_events"
    declare: bool = False
    max_length: int = 100_000
    prefetch: int = 1000
    batch_size: int = 500
    batch_wait_s: float = 0.5
    source: str = "rabbitmq"
    mode: str = "classic"
    progress_every: int = 10_000
    idle_exit_s: float | None = None
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.prefetch < 1:
            raise ValueError("batch size and prefetch must be at least 1")
        if self.prefetch < self.batch_size:
            raise ValueError(
                f"prefetch ({self.prefetch}) must be >= batch size ({self.batch_size}), "
                "or batches never fill"
            )
        if self.batch_wait_s <= 0:
            raise ValueError("batch wait must be positive")


@dataclass
class ConsumerStats:
    """Counters of one consumer's life, logged and exported by `consume --metrics-port`."""

    received: int = 0
    stored: int = 0
    dead_lettered: int = 0
    redelivered: int = 0
    batches: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)
    last_commit: float | None = None

    def as_dict(self) -> dict[str, Any]:
        elapsed = (self.last_commit or time.monotonic()) - self.started
        return {
            "received": self.received,
            "stored": self.stored,
            "dead_lettered": self.dead_lettered,
            "redelivered": self.redelivered,
            "batches": self.batches,
            "reconnects": self.reconnects,
            "events_per_s": round(self.received / elapsed, 1) if elapsed > 0 else 0.0,
        }


@dataclass(frozen=True)
class _Delivery:
    """A received message, kept until its batch is committed and acknowledged."""

    tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    properties: pika.BasicProperties
    body: bytes


def backoff_delay(
    attempt: int, initial: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with equal jitter: half of the capped delay fixed, half random,
    so restarted consumers do not reconnect in lockstep yet never retry in a busy loop."""
    ceiling = min(cap, initial * 2 ** min(attempt, 30))
    return ceiling / 2 + rng() * ceiling / 2


class Consumer:
    """One consumer process's loop; `run()` returns when stopped (or idle, if asked)."""

    def __init__(self, config: ConsumerConfig, *, handler: BatchHandler | None = None) -> None:
        self.config = config
        self.handler: BatchHandler = handler or default_handler
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        self._next_progress = config.progress_every

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, acknowledge it and return."""
        self._stop.set()

    def run(self) -> ConsumerStats:
        attempt = 0
        while not self._stop.is_set():
            committed_before = self.stats.batches
            try:
                if self._session():
                    break
                problem = "the broker cancelled the consumer"
            except ConsumerConfigError:
                raise
            except (pika.exceptions.AMQPError, OSError, psycopg.Error) as exc:
                problem = describe(exc)
            if self.stats.batches > committed_before:
                attempt = 0
            delay = backoff_delay(attempt, self.config.backoff_initial_s, self.config.backoff_max_s)
            attempt += 1
            self.stats.reconnects += 1
            log.warning(
                "consumer lost a backend; reconnecting",
                extra={"error": problem, "retry_in_s": round(delay, 2)},
            )
            self._stop.wait(delay)
        log.info("consumer stopped", extra=self.stats.as_dict())
        return self.stats

    # -- one connection lifetime
    def _session(self) -> bool:
        """Connect, consume until stopped or idle (True) or until a backend fails (raises)."""
        cfg = self.config
        db = psycopg.connect(
            cfg.database_url,
            connect_timeout=max(1, int(cfg.connect_timeout_s)),
            application_name="agent-service-consumer",
            # a server that vanishes without a reset is noticed in about 25 s
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        amqp: pika.BlockingConnection | None = None
        try:
            params = connection_parameters(cfg.amqp_url, timeout=cfg.connect_timeout_s)
            try:
                amqp = pika.BlockingConnection(params)
                channel = amqp.channel()
                channel.basic_qos(prefetch_count=cfg.prefetch)
                self._prepare_topology(channel)
                dead = amqp.channel()
                dead.confirm_delivery()
                log.info("consuming", extra={"queue": cfg.queue, "prefetch": cfg.prefetch})
                return self._consume(channel, dead, db)
            except (
                pika.exceptions.ProbableAuthenticationError,
                pika.exceptions.ProbableAccessDeniedError,
            ) as exc:
                raise ConsumerConfigError(f"rabbitmq refused the login: {exc!r}") from exc
            except (
                pika.exceptions.ChannelClosedByBroker,
                pika.exceptions.ConnectionClosedByBroker,
            ) as exc:
                if exc.reply_code in _CONFIG_REPLY_CODES:
                    raise ConsumerConfigError(
                        f"rabbitmq: {exc.reply_text} (queue {cfg.queue!r}, dead-letter "
                        f"exchange {cfg.dead_letter_exchange!r}; --declare creates them)"
                    ) from exc
                raise
        finally:
            if amqp is not None and amqp.is_open:
                with suppress(Exception):
                    amqp.close()
            with suppress(Exception):
                db.close()

    def _prepare_topology(self, channel: BlockingChannel) -> None:
        """Declare the queue and its dead-lettering when told to; else check they exist."""
        cfg = self.config
        if not cfg.declare:
            channel.queue_declare(cfg.queue, passive=True)
            channel.exchange_declare(cfg.dead_letter_exchange, passive=True)
            return
        channel.exchange_declare(cfg.dead_letter_exchange, exchange_type="direct", durable=True)
        channel.queue_declare(cfg.dead_letter_queue, durable=True)
        channel.queue_bind(cfg.dead_letter_queue, cfg.dead_letter_exchange, routing_key=cfg.queue)
        channel.queue_declare(
            cfg.queue,
            durable=True,
            arguments={
                "x-max-length": cfg.max_length,
                "x-dead-letter-exchange": cfg.dead_letter_exchange,
            },
        )

    def _consume(
        self, channel: BlockingChannel, dead: BlockingChannel, db: psycopg.Connection
    ) -> bool:
        cfg = self.config
        writer: BatchWriter[list[_Delivery]] = BatchWriter(
            db, self.handler, source=cfg.source, mode=cfg.mode
        )
        try:
            return self._pump(channel, dead, writer)
        except HandlerRefused as exc:
            raise ConsumerConfigError(f"the batch handler refused its arguments: {exc}") from exc
        finally:
            writer.close()

    def _pump(
        self, channel: BlockingChannel, dead: BlockingChannel, writer: BatchWriter[list[_Delivery]]
    ) -> bool:
        """Receive into a batch while the writer commits the previous one (at most one in
        flight, so prefetch = 2 x batch size keeps both busy); settle what it finished."""
        cfg = self.config
        batch: list[_Delivery] = []
        first_at = idle_since = time.monotonic()
        tick = min(cfg.batch_wait_s, 0.25)
        for method, properties, body in channel.consume(cfg.queue, inactivity_timeout=tick):
            now = time.monotonic()
            if method is not None:
                if not batch:
                    first_at = now
                batch.append(
                    _Delivery(
                        method.delivery_tag,
                        bool(method.redelivered),
                        method.exchange,
                        method.routing_key,
                        properties,
                        body,
                    )
                )
                idle_since = now
            self._settle(channel, dead, writer, timeout=0)
            stopping = self._stop.is_set()
            if batch and (
                len(batch) >= cfg.batch_size or now - first_at >= cfg.batch_wait_s or stopping
            ):
                while writer.pending:
                    self._settle(channel, dead, writer, timeout=tick)
                writer.submit(batch, [d.body for d in batch])
                batch = []
            if stopping:
                while writer.pending:
                    self._settle(channel, dead, writer, timeout=tick)
                break
            idle = cfg.idle_exit_s is not None and now - idle_since >= cfg.idle_exit_s
            if idle and not batch and not writer.pending:
                break
        else:
            return False  # the broker cancelled the consumer
        channel.cancel()
        return True

    def _settle(
        self,
        channel: BlockingChannel,
        dead: BlockingChannel,
        writer: BatchWriter[list[_Delivery]],
        *,
        timeout: float,
    ) -> None:
        """Dead-letter and acknowledge the batch the writer committed, if there is one."""
        done = writer.result(timeout)
        if done is None:
            return
        batch, poison = done
        self.stats.last_commit = time.monotonic()
        for index, reason in poison:
            self._dead_letter(dead, batch[index], reason)
        channel.basic_ack(batch[-1].tag, multiple=True)
        self.stats.batches += 1
        self.stats.received += len(batch)
        self.stats.dead_lettered += len(poison)
        self.stats.stored += len(batch) - len(poison)
        self.stats.redelivered += sum(d.redelivered for d in batch)
        if self.stats.received >= self._next_progress:
            self._next_progress += self.config.progress_every
            log.info("consumer progress", extra=self.stats.as_dict())

    def _dead_letter(self, dead: BlockingChannel, delivery: _Delivery, reason: str) -> None:
        cfg = self.config
        original = delivery.properties
        headers = dict(original.headers or {})
        headers.update(
            {
                DEATH_REASON_HEADER: reason[:_MAX_REASON],
                "x-original-queue": cfg.queue,
                "x-original-exchange": delivery.exchange,
                "x-original-routing-key": delivery.routing_key,
            }
        )
        properties = pika.BasicProperties(
            content_type=original.content_type,
            content_encoding=original.content_encoding,
            message_id=original.message_id,
            correlation_id=original.correlation_id,
            timestamp=original.timestamp,
            type=original.type,
            app_id=original.app_id,
            headers=headers,
            delivery_mode=pika.DeliveryMode.Persistent,
        )
        try:
            dead.basic_publish(
                cfg.dead_letter_exchange, cfg.queue, delivery.body, properties, mandatory=True
            )
        except pika.exceptions.UnroutableError:
            log.error(
                "dead-letter exchange routes nowhere: poison message dropped",
                extra={
                    "exchange": cfg.dead_letter_exchange,
                    "reason": reason,
                    "body": delivery.body[:500].decode("utf-8", "replace"),
                },
            )
            return
        log.warning("message dead-lettered", extra={"reason": reason[:200]})
