"""Readiness follows the real backends: a RabbitMQ outage turns /ready into 503 naming it,
and its return brings 200 back without a restart."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from agent_service.app import create_app
from tests.conftest import make_settings
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def amqp_proxy(amqp_url):
    parts = urlsplit(amqp_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5672))
    proxy.start()
    yield proxy, amqp_url.replace(f":{parts.port or 5672}", f":{proxy.port}")
    proxy.stop()


def _wait_for(client, status: int, within: float) -> dict:
    deadline = time.monotonic() + within
    while True:
        response = client.get("/ready")
        if response.status_code == status or time.monotonic() > deadline:
            return {"status_code": response.status_code, **response.json}
        time.sleep(0.2)


def test_rabbitmq_outage_and_recovery(tmp_path, pg_dsn, amqp_proxy):
    proxy, url = amqp_proxy
    app = create_app(make_settings(tmp_path, pg_dsn, amqp_url=url, check_timeout_s=1))
    client = app.test_client()
    body = _wait_for(client, 200, 5)
    assert body["status_code"] == 200, body
    assert body["components"]["rabbitmq"]["mode"] == "external"
    assert body["components"]["rabbitmq"]["status"] == "up"
    assert body["components"]["postgres"]["mode"] == "external"

    proxy.stop()
    started = time.monotonic()
    body = _wait_for(client, 503, 10)
    assert body["status_code"] == 503
    assert time.monotonic() - started < 10
    assert body["status"] == "not_ready"
    assert body["components"]["rabbitmq"]["status"] == "down"
    assert body["components"]["rabbitmq"]["detail"]
    assert body["components"]["postgres"]["status"] == "up"

    proxy.start()
    body = _wait_for(client, 200, 10)
    assert body["status_code"] == 200, body
    assert body["components"]["rabbitmq"]["status"] == "up"
    app.extensions["agent"].readiness.close()
    app.extensions["agent"].backends.close()


def test_checks_are_cached_between_calls(tmp_path, pg_dsn):
    app = create_app(make_settings(tmp_path, pg_dsn, check_cache_s=30))
    readiness = app.extensions["agent"].readiness
    first = readiness.components()
    assert readiness.components() is first
    app.extensions["agent"].backends.close()


def test_metrics_count_requests_and_backend_checks(client):
    client.get("/health")
    client.get("/ready")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'agent_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "agent_http_request_duration_seconds_bucket" in text
    assert 'agent_backend_up{component="postgres"} 1.0' in text
    assert "agent_backend_check_duration_seconds" in text
