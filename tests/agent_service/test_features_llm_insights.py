"""Feature discovery with candidates proposed by a language model, and its findings
stored in the knowledge base's `agent_insights` collection."""

from __future__ import annotations

import psycopg
import pytest

from agent_service.app import create_app
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, final
from tests.support.jobs import follow_job
from tests.support.stored_rounds import store_rounds
from tools.migrations import migrate

TARGETS = ["rug_within", "next_return_sign"]


def _close(app):
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()


@pytest.fixture
def rounds_dsn(fresh_pg_dsn):
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    store_rounds(fresh_pg_dsn, simulate_rounds(load_mode("rising_hazard"), 600, seed=3))
    return fresh_pg_dsn


def test_llm_proposals_are_parsed_scored_or_rejected(tmp_path, rounds_dsn, auth):
    proposal = {
        "summary": "Rounds get riskier late: a tick beyond the hazard's bend may predict rugs.",
        "candidates": {"late_tick": "max(tick - 150, 0)", "sneaky": "__import__(price)"},
    }
    with FakeLLM([final(proposal)]) as llm:
        app = create_app(make_settings(tmp_path, rounds_dsn, llm_models=llm.spec))
        client = app.test_client()
        r = client.post("/v1/features/discover", json={"mode": "rising_hazard",
                        "targets": TARGETS}, headers=auth)  # fmt: skip
        job = follow_job(client, auth, r.json["status_url"])
        r = client.post("/v1/features/discover", json={"mode": "rising_hazard",
                        "targets": ["rug_within"], "llm_candidates": False},
                        headers=auth)  # fmt: skip
        declined = follow_job(client, auth, r.json["status_url"])
    _close(app)
    assert declined["state"] == "succeeded", declined
    assert declined["result"]["llm_proposals"]["fallback_reason"] == "not_requested"
    assert len(llm.received) == 1  # the model was asked once, by the first job
    assert job["state"] == "succeeded", job
    result = job["result"]
    llm_report = result["llm_proposals"]
    assert llm_report["generated_by"].startswith("model:"), llm_report
    assert llm_report["fallback_reason"] is None
    assert llm_report["accepted"] == ["late_tick"]
    assert "sneaky" in llm_report["rejected"] and "sneaky" in result["rejected_proposals"]
    assert "unknown" in result["rejected_proposals"]["sneaky"]
    rug = result["targets"][0]
    late = next(f for f in rug["features"] if f["name"] == "late_tick")
    assert late["expression"] == "max(tick - 150, 0)" and late["origin"] == "proposed"
    assert late["predictive"]
    # the agent saw the language, the series and the built-in candidates
    prompt = str(llm.received[0]["messages"])
    assert "since_max" in prompt and "volatility_10" in prompt


def test_without_llm_nothing_is_proposed_and_findings_reach_agent_insights(
    tmp_path, rounds_dsn, auth
):
    app = create_app(make_settings(tmp_path, rounds_dsn))
    client = app.test_client()
    try:
        for _ in range(2):  # a re-run replaces the summary
            r = client.post("/v1/features/discover", json={"mode": "rising_hazard",
                            "targets": TARGETS}, headers=auth)  # fmt: skip
            job = follow_job(client, auth, r.json["status_url"])
            assert job["state"] == "succeeded", job
        result = job["result"]
        assert result["llm_proposals"] == {"generated_by": "deterministic",
                                           "fallback_reason": "no_llm", "accepted": [],
                                           "rejected": {}}  # fmt: skip
        assert result["insights_stored"] is True, result
        source = "discovery/rising_hazard/rug_within+next_return_sign"
        assert result["insights_source"] == source
        kb = app.extensions["agent"].backends.knowledge()
        found = kb.search("rug hazard discovery", ["agent_insights"], 3)
        assert found and found[0].source == source
        text = " ".join(c.text for c in found if c.source == source)
        assert "rising_hazard" in text and "q-value" in text and "Nothing predicts" in text
        assert kb.count("agent_insights", {"source": source}) == len(
            [c for c in kb.search("feature discovery", ["agent_insights"], 50)
             if c.source == source]
        )  # fmt: skip
    finally:
        _close(app)
