"""A PostgreSQL outage, over the real app: what needs the database answers 503 with
Retry-After at once, what does not keeps answering, `/ready` says which, and the
service is whole again within seconds of the server's return, without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from agent_service.app import create_app
from tests.conftest import make_settings
from tests.support.tcp_proxy import TcpProxy

STATE = {"tick": 180, "price": 1.6, "position_qty": 0.5}


@pytest.fixture
def outage(tmp_path, fresh_pg_dsn) -> Iterator[tuple[TcpProxy, object]]:
    info = psycopg.conninfo.conninfo_to_dict(fresh_pg_dsn)
    proxy = TcpProxy((str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))))
    proxy.start()
    dsn = psycopg.conninfo.make_conninfo(fresh_pg_dsn, host="127.0.0.1", port=proxy.port)
    app = create_app(make_settings(tmp_path, dsn, check_timeout_s=1.0))
    yield proxy, app
    app.extensions["agent"].readiness.close()
    app.extensions["agent"].backends.close()
    proxy.stop()


def _timed(call):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_outage_and_recovery(outage, auth):
    proxy, app = outage
    client = app.test_client()
    assert client.get("/ready").status_code == 200
    assert client.post("/v1/coach/strategy", json=STATE, headers=auth).status_code == 200
    stats = client.get("/v1/hybrid/stats", headers=auth)
    assert stats.status_code == 200

    proxy.stop()
    client.get("/ready")  # the first call finds the server gone
    # needs the database: 503 problem+json with Retry-After, without the pool's wait
    for path in ("/v1/hybrid/stats", "/v1/models/status"):
        r, took = _timed(lambda p=path: client.get(p, headers=auth))
        assert r.status_code == 503, (path, r.json)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert int(r.headers["Retry-After"]) >= 1
        assert "postgres" in r.json["detail"]
        assert took < 0.5, (path, took)  # the pool timeout is 1 s here
    # a mode whose models were never fitted needs the database too
    r = client.post("/v1/coach/strategy", json={**STATE, "mode": "fast_rug"}, headers=auth)
    assert r.status_code == 503
    # does not need it: answers, from the cached models, without cache or run record
    r, took = _timed(
        lambda: client.post("/v1/coach/strategy", json={**STATE, "tick": 181}, headers=auth)
    )
    assert r.status_code == 200 and r.json["cached"] is False
    assert took < 0.5
    decide = {"state": {"tick": 230, "price": 1.9}, "rl_action": 1, "bot_id": "outage"}
    r = client.post("/v1/hybrid/decide", json=decide, headers=auth)
    assert r.status_code == 200
    decided = r.json["decision_id"]
    assert client.get("/health").status_code == 200
    r, took = _timed(lambda: client.get("/ready"))
    assert r.status_code == 503 and took < 1.0
    assert r.json["components"]["postgres"]["status"] == "down"
    assert r.json["components"]["qdrant"]["status"] == "up"

    proxy.start()
    deadline = time.monotonic() + 5
    while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get("/ready").status_code == 200, "not back within 5 s"
    assert client.get("/v1/hybrid/stats", headers=auth).status_code == 200
    # the decision taken during the outage was kept in the queue and written after it
    log = app.extensions["agent"].backends.decisions
    deadline = time.monotonic() + 5
    while log.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    with app.extensions["agent"].backends.database.connection() as conn:
        row = conn.execute(
            "SELECT bot_id FROM hybrid_decisions WHERE decision_id = %s", (decided,)
        ).fetchone()
    assert row == ("outage",)
