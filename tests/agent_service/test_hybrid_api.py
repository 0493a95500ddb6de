"""`POST /v1/hybrid/decide`: overrides, pass-through, and the decision log in PostgreSQL."""

from __future__ import annotations

import time

import psycopg


def _decide(client, auth, **body):
    payload = {"state": {"tick": 250, "price": 1.5}, "rl_action": 1, "bot_id": "ppo-test"}
    payload.update(body)
    return client.post("/v1/hybrid/decide", json=payload, headers=auth)


def test_a_minus_ev_sidebet_is_overridden_and_logged(app, client, auth, pg_dsn):
    r = _decide(client, auth, stake=0.1)
    assert r.status_code == 200, r.json
    d = r.json
    assert (d["action"], d["source"], d["critical"]) == (0, "agent", True)
    assert d["confidence"] >= 0.8 and d["latency_ms"] < 50
    log = app.extensions["agent"].backends.decisions
    deadline = time.monotonic() + 5
    while log.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute(
            "SELECT rl_action, action, source, critical, bot_id FROM hybrid_decisions"
            " WHERE decision_id = %s",
            (d["decision_id"],),
        ).fetchone()
    assert row == ("sidebet", "hold", "agent", True, "ppo-test")


def test_the_rl_action_is_kept_when_it_is_best(client, auth):
    d = _decide(client, auth, rl_action="hold").json
    assert (d["action"], d["source"]) == ("hold", "rl")


def test_bad_requests_name_the_field(client, auth):
    r = _decide(client, auth, rl_action=7)
    assert r.status_code == 422 and r.json["errors"][0]["field"].startswith("rl_action")
    r = _decide(client, auth, bot_id="bad id!")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "bot_id"
    r = _decide(client, auth, state={"tick": 5, "price": 1.0, "mode": "nope"})
    assert r.json["errors"][0]["field"] == "state.mode"
