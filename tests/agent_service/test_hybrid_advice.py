"""Hybrid advice: computed by a job out of band, cached, and followed by decisions."""

from __future__ import annotations

import time

from agent_service.app import create_app
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, final
from tests.support.jobs import follow_job


def test_deterministic_advice_locates_where_sidebets_pay(tmp_path, fresh_pg_dsn, auth):
    app = create_app(make_settings(tmp_path, fresh_pg_dsn))  # no advice from other tests
    client = app.test_client()
    r = client.post("/v1/hybrid/advice", json={"mode": "rising_hazard"}, headers=auth)
    assert r.status_code == 202
    job = follow_job(client, auth, r.json["status_url"])
    assert job["state"] == "succeeded", job
    advice = client.get("/v1/hybrid/advice?mode=rising_hazard", headers=auth).json
    facts = advice["facts"]
    # the rules: hazard 0.005 + 0.0002/tick after 200; a 40-tick sidebet pays from ~183
    assert 170 <= facts["sidebet_positive_from_tick"] <= 200
    assert advice["generated_by"] == "deterministic"
    assert "sidebets are +EV from tick" in advice["guidance"]
    assert advice["override_confidence"] is None
    r = client.get("/v1/hybrid/advice?mode=fast_rug", headers=auth)
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()
    assert r.status_code == 404


def test_a_models_threshold_proposal_reaches_the_decisions(tmp_path, fresh_pg_dsn, auth):
    summary = "In classic, sidebets are -EV at every tick up to 600."
    with FakeLLM([final({"summary": summary, "override_confidence": 0.97})]) as llm:
        app = create_app(make_settings(tmp_path, fresh_pg_dsn, llm_models=llm.spec))
        client = app.test_client()
        r = client.post("/v1/hybrid/advice", json={"mode": "classic"}, headers=auth)
        job = follow_job(client, auth, r.json["status_url"])
    assert job["state"] == "succeeded", job
    assert job["result"]["override_confidence"] == 0.97
    assert job["result"]["generated_by"].startswith("model:")
    backends = app.extensions["agent"].backends
    backends.advice.get("classic")  # starts the background load
    deadline = time.monotonic() + 5
    while backends.advice.get("classic") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    from agent_service.views.hybrid import thresholds

    with app.test_request_context():
        assert thresholds("classic").override_confidence == 0.97  # the proposal, applied
        assert thresholds("fast_rug").override_confidence == 0.8  # no advice: the setting
    backends.close()
    app.extensions["agent"].readiness.close()
