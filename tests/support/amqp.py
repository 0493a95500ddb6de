"""Throwaway RabbitMQ queues and exchanges for one test, deleted afterwards."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import suppress
from typing import Any

import pika
import pika.exceptions


class Topology:
    """A uniquely named event queue dead-lettering to its own exchange and queue, as the
    bot's `websocket_events` -> `dlx` -> `dead_events`."""

    def __init__(self, url: str, prefix: str = "test") -> None:
        tag = uuid.uuid4().hex[:10]
        self.url = url
        self.queue = f"{prefix}_events_{tag}"
        self.dead_letter_exchange = f"{prefix}_dlx_{tag}"
        self.dead_letter_queue = f"{prefix}_dead_{tag}"
        self.exchanges: list[str] = [self.dead_letter_exchange]
        self.queues: list[str] = [self.queue, self.dead_letter_queue]
        self._connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self._connection.channel()

    def declare(self) -> Topology:
        ch = self.channel
        ch.exchange_declare(self.dead_letter_exchange, exchange_type="direct", durable=True)
        ch.queue_declare(self.dead_letter_queue, durable=True)
        ch.queue_bind(self.dead_letter_queue, self.dead_letter_exchange, routing_key=self.queue)
        ch.queue_declare(
            self.queue,
            durable=True,
            arguments={
                "x-max-length": 100_000,
                "x-dead-letter-exchange": self.dead_letter_exchange,
            },
        )
        return self

    def bind_exchange(self, *routing_keys: str) -> str:
        """A new, uniquely named durable topic exchange (deleted by `close`), with this
        topology's queue bound to it by each routing key; returns its name."""
        exchange = f"test.agent.events.{uuid.uuid4().hex[:10]}"
        self.exchanges.append(exchange)
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.channel.queue_declare(self.queue, durable=True)
        for key in routing_keys:
            self.channel.queue_bind(self.queue, exchange, routing_key=key)
        return exchange

    def publish(self, *bodies: Any) -> None:
        """Publish each body (dicts and lists as JSON, bytes as they are) to the queue."""
        for body in bodies:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.channel.basic_publish("", self.queue, raw)

    def depth(self, queue: str | None = None) -> int:
        """Messages ready in the queue (not counting unacknowledged deliveries)."""
        ok = self.channel.queue_declare(queue or self.queue, passive=True)
        return ok.method.message_count

    def drain(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        """Every message ready in `queue`, acknowledged."""
        out = []
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((properties, body))

    def wait_depth(self, expected: int, queue: str | None = None, within: float = 10) -> None:
        deadline = time.monotonic() + within
        while self.depth(queue) != expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"queue depth {self.depth(queue)} != {expected}")
            time.sleep(0.05)

    def close(self) -> None:
        with suppress(pika.exceptions.AMQPError):
            for queue in self.queues:
                self.channel.queue_delete(queue)
            for exchange in self.exchanges:
                self.channel.exchange_delete(exchange)
        with suppress(pika.exceptions.AMQPError):
            self._connection.close()
