"""The service's publisher comes from settings: AMQP_URL and AGENT_AMQP_EVENTS_EXCHANGE."""

from __future__ import annotations

import json
import uuid

from agent_service.wiring import Backends, Prepared
from tests.conftest import make_settings
from tests.support.amqp import Topology


def test_backends_publish_on_the_configured_exchange(tmp_path, amqp_url):
    exchange = f"test.agent.events.{uuid.uuid4().hex[:10]}"
    topology = Topology(amqp_url, prefix="wiring")
    topology.exchanges.append(exchange)
    topology.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    topology.channel.queue_declare(topology.queue, durable=True)
    topology.channel.queue_bind(topology.queue, exchange, routing_key="decision.#")
    settings = make_settings(
        tmp_path, "postgresql:///unused", amqp_url=amqp_url, amqp_events_exchange=exchange
    )
    backends = Backends(Prepared(settings, "postgresql:///unused", False))
    try:
        publisher = backends.publisher()
        assert publisher is not None and backends.publisher() is publisher
        publisher.publish("decision.override", {"action": "hold"})
        [(_, body)] = topology.drain(topology.queue)
        assert json.loads(body) == {"action": "hold"}
    finally:
        backends.close()
        topology.close()


def test_no_broker_no_publisher(tmp_path):
    settings = make_settings(tmp_path, "postgresql:///unused")
    backends = Backends(Prepared(settings, "postgresql:///unused", False))
    assert backends.publisher() is None
    backends.close()
