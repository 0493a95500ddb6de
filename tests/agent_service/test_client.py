"""The bot's client falls back to the RL action within its timeout, and stops calling a
service that keeps failing."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent_service.client import AgentClient, AgentError, CircuitBreaker
from tests.support.tcp_proxy import free_port


class _Handler(BaseHTTPRequestHandler):
    delay = 0.0
    status = 200
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        time.sleep(self.delay)
        answer = {"action": "hold", "source": "agent", "critical": True, "reason": "x",
                  "confidence": 0.9, "echo": body}  # fmt: skip
        data = json.dumps(answer if self.status == 200 else {"detail": "boom"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("H", (_Handler,), {"delay": 0.0, "status": 200, "calls": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_answer_is_passed_on_and_sidebet_env_actions_stay_numeric(server):
    _, url = server
    with AgentClient(url, api_key="k", decide_timeout_s=1.0) as client:
        d = client.decide(state={"tick": 210, "price": 1.5}, rl_action=1, bot_id="ppo")
    assert (d.action, d.source, d.critical) == (0, "agent", True)
    assert d.raw["echo"] == {"state": {"tick": 210, "price": 1.5}, "rl_action": 1, "bot_id": "ppo"}


def test_a_slow_service_costs_no_more_than_the_timeout(server):
    handler, url = server
    handler.delay = 0.5
    client = AgentClient(url, api_key="k", decide_timeout_s=0.05)
    started = time.perf_counter()
    d = client.decide(state={"tick": 1, "price": 1.0}, rl_action="sidebet", bot_id="b")
    elapsed = time.perf_counter() - started
    assert (d.action, d.source) == ("sidebet", "fallback")
    assert "Timeout" in d.reason
    assert elapsed < 0.3


def test_a_service_that_is_down_falls_back_and_opens_the_circuit():
    client = AgentClient(
        f"http://127.0.0.1:{free_port()}",
        api_key="k",
        breaker=CircuitBreaker(failures_to_open=3, open_seconds=60),
    )
    for _ in range(3):
        d = client.decide(state={"tick": 1, "price": 1.0}, rl_action="hold", bot_id="b")
        assert (d.action, d.source) == ("hold", "fallback")
    assert client.breaker.is_open
    d = client.decide(state={"tick": 1, "price": 1.0}, rl_action="hold", bot_id="b")
    assert "circuit open" in d.reason


def test_server_errors_count_against_the_circuit_and_raise_on_other_calls(server):
    handler, url = server
    handler.status = 500
    client = AgentClient(url, api_key="k", breaker=CircuitBreaker(failures_to_open=2))
    with pytest.raises(AgentError, match="500"):
        client.coach({"tick": 1, "price": 1.0})
    with pytest.raises(AgentError):
        client.coach({"tick": 1, "price": 1.0})
    assert client.breaker.is_open
    calls = handler.calls
    with pytest.raises(AgentError, match="circuit open"):
        client.coach({"tick": 1, "price": 1.0})
    assert handler.calls == calls


def test_the_circuit_lets_a_trial_through_after_its_pause():
    breaker = CircuitBreaker(failures_to_open=1, open_seconds=0.05)
    breaker.failure()
    assert not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()
    breaker.success()
    assert not breaker.is_open
