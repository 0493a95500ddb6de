from __future__ import annotations


def test_health_is_open_and_reports_version(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["version"]
    assert response.headers["X-Request-ID"]


def test_ready_with_external_postgres_and_embedded_qdrant(client):
    response = client.get("/ready")
    body = response.json
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["components"]["postgres"]["mode"] == "external"
    assert body["components"]["postgres"]["status"] == "up"
    assert body["components"]["qdrant"] == {
        **body["components"]["qdrant"],
        "mode": "embedded",
        "status": "up",
    }
    assert body["components"]["rabbitmq"]["status"] == "disabled"
    assert body["components"]["llm"]["status"] == "disabled"


def test_info_lists_every_capability_endpoint_and_the_true_worker_count(client, auth):
    info = client.get("/v1/info", headers=auth).get_json()
    expected = {
        "coach_strategy",
        "features_discover",
        "analyst_explain",
        "analyst_fit",
        "hybrid_decide",
        "hybrid_stats",
        "hybrid_advice",
        "knowledge_search",
    }
    assert expected <= set(info["capabilities"])
    assert not {"info", "jobs", "models_status"} & set(info["capabilities"])
    # no QDRANT_URL: Qdrant's local mode locks its folder, so one worker runs, not two
    assert info["serving"] == {"workers": 1, "threads": 8}
    assert info["settings"]["workers"] == 1
