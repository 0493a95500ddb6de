"""The RabbitMQ side of jobs: a durable work queue and its dead-letter queue.

A message body is only `{"job_id": ...}`; the job itself lives in PostgreSQL. Messages are
persistent and published with confirms, so a submit that returned had its message
stored by the broker (or the sweeper will publish it again).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError

from tools.amqp import connection_parameters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueNames:
    """The work queue, its dead-letter exchange and queue, all derived from one name."""

    queue: str

    @property
    def dead_exchange(self) -> str:
        return f"{self.queue}.dlx"

    @property
    def dead_queue(self) -> str:
        return f"{self.queue}.dead"

    @property
    def retry_queue(self) -> str:
        """Where a retried job's message waits out its delay (its TTL), then moves back
        to the work queue through the default exchange."""
        return f"{self.queue}.retry"


def declare(channel: BlockingChannel, names: QueueNames) -> int:
    """Declare the durable queues (idempotent); returns the work queue's message count.

    Messages rejected without requeue also land in the dead-letter queue."""
    channel.exchange_declare(names.dead_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(names.dead_queue, durable=True)
    channel.queue_bind(names.dead_queue, names.dead_exchange)
    channel.queue_declare(
        names.retry_queue,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.queue},
    )
    frame = channel.queue_declare(
        names.queue, durable=True, arguments={"x-dead-letter-exchange": names.dead_exchange}
    )
    return int(frame.method.message_count)


def encode(job_id: uuid.UUID) -> bytes:
    return json.dumps({"job_id": str(job_id)}).encode()


def decode(body: bytes) -> uuid.UUID:
    """The job id of a message; ValueError when the body is not one of ours."""
    try:
        data = json.loads(body)
        return uuid.UUID(str(data["job_id"]))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a job message: {body[:80]!r}") from exc


_PERSISTENT = pika.DeliveryMode.Persistent


_HEARTBEAT_S = 30


class JobPublisher:
    """Publishes job messages with confirms on one connection, reopened after a failure.

    Thread-safe (a lock around the connection); the connection is opened lazily so a
    process that never submits holds none. A daemon thread services it between
    publishes, so heartbeats flow and a dead connection is noticed before the next
    publish would wait on it."""

    def __init__(self, url: str, names: QueueNames, *, timeout: float = 5.0) -> None:
        self._url = url
        self.names = names
        self._timeout = timeout
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._closed = threading.Event()
        self._pump: threading.Thread | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self._close()
            params = connection_parameters(self._url, timeout=self._timeout, heartbeat=_HEARTBEAT_S)
            self._connection = pika.BlockingConnection(params)
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
            declare(self._channel, self.names)
            if self._pump is None:
                self._pump = threading.Thread(
                    target=self._keep_alive, name="job-publisher", daemon=True
                )
                self._pump.start()
        return self._channel

    def _keep_alive(self) -> None:
        while not self._closed.wait(_HEARTBEAT_S / 3):
            with self._lock:
                if self._connection is None:
                    continue
                try:
                    self._connection.process_data_events(time_limit=0)
                except (AMQPError, OSError):
                    self._close()  # reopened by the next publish

    def _publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        headers: dict,
        expiration: str | None = None,
    ) -> None:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=_PERSISTENT,
            headers=headers,
            expiration=expiration,
        )
        with self._lock:
            for attempt in (1, 2):  # a stale connection gets one reconnect
                try:
                    self._open().basic_publish(
                        exchange, routing_key, body, properties=properties, mandatory=True
                    )
                    return
                except (AMQPError, OSError):
                    self._close()
                    if attempt == 2:
                        raise

    def publish(self, job_id: uuid.UUID, *, delay_s: float = 0) -> None:
        """Put a job on the work queue, after `delay_s` through the retry queue; raises
        AMQPError/OSError when the broker refused."""
        if delay_s > 0:
            expiration = str(max(1, round(delay_s * 1000)))
            self._publish("", self.names.retry_queue, encode(job_id), {}, expiration)
        else:
            self._publish("", self.names.queue, encode(job_id), {})

    def dead_letter(self, body: bytes, reason: str) -> None:
        """Park a message (a job's, or an unreadable one) in the dead-letter queue, with
        the reason in its `x-reason` header."""
        self._publish(self.names.dead_exchange, "", body, {"x-reason": reason[:1000]})

    def queue_depth(self) -> int:
        """Messages ready in the work queue."""
        with self._lock:
            try:
                return declare(self._open(), self.names)
            except (AMQPError, OSError):
                self._close()
                raise

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (AMQPError, OSError) as exc:
                log.debug("closing a publisher connection failed: %s", exc)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._close()
