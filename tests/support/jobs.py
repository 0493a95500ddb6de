"""Helpers of the job tests: a migrated database and throw-away RabbitMQ queues."""

from __future__ import annotations

import uuid

import pika
import psycopg

from tools.amqp import connection_parameters
from tools.jobs_queue import QueueNames, declare
from tools.migrations import migrate


def migrated(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        migrate(conn)
    return dsn


def unique_queue() -> QueueNames:
    return QueueNames(f"test.jobs.{uuid.uuid4().hex[:10]}")


def delete_queues(url: str, names: QueueNames) -> None:
    connection = pika.BlockingConnection(connection_parameters(url))
    channel = connection.channel()
    for queue in (names.queue, names.dead_queue, names.retry_queue):
        channel.queue_delete(queue)
    channel.exchange_delete(names.dead_exchange)
    connection.close()


def dead_letters(url: str, names: QueueNames) -> list[tuple[bytes, dict]]:
    """Drain the dead-letter queue: (body, headers) of each message."""
    connection = pika.BlockingConnection(connection_parameters(url))
    channel = connection.channel()
    found = []
    while True:
        method, props, body = channel.basic_get(names.dead_queue, auto_ack=True)
        if method is None:
            break
        found.append((body, dict(props.headers or {})))
    connection.close()
    return found


def ready_messages(url: str, names: QueueNames) -> int:
    """Messages ready in the work queue (declared if missing)."""
    connection = pika.BlockingConnection(connection_parameters(url))
    count = declare(connection.channel(), names)
    connection.close()
    return count


def follow_job(client, auth: dict[str, str], url: str, within: float = 60.0) -> dict:  # type: ignore[no-untyped-def]
    """Poll a job's status URL through a Flask test client until it ends (or `within`)."""
    import time

    deadline = time.monotonic() + within
    while True:
        job = client.get(url, headers=auth).json
        if job["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)
