"""RabbitMQ connection parameters and a liveness probe (pika)."""

from __future__ import annotations

import pika


def connection_parameters(
    url: str, *, timeout: float = 5.0, heartbeat: int = 30
) -> pika.URLParameters:
    """Parameters from an AMQP URL with bounded connect, socket and handshake timeouts."""
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = max(timeout, 30.0)
    params.connection_attempts = 1
    params.heartbeat = heartbeat
    return params


def ping_amqp(url: str, timeout: float) -> None:
    """Open and close a connection; raises pika.exceptions.AMQPError or OSError on failure."""
    connection = pika.BlockingConnection(connection_parameters(url, timeout=timeout))
    connection.close()
