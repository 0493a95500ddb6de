"""`agent-service serve` as a user runs it: nothing configured, embedded backends."""

from __future__ import annotations

import signal

import requests

from tests.support.process import cli_env, start_cli, wait_http
from tests.support.tcp_proxy import free_port


def test_serve_on_embedded_defaults_then_stop_gracefully(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start_cli("serve", "--port", str(port), env=cli_env(), cwd=tmp_path, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/health", within=90, proc=proc)
        assert requests.get(base + "/health", timeout=5).json()["status"] == "ok"

        ready = requests.get(base + "/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        components = ready.json()["components"]
        assert (components["postgres"]["mode"], components["postgres"]["status"]) == (
            "embedded",
            "up",
        )
        assert (components["qdrant"]["mode"], components["qdrant"]["status"]) == ("embedded", "up")
        assert components["rabbitmq"]["status"] == "disabled"
        assert "llm" in components

        unauthorized = requests.get(base + "/v1/info", timeout=5)
        assert unauthorized.status_code == 401
        assert unauthorized.headers["Content-Type"] == "application/problem+json"
        key = (tmp_path / "data" / "api_key").read_text().strip()
        info = requests.get(
            base + "/v1/info", headers={"Authorization": f"Bearer {key}"}, timeout=5
        )
        assert info.status_code == 200
        assert info.json()["modes"]["postgres"] == "embedded"

        assert requests.get(base + "/openapi.yaml", timeout=5).text.startswith("openapi:")
        metrics = requests.get(base + "/metrics", timeout=5)
        assert metrics.headers["Content-Type"].startswith("text/plain")
        assert "agent_http_requests_total" in metrics.text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    output = log.read_text()
    assert code == 0, output
    assert "postgres embedded" in output and "qdrant embedded" in output
    assert "rabbitmq disabled" in output
    assert "running 1 worker" in output
    assert str(tmp_path / "data" / "api_key") in output
    assert key not in output
