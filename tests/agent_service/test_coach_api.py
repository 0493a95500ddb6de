"""`POST /v1/coach/strategy` over the real app and database."""

from __future__ import annotations


def test_coach_answers_from_the_rules_when_history_is_thin(client, auth):
    r = client.post("/v1/coach/strategy", json={"tick": 120, "price": 1.4, "position_qty": 1.0},
                    headers=auth)  # fmt: skip
    assert r.status_code == 200, r.json
    body = r.json
    assert body["recommended_action"] == "sell"
    assert body["strategy"] == "exit_now"
    assert body["generated_by"] == "deterministic"
    assert body["model_version"] == "classic@rules"
    assert {a["action"] for a in body["actions"]} == {"hold", "buy", "sell", "sidebet"}
    assert all(a["source"] == "ev_engine" for a in body["actions"])
    assert {e["source"] for e in body["model_evidence"]} >= {"rug_hazard_model", "price_model"}
    assert {"rug_hazard_model", "price_model", "ev_engine"} <= set(body["evidence"])
    assert body["fallback_reason"] == "no_llm"


def test_invalid_state_is_422_naming_the_field(client, auth):
    r = client.post("/v1/coach/strategy", json={"tick": 10, "price": 1.0,
                    "sidebet": {"start_tick": 50, "amount": 0.1}}, headers=auth)  # fmt: skip
    assert r.status_code == 422
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json["errors"][0]["field"] == "sidebet"
    r = client.post("/v1/coach/strategy", json={"tick": 10, "price": -2}, headers=auth)
    assert r.json["errors"][0]["field"] == "price"


def test_coach_needs_a_key(client):
    assert client.post("/v1/coach/strategy", json={"tick": 1, "price": 1.0}).status_code == 401


def test_coach_cites_the_starter_knowledge_base(app, client, auth):
    from tools.knowledge_base import starter_documents

    kb = app.extensions["agent"].backends.knowledge()
    collection, path = next(d for d in starter_documents() if d[0] == "rugs_protocol")
    kb.ingest(path, collection)  # one starter document (serve seeds them all at start-up)
    r = client.post("/v1/coach/strategy", json={"tick": 210, "price": 1.2}, headers=auth)
    kb = next(e for e in r.json["model_evidence"] if e["source"] == "knowledge_search")
    assert kb["chunks"], "the starter knowledge base is seeded and searched"
    assert {c["collection"] for c in kb["chunks"]} <= {"rugs_protocol", "rl_design"}
    assert "knowledge_search" in r.json["evidence"]
