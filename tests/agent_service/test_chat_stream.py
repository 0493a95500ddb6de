"""`POST /v1/chat` streamed by the real server (`agent-service serve`, the buffered
gthread worker): server-sent events written as the turn runs, in chunks."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import API_KEY
from tests.support.process import cli_env, start_cli, wait_http
from tests.support.tcp_proxy import free_port


@pytest.fixture(scope="module")
def base(tmp_path_factory, pg_admin_dsn) -> Iterator[str]:
    from tests.conftest import create_database, drop_database

    dsn = create_database(pg_admin_dsn)
    tmp = tmp_path_factory.mktemp("chat-stream")
    port = free_port()
    env = cli_env(
        DATABASE_URL=dsn,
        AGENT_API_KEYS=API_KEY,
        AGENT_PORT=str(port),
        AGENT_THREADS="2",
        AGENT_KNOWLEDGE_SEED_ON_START="false",
        AGENT_LOG_LEVEL="WARNING",
    )
    proc = start_cli("serve", env=env, cwd=tmp, log=tmp / "serve.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", within=90, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        drop_database(pg_admin_dsn, dsn)
    assert code == 0, (tmp / "serve.log").read_text()


def test_events_stream_through_the_worker_in_chunks(base):
    headers = {"Authorization": f"Bearer {API_KEY}", "Accept": "text/event-stream"}
    with requests.post(base + "/v1/chat", json={"message": "what is the rug chance per tick?"},
                       headers=headers, stream=True, timeout=120) as r:  # fmt: skip
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert r.headers.get("Transfer-Encoding") == "chunked"  # written as it runs
        assert "Content-Length" not in r.headers
        events, kind = [], None
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[len("data: ") :])))
    assert [k for k, _ in events] == ["intent", "tool_call", "partial", "final"]
    assert events[0][1]["intent"] == "models.rug_chance"
    assert events[1][1]["duration_ms"] >= 0
    final = events[-1][1]
    assert final["answer"] == events[2][1]["text"] and final["turn"] == 1
    # plain JSON by default, through the same worker
    plain = requests.post(base + "/v1/chat", json={"message": "what can you do?"},
                          headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)  # fmt: skip
    assert plain.headers["Content-Type"] == "application/json" and plain.json()["intent"]
