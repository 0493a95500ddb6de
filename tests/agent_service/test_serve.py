"""`agent-service serve` as a user runs it: nothing configured, embedded backends."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.process import cli_env, run_cli, start_cli, wait_http
from tests.support.tcp_proxy import free_port

# one embedded PostgreSQL at a time: two initdb runs side by side failed under xdist
pytestmark = pytest.mark.xdist_group("embedded_postgres")


def _wait_ready(base: str, within: float) -> requests.Response:
    """`/ready` once it is 200 (the start-up warm-up holds it back a moment)."""
    deadline = time.monotonic() + within
    while True:
        ready = requests.get(base + "/ready", timeout=10)
        if ready.status_code == 200 or time.monotonic() > deadline:
            return ready
        time.sleep(0.2)


def test_serve_on_embedded_defaults_then_stop_gracefully(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start_cli("serve", "--port", str(port), env=cli_env(), cwd=tmp_path, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/health", within=90, proc=proc)
        assert requests.get(base + "/health", timeout=5).json()["status"] == "ok"

        ready = _wait_ready(base, 60)
        assert ready.status_code == 200, ready.text
        components = ready.json()["components"]
        assert components["warmup"]["status"] == "up"
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

        # the service holds the local Qdrant store: `check` asks it instead of failing
        checked = run_cli("check", env=cli_env(AGENT_PORT=str(port)), cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        qdrant = next(line for line in checked.stdout.splitlines() if line.startswith("qdrant"))
        assert " up " in qdrant and "held by the running service" in qdrant, qdrant
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


def _postmaster(pgdata: Path) -> psutil.Process | None:
    try:
        return psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    except (OSError, ValueError, psutil.NoSuchProcess):
        return None


@pytest.mark.slow
def test_a_graceful_stop_after_an_earlier_sigkill_stops_the_embedded_postgres(tmp_path):
    pgdata = tmp_path / "data" / "postgres"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = start_cli("serve", "--port", str(port), env=cli_env(), cwd=tmp_path,
                      log=tmp_path / "first.log")  # fmt: skip
    try:
        wait_http(base + "/health", within=90, proc=first)
    finally:  # killed: no handler runs, its pid stays in pgserver's handle list
        for child in psutil.Process(first.pid).children(recursive=True):
            child.kill()
        first.kill()
        first.wait(30)
    postmaster = _postmaster(pgdata)
    assert postmaster is not None and postmaster.is_running()
    assert first.pid in json.loads((pgdata / ".handle_pids.json").read_text())

    second = start_cli("serve", "--port", str(port), env=cli_env(), cwd=tmp_path,
                       log=tmp_path / "second.log")  # fmt: skip
    try:
        wait_http(base + "/health", within=90, proc=second)
        assert _wait_ready(base, 60).status_code == 200
        assert first.pid not in json.loads((pgdata / ".handle_pids.json").read_text())
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    try:
        postmaster.wait(timeout=30)
    except psutil.TimeoutExpired:
        os.kill(postmaster.pid, signal.SIGKILL)  # do not leave it behind, then fail
        pytest.fail("the embedded PostgreSQL outlived a graceful stop")
