"""EventPublisher against the real RabbitMQ: confirms, properties, reconnects, threads."""

from __future__ import annotations

import json
import threading
import uuid
from urllib.parse import urlsplit

import pika
import pytest

from tests.support.amqp import Topology
from tests.support.tcp_proxy import TcpProxy, free_port
from tools.errors import BackendUnavailable, InvalidInput
from tools.publisher import EventPublisher


@pytest.fixture
def bound(amqp_url):
    """A unique topic exchange with a queue bound to `alert.#` and `job.*`."""
    topology = Topology(amqp_url, prefix="pub")
    yield topology, topology.bind_exchange("alert.#", "job.*")
    topology.close()


def _proxied(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    return parts._replace(
        netloc=f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
    ).geturl()


def test_confirmed_messages_reach_a_bound_queue_with_their_properties(bound, amqp_url):
    topology, exchange = bound
    with EventPublisher(amqp_url, exchange) as publisher:
        first = publisher.publish("alert.rug_streak", {"games": 3, "note": "três"})
        publisher.publish("job.completed", {"job_id": "j1"})
        publisher.publish("advice.sidebet", {"unbound": True})  # no binding: dropped
    messages = topology.drain(topology.queue)
    assert [json.loads(body) for _, body in messages] == [
        {"games": 3, "note": "três"},
        {"job_id": "j1"},
    ]
    props = messages[0][0]
    assert props.message_id == first
    assert props.content_type == "application/json"
    assert props.delivery_mode == 2
    assert props.type == "alert.rug_streak"
    assert props.timestamp > 0


def test_the_exchange_is_declared_durable_topic(amqp_url):
    exchange = f"test.agent.events.{uuid.uuid4().hex[:10]}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        with EventPublisher(amqp_url, exchange) as publisher:
            publisher.publish("decision.override", {"x": 1})
        channel = connection.channel()
        # a passive declare succeeds only when it exists; a mismatched redeclare would fail
        channel.exchange_declare(exchange, passive=True)
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    finally:
        connection.channel().exchange_delete(exchange)
        connection.close()


@pytest.mark.parametrize(
    ("key", "body", "field"),
    [
        ("alert.#", {"a": 1}, "routing_key"),
        ("", {"a": 1}, "routing_key"),
        ("alert.x", {"when": object()}, "body"),
        ("alert.x", {"nan": float("nan")}, "body"),
    ],
)
def test_bad_routing_keys_and_bodies_are_refused_before_sending(key, body, field, amqp_url):
    publisher = EventPublisher(amqp_url, "unused.exchange")
    with pytest.raises(InvalidInput) as info:
        publisher.publish(key, body)
    assert info.value.errors[0].field == field


def test_unreachable_broker_raises_backend_unavailable():
    publisher = EventPublisher(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", timeout=1)
    with pytest.raises(BackendUnavailable) as info:
        publisher.publish("alert.x", {"a": 1})
    assert info.value.backend == "rabbitmq"


def test_a_dead_connection_is_replaced_once(bound, amqp_url):
    topology, exchange = bound
    proxy = TcpProxy(("127.0.0.1", 5672))
    proxy.start()
    try:
        with EventPublisher(_proxied(amqp_url, proxy), exchange, timeout=2) as publisher:
            publisher.publish("alert.one", {"n": 1})
            proxy.stop()  # cuts the open connection
            proxy.start()
            publisher.publish("alert.two", {"n": 2})
            proxy.stop()
            with pytest.raises(BackendUnavailable):
                publisher.publish("alert.three", {"n": 3})
    finally:
        proxy.stop()
    assert [json.loads(b)["n"] for _, b in topology.drain(topology.queue)] == [1, 2]


def test_threads_share_one_publisher(bound, amqp_url):
    topology, exchange = bound
    ids: list[str] = []
    with EventPublisher(amqp_url, exchange) as publisher:

        def send(worker: int) -> None:
            for i in range(15):
                ids.append(publisher.publish("alert.load", {"worker": worker, "i": i}))

        threads = [threading.Thread(target=send, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    received = topology.drain(topology.queue)
    assert len(received) == 90
    assert sorted(p.message_id for p, _ in received) == sorted(ids)
    per_worker = {}
    for _, body in received:
        data = json.loads(body)
        per_worker.setdefault(data["worker"], []).append(data["i"])
    assert all(seq == list(range(15)) for seq in per_worker.values())
