"""Publishing the service's own outputs (alerts, advice, decisions, job results).

Messages go to a durable topic exchange (`agent.events`, declared here: it is ours) with
publisher confirms, so `publish` returns only once the broker has taken the message.
Routing keys name the kind: `alert.<what>`, `advice.<what>`, `decision.<what>`,
`job.<state>`; subscribers bind patterns such as `alert.#`.

One connection per publisher, guarded by a lock (pika connections are not thread-safe).
A blocking pika connection answers the broker's heartbeats only while something drives
its I/O, so an idle publisher's connection would be closed by the broker after two
missed heartbeats and its next publish would meet a dead socket (pika logging errors
before the reconnect): a background thread drives the I/O of an idle connection every
third of the heartbeat. A connection found dead on publish is replaced once; a second failure raises
`BackendUnavailable("rabbitmq", ...)`. A retry after a lost confirm may deliver a message
twice: consumers dedupe on `message_id`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from tools.amqp import connection_parameters
from tools.errors import BackendUnavailable, FieldError, InvalidInput

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE = "agent.events"
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class EventPublisher:
    """Publishes JSON events with confirms on a topic exchange; safe to share across threads."""

    def __init__(
        self,
        url: str,
        exchange: str = DEFAULT_EXCHANGE,
        *,
        timeout: float = 5.0,
        app_id: str = "agent-service",
        heartbeat_s: int = 30,
    ) -> None:
        self._url = url
        self.exchange = exchange
        self._timeout = timeout
        self._app_id = app_id
        self._heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._closed = threading.Event()
        self._pump: threading.Thread | None = None

    def publish(
        self, routing_key: str, body: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None
    ) -> str:
        """Send `body` as JSON and wait for the broker's confirm; returns the message id."""
        payload = _encode(routing_key, body)
        message_id = uuid.uuid4().hex
        properties = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message_id,
            timestamp=int(time.time()),
            type=routing_key,
            app_id=self._app_id,
            headers=dict(headers) if headers else None,
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._open_channel()
                    channel.basic_publish(self.exchange, routing_key, payload, properties)
                    return message_id
                except (pika.exceptions.AMQPError, OSError) as exc:
                    self._drop()
                    if attempt == 2 or isinstance(exc, pika.exceptions.NackError):
                        raise BackendUnavailable("rabbitmq", _describe(exc)) from exc
                    log.info("publisher reconnecting", extra={"error": _describe(exc)})
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._drop()

    def _keep_alive(self) -> None:
        """Drive the idle connection's I/O so heartbeats flow both ways; a connection that
        died meanwhile is dropped quietly and reopened by the next publish."""
        while not self._closed.wait(max(1.0, self._heartbeat_s / 3)):
            with self._lock:
                if self._connection is None:
                    continue
                try:
                    self._connection.process_data_events(time_limit=0)
                except (pika.exceptions.AMQPError, OSError) as exc:
                    log.info(
                        "publisher connection lost while idle", extra={"error": _describe(exc)}
                    )
                    self._drop()

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_channel(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._drop()
        connection = pika.BlockingConnection(
            connection_parameters(self._url, timeout=self._timeout, heartbeat=self._heartbeat_s)
        )
        try:
            channel = connection.channel()
            channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            channel.confirm_delivery()
        except BaseException:
            with suppress(Exception):
                connection.close()
            raise
        self._connection, self._channel = connection, channel
        if self._pump is None and self._heartbeat_s > 0:
            self._pump = threading.Thread(
                target=self._keep_alive, name="amqp-heartbeat", daemon=True
            )
            self._pump.start()
        return channel

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with suppress(Exception):
                connection.close()


def _encode(routing_key: str, body: Mapping[str, Any]) -> bytes:
    if not _ROUTING_KEY.match(routing_key) or len(routing_key) > 255:
        raise InvalidInput(
            "invalid routing key",
            [FieldError("routing_key", "dot-separated words of letters, digits, '_' or '-'")],
        )
    try:
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            "event body is not JSON-serializable", [FieldError("body", str(exc))]
        ) from exc


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0]}"
