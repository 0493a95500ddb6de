"""`POST /v1/features/discover`: a job over stored rounds, followed to its result."""

from __future__ import annotations

import pytest

from agent_service.app import create_app
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.jobs import follow_job
from tests.support.stored_rounds import store_rounds


@pytest.fixture
def stored_app(tmp_path, fresh_pg_dsn):
    app = create_app(make_settings(tmp_path, fresh_pg_dsn))
    store_rounds(fresh_pg_dsn, simulate_rounds(load_mode("rising_hazard"), 600, seed=3))
    yield app
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()


def test_discovery_job_finds_the_rising_hazard(stored_app, auth):
    client = stored_app.test_client()
    r = client.post("/v1/features/discover", json={"mode": "rising_hazard",
                    "targets": ["rug_within", "next_return_sign"],
                    "proposed": {"late": "max(tick - 200, 0)"}}, headers=auth)  # fmt: skip
    assert r.status_code == 202, r.json
    assert r.headers["Location"] == r.json["status_url"]
    job = follow_job(client, auth, r.json["status_url"])
    assert job["state"] == "succeeded", job
    rug, sign = job["result"]["targets"]
    assert job["result"]["rounds"] == 600
    assert rug["predictive"] >= 1 and rug["features"][0]["name"] in {"tick", "late"}
    assert sign["statement"].startswith("Nothing predicts")


def test_bad_requests_are_422_with_the_field(client, auth):
    r = client.post("/v1/features/discover", json={"proposed": {"x": "exec(price)"}}, headers=auth)
    assert r.status_code == 422
    assert r.json["errors"][0]["field"] == "proposed"
    assert "unknown function" in r.json["errors"][0]["message"]
    r = client.post("/v1/features/discover", json={"targets": ["rug_within", "rug_within"]},
                    headers=auth)  # fmt: skip
    assert r.json["errors"][0]["field"] == "targets"


def test_a_mode_without_rounds_fails_the_job_at_once_saying_how_to_import(tmp_path, pg_dsn, auth):
    app = create_app(make_settings(tmp_path, pg_dsn, jobs_max_attempts=3, jobs_retry_delay_s=0))
    client = app.test_client()
    r = client.post("/v1/features/discover", json={"mode": "fast_rug"}, headers=auth)
    job = follow_job(client, auth, r.json["status_url"])
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()
    assert job["state"] == "failed"
    assert job["attempts"] == 1, "a job that cannot succeed is not retried"
    assert job["error"].startswith("no finished rounds of mode 'fast_rug' are stored")
    assert "agent-service import PATH... --mode fast_rug" in job["error"]
